"""Fast mode gives the head table's pages back after building the int8 copy from them, and the
embedding table stays out of the resident set whenever the head does not stream it. Q8_0 / Q6_K
tables reach the native model as views of the mapped file: no F16 copy of them is made at load."""
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
# mode with an untied head: the head streams output.weight, never token_embd. Exact mode over a
# tied Q8_0 table: the native model's f16 decode serves the head and the rows.
@linux_only
@pytest.mark.parametrize("shape, head, embedding_type", [("small", "fast", "f16"), ("tiny-untied", "exact", "f16"),
                                                         ("small", "exact", "q8_0")])
def test_the_embedding_table_stays_out_when_the_head_does_not_stream_it(tmp_path, shape, head, embedding_type):
    path = synth(tmp_path, shape=shape, embedding_type=embedding_type)
    with open_gguf(path) as g:
        table_bytes = g.tensors["token_embd.weight"].nbytes
    model = BitNetModel.load(path, LoadOptions(head=head, context_length=64))
    try:
        look_up_every_row(model)  # through the mapping, this faulted the whole table back in
        model.native.forward([1, 2, 3], 0)
        assert mapped_rss(path) < (path.stat().st_size - table_bytes) + 64 * 4096
    finally:
        model.close()


# Whichever head reads them, Q8_0 / Q6_K tables are passed on as the mapped bytes (2B-4T: a 656 MB
# F16 copy and its conversion time saved), and the loader counts no F16 copy while loading.
@pytest.mark.parametrize("embedding_type, shape, head", [
    ("q6_k", "tiny", "fast"), ("q8_0", "tiny", "fast"), ("q6_k", "tiny", "exact"),
    ("q6_k", "tiny-untied", "exact"), ("q8_0", "tiny-untied", "fast"),
])
def test_quantized_tables_reach_the_native_model_as_mapped_views(tmp_path, monkeypatch, embedding_type, shape, head):
    path = synth(tmp_path, shape=shape, embedding_type=embedding_type)
    views, load_weights = [], model_module.load_weights

    def load_weights_and_check_the_tables(g, spec):
        weights = load_weights(g, spec)
        tables = {"token_embd.weight": weights.token_embd, "output.weight": weights.output}
        for name, table in tables.items():
            if table is not None:
                views.append((table.dtype, np.shares_memory(table, g.tensors[name].data)))
        assert weights.converted_bytes == 0
        return weights

    monkeypatch.setattr(model_module, "load_weights", load_weights_and_check_the_tables)
    model = BitNetModel.load(path, LoadOptions(threads=1, head=head, context_length=64))
    try:
        assert views == [(np.uint8, True)] * (1 if shape == "tiny" else 2)
        assert model.memory.load_copy == 0
        tied_exact = shape == "tiny" and head == "exact"
        assert model.native.embedding_file == (None if tied_exact else str(path))
        assert np.isfinite(model.native.forward([1, 2, 3], 0)).all()
    finally:
        model.close()


def memory_owner(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory a view shows (NumPy views point at the owner directly)."""
    return array if array.base is None else array.base


# A BF16 / F32 output is converted to an F16 copy at load. A weakref to its memory says whether
# anything (native model, loader, weights) still holds it; an RSS threshold would be noise here.
@pytest.mark.parametrize("head, freed", [("fast", True), ("exact", False)])
def test_the_f16_copy_of_a_converted_untied_output_is_freed_once_the_int8_head_is_built(
        tmp_path, monkeypatch, head, freed):
    path = synth(tmp_path, shape="tiny-untied", embedding_type="bf16")
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
        assert model.memory.load_copy == (2 * model.spec.vocab_size * model.spec.d_model if freed else 0)
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
