"""Synthetic model files end to end through the GGUF reader and the format codecs."""

import numpy as np
import pytest

from bitnet_desktop.engine.formats import dequantize_tensor, load_ternary, unpack_tq1_0, unpack_tq2_0
from bitnet_desktop.engine.gguf import BF16, F16, F32, I2_S, Q6_K, Q8_0, TQ1_0, TQ2_0, ValueType, open_gguf
from bitnet_desktop.engine.synth import SyntheticModel, write_synthetic_model
from bitnet_desktop.engine.synth.metadata import BITNET_CPP_PLACEHOLDER_TEMPLATE

V = ValueType
FORMATS = {"i2_s": I2_S, "tq2_0": TQ2_0, "tq1_0": TQ1_0, "f16": F16}
PROJS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")

BITNET_CPP_KEYS = [
    ("general.architecture", V.STRING),
    ("general.name", V.STRING),
    ("A.vocab_size", V.UINT32),
    ("A.context_length", V.UINT32),
    ("A.embedding_length", V.UINT32),
    ("A.block_count", V.UINT32),
    ("A.feed_forward_length", V.UINT32),
    ("A.rope.dimension_count", V.UINT32),
    ("A.attention.head_count", V.UINT32),
    ("A.attention.head_count_kv", V.UINT32),
    ("tokenizer.ggml.add_bos_token", V.BOOL),
    ("A.attention.layer_norm_rms_epsilon", V.FLOAT32),
    ("A.rope.freq_base", V.FLOAT32),
    ("general.file_type", V.UINT32),
    ("tokenizer.ggml.model", V.STRING),
    ("tokenizer.ggml.tokens", V.ARRAY),
    ("tokenizer.ggml.scores", V.ARRAY),
    ("tokenizer.ggml.token_type", V.ARRAY),
    ("tokenizer.ggml.merges", V.ARRAY),
    ("tokenizer.ggml.bos_token_id", V.UINT32),
    ("tokenizer.ggml.eos_token_id", V.UINT32),
    ("tokenizer.ggml.padding_token_id", V.UINT32),
    ("tokenizer.chat_template", V.STRING),
    ("general.quantization_version", V.UINT32),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The tiny model, seed 5, in every format (default arch) and TQ2_0 under bitnet-b1.58."""
    d = tmp_path_factory.mktemp("synth")
    out = {fmt: write_synthetic_model(d / f"{fmt}.gguf", "tiny", fmt, seed=5) for fmt in FORMATS}
    out["tq2_0-b158"] = write_synthetic_model(d / "tq2_b158.gguf", "tiny", "tq2_0", arch="bitnet-b1.58", seed=5)
    return out


def test_i2s_file_has_the_bitnet_cpp_metadata_layout(files):
    with open_gguf(files["i2_s"]) as g:
        expected = [(k.replace("A.", "bitnet-b1.58."), t) for k, t in BITNET_CPP_KEYS]
        assert [(k, f.type) for k, f in g.fields.items()] == expected
        m = g.metadata
        assert m["general.architecture"] == "bitnet-b1.58" and m["general.file_type"] == 40
        assert m["bitnet-b1.58.rope.dimension_count"] == 64 and m["bitnet-b1.58.attention.head_count_kv"] == 2
        assert m["bitnet-b1.58.rope.freq_base"] == 500000.0
        assert m["bitnet-b1.58.attention.layer_norm_rms_epsilon"] == np.float32(1e-5)
        assert m["tokenizer.ggml.model"] == "gpt2" and m["tokenizer.chat_template"] == BITNET_CPP_PLACEHOLDER_TEMPLATE
        assert "Human: " in m["tokenizer.chat_template"] and "\\n\\nBITNETAssistant: " in m["tokenizer.chat_template"]
        assert (m["tokenizer.ggml.bos_token_id"], m["tokenizer.ggml.eos_token_id"]) == (768, 769)
        assert m["tokenizer.ggml.padding_token_id"] == 769 and m["tokenizer.ggml.add_bos_token"] is True
        assert g.fields["tokenizer.ggml.scores"].value.elem_type == V.FLOAT32
        assert g.fields["tokenizer.ggml.token_type"].value.elem_type == V.INT32
        assert "tokenizer.ggml.pre" not in m and "general.alignment" not in m
        assert len(m["tokenizer.ggml.merges"]) == 300
        assert {t.type for t in g.tensors.values()} == {I2_S, F16, F32}


def test_tq_files_have_the_llama_cpp_layout(files):
    with open_gguf(files["tq1_0"]) as g:
        m = g.metadata
        assert m["general.architecture"] == "bitnet" and m["general.file_type"] == 36
        assert m["tokenizer.ggml.pre"] == "llama-bpe" and "tokenizer.ggml.scores" not in m
        assert m["bitnet.rope.scaling.type"] == "linear" and m["bitnet.block_count"] == 2
        assert m["tokenizer.chat_template"].startswith("{{ bos_token }}")
    with open_gguf(files["tq2_0-b158"]) as g:
        assert [k for k in g.fields][:3] == ["general.architecture", "general.name", "bitnet-b1.58.vocab_size"]
        assert len(g.fields) == 24 and g.metadata["general.file_type"] == 37


def test_same_seed_same_weights_in_every_format(files):
    model = SyntheticModel("tiny", "i2_s", seed=5)
    handles = {k: open_gguf(p) for k, p in files.items()}
    try:
        for i in range(2):
            for proj in PROJS:
                name = f"blk.{i}.{proj}.weight"
                T, alpha = model.ternary(name)
                assert alpha * 1024 == int(alpha * 1024) and np.float16(alpha) == alpha
                for key, g in handles.items():
                    T2, a2 = load_ternary(g.tensors[name])
                    np.testing.assert_array_equal(T2, T, err_msg=f"{key} {name}")
                    assert a2 == alpha, (key, name)
                    np.testing.assert_array_equal(dequantize_tensor(g.tensors[name]), T * alpha)
        ref = handles["i2_s"]
        for key, g in handles.items():
            assert list(g.tensors) == list(ref.tensors)
            for name, t in g.tensors.items():
                if t.type in (F32, F16) and not name.startswith("blk.") or "norm" in name:
                    np.testing.assert_array_equal(t.data, ref.tensors[name].data, err_msg=f"{key} {name}")
    finally:
        for g in handles.values():
            g.close()


def test_ternary_weights_are_balanced_and_alphas_vary():
    m = SyntheticModel("tiny", seed=0)
    T, _ = m.ternary("blk.0.ffn_up.weight")
    counts = np.bincount((T + 1).ravel(), minlength=3) / T.size
    assert np.all(np.abs(counts - 1 / 3) < 0.01)
    alphas = {float(m.ternary(f"blk.{i}.{p}")[1]) for i in range(2) for p in PROJS}
    assert len(alphas) > 10 and min(alphas) >= 0.25 and max(alphas) < 2


def test_i2s_tails_carry_garbage_that_readers_ignore(files):
    with open_gguf(files["i2_s"]) as g:
        garbage = 0
        for t in g.tensors.values():
            if t.type is I2_S:
                K, M = t.ne
                tail = t.data[M * K // 4 :]
                assert tail.size == 32
                garbage += int(tail[4:].any())
                assert tail[:4].view("<f4")[0] == load_ternary(t)[1]
        assert garbage == 14  # every I2_S tensor of the two layers


def test_tq_blocks_all_carry_alpha(files):
    model = SyntheticModel("tiny", seed=5)
    for fmt, unpack in (("tq2_0", unpack_tq2_0), ("tq1_0", unpack_tq1_0)):
        with open_gguf(files[fmt]) as g:
            t = g.tensors["blk.1.attn_k.weight"]
            K, M = t.ne
            _, d = unpack(t.data, M, K, t.name)
            assert (d == model.ternary(t.name)[1]).all()


def test_scales_flavour_a(tmp_path):
    path = write_synthetic_model(tmp_path / "a.gguf", "tiny", "f16", seed=2, scales=True)
    model = SyntheticModel("tiny", seed=2)
    with open_gguf(path) as g:
        for proj in PROJS:
            w = g.tensors[f"blk.0.{proj}.weight"]
            s = g.tensors[f"blk.0.{proj}.scale"]
            assert s.type is F32 and s.ne == (1,)
            assert set(np.unique(dequantize_tensor(w)).tolist()) <= {-1.0, 0.0, 1.0}  # sign-only
            T, alpha = load_ternary(w, scale=float(s.data.view("<f4")[0]))
            T_ref, alpha_ref = model.ternary(w.name)
            np.testing.assert_array_equal(T, T_ref)
            assert alpha == alpha_ref


@pytest.mark.parametrize(
    "emb,gtype,tol", [("f32", F32, 1e-3), ("bf16", BF16, 2**-8), ("q8_0", Q8_0, 1 / 127), ("q6_k", Q6_K, 1 / 25)]
)
def test_embedding_types(tmp_path, emb, gtype, tol):
    path = write_synthetic_model(tmp_path / f"{emb}.gguf", "tiny", seed=1, embedding_type=emb, tied=False)
    f16 = SyntheticModel("tiny", seed=1, tied=False).decoded("token_embd.weight")
    with open_gguf(path) as g:
        for name in ("token_embd.weight", "output.weight"):
            assert g.tensors[name].type is gtype
        E = dequantize_tensor(g.tensors["token_embd.weight"])
        assert E.shape == (1024, 256)
        scale = np.abs(f16).max(axis=1, keepdims=True)
        assert (np.abs(E - f16) <= tol * scale + 1e-3).all()
        out = dequantize_tensor(g.tensors["output.weight"])
        assert np.abs(out - E).mean() > 0.05  # an independent matrix, not a copy


def test_spm_tokenizer_file(tmp_path):
    path = write_synthetic_model(tmp_path / "spm.gguf", "tiny", "tq2_0", tokenizer="llama")
    with open_gguf(path) as g:
        m = g.metadata
        assert m["tokenizer.ggml.model"] == "llama"
        assert m["tokenizer.ggml.tokens"][:3] == ["<unk>", "<s>", "</s>"]
        assert (
            m["tokenizer.ggml.bos_token_id"],
            m["tokenizer.ggml.eos_token_id"],
            m["tokenizer.ggml.unknown_token_id"],
        ) == (1, 2, 0)
        assert m["tokenizer.ggml.add_eos_token"] is False
        assert "tokenizer.ggml.merges" not in m and "tokenizer.ggml.pre" not in m
        assert len(m["tokenizer.ggml.scores"]) == 1024


def test_invalid_combinations():
    with pytest.raises(ValueError, match="only offered for arch 'bitnet'"):
        SyntheticModel("tiny", "i2_s", tokenizer="llama")
    with pytest.raises(ValueError, match="unknown format"):
        SyntheticModel("tiny", "q4_0")
    with pytest.raises(ValueError, match="unknown arch"):
        SyntheticModel("tiny", arch="qwen2")
    with pytest.raises(ValueError, match="unknown embedding type"):
        SyntheticModel("tiny", embedding_type="q4_k")


def test_deterministic_bytes(tmp_path):
    a = write_synthetic_model(tmp_path / "a.gguf", "tiny", "tq1_0", seed=9).read_bytes()
    b = write_synthetic_model(tmp_path / "b.gguf", "tiny", "tq1_0", seed=9).read_bytes()
    c = write_synthetic_model(tmp_path / "c.gguf", "tiny", "tq1_0", seed=10).read_bytes()
    assert a == b and a != c and len(a) == len(c)


# -- the model is not degenerate: a one-token reference forward pass (docs/architectures.md#the-bitnet-b158-graph)
# -------------


def _rmsnorm(x, g, eps=1e-5):
    return x / np.sqrt(np.mean(x * x) + eps) * g


def _bitlinear(x, T, alpha):
    s = 127.0 / max(np.abs(x).max(), 1e-5)
    q = np.clip(np.round(x * s), -128, 127)
    return (T.astype(np.float64) @ q) * alpha / s


def forward_first_token(g, token: int) -> np.ndarray:
    """Logits of the ReLU² graph for one token at position 0 (attention then returns V exactly)."""
    E = dequantize_tensor(g.tensors["token_embd.weight"]).astype(np.float64)
    md = g.metadata
    arch = md["general.architecture"]
    n_head, n_kv = md[f"{arch}.attention.head_count"], md[f"{arch}.attention.head_count_kv"]
    hd = E.shape[1] // n_head

    def W(name):
        return load_ternary(g.tensors[name])

    def gain(name):
        return dequantize_tensor(g.tensors[name]).astype(np.float64)

    h = E[token].copy()
    for i in range(md[f"{arch}.block_count"]):
        a = _rmsnorm(h, gain(f"blk.{i}.attn_norm.weight"))
        v = _bitlinear(a, *W(f"blk.{i}.attn_v.weight")).reshape(n_kv, hd)
        o = np.concatenate([v[hq // (n_head // n_kv)] for hq in range(n_head)])
        o = _rmsnorm(o, gain(f"blk.{i}.attn_sub_norm.weight"))
        h = h + _bitlinear(o, *W(f"blk.{i}.attn_output.weight"))
        b = _rmsnorm(h, gain(f"blk.{i}.ffn_norm.weight"))
        z = np.maximum(_bitlinear(b, *W(f"blk.{i}.ffn_gate.weight")), 0) ** 2 * _bitlinear(
            b, *W(f"blk.{i}.ffn_up.weight")
        )
        z = _rmsnorm(z, gain(f"blk.{i}.ffn_sub_norm.weight"))
        h = h + _bitlinear(z, *W(f"blk.{i}.ffn_down.weight"))
    return E @ _rmsnorm(h, gain("output_norm.weight"))


def test_logits_are_not_degenerate(files):
    with open_gguf(files["i2_s"]) as g:
        logits = [forward_first_token(g, tok) for tok in range(0, 600, 30)]
    top = set()
    for z in logits:
        assert np.isfinite(z).all()
        assert 1.0 < z.std() < 10.0
        p = np.exp(z - z.max())
        p /= p.sum()
        assert p.max() < 0.9
        top.add(int(z.argmax()))
    assert len(top) >= 5, "different inputs must lead to different predictions"


def test_same_weights_same_logits_across_formats(files):
    with open_gguf(files["i2_s"]) as a, open_gguf(files["tq2_0-b158"]) as b:
        np.testing.assert_array_equal(forward_first_token(a, 42), forward_first_token(b, 42))
