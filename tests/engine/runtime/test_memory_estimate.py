"""The memory estimate counts an embedding or output table only where it stays in memory, and the
refusal counts the F16 copies that exist only while loading (none for F16 / Q8_0 / Q6_K tables,
which the native model takes as stored)."""
import pytest

from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.runtime.memory import (InsufficientMemoryError, MemoryEstimate, check_fits,
                                                  copies_at_load, weight_bytes_read)
from tests.engine.runtime.gguf_files import synth


def table_bytes(g) -> int:
    return 2 * g.tensors["token_embd.weight"].n_elements


@pytest.mark.parametrize("embedding_type, shape, head, kept, at_load", [
    ("f16", "tiny", "i8", 0, 0),          # rows read from the file
    ("q6_k", "tiny", "i8", 0, 0),         # int8 head built from the mapped rows, then rows from the file
    ("q6_k", "tiny", "f16", 1, 0),        # the tied f16 head streams the native model's decode
    ("q8_0", "tiny-untied", "f16", 1, 0),  # output's decode is the head; rows from the file
    ("q8_0", "tiny-untied", "i8", 0, 0),  # int8 head built from the mapped output
    ("bf16", "tiny", "i8", 1, 0),         # rows come from the converted copy
    ("bf16", "tiny-untied", "i8", 1, 1),  # rows come from token_embd's copy; output's is freed
])
def test_embedding_bytes_counted(tmp_path, embedding_type, shape, head, kept, at_load):
    path = synth(tmp_path, shape=shape, embedding_type=embedding_type)
    reference = synth(tmp_path, "reference.gguf", shape=shape, embedding_type="f16")
    with open_gguf(path) as g, open_gguf(reference) as ref:
        assert weight_bytes_read(g, head) == weight_bytes_read(ref, "i8") + kept * table_bytes(g)
        assert copies_at_load(g, head) == at_load * table_bytes(g)


def test_the_loading_copy_counts_against_the_memory_available():
    estimate = MemoryEstimate(weights=100 << 20, kv_cache=10 << 20, scratch=1 << 20, fast_head=50 << 20,
                              load_copy=100 << 20)
    check_fits(estimate, "model.gguf", available=estimate.peak)
    with pytest.raises(InsufficientMemoryError, match=r"needs about 261 MiB .* while loading 100 more\) but only"):
        check_fits(estimate, "model.gguf", available=estimate.total + 1)


@pytest.mark.parametrize("fmt", ["i2_s", "tq2_0"])
def test_llama_estimate_is_what_the_native_model_reads_and_allocates(tmp_path, fmt):
    """Arch llama: the ternary weights at their I2_S size, two norms per layer (no sub-norms) and
    rope_freqs; with the int8 head the untied F16 output only builds the head. The estimate of the
    loaded model's native allocations equals what the library reports once it exists."""
    from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
    from bitnet_desktop.engine.synth import SyntheticModel

    path = synth(tmp_path, shape="tiny-llama", fmt=fmt, rope_freqs=True)
    m = SyntheticModel("tiny-llama", "i2_s", rope_freqs=True)
    expected = sum(t.nbytes for t in m.layout() if m.specs[t.name].role in ("ternary", "norm", "rope_freqs"))
    with open_gguf(path) as g:
        assert weight_bytes_read(g, "i8") == expected
    model = BitNetModel.load(path, LoadOptions(threads=2, head="fast", context_length=256))
    try:
        native = model.native
        assert (model.memory.kv_cache, model.memory.scratch, model.memory.fast_head) == \
               (native.kv_bytes, native.scratch_bytes, native.head_bytes)
    finally:
        model.close()
