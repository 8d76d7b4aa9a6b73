"""I2_S codec against docs/file-formats.md#i2_s."""

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.formats import i2s_alpha, pack_i2s, pack_i2s_codes, unpack_i2s, unpack_i2s_codes


def reference_unpack(data: bytes, M: int, K: int):
    """docs/file-formats.md#i2_s transcribed literally, one element at a time."""
    alpha = np.frombuffer(data[M * K // 4 : M * K // 4 + 4], "<f4")[0]
    T = np.zeros((M, K), np.int8)
    for m in range(M):
        row = data[m * K // 4 : (m + 1) * K // 4]
        for b in range(K // 128):
            for j in range(32):
                byte = row[32 * b + j]
                for g in range(4):
                    code = (byte >> (6 - 2 * g)) & 3
                    T[m, 128 * b + 32 * g + j] = (-1, 0, 1, 0)[code]
    return T, alpha


def test_worked_example_a6():
    codes = np.ones((1, 128), np.uint8)  # all zeros (code 1) ...
    codes[0, [0, 32, 64, 96]] = [2, 1, 0, 2]  # ... except elements 0, 32, 64, 96 = +1, 0, -1, +1
    packed = pack_i2s_codes(codes, 1.0)
    assert packed[0] == 0x92
    data = bytearray(packed)
    T, _ = unpack_i2s(bytes(data), 1, 128)
    assert T[0, [0, 32, 64, 96]].tolist() == [1, 0, -1, 1]


def test_decoding_byte_0x92_alone():
    data = bytes([0x92]) + bytes([0x55]) * 31 + np.float32(2.0).tobytes() + bytes(28)
    T, alpha = unpack_i2s(data, 1, 128)
    assert T[0, [0, 32, 64, 96]].tolist() == [1, 0, -1, 1]
    assert alpha == 2.0


@pytest.mark.parametrize("M,K", [(1, 128), (3, 256), (7, 384), (5, 1280)])
def test_round_trip_random(M, K):
    rng = np.random.default_rng(M * 1000 + K)
    T = rng.integers(-1, 2, (M, K)).astype(np.int8)
    alpha = np.float32(rng.uniform(0.1, 4.0))
    data = pack_i2s(T, alpha)
    assert data.dtype == np.uint8 and data.size == M * K // 4 + 32
    T2, alpha2 = unpack_i2s(data, M, K)
    np.testing.assert_array_equal(T2, T)
    assert alpha2 == alpha and alpha2.dtype == np.float32
    ref_T, ref_alpha = reference_unpack(bytes(data), M, K)
    np.testing.assert_array_equal(ref_T, T)
    assert ref_alpha == alpha


def test_vectorised_decode_matches_reference_on_random_bytes():
    rng = np.random.default_rng(7)
    M, K = 3, 256
    data = rng.integers(0, 256, M * K // 4 + 32, dtype=np.uint8).tobytes()  # includes code 3
    T, alpha = unpack_i2s(data, M, K)
    ref_T, ref_alpha = reference_unpack(data, M, K)
    np.testing.assert_array_equal(T, ref_T)
    assert alpha == ref_alpha or (np.isnan(alpha) and np.isnan(ref_alpha))


def test_code_3_decodes_to_zero():
    data = bytes([0xFF]) * 32 + np.float32(1).tobytes() + bytes(28)
    assert (unpack_i2s_codes(data, 1, 128) == 3).all()
    assert (unpack_i2s(data, 1, 128)[0] == 0).all()


def test_each_row_uses_exactly_k_over_4_bytes():
    rng = np.random.default_rng(3)
    M, K = 5, 256
    T = rng.integers(-1, 2, (M, K)).astype(np.int8)
    base = pack_i2s(T, 1.0)
    T[2] = -T[2] + (T[2] == 0)  # change every element of row 2
    changed = np.flatnonzero(pack_i2s(T, 1.0) != base)
    assert changed.min() >= 2 * K // 4 and changed.max() < 3 * K // 4


def test_tail_layout_and_padding():
    T = np.zeros((2, 128), np.int8)
    data = pack_i2s(T, 0.75)
    tail = data[64:]
    assert tail[:4].tobytes() == np.float32(0.75).astype("<f4").tobytes()
    assert not tail[4:].any()
    padded = pack_i2s(T, 0.75, tail_padding=bytes(range(100, 128)))
    assert padded[68:].tolist() == list(range(100, 128))
    assert i2s_alpha(padded, 2, 128) == np.float32(0.75)
    np.testing.assert_array_equal(unpack_i2s(padded, 2, 128)[0], T)  # bytes 4..31 ignored
    with pytest.raises(ValueError, match="28 bytes"):
        pack_i2s(T, 1.0, tail_padding=b"x")


def test_refusals():
    with pytest.raises(
        ModelFormatError, match=r"tensor 'w': I2_S needs a row length K that is a multiple of 128, got K = 64"
    ):
        unpack_i2s(bytes(16 + 32), 1, 64, "w")
    with pytest.raises(
        ModelFormatError, match=r"tensor 'w': I2_S data for shape \[2, 128\] must be 96 bytes, got 95 \(too short\)"
    ):
        unpack_i2s(bytes(95), 2, 128, "w")
    with pytest.raises(ModelFormatError, match="too long"):
        unpack_i2s(bytes(97), 2, 128, "w")
    with pytest.raises(ModelFormatError, match="multiple of 128"):
        pack_i2s(np.zeros((1, 100), np.int8), 1.0)
    with pytest.raises(ValueError, match="-1, 0 or \\+1"):
        pack_i2s(np.full((1, 128), 2, np.int8), 1.0)
