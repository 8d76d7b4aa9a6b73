"""Arch-`llama` files through BitNetModel.load: every ternary format gives the same model, the
file's rope_freqs reach the native model, and the Falcon / Llama-3 pre-tokenizer names load."""
from __future__ import annotations

import numpy as np
import pytest

from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.synth import SyntheticModel
from tests.engine.runtime.gguf_files import synth

IDS = [17, 300, 5, 999, 42, 7]


def _logits(path, **options) -> np.ndarray:
    model = BitNetModel.load(path, LoadOptions(threads=2, head="exact", **options))
    try:
        assert (model.spec.arch, model.spec.activation, model.spec.rope_style) == ("llama", "silu", "normal")
        assert not model.native.has_sub_norms
        return model.native.forward(IDS, 0, all_logits=True).copy()
    finally:
        model.close()


def test_every_ternary_format_gives_the_same_logits(tmp_path):
    """Same T and alpha in I2_S, TQ2_0 and TQ1_0 (TQ files are re-packed as I2_S at load)."""
    logits = [_logits(synth(tmp_path, f"{fmt}.gguf", shape="tiny-llama", fmt=fmt, seed=4))
              for fmt in ("i2_s", "tq2_0", "tq1_0")]
    np.testing.assert_array_equal(logits[1], logits[0])
    np.testing.assert_array_equal(logits[2], logits[0])
    assert np.isfinite(logits[0]).all() and logits[0].std() > 0.5


def test_rope_freqs_reach_the_native_model(tmp_path):
    path = synth(tmp_path, shape="tiny-llama", rope_freqs=True)
    model = BitNetModel.load(path, LoadOptions(threads=1))
    try:
        expected = SyntheticModel("tiny-llama", rope_freqs=True).decoded("rope_freqs.weight")
        np.testing.assert_array_equal(np.array(model.native.config.rope_freqs, np.float32), expected)
    finally:
        model.close()
    plain = _logits(synth(tmp_path, "plain.gguf", shape="tiny-llama"))
    assert not np.array_equal(_logits(path), plain)  # position 0 aside, the angles differ


def test_tied_llama_file_uses_the_embedding_as_head(tmp_path):
    untied = _logits(synth(tmp_path, "untied.gguf", shape="tiny-llama"))
    tied = _logits(synth(tmp_path, "tied.gguf", shape="tiny-llama", tied=True))
    assert tied.shape == untied.shape and not np.array_equal(tied, untied)


@pytest.mark.parametrize("pre", ["falcon3", "falcon_e", "llama-bpe"])
def test_family_pre_tokenizers_load(tmp_path, pre):
    model = BitNetModel.load(synth(tmp_path, shape="tiny-llama", pre=pre), LoadOptions(threads=1))
    try:
        assert model.tokenizer.decode(model.tokenizer.encode("Hello world")) == "Hello world"
    finally:
        model.close()
