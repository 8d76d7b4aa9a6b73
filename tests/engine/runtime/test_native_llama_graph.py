"""The native forward pass of arch `llama` (no sub-norms, normal RoPE, optional rope_freqs)
against the NumPy reference, and the converter's Q/K permutation.

Same method and tolerance as test_native_model_reference (TIGHT, near-tie flips explained by
`explain_difference`): the LLaMA graph only drops two norms and changes the RoPE pairing, so the
intended differences (f32 accumulation order in QKᵀ, P·V and the head; libm cos/sin/exp) are the
same and as small.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bitnet_desktop.engine.native import KernelContext
from bitnet_desktop.engine.runtime.native_model import ModelConfigError, NativeModel, WeightSizeError
from tests.engine.runtime.native_helpers import build, kernels_to_test, native_config
from tests.engine.runtime.reference_forward import (
    explain_difference,
    make_model,
    permuted_for_llama_cpp,
    reference_forward,
    relative_error,
)
from tests.engine.runtime.test_native_model_reference import MAX_FLIPS, N_TOKENS, TIGHT

MODELS = {
    # GQA 2, tied head (llama.cpp ties when output.weight is absent)
    "gqa2-tied": dict(n_layers=2, d_model=256, n_heads=4, n_kv_heads=2, d_ffn=384),
    # MHA, untied F16 output like Falcon / Llama3 files, 3 layers
    "mha-untied": dict(n_layers=3, d_model=128, n_heads=2, n_kv_heads=2, d_ffn=256, tied=False),
    # GQA 4 with head_dim 128 and Llama-3's rope base
    "gqa4-hd128": dict(n_layers=2, d_model=512, n_heads=4, n_kv_heads=1, d_ffn=512, rope_theta=500000.0,
                       tied=False),
    # head_dim 256 like Falcon3 (GQA 2, Falcon's rope base), with rope_freqs
    "hd256-freqs": dict(n_layers=2, d_model=512, n_heads=2, n_kv_heads=1, d_ffn=384, rope_theta=1000042.0,
                        rope_freqs=True),
}


def _model(name: str, seed: int = 0):
    return make_model(seed + 11 * list(MODELS).index(name), llama=True, **MODELS[name])


def _tokens(m, n=N_TOKENS, seed=0):
    return np.random.default_rng(seed).integers(0, m.vocab, n)


@pytest.mark.parametrize("kernel", kernels_to_test())
@pytest.mark.parametrize("name", list(MODELS))
def test_llama_graph_matches_reference(name, kernel):
    m = _model(name)
    tokens = _tokens(m)
    model = build(m, KernelContext(threads=2, kernel=kernel), max_batch=4)  # chunks of 4, 4, 2
    assert not model.has_sub_norms
    logits = model.forward(tokens, 0, all_logits=True)
    err, flips = explain_difference(logits, m, tokens, "f16", TIGHT)
    assert err <= TIGHT and len(flips) <= MAX_FLIPS, (err, flips)


@pytest.mark.parametrize("name", ["gqa2-tied", "hd256-freqs"])
def test_threads_chunks_and_token_by_token_are_bit_identical(name):
    m = _model(name, seed=1)
    tokens = _tokens(m, seed=1)
    base = None
    for threads in (1, 2, 3):
        ctx = KernelContext(threads=threads)
        for max_batch in (512, 3):
            model = build(m, ctx, max_batch=max_batch)
            batched = model.forward(tokens, 0, all_logits=True)
            if base is None:
                base = batched.copy()
            np.testing.assert_array_equal(batched, base, err_msg=f"{threads}t batch {max_batch}")
        model.truncate(0)
        one_by_one = np.stack([model.forward(tokens[i:i + 1], i) for i in range(len(tokens))])
        np.testing.assert_array_equal(one_by_one, base, err_msg=f"{threads}t token by token")


@pytest.mark.parametrize("name", ["gqa2-tied", "gqa4-hd128", "hd256-freqs"])
def test_converter_permutation_gives_the_hugging_face_model(name):
    """Written as bitnet.cpp's converter writes it (Q/K rows permuted, normal RoPE), the model
    computes what the Hugging Face layout computes with rotate-half (NeoX) RoPE: the reference runs
    on the UNPERMUTED weights. Q·K is invariant under the same permutation of both, so only the
    f32 summation order of the scores differs."""
    hf = _model(name, seed=2)
    hf.rope_style = "neox"
    written = permuted_for_llama_cpp(hf)
    assert written.rope_style == "normal"
    tokens = _tokens(hf, seed=2)
    logits = build(written, KernelContext(threads=2)).forward(tokens, 0, all_logits=True)
    err, flips = explain_difference(logits, hf, tokens, "f16", TIGHT)
    assert err <= TIGHT and len(flips) <= MAX_FLIPS, (err, flips)
    # Normal RoPE on the unpermuted rows is another model entirely.
    unpermuted = replace(hf, rope_style="normal")
    wrong = build(unpermuted, KernelContext(threads=2)).forward(tokens, 0, all_logits=True)
    assert relative_error(wrong, reference_forward(hf, tokens)) > 100 * TIGHT


@pytest.mark.parametrize("wrong", ["neox", "sub_norms", "no_freqs"])
def test_reference_is_discriminating(wrong):
    """Each of the LLaMA graph's differences from the bitnet graph moves the logits far beyond
    TIGHT, so the comparison above checks every one of them."""
    m = _model("hd256-freqs")
    tokens = _tokens(m)
    logits = build(m, KernelContext(threads=2)).forward(tokens, 0, all_logits=True)
    variant = make_model(0 + 11 * list(MODELS).index("hd256-freqs"), llama=True, **MODELS["hd256-freqs"])
    if wrong == "neox":
        variant.rope_style = "neox"
    elif wrong == "no_freqs":
        variant.rope_freqs = None
    else:  # unit sub-norm gains: the norms alone, without changing any weight
        variant.sub_norms = True
        for layer in variant.layers:
            layer["attn_sub_norm"] = np.ones(variant.d_model, np.float32)
            layer["ffn_sub_norm"] = np.ones(variant.d_ffn, np.float32)
    assert relative_error(logits, reference_forward(variant, tokens)) > 5 * TIGHT


def test_sub_norms_in_some_layers_only_are_refused():
    m = make_model(3, n_layers=2, d_model=128, n_heads=2, n_kv_heads=1, d_ffn=256)  # bitnet graph
    layers = m.engine_layers()
    for name in ("attn_sub_norm", "ffn_sub_norm"):
        del layers[0][name]
    config = replace(native_config(m), sub_norms=False)
    with pytest.raises(ModelConfigError, match=r"blk\.1 has a sub-norm but blk\.0\.attn_sub_norm is NULL"):
        NativeModel(KernelContext(threads=1), config, layers, m.token_embd, m.output_norm, m.output)


@pytest.mark.parametrize("freqs, error, message", [
    ((1.0,) * 3, WeightSizeError, "rope_freqs has 3 values, head_dim / 2 = 32"),
    ((1.0,) * 31 + (0.0,), ModelConfigError, r"rope_freqs\[31\] = 0, must be finite and > 0"),
    ((float("nan"),) * 32, ModelConfigError, r"rope_freqs\[0\] = nan"),
])
def test_bad_rope_freqs_are_refused(freqs, error, message):
    m = _model("gqa2-tied")
    config = replace(native_config(m), rope_freqs=freqs)
    with pytest.raises(error, match=message):
        NativeModel(KernelContext(threads=1), config, m.engine_layers(), m.token_embd, m.output_norm, m.output)


def test_unknown_rope_style_is_refused_by_the_binding_and_the_library():
    from bitnet_desktop.engine.native._loader import load

    m = _model("gqa2-tied")
    with pytest.raises(ModelConfigError, match="unknown rope style 'gptj'"):
        NativeModel.estimate_memory(replace(native_config(m), rope_style="gptj"), 1)
    ffi, lib = load()
    cfg, _arrays = native_config(m)._to_native(ffi)
    cfg.rope_style = 7
    assert lib.bn_model_memory_estimate(cfg, 1, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL) == 8  # BN_ERR_BAD_VALUE
