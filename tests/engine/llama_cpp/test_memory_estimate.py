"""The memory estimate checked before an ordinary GGUF loads against what llama.cpp then allocates:
its KV cache exactly, its buffers within the scratch counted, and the process's growth in resident
memory within the total."""
import gc

import psutil
import pytest

from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.llama_cpp.library import llama_cpp_library
from bitnet_desktop.engine.runtime.loader import load_model
from bitnet_desktop.engine.runtime.model import LoadOptions
from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf

MIB = 1 << 20


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    # A 16k vocabulary makes the logits (compute and output buffers) the largest part of the scratch.
    return write_ordinary_gguf(tmp_path_factory.mktemp("memory") / "mid.gguf", fmt="q8_0", n_embd=256, n_ff=768,
                               n_layer=4, n_head=4, n_head_kv=2, n_vocab=16384, n_ctx=4096)


def test_the_estimate_covers_the_file_and_what_llama_cpp_reports_allocating(path):
    model = load_model(path, LoadOptions(threads=1, context_length=2048))
    try:
        memory, allocated = model.memory, model.native.allocated_bytes
    finally:
        model.close()
    with open_gguf(path) as g:
        assert memory.weights == sum(t.nbytes for t in g.tensors.values())
    assert memory.kv_cache == 2048 * 4 * 2 * (64 + 64) * 2 == 4 * MIB  # positions, layers, kv heads, k + v, f16
    # llama.cpp reports 4.00 MiB of KV cache, 8.25 of compute and 0.06 of output buffer here.
    assert memory.kv_cache < allocated <= memory.kv_cache + memory.scratch


def test_resident_memory_grows_by_at_most_the_estimate(path):
    llama_cpp_library()  # the library's own pages are not the model's
    gc.collect()
    process = psutil.Process()
    before = process.memory_info().rss
    model = load_model(path, LoadOptions(threads=1, context_length=2048))
    try:
        model.native.forward(list(range(1, 300)), 0)  # a long prompt: every buffer in use
        grown = process.memory_info().rss - before
        total = model.memory.total
    finally:
        model.close()
    assert grown <= total + 4 * MIB, f"grew {grown / MIB:.1f} MiB, estimated {total / MIB:.1f} MiB"
