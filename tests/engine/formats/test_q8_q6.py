"""Q8_0 and Q6_K codecs (embedding types, docs/file-formats.md#embedding-tables-f16-q8_0-q6_k)."""

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.formats import decode_q6_k, decode_q8_0, encode_q6_k, encode_q8_0


def reference_q6_k(data: bytes, M: int, K: int) -> np.ndarray:
    """Spec 2.8 Q6_K decode, element by element."""
    out = np.zeros(M * K, np.float32)
    for blk in range(M * K // 256):
        b = data[210 * blk : 210 * blk + 210]
        d = np.frombuffer(b[208:210], "<f2")[0].astype(np.float32)
        y = out[256 * blk : 256 * blk + 256]
        for n in range(2):
            ql = b[64 * n : 64 * n + 64]
            qh = b[128 + 32 * n : 128 + 32 * n + 32]
            sc = np.frombuffer(b[192 + 8 * n : 192 + 8 * n + 8], np.int8).astype(np.float32)
            yy = y[128 * n : 128 * n + 128]
            for l in range(32):
                i = l // 16
                q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32
                q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32
                q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                yy[l] = d * sc[i] * np.float32(q1)
                yy[l + 32] = d * sc[i + 2] * np.float32(q2)
                yy[l + 64] = d * sc[i + 4] * np.float32(q3)
                yy[l + 96] = d * sc[i + 6] * np.float32(q4)
    return out.reshape(M, K)


def test_q8_0_layout_and_values():
    # max 15.875 -> d = 15.875 / 127 = 0.125 exactly, so x / d is exact and rounding is visible.
    x = np.zeros((1, 32), np.float32)
    x[0, :5] = [15.875, -0.5625, 0.03125, 0.09375, 0.0625]  # x / d = 127, -4.5, 0.25, 0.75, 0.5
    data = encode_q8_0(x)
    assert data.size == 34
    assert np.frombuffer(data[:2].tobytes(), "<f2")[0] == 0.125  # d first, as f16
    q = data[2:].view(np.int8)
    assert q[:5].tolist() == [127, -5, 0, 1, 1]  # C roundf: halves away from zero
    np.testing.assert_array_equal(decode_q8_0(data, 1, 32), np.float32(0.125) * q.astype(np.float32)[None])


def test_q8_0_round_trip_error_and_zero_blocks():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 96)).astype(np.float32)
    x[3] = 0
    y = decode_q8_0(encode_q8_0(x), 7, 96)
    step = np.abs(x.reshape(-1, 32)).max(axis=1, keepdims=True) / 127
    assert (np.abs(y - x).reshape(-1, 32) <= 0.5 * step * 1.01 + 1e-3 * step).all()
    assert not y[3].any()


def test_q6_k_decode_matches_reference_on_random_bytes():
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, 3 * 210, dtype=np.uint8)
    data[208::210] = 0x66
    data[209::210] = 0x2E  # d = 0.1 in every block
    np.testing.assert_array_equal(decode_q6_k(data, 1, 768), reference_q6_k(data.tobytes(), 1, 768))


@pytest.mark.parametrize("M", [1, 3, 5])
def test_q6_k_round_trip(M):
    rng = np.random.default_rng(M)
    x = (rng.standard_normal((M, 512)) * 0.1).astype(np.float32)
    data = encode_q6_k(x)
    assert data.size == M * 2 * 210
    y = decode_q6_k(data, M, 512)
    np.testing.assert_array_equal(reference_q6_k(data.tobytes(), M, 512), y)
    step = np.abs(x.reshape(-1, 16)).max(axis=1, keepdims=True) / 31
    assert (np.abs(y - x).reshape(-1, 16) <= step * 1.2).all()
    assert np.abs(y - x).mean() < 0.01 * np.abs(x).mean() * 10


def test_refusals():
    with pytest.raises(ModelFormatError, match="Q8_0 needs a row length K that is a multiple of 32, got K = 20"):
        decode_q8_0(bytes(34), 1, 20, "emb")
    with pytest.raises(ModelFormatError, match=r"tensor 'emb': Q8_0 data for shape \[2, 32\] must be 68 bytes"):
        decode_q8_0(bytes(34), 2, 32, "emb")
    with pytest.raises(ModelFormatError, match="Q6_K needs a row length K that is a multiple of 256"):
        decode_q6_k(bytes(210), 1, 128, "emb")
    with pytest.raises(ModelFormatError, match="must be 210 bytes, got 209"):
        decode_q6_k(bytes(209), 1, 256, "emb")
