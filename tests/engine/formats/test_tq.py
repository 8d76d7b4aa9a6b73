"""TQ2_0 and TQ1_0 codecs against docs/file-formats.md#ternary-weights-in-other-files and A.6."""

import itertools

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.formats import (
    decode_tq1_0,
    decode_tq2_0,
    encode_tq1_0,
    encode_tq2_0,
    unpack_tq1_0,
    unpack_tq2_0,
)
from bitnet_desktop.engine.formats.tq1_0 import decode_trits, encode_trits


def f16(b: bytes) -> np.float32:
    return np.frombuffer(b, "<f2")[0].astype(np.float32)


def reference_tq2_0(data: bytes, M: int, K: int) -> np.ndarray:
    """Spec 5.1 TQ2_0 decode, element by element."""
    out = np.zeros(M * K, np.float32)
    for blk in range(M * K // 256):
        b = data[66 * blk : 66 * blk + 66]
        d = f16(b[64:66])
        for j in (0, 32):
            for l in range(4):
                for m in range(32):
                    q = (b[j + m] >> (2 * l)) & 3
                    out[256 * blk + (j // 32) * 128 + 32 * l + m] = np.float32(q - 1) * d
    return out.reshape(M, K)


def trit(q: int, n: int) -> int:
    return (((q * 3**n) % 256) * 3) >> 8


def reference_tq1_0(data: bytes, M: int, K: int) -> np.ndarray:
    """Spec 5.1 TQ1_0 decode, element by element."""
    out = np.zeros(M * K, np.float32)
    for blk in range(M * K // 256):
        b = data[54 * blk : 54 * blk + 54]
        d = f16(b[52:54])
        y = out[256 * blk : 256 * blk + 256]
        for n in range(5):
            for m in range(32):
                y[32 * n + m] = np.float32(trit(b[m], n) - 1) * d
            for m in range(16):
                y[160 + 16 * n + m] = np.float32(trit(b[32 + m], n) - 1) * d
        for n in range(4):
            for j in range(4):
                y[240 + 4 * n + j] = np.float32(trit(b[48 + j], n) - 1) * d
    return out.reshape(M, K)


# -- TQ2_0 ----------------------------------------------------------------------------------------


def test_tq2_0_worked_example_a6():
    T = np.zeros((1, 256), np.int8)
    T[0, [0, 32, 64, 96]] = [1, 0, -1, 1]
    data = encode_tq2_0(T, 1.0)
    assert data[0] == 0x86
    assert decode_tq2_0(data, 1, 256)[0, [0, 32, 64, 96]].tolist() == [1.0, 0.0, -1.0, 1.0]


@pytest.mark.parametrize("M,K", [(1, 256), (3, 512), (7, 768)])
def test_tq2_0_round_trip(M, K):
    rng = np.random.default_rng(M + K)
    T = rng.integers(-1, 2, (M, K)).astype(np.int8)
    d = rng.uniform(0.01, 3, (M, K // 256)).astype(np.float32)
    data = encode_tq2_0(T, d)
    assert data.size == M * K // 256 * 66
    T2, d2 = unpack_tq2_0(data, M, K)
    np.testing.assert_array_equal(T2, T)
    np.testing.assert_array_equal(d2, d.astype(np.float16).astype(np.float32))  # d is stored as f16
    np.testing.assert_array_equal(decode_tq2_0(data, M, K), T * np.repeat(d2, 256, axis=1))
    np.testing.assert_array_equal(reference_tq2_0(data.tobytes(), M, K), decode_tq2_0(data, M, K))


def test_tq2_0_decode_matches_reference_on_random_bytes():
    data = np.random.default_rng(5).integers(0, 256, 3 * 66, dtype=np.uint8)
    data[64::66] = 0x00
    data[65::66] = 0x3C  # d = 1.0 in every block, so no NaN/inf
    np.testing.assert_array_equal(decode_tq2_0(data, 1, 768), reference_tq2_0(data.tobytes(), 1, 768))
    with pytest.raises(ModelFormatError, match="unused code 3"):
        unpack_tq2_0(np.full(66, 0xFF, np.uint8), 1, 256, "w")


# -- TQ1_0 ----------------------------------------------------------------------------------------


def test_tq1_0_all_243_five_trit_values_round_trip():
    combos = np.array(list(itertools.product(range(3), repeat=5)), np.uint8)  # 243 × 5
    q = encode_trits(combos)
    np.testing.assert_array_equal(decode_trits(q, 5), combos)
    assert len(set(q.tolist())) == 243
    for c, byte in zip(combos.tolist(), q.tolist()):  # the spec formula, scalar
        value = sum(t * 3 ** (4 - n) for n, t in enumerate(c))
        assert byte == -(-value * 256 // 243)
        assert [trit(byte, n) for n in range(5)] == c


def test_tq1_0_all_81_four_trit_values_round_trip():
    combos = np.array(list(itertools.product(range(3), repeat=4)), np.uint8)
    q = encode_trits(np.concatenate([combos, np.zeros((81, 1), np.uint8)], axis=1))
    np.testing.assert_array_equal(decode_trits(q, 4), combos)


def test_tq1_0_every_byte_decodes_to_valid_trits():
    assert decode_trits(np.arange(256), 5).max() <= 2


@pytest.mark.parametrize("M,K", [(1, 256), (3, 512), (5, 256)])
def test_tq1_0_round_trip(M, K):
    rng = np.random.default_rng(10 * M + K)
    T = rng.integers(-1, 2, (M, K)).astype(np.int8)
    alpha = np.float32(1.375)
    data = encode_tq1_0(T, alpha)
    assert data.size == M * K // 256 * 54
    T2, d = unpack_tq1_0(data, M, K)
    np.testing.assert_array_equal(T2, T)
    assert (d == alpha).all()
    np.testing.assert_array_equal(decode_tq1_0(data, M, K), T * alpha)
    np.testing.assert_array_equal(reference_tq1_0(data.tobytes(), M, K), decode_tq1_0(data, M, K))


def test_tq1_0_decode_matches_reference_on_random_bytes():
    data = np.random.default_rng(9).integers(0, 256, 2 * 54, dtype=np.uint8)
    data[52::54] = 0x00
    data[53::54] = 0xC0  # d = -2.0
    np.testing.assert_array_equal(decode_tq1_0(data, 1, 512), reference_tq1_0(data.tobytes(), 1, 512))


def test_tq1_0_element_positions():
    # One +1 at each special position lands in the byte the spec names.
    for pos, byte_index in [(0, 0), (31, 31), (32, 0), (159, 31), (160, 32), (239, 47), (240, 48), (255, 51)]:
        T = np.zeros((1, 256), np.int8)
        base = encode_tq1_0(T, 1.0)
        T[0, pos] = 1
        changed = np.flatnonzero(encode_tq1_0(T, 1.0) != base).tolist()
        assert changed == [byte_index], pos


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,decode,size", [("TQ2_0", decode_tq2_0, 66), ("TQ1_0", decode_tq1_0, 54)])
def test_refusals(fmt, decode, size):
    with pytest.raises(
        ModelFormatError, match=f"tensor 'w': {fmt} needs a row length K that is a multiple of 256, got K = 128"
    ):
        decode(bytes(size), 2, 128, "w")
    with pytest.raises(
        ModelFormatError, match=rf"{fmt} data for shape \[2, 256\] must be {2 * size} bytes, got {size} \(too short\)"
    ):
        decode(bytes(size), 2, 256, "w")
    with pytest.raises(ModelFormatError, match="multiple of 256"):
        (encode_tq2_0 if fmt == "TQ2_0" else encode_tq1_0)(np.zeros((1, 128), np.int8), 1.0)
