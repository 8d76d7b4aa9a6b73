"""TQ2_0, llama.cpp's 2-bit ternary format: encode and decode (docs/file-formats.md#tq2_0).

A weight [M, K] (K a multiple of 256) is a sequence of 66-byte blocks, 256 consecutive row-major
elements each (a row holds K/256 blocks):

    qs[64]  2-bit codes c = t + 1, LSB-first: for chunk j in {0, 32} (bytes qs[j..j+31]),
            element (j/32)*128 + 32*l + m is (qs[j+m] >> 2l) & 3, l = 0..3, m = 0..31
    d       f16 block scale (little-endian); value = (code - 1) * d

Code 3 is never written; decoding it gives (3 - 1) * d = 2d exactly as llama.cpp's formula does, so
`unpack_tq2_0` reports it as a format error rather than guessing. Worked example (A.6): elements
0, 32, 64, 96 = +1, 0, -1, +1 give qs[0] = 2 | 1<<2 | 0<<4 | 2<<6 = 0x86.
"""

from __future__ import annotations

import numpy as np

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.formats.checks import as_uint8, check_length, check_shape, check_ternary

BLOCK = 256
BLOCK_BYTES = 66
FORMAT = "TQ2_0"
_SHIFTS = np.array([0, 2, 4, 6], dtype=np.uint8)


def tq2_0_nbytes(M: int, K: int) -> int:
    return M * K // BLOCK * BLOCK_BYTES


def _block_scales(d, n_blocks: int, M: int, K: int) -> np.ndarray:
    d = np.asarray(d, dtype=np.float32)
    if d.ndim == 0:
        d = np.full(n_blocks, d, dtype=np.float32)
    elif d.size != n_blocks:
        raise ValueError(f"need one scale per 256-element block ({M}x{K // BLOCK}), got {d.shape}")
    return d.reshape(-1).astype("<f2")


def encode_tq2_0(T: np.ndarray, d) -> np.ndarray:
    """Ternary int8 [M, K] and scale(s) d (scalar or [M, K/256], rounded to f16) -> TQ2_0 bytes."""
    T = check_ternary(T, "encode_tq2_0")
    M, K = T.shape
    check_shape(FORMAT, M, K, BLOCK, "encode_tq2_0")
    n_blocks = M * K // BLOCK
    out = np.empty((n_blocks, BLOCK_BYTES), dtype=np.uint8)
    c = (T + 1).astype(np.uint8).reshape(n_blocks, 2, 4, 32)  # (block, chunk j, l, m)
    qs = out[:, :64].reshape(n_blocks, 2, 32)
    np.copyto(qs, c[:, :, 0])
    for l in range(1, 4):
        qs |= c[:, :, l] << (2 * l)
    out[:, 64:] = _block_scales(d, n_blocks, M, K).view(np.uint8).reshape(n_blocks, 2)
    return out.reshape(-1)


def _codes_and_scales(data, M: int, K: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    buf = as_uint8(data)
    check_shape(FORMAT, M, K, BLOCK, name)
    check_length(buf, tq2_0_nbytes(M, K), FORMAT, M, K, name)
    blocks = buf.reshape(-1, BLOCK_BYTES)
    qs = blocks[:, :64].reshape(-1, 2, 1, 32)
    codes = (qs >> _SHIFTS.reshape(1, 1, 4, 1)) & 3  # (block, chunk, l, m)
    d = np.ascontiguousarray(blocks[:, 64:]).view("<f2").reshape(M, K // BLOCK).astype(np.float32)
    return codes.reshape(M, K), d


def decode_tq2_0(data, M: int, K: int, name: str = "?") -> np.ndarray:
    """TQ2_0 bytes -> float32 [M, K], exactly llama.cpp's (float)(q - 1) * d."""
    codes, d = _codes_and_scales(data, M, K, name)
    q = codes.astype(np.float32) - 1.0
    return (q.reshape(M, K // BLOCK, BLOCK) * d[:, :, None]).reshape(M, K)


def unpack_tq2_0(data, M: int, K: int, name: str = "?") -> tuple[np.ndarray, np.ndarray]:
    """TQ2_0 bytes -> (T int8 [M, K], d float32 [M, K/256]). Code 3 is a ModelFormatError."""
    codes, d = _codes_and_scales(data, M, K, name)
    if (codes == 3).any():
        raise ModelFormatError(f"tensor '{name}': TQ2_0 data holds the unused code 3; it is not ternary")
    return codes.astype(np.int8) - 1, d
