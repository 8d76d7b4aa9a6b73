"""Which engine a file belongs to (model_kind), the refusal of an ordinary llama file, and the
activation taken from the model's identity rather than the arch string (1bitLLM under
`bitnet-b1.58`)."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from bitnet_desktop.engine.gguf import ValueType, open_gguf
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.runtime.model_kind import OrdinaryModelError, is_ternary_model
from bitnet_desktop.engine.runtime.model_spec import read_model_spec
from tests.engine.runtime.gguf_files import rewrite, synth


@pytest.mark.parametrize("shape, fmt, arch, ternary", [
    ("tiny", "i2_s", "bitnet-b1.58", True),
    ("tiny", "tq2_0", "bitnet", True),
    ("tiny", "f16", "bitnet", True),       # a bitnet arch is ours whatever the storage
    ("tiny-llama", "i2_s", "llama", True),
    ("tiny-llama", "tq1_0", "llama", True),
    ("tiny-llama", "tq2_0", "llama", True),
    ("tiny-llama", "f16", "llama", False),  # an F16 llama file is an ordinary model
])
def test_is_ternary_model(tmp_path, shape, fmt, arch, ternary):
    path = synth(tmp_path, shape=shape, fmt=fmt, arch=arch)
    with open_gguf(path) as g:
        assert is_ternary_model(g) is ternary


def test_other_archs_are_ordinary(tmp_path):
    path = rewrite(synth(tmp_path), tmp_path / "qwen2.gguf",
                   meta={"general.architecture": (ValueType.STRING, "qwen2")})
    with open_gguf(path) as g:
        assert not is_ternary_model(g)


def test_loading_an_ordinary_llama_file_says_so(tmp_path):
    path = synth(tmp_path, shape="tiny-llama", fmt="f16")
    with pytest.raises(OrdinaryModelError, match=r"arch 'llama' with F16 projections is an ordinary \(not ternary\) "
                                                   r"model; it runs on the llama\.cpp engine"):
        BitNetModel.load(path, LoadOptions(threads=1))


# ---- 1bitLLM checkpoints labelled bitnet-b1.58 ----

def _spec_metadata(arch: str, tokenizer_model: str, n_heads: int, n_kv_heads: int) -> dict:
    return {
        "general.architecture": arch, f"{arch}.embedding_length": 256, f"{arch}.block_count": 2,
        f"{arch}.feed_forward_length": 512, f"{arch}.attention.head_count": n_heads,
        f"{arch}.attention.head_count_kv": n_kv_heads, "tokenizer.ggml.model": tokenizer_model,
    }


@pytest.mark.parametrize("arch", ["bitnet-b1.58", "bitnet-25"])
def test_sentencepiece_mha_file_under_a_relu2_arch_runs_silu(arch, caplog):
    with caplog.at_level(logging.WARNING):
        spec = read_model_spec(_spec_metadata(arch, "llama", 4, 4), "m.gguf", 1000)
    assert spec.activation == "silu"
    assert "1bitLLM" in caplog.text and "SiLU" in caplog.text and "m.gguf" in caplog.text


def test_2b4t_identity_keeps_relu2_silently(caplog):
    with caplog.at_level(logging.WARNING):
        spec = read_model_spec(_spec_metadata("bitnet-b1.58", "gpt2", 4, 2), "m.gguf", 1000)
    assert spec.activation == "relu2" and caplog.text == ""


def test_sentencepiece_with_gqa_is_ambiguous_and_keeps_the_arch(caplog):
    with caplog.at_level(logging.WARNING):
        spec = read_model_spec(_spec_metadata("bitnet-b1.58", "llama", 4, 2), "m.gguf", 1000)
    assert spec.activation == "relu2" and "neither" in caplog.text


@pytest.mark.parametrize("override", ["relu2", "silu"])
def test_explicit_override_wins_without_a_warning(override, caplog):
    with caplog.at_level(logging.WARNING):
        spec = read_model_spec(_spec_metadata("bitnet-b1.58", "llama", 4, 4), "m.gguf", 1000, activation=override)
    assert spec.activation == override and caplog.text == ""


@pytest.mark.parametrize("arch, rope, sub_norms", [("llama", "normal", False), ("bitnet", "neox", True),
                                                   ("bitnet-b1.58", "neox", True)])
def test_graph_facts_come_from_the_arch(arch, rope, sub_norms):
    spec = read_model_spec(_spec_metadata(arch, "gpt2", 4, 2), "m.gguf", 1000)
    assert (spec.rope_style, spec.sub_norms) == (rope, sub_norms)


def test_relabelled_1bitllm_file_loads_as_the_silu_model(tmp_path):
    """A 1bitLLM-style file (arch bitnet, SentencePiece, MHA) relabelled bitnet-b1.58 the way
    bitnet.cpp's newest converter labels it gives the logits of the original; overriding the
    activation back to ReLU² gives other logits."""
    src = synth(tmp_path, shape="tiny-mha", fmt="tq2_0", arch="bitnet", tokenizer="llama")
    with open_gguf(src) as g:
        renamed = {k.replace("bitnet.", "bitnet-b1.58.", 1): (v.type, v.value)
                   for k, v in g.fields.items() if k.startswith("bitnet.")}
        dropped = [k for k in g.fields if k.startswith("bitnet.")]
    renamed["general.architecture"] = (ValueType.STRING, "bitnet-b1.58")
    relabelled = rewrite(src, tmp_path / "relabelled.gguf", meta=renamed, drop_meta=dropped)
    ids = [5, 9, 77, 3]
    logits = {}
    for name, path, activation in (("orig", src, None), ("relabelled", relabelled, None),
                                   ("relu2", relabelled, "relu2")):
        model = BitNetModel.load(path, LoadOptions(threads=1, head="exact", activation=activation))
        try:
            logits[name] = model.native.forward(ids, 0, all_logits=True).copy()
            assert model.spec.activation == (activation or "silu")
        finally:
            model.close()
    np.testing.assert_array_equal(logits["relabelled"], logits["orig"])
    assert not np.allclose(logits["relu2"], logits["orig"])
