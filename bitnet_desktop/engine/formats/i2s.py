"""I2_S, bitnet.cpp's ternary weight format: pack and unpack (docs/file-formats.md#i2_s).

Byte layout of a weight [M, K] (ggml ne = [K, M]), K a multiple of 128, flattened row-major:

    codes:  M*K/4 bytes. Element t in {-1, 0, +1} is stored as the 2-bit code c = t + 1
            (code 3 is never written; readers decode it as 0). Each block of 128 consecutive
            elements takes 32 bytes; element p of the block (group g = p // 32, lane j = p % 32)
            is in byte j at bit shift 6 - 2g, i.e. byte j = c[j]<<6 | c[32+j]<<4 | c[64+j]<<2 | c[96+j]
            (MSB-first groups). Row m occupies bytes [m*K/4, (m+1)*K/4).
    tail:   32 bytes at offset M*K/4: alpha as little-endian float32 in bytes 0..3 (W = alpha * T),
            bytes 4..31 unspecified. Written as zeros unless the caller supplies other padding;
            never read.

Worked example (A.6): codes c[0]=2, c[32]=1, c[64]=0, c[96]=2 give byte 0 = 0x92.
"""

from __future__ import annotations

import numpy as np

from bitnet_desktop.engine.formats.checks import as_uint8, check_length, check_shape, check_ternary

BLOCK = 128  # elements per block
BLOCK_BYTES = 32
TAIL_BYTES = 32
FORMAT = "I2_S"

# code -> ternary value; code 3 is never written and decodes to 0
CODE_TO_TERNARY = np.array([-1, 0, 1, 0], dtype=np.int8)
_SHIFTS = np.array([6, 4, 2, 0], dtype=np.uint8)


def i2s_nbytes(M: int, K: int) -> int:
    return M * K // 4 + TAIL_BYTES


def pack_i2s_codes(codes: np.ndarray, alpha: float, tail_padding: bytes | None = None) -> np.ndarray:
    """Pack 2-bit codes (uint8 [M, K], values 0..3) and alpha into I2_S bytes (uint8 1-D).

    `tail_padding`, if given, is the 28 bytes written after alpha (default: zeros).
    """
    codes = np.asarray(codes, dtype=np.uint8)
    M, K = codes.shape
    check_shape(FORMAT, M, K, BLOCK, "pack_i2s")
    out = np.empty(i2s_nbytes(M, K), dtype=np.uint8)
    c = codes.reshape(-1, 4, 32)  # (block, group, lane)
    packed = out[: M * K // 4].reshape(-1, 32)
    np.left_shift(c[:, 0], 6, out=packed)
    packed |= c[:, 1] << 4
    packed |= c[:, 2] << 2
    packed |= c[:, 3]
    tail = out[M * K // 4 :]
    tail[:4] = np.frombuffer(np.float32(alpha).astype("<f4").tobytes(), dtype=np.uint8)
    if tail_padding is None:
        tail[4:] = 0
    else:
        if len(tail_padding) != TAIL_BYTES - 4:
            raise ValueError(f"I2_S tail padding must be {TAIL_BYTES - 4} bytes, got {len(tail_padding)}")
        tail[4:] = np.frombuffer(bytes(tail_padding), dtype=np.uint8)
    return out


def pack_i2s(T: np.ndarray, alpha: float, tail_padding: bytes | None = None) -> np.ndarray:
    """Ternary int8 [M, K] (values -1/0/+1) and alpha -> I2_S bytes (uint8, M*K/4 + 32)."""
    T = check_ternary(T, "pack_i2s")
    return pack_i2s_codes((T + 1).astype(np.uint8), alpha, tail_padding)


def unpack_i2s_codes(data, M: int, K: int, name: str = "?") -> np.ndarray:
    """The raw 2-bit codes (uint8 [M, K], 0..3) of an I2_S tensor. Checks shape and length."""
    buf = as_uint8(data)
    check_shape(FORMAT, M, K, BLOCK, name)
    check_length(buf, i2s_nbytes(M, K), FORMAT, M, K, name)
    packed = buf[: M * K // 4].reshape(-1, 1, 32)
    codes = (packed >> _SHIFTS.reshape(1, 4, 1)) & 3  # (block, group, lane)
    return codes.reshape(M, K)


def i2s_alpha(data, M: int, K: int, name: str = "?") -> np.float32:
    """alpha: the little-endian float32 in bytes 0..3 of the tail."""
    buf = as_uint8(data)
    check_shape(FORMAT, M, K, BLOCK, name)
    check_length(buf, i2s_nbytes(M, K), FORMAT, M, K, name)
    start = M * K // 4
    return buf[start : start + 4].view("<f4")[0].astype(np.float32)


def unpack_i2s(data, M: int, K: int, name: str = "?") -> tuple[np.ndarray, np.float32]:
    """I2_S bytes -> (T int8 [M, K] in {-1, 0, +1}, alpha float32). Code 3 decodes to 0."""
    T = CODE_TO_TERNARY[unpack_i2s_codes(data, M, K, name)]
    return T, i2s_alpha(data, M, K, name)
