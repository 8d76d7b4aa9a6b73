"""Synthetic model shapes and tensor layouts, incl. the exact 2B-4T sizes of
docs/file-formats.md#tensor-sizes-and-offsets."""

import os
from collections import Counter

import pytest

from bitnet_desktop.engine.gguf import F16, F32, I2_S, Q8_0, TQ1_0, TQ2_0, open_gguf
from bitnet_desktop.engine.synth import SHAPES, SyntheticModel, get_shape, write_synthetic_model


def test_2b4t_shape_is_the_real_model():
    s = SHAPES["2b4t"]
    assert (s.n_embd, s.n_ff, s.n_layer, s.n_head, s.n_head_kv, s.n_vocab, s.n_ctx) == (
        2560,
        6912,
        30,
        20,
        5,
        128256,
        4096,
    )
    assert s.rope_theta == 500000.0 and s.rms_eps == 1e-5 and s.tied
    assert (s.head_dim, s.n_embd_kv, s.gqa) == (128, 640, 4)


def test_small_shapes():
    assert SHAPES["tiny"].gqa == 2 and SHAPES["tiny"].head_dim == 64
    assert SHAPES["tiny-mha"].n_head == SHAPES["tiny-mha"].n_head_kv
    assert SHAPES["small"].n_layer == 3 and SHAPES["small"].gqa == 4
    assert not SHAPES["tiny-untied"].tied
    for s in SHAPES.values():  # every format can store every shape
        assert s.n_embd % 256 == 0 and s.n_ff % 256 == 0


def test_overrides_and_invalid_shapes():
    s = get_shape("tiny", n_layer=1, tied=False)
    assert s.n_layer == 1 and not s.tied and s.n_embd == 256
    with pytest.raises(TypeError):
        get_shape("tiny", n_layers=1)
    with pytest.raises(ValueError, match="unknown synthetic shape"):
        get_shape("huge")
    with pytest.raises(ValueError, match="not a multiple of n_head_kv"):
        get_shape("tiny", n_head_kv=3)
    with pytest.raises(ValueError, match="multiples of 128"):
        get_shape("tiny", n_ff=200)


def test_2b4t_i2s_layout_matches_spec_2_4_without_writing():
    m = SyntheticModel("2b4t", "i2_s")
    layout = {t.name: t for t in m.layout()}
    assert len(layout) == 332
    assert Counter(t.type.name for t in layout.values()) == {"I2_S": 210, "F32": 121, "F16": 1}
    assert layout["token_embd.weight"].nbytes == 656_670_720 and layout["token_embd.weight"].type is F16
    for i in (0, 29):
        assert layout[f"blk.{i}.attn_q.weight"].nbytes == 1_638_432
        assert layout[f"blk.{i}.attn_output.weight"].nbytes == 1_638_432
        assert layout[f"blk.{i}.attn_k.weight"].nbytes == 409_632
        assert layout[f"blk.{i}.attn_v.weight"].nbytes == 409_632
        for proj in ("ffn_gate", "ffn_up", "ffn_down"):
            assert layout[f"blk.{i}.{proj}.weight"].nbytes == 4_423_712
        for norm in ("attn_norm", "attn_sub_norm", "ffn_norm"):
            assert layout[f"blk.{i}.{norm}.weight"].nbytes == 10_240
        assert layout[f"blk.{i}.ffn_sub_norm.weight"].nbytes == 27_648
    assert layout["blk.0.ffn_down.weight"].ne == (6912, 2560)
    assert layout["blk.0.attn_k.weight"].ne == (2560, 640)
    assert "output.weight" not in layout and "rope_freqs.weight" not in layout
    assert all(t.nbytes % 32 == 0 for t in layout.values())
    assert m.tensor_data_size() == 1_179_449_920


def test_2b4t_tq_layouts():
    tq2 = {t.name: t for t in SyntheticModel("2b4t", "tq2_0").layout()}
    tq1 = {t.name: t for t in SyntheticModel("2b4t", "tq1_0").layout()}
    assert tq2["blk.0.attn_q.weight"].type is TQ2_0 and tq2["blk.0.attn_q.weight"].nbytes == 2560 * 2560 // 256 * 66
    assert tq1["blk.0.ffn_down.weight"].type is TQ1_0 and tq1["blk.0.ffn_down.weight"].nbytes == 6912 * 2560 // 256 * 54


def test_layout_matches_the_written_file(tmp_path):
    m = SyntheticModel("small", "i2_s", embedding_type="q8_0", scales=True, tied=False)
    path = m.write(tmp_path / "small.gguf")
    with open_gguf(path) as g:
        assert [(t.name, t.ne, t.type, t.nbytes, t.offset) for t in g.tensors.values()] == [
            (t.name, t.ne, t.type, t.nbytes, t.offset) for t in m.layout()
        ]
        assert g.tensors["output.weight"].type is Q8_0
        assert g.tensors["blk.2.ffn_up.scale"].ne == (1,) and g.tensors["blk.2.ffn_up.scale"].type is F32
        assert list(g.tensors)[:3] == ["token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight"]
        assert list(g.tensors)[3] == "blk.0.attn_q.scale"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("BITNET_SLOW_TESTS") != "1", reason="writes 1.18 GB; set BITNET_SLOW_TESTS=1")
def test_write_the_whole_2b4t_file(tmp_path):
    import time

    start = time.monotonic()
    path = write_synthetic_model(tmp_path / "2b4t.gguf", "2b4t", "i2_s")
    assert time.monotonic() - start < 60
    with open_gguf(path) as g:
        assert sum(t.nbytes for t in g.tensors.values()) == 1_179_449_920
        assert g.tensors["blk.29.ffn_down.weight"].type is I2_S
        assert g.metadata["tokenizer.ggml.bos_token_id"] == 128000
