"""NativeModel.read_embedding_from_file: embedding rows read from the model file (F16, or Q8_0 /
Q6_K decoded natively) give the same logits as rows read from the loader's token_embd array, a
wrong file, offset or type is refused, and a file that becomes unreadable mid-conversation gives
a named error without losing the cached positions."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.native import KernelContext
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.runtime.model_spec import read_model_spec
from bitnet_desktop.engine.runtime.native_model import ModelConfigError, ModelFileReadError, NativeModel
from bitnet_desktop.engine.runtime.weights import load_weights
from tests.engine.runtime.gguf_files import synth
from tests.engine.runtime.native_helpers import build
from tests.engine.runtime.reference_forward import make_model

IDS = [5, 17, 300, 42, 7, 99, 1000, 3, 250, 12, 1023, 0]


def load(path, head, **options):
    return BitNetModel.load(path, LoadOptions(threads=2, head=head, context_length=64, **options))


def embedding_offset(path) -> int:
    with open_gguf(path) as g:
        return g.tensors["token_embd.weight"].file_offset


@pytest.mark.parametrize("embedding_type", ["f16", "q8_0", "q6_k"])
@pytest.mark.parametrize("shape, head", [("tiny", "exact"), ("tiny", "fast"), ("tiny-untied", "exact"),
                                         ("tiny-untied", "fast")])
def test_file_rows_give_the_logits_of_mapped_rows(tmp_path, shape, head, embedding_type):
    path = synth(tmp_path, shape=shape, seed=4, embedding_type=embedding_type)
    model = load(path, head)
    try:
        tied_exact = head == "exact" and shape == "tiny"
        # The loader reads rows from the file unless the head streams the whole table anyway.
        assert model.native.embedding_file == (None if tied_exact else str(path))
        from_loader = model.native.forward(IDS, 0, all_logits=True).copy()
    finally:
        model.close()

    # The same model made to read through the mapping (a bare NativeModel never reads the file).
    with open_gguf(path) as g:
        spec = read_model_spec(g.metadata, str(path), g.tensors["token_embd.weight"].shape[0])
        weights = load_weights(g, spec)
        native = NativeModel.from_model_weights(KernelContext(threads=2), weights, 64,
                                                head="i8" if head == "fast" else "f16")
        assert native.embedding_file is None
        mapped = native.forward(IDS, 0, all_logits=True).copy()
        native.read_embedding_from_file(path, embedding_offset(path), embedding_type.upper())
        from_file = native.forward(IDS, 0, all_logits=True).copy()
        del native
    np.testing.assert_array_equal(from_loader, mapped)
    np.testing.assert_array_equal(from_file, mapped)


def test_wrong_offset_is_refused(tmp_path):
    path = synth(tmp_path, shape="tiny", seed=4)
    model = load(path, "fast")
    try:
        with pytest.raises(ModelConfigError, match="does not hold this model's token_embd"):
            model.native.read_embedding_from_file(path, embedding_offset(path) + 2)
        assert model.native.embedding_file == str(path)  # the working source is kept
        model.native.forward(IDS, 0)
    finally:
        model.close()


def test_another_models_file_is_refused(tmp_path):
    path = synth(tmp_path, "a.gguf", shape="tiny", seed=4)
    other = synth(tmp_path, "b.gguf", shape="tiny", seed=5)
    model = load(path, "fast")
    try:
        with pytest.raises(ModelConfigError, match="does not hold this model's token_embd"):
            model.native.read_embedding_from_file(other, embedding_offset(other))
    finally:
        model.close()


def test_missing_and_short_files_are_refused(tmp_path):
    path = synth(tmp_path, shape="tiny", seed=4)
    model = load(path, "fast")
    try:
        with pytest.raises(ModelFileReadError, match="cannot open .*missing.gguf"):
            model.native.read_embedding_from_file(tmp_path / "missing.gguf", 0)
        with pytest.raises(ModelConfigError, match="no room for token_embd"):
            model.native.read_embedding_from_file(path, path.stat().st_size - 100)
    finally:
        model.close()


def test_quantized_tables_with_a_wrong_offset_type_or_size_are_refused(tmp_path):
    path = synth(tmp_path, shape="tiny", seed=4, embedding_type="q6_k")
    offset = embedding_offset(path)
    model = load(path, "fast")
    try:
        assert model.native.embedding_file == str(path)
        refusals = [
            ((path, offset + 1, "Q6_K"), "does not hold this model's token_embd as Q6_K"),
            ((path, offset, "Q8_0"), "does not hold this model's token_embd as Q8_0"),
            ((path, offset, "F16"), r"no room for token_embd \(F16, 524288 bytes\)"),  # 2 bytes a value
            ((path, path.stat().st_size - 1000, "Q6_K"), r"no room for token_embd \(Q6_K"),
            ((path, offset, "BF16"), "ggml type 30 cannot be read from the file"),
            ((path, offset, "NOPE"), "unknown ggml type 'NOPE'"),
        ]
        for args, message in refusals:
            with pytest.raises(ModelConfigError, match=message):
                model.native.read_embedding_from_file(*args)
        expected = model.native.forward(IDS, 0).copy()
        model.native.read_embedding_from_file(path, offset, "Q6_K")  # checked against the rows in use
        np.testing.assert_array_equal(model.native.forward(IDS, 0), expected)
    finally:
        model.close()


def test_q6_k_rows_need_whole_blocks():
    m = make_model(1, n_layers=1, d_model=128, n_heads=2, n_kv_heads=1, d_ffn=128, vocab=8)
    native = build(m, KernelContext(threads=1), max_context=8, max_batch=4)
    with pytest.raises(ModelConfigError, match="rows of 128 values cannot be Q6_K: a row must be whole blocks of 256"):
        native.read_embedding_from_file("unused.gguf", 0, "Q6_K")


def test_unreadable_file_mid_conversation_keeps_the_cache(tmp_path):
    original = synth(tmp_path, "original.gguf", shape="tiny", seed=4)
    path = tmp_path / "model.gguf"
    shutil.copy(original, path)
    offset = embedding_offset(path)
    model = load(path, "fast")
    try:
        model.native.forward(IDS[:6], 0)
        # Cut the file inside the embedding table, as a user replacing it in place would: the
        # next row cannot be read. Nothing else is run afterwards, since the mapped weights past
        # the cut are gone too (reading them would be a bus error for any mmap-based engine).
        with open(path, "r+b") as f:
            f.truncate(offset + 10 * 2 * model.spec.d_model)
        with pytest.raises(ModelFileReadError, match="forward of 1 token.*a file could not be read"):
            model.native.forward([1000], 6)
        assert model.native.kv_length == 6
    finally:
        model.close()
