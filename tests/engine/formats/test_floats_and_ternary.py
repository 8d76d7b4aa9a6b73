"""F16/BF16 helpers, the re-ternarize rule (docs/file-formats.md#ternary-weights-in-other-files), load_ternary and
dequantize-by-type."""

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.formats import (
    bf16_to_f32,
    dequantize,
    dequantize_tensor,
    encode_q8_0,
    encode_tq1_0,
    encode_tq2_0,
    f16_to_f32,
    f32_to_bf16,
    f32_to_f16,
    load_ternary,
    pack_i2s,
    reternarize,
)
from bitnet_desktop.engine.gguf import BF16, F16, F32, I2_S, Q8_0, TL1, TL2, TQ1_0, TQ2_0, open_gguf, write_gguf


def test_f16_round_trip_and_rounding():
    x = np.array([0.0, 1.0, -2.5, 65504.0, 1e-7, 1.0 + 2**-11], np.float32)
    h = f32_to_f16(x)
    assert h.dtype == np.dtype("<f2")
    np.testing.assert_array_equal(f16_to_f32(h.tobytes()), h.astype(np.float32))
    assert h[5] == 1.0  # halfway between 1 and 1 + 2^-10 rounds to even
    assert np.isinf(f32_to_f16(np.float32(1e6)))


def test_bf16_rounding_and_nan():
    x = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -3.0, np.inf], np.float32)
    b = f32_to_bf16(x)
    assert b.dtype == np.uint16
    np.testing.assert_array_equal(bf16_to_f32(b), [1.0, 1.0, 1.0 + 2**-6, -3.0, np.inf])  # ties to even
    nan = f32_to_bf16(np.array([np.nan], np.float32))
    assert np.isnan(bf16_to_f32(nan))[0]
    assert bf16_to_f32(np.array([0x3F80], np.uint16).tobytes())[0] == 1.0


def test_reternarize_is_lossless_on_alpha_times_t():
    rng = np.random.default_rng(0)
    T = rng.integers(-1, 2, (5, 256)).astype(np.int8)
    alpha = np.float32(1.375)
    for W in (
        T * alpha,
        f16_to_f32(f32_to_f16(T * alpha)).reshape(5, 256),
        bf16_to_f32(f32_to_bf16(T * np.float32(0.3))).reshape(5, 256),
    ):
        T2, a2 = reternarize(W)
        np.testing.assert_array_equal(T2, T)
        assert a2 == np.abs(W).max()


def test_reternarize_with_scale_flavour_a():
    T = np.array([[1, -1, 0, 1]], np.int8)
    T2, alpha = reternarize(T.astype(np.float32), scale=0.7)
    np.testing.assert_array_equal(T2, T)
    assert alpha == np.float32(0.7)


def test_reternarize_threshold_is_half_alpha():
    W = np.array([[1.0, 0.5, 0.50001, -0.6, -0.4]], np.float32)
    T, alpha = reternarize(W, strict=False)
    assert T.tolist() == [[1, 0, 1, -1, 0]] and alpha == 1.0


def test_reternarize_refuses_non_ternary_weights():
    W = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    with pytest.raises(ModelFormatError, match="tensor 'blk.0.attn_q.weight' is not a ternary weight"):
        reternarize(W, name="blk.0.attn_q.weight")
    with pytest.raises(ModelFormatError, match="NaN or infinity"):
        reternarize(np.array([[1.0, np.nan]], np.float32), name="w")


def test_reternarize_all_zero():
    T, alpha = reternarize(np.zeros((2, 4), np.float32))
    assert not T.any() and alpha == 0


@pytest.fixture()
def ternary_file(tmp_path):
    """One weight stored in every way a ternary weight can be, plus a TL tensor and an F32 scale."""
    rng = np.random.default_rng(2)
    M, K = 3, 512
    T = rng.integers(-1, 2, (M, K)).astype(np.int8)
    alpha = np.float32(0.8125)  # exact in f16
    W = (T * alpha).astype(np.float32)
    tensors = [
        ("i2s", (K, M), I2_S, pack_i2s(T, alpha)),
        ("tq2", (K, M), TQ2_0, encode_tq2_0(T, alpha)),
        ("tq1", (K, M), TQ1_0, encode_tq1_0(T, alpha)),
        ("f16", (K, M), F16, f32_to_f16(W)),
        ("f32", (K, M), F32, W),
        ("bf16", (K, M), BF16, f32_to_bf16(W)),
        ("sign", (K, M), F16, f32_to_f16(T.astype(np.float32))),
        ("sign.scale", (1,), F32, np.array([alpha], np.float32)),
        ("q8", (K, M), Q8_0, encode_q8_0(W)),
        ("tl1", (K, M), TL1, bytes(M * K // 4)),
        ("tl2", (K, M), TL2, bytes(TL2.nbytes((K, M)))),
    ]
    path = write_gguf(tmp_path / "tern.gguf", [], tensors)
    with open_gguf(path) as g:
        yield g, T, alpha, W


def test_load_ternary_agrees_across_storage_types(ternary_file):
    g, T, alpha, _ = ternary_file
    for name in ("i2s", "tq2", "tq1", "f16", "f32", "bf16"):
        T2, a2 = load_ternary(g.tensors[name])
        np.testing.assert_array_equal(T2, T, err_msg=name)
        assert a2 == alpha, name
    T2, a2 = load_ternary(g.tensors["q8"])  # Q8_0 keeps T; alpha only to f16(alpha / 127) * 127
    np.testing.assert_array_equal(T2, T)
    assert abs(a2 - alpha) < alpha * 2**-9
    scale = float(g.tensors["sign.scale"].data.view("<f4")[0])
    T2, a2 = load_ternary(g.tensors["sign"], scale=scale)
    np.testing.assert_array_equal(T2, T)
    assert a2 == alpha


def test_dequantize_by_type(ternary_file):
    g, T, alpha, W = ternary_file
    for name in ("i2s", "tq2", "tq1", "f16", "f32", "bf16"):
        np.testing.assert_array_equal(dequantize_tensor(g.tensors[name]), W, err_msg=name)
    assert dequantize_tensor(g.tensors["sign.scale"]).shape == (1,)
    np.testing.assert_allclose(dequantize_tensor(g.tensors["q8"]), W, atol=float(alpha) / 127)


def test_tl_formats_are_refused_with_a_way_forward(ternary_file):
    g, *_ = ternary_file
    for name, fmt in (("tl1", "TL1"), ("tl2", "TL2")):
        for call in (load_ternary, dequantize_tensor):
            with pytest.raises(ModelFormatError) as e:
                call(g.tensors[name])
            msg = str(e.value)
            assert f"tensor '{name}' uses {fmt}" in msg and "TL1/TL2 files are not supported" in msg
            assert "I2_S" in msg


def test_unsupported_type_and_bad_rank():
    with pytest.raises(ModelFormatError, match="tensor 'x' has type Q4_K, which this engine cannot read"):
        dequantize("Q4_K", bytes(144), (256,), "x")

    class Info:
        name, ne, type, data = "n", (8,), F32, np.zeros(32, np.uint8)

    with pytest.raises(ModelFormatError, match="tensor 'n': a ternary weight must be 2-D"):
        load_ternary(Info())
