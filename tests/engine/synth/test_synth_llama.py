"""Synthetic arch-`llama` models written the way bitnet.cpp's LlamaModel converter writes Falcon3,
Falcon-E and Llama3-8B-1.58: llama.* metadata with the family's pre-tokenizer, no sub-norms,
permuted Q/K rows, an untied F16 output."""

import numpy as np
import pytest

from bitnet_desktop.engine.formats import load_ternary
from bitnet_desktop.engine.gguf import F16, I2_S, TQ2_0, open_gguf
from bitnet_desktop.engine.synth import SHAPES, SyntheticModel, write_synthetic_model
from bitnet_desktop.engine.synth.cli import main_synth
from bitnet_desktop.engine.synth.metadata import FALCON3_TEMPLATE


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    return write_synthetic_model(tmp_path_factory.mktemp("llama") / "tiny-llama.gguf", "tiny-llama", "i2_s", seed=3)


def test_llama_file_layout(tiny_llama):
    with open_gguf(tiny_llama) as g:
        meta = g.metadata
        assert meta["general.architecture"] == "llama"
        assert meta["llama.embedding_length"] == 256 and meta["llama.attention.head_count_kv"] == 2
        assert meta["llama.rope.freq_base"] == 500000.0
        assert meta["tokenizer.ggml.model"] == "gpt2" and meta["tokenizer.ggml.pre"] == "llama-bpe"
        assert "tokenizer.chat_template" not in meta  # a base model, like Llama3-8B-1.58
        assert not any("sub_norm" in name for name in g.tensors)
        assert g.tensors["blk.1.ffn_down.weight"].type is I2_S
        assert g.tensors["output.weight"].type is F16  # untied, F16
        assert g.tensors["output.weight"].shape == (1024, 256)


def test_q_and_k_rows_are_permuted_like_the_converter(tiny_llama):
    """Stored rows of head h: HF rows h*hd + (0, hd/2, 1, hd/2 + 1, ...), i.e. llama.cpp's permute,
    written out by index here; V and the other projections are stored as generated."""
    m = SyntheticModel("tiny-llama", "i2_s", seed=3)
    hd, n_head, n_kv = 64, 4, 2
    half = np.arange(hd // 2)
    order_in_head = np.stack([half, half + hd // 2], axis=1).reshape(-1)
    with open_gguf(tiny_llama) as g:
        for name, heads in (("blk.0.attn_q.weight", n_head), ("blk.1.attn_k.weight", n_kv)):
            stored, alpha = load_ternary(g.tensors[name])
            hf, hf_alpha = m.hf_ternary(name)
            rows = np.concatenate([h * hd + order_in_head for h in range(heads)])
            np.testing.assert_array_equal(stored, hf[rows])
            assert alpha == hf_alpha
            assert not np.array_equal(stored, hf)
        stored_v, _ = load_ternary(g.tensors["blk.0.attn_v.weight"])
        np.testing.assert_array_equal(stored_v, m.hf_ternary("blk.0.attn_v.weight")[0])


def test_same_weights_in_every_ternary_format(tmp_path, tiny_llama):
    tq2 = write_synthetic_model(tmp_path / "tq2.gguf", "tiny-llama", "tq2_0", seed=3)
    with open_gguf(tiny_llama) as a, open_gguf(tq2) as b:
        assert b.tensors["blk.0.attn_q.weight"].type is TQ2_0
        assert b.metadata["general.architecture"] == "llama"
        for name in ("blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.1.ffn_up.weight"):
            ta, alpha_a = load_ternary(a.tensors[name])
            tb, alpha_b = load_ternary(b.tensors[name])
            np.testing.assert_array_equal(ta, tb)
            assert alpha_a == alpha_b


@pytest.mark.parametrize("shape, d, layers, heads, kv, ffn, vocab, theta, pre", [
    ("falcon3-1b", 2048, 18, 8, 4, 8192, 131072, 1000042.0, "falcon3"),
    ("falcon-e-3b", 2304, 32, 9, 3, 9216, 32768, 100000.0, "falcon_e"),
    ("llama3-8b", 4096, 32, 32, 8, 14336, 128256, 500000.0, "llama-bpe"),
])
def test_real_model_shapes(shape, d, layers, heads, kv, ffn, vocab, theta, pre):
    s = SHAPES[shape]
    assert (s.n_embd, s.n_layer, s.n_head, s.n_head_kv, s.n_ff, s.n_vocab) == (d, layers, heads, kv, ffn, vocab)
    assert (s.rope_theta, s.pre, s.arch, s.tied) == (theta, pre, "llama", False)
    m = SyntheticModel(shape)  # nothing generated: layout only
    assert m.arch == "llama" and "output.weight" in m.specs
    ternary_bytes = layers * ((2 * d * d + 2 * d * kv * s.head_dim + 3 * d * ffn) // 4 + 7 * 32)  # + I2_S tails
    norms = 4 * (2 * d * layers + d)  # attn_norm and ffn_norm per layer, output_norm; no sub-norms
    tables = 2 * vocab * d * 2  # token_embd and the untied output, F16
    padding = 32 * len(m.specs)
    assert 0 <= m.tensor_data_size() - (ternary_bytes + norms + tables) < padding


def test_instruct_shapes_carry_falcon3s_template():
    meta = dict((k, v) for k, _, v in SyntheticModel("falcon3-1b").metadata() if k != "tokenizer.ggml.tokens")
    assert meta["tokenizer.chat_template"] == FALCON3_TEMPLATE
    assert meta["tokenizer.ggml.pre"] == "falcon3"


def test_cli_writes_llama_arch(tmp_path, capsys):
    out = tmp_path / "m.gguf"
    assert main_synth(["--arch", "llama", "--shape", "tiny", "--format", "tq1_0", str(out)]) == 0
    assert "arch llama" in capsys.readouterr().out
    with open_gguf(out) as g:
        assert g.metadata["general.architecture"] == "llama"
        assert "blk.0.attn_sub_norm.weight" not in g.tensors
    assert main_synth(["--arch", "llama", "--tokenizer", "llama", str(tmp_path / "spm.gguf")]) == 2


def test_rope_freqs_tensor(tmp_path):
    path = write_synthetic_model(tmp_path / "f.gguf", "tiny-llama", "i2_s", rope_freqs=True)
    with open_gguf(path) as g:
        freqs = g.tensors["rope_freqs.weight"].data.view(np.float32)
    assert freqs.shape == (32,) and freqs.min() >= 1.0 and freqs.max() < 8.0
    np.testing.assert_array_equal(freqs, SyntheticModel("tiny-llama", rope_freqs=True).decoded("rope_freqs.weight"))
    with pytest.raises(ValueError, match="arch 'llama' only"):
        SyntheticModel("tiny", rope_freqs=True)
