"""NativeModel.read_embedding_from_file: embedding rows read from the model file give the same
logits as rows read through the mapping, a wrong file or offset is refused, and a file that
becomes unreadable mid-conversation gives a named error without losing the cached positions."""
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

IDS = [5, 17, 300, 42, 7, 99, 1000, 3, 250, 12, 1023, 0]


def load(path, head, **options):
    return BitNetModel.load(path, LoadOptions(threads=2, head=head, context_length=64, **options))


def embedding_offset(path) -> int:
    with open_gguf(path) as g:
        return g.tensors["token_embd.weight"].file_offset


@pytest.mark.parametrize("shape, head", [("tiny", "exact"), ("tiny", "fast"), ("tiny-untied", "exact"),
                                         ("tiny-untied", "fast")])
def test_file_rows_give_the_logits_of_mapped_rows(tmp_path, shape, head):
    path = synth(tmp_path, shape=shape, seed=4)
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
        native.read_embedding_from_file(path, embedding_offset(path))
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
