"""Fast mode gives the f16 head's pages back after building the int8 copy from them, and the
embedding table stays out of the resident set whenever the head does not stream it: neither its
mapped pages nor, for a Q8_0 / Q6_K table, the f16 copy made at load."""
import gc
import subprocess
import sys
import weakref

import numpy as np
import pytest

from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.runtime import model as model_module
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from tests.engine.runtime.gguf_files import synth
from tests.mapped_memory import mapped_rss

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")


@linux_only
def test_release_pages_drops_a_tensor_and_keeps_its_data(tmp_path):
    path = synth(tmp_path, shape="small")
    with open_gguf(path) as g:
        embd = g.tensors["token_embd.weight"]
        checksum = int(embd.data.astype(np.uint64).sum())
        before = mapped_rss(path)
        assert g.release_pages("token_embd.weight")
        after = mapped_rss(path)
        assert before - after >= embd.nbytes - 2 * 4096
        assert int(embd.data.astype(np.uint64).sum()) == checksum  # faulted back in, unchanged


def look_up_every_row(model) -> None:
    vocab = model.spec.vocab_size
    order = np.random.default_rng(0).permutation(vocab)
    for start in range(0, vocab, 64):
        model.native.prefill(order[start:start + 64], 0)


# Fast mode (tied): the int8 head was built from the table, then only rows are needed. Exact
# mode with an untied head: the head streams output.weight, never token_embd.
@linux_only
@pytest.mark.parametrize("shape, head", [("small", "fast"), ("tiny-untied", "exact")])
def test_the_embedding_table_stays_out_when_the_head_does_not_stream_it(tmp_path, shape, head):
    path = synth(tmp_path, shape=shape)
    with open_gguf(path) as g:
        table_bytes = g.tensors["token_embd.weight"].nbytes
    model = BitNetModel.load(path, LoadOptions(head=head, context_length=64))
    try:
        look_up_every_row(model)  # through the mapping, this faulted the whole table back in
        model.native.forward([1, 2, 3], 0)
        assert mapped_rss(path) < (path.stat().st_size - table_bytes) + 64 * 4096
    finally:
        model.close()


def memory_owner(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory a view shows (NumPy views point at the owner directly)."""
    return array if array.base is None else array.base


# A weakref to the converted token_embd's memory says whether anything (native model, loader, weights)
# still holds it; an RSS threshold would be noise at these sizes (2B-4T: 656 MB freed).
@pytest.mark.parametrize("embedding_type, shape, head, freed", [
    ("q6_k", "tiny", "fast", True), ("q8_0", "tiny", "fast", True),
    ("q6_k", "tiny-untied", "exact", True), ("q6_k", "tiny-untied", "fast", True),
    ("q6_k", "tiny", "exact", False),  # the tied f16 head streams the table
])
def test_the_f16_copy_of_a_quantized_embedding_is_freed_unless_the_head_reads_it(
        tmp_path, monkeypatch, embedding_type, shape, head, freed):
    path = synth(tmp_path, shape=shape, embedding_type=embedding_type)
    copies, load_weights = [], model_module.load_weights

    def load_weights_and_watch_the_embedding(g, spec):
        weights = load_weights(g, spec)
        copies.append(weakref.ref(memory_owner(weights.token_embd)))
        return weights

    monkeypatch.setattr(model_module, "load_weights", load_weights_and_watch_the_embedding)
    model = BitNetModel.load(path, LoadOptions(threads=1, head=head, context_length=64))
    try:
        gc.collect()
        assert (copies[0]() is None) == freed
        table_bytes = 2 * model.spec.vocab_size * model.spec.d_model
        output_copy_freed = shape == "tiny-untied" and head == "fast"
        assert model.memory.load_copy == table_bytes * (int(freed) + int(output_copy_freed))
        assert model.native.embedding_file == (str(path) if freed else None)
        assert np.isfinite(model.native.forward([1, 2, 3], 0)).all()
    finally:
        model.close()


@pytest.mark.parametrize("head, freed", [("fast", True), ("exact", False)])
def test_the_f16_copy_of_a_quantized_untied_output_is_freed_once_the_int8_head_is_built(
        tmp_path, monkeypatch, head, freed):
    path = synth(tmp_path, shape="tiny-untied", embedding_type="q8_0")
    copies, load_weights = [], model_module.load_weights

    def load_weights_and_watch_the_output(g, spec):
        weights = load_weights(g, spec)
        copies.append(weakref.ref(memory_owner(weights.output)))
        return weights

    monkeypatch.setattr(model_module, "load_weights", load_weights_and_watch_the_output)
    model = BitNetModel.load(path, LoadOptions(threads=1, head=head, context_length=64))
    try:
        gc.collect()
        assert (copies[0]() is None) == freed
        assert np.isfinite(model.native.forward([1, 2, 3], 0)).all()
    finally:
        model.close()


def test_a_bitnet_session_never_imports_jinja(tmp_path):
    # Jinja costs ~9 MiB resident; only models with a GGUF chat template need it.
    path = synth(tmp_path, shape="tiny", arch="bitnet-b1.58")
    code = ("import sys\n"
            "from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions\n"
            f"m = BitNetModel.load({str(path)!r}, LoadOptions(context_length=64))\n"
            "m.chat_format.render_ids([{'role': 'user', 'content': 'Hi'}])\n"
            "assert 'jinja2' not in sys.modules, 'jinja2 was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
