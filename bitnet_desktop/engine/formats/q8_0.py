"""Q8_0 (ggml type 8): encode and decode, for token-embedding tables
(docs/file-formats.md#embedding-tables-f16-q8_0-q6_k).

A tensor [M, K] (K a multiple of 32) is a sequence of 34-byte blocks of 32 row-major elements:
    d       f16 scale (little-endian)
    qs[32]  int8 quants; value = d * q
Encoding follows ggml's quantize_row_q8_0_ref: d = max|x| / 127, q = roundf(x / d) (ties away from
zero), d stored as f16 (the quants are computed with the unrounded d, as ggml does).
"""

from __future__ import annotations

import numpy as np

from bitnet_desktop.engine.formats.checks import as_uint8, check_length, check_shape

BLOCK = 32
BLOCK_BYTES = 34
FORMAT = "Q8_0"


def q8_0_nbytes(M: int, K: int) -> int:
    return M * K // BLOCK * BLOCK_BYTES


def round_half_away(x: np.ndarray) -> np.ndarray:
    """C roundf: halfway cases away from zero."""
    return np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))


def encode_q8_0(x: np.ndarray) -> np.ndarray:
    """float [M, K] -> Q8_0 bytes (uint8 1-D)."""
    x = np.asarray(x, dtype=np.float32)
    M, K = x.shape
    check_shape(FORMAT, M, K, BLOCK, "encode_q8_0")
    blocks = x.reshape(-1, BLOCK)
    d = np.abs(blocks).max(axis=1) / np.float32(127)
    inv = np.divide(np.float32(1), d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(round_half_away(blocks * inv[:, None]), -127, 127).astype(np.int8)
    out = np.empty((blocks.shape[0], BLOCK_BYTES), dtype=np.uint8)
    out[:, :2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.reshape(-1)


def decode_q8_0(data, M: int, K: int, name: str = "?") -> np.ndarray:
    """Q8_0 bytes -> float32 [M, K] (d * q in float32)."""
    buf = as_uint8(data)
    check_shape(FORMAT, M, K, BLOCK, name)
    check_length(buf, q8_0_nbytes(M, K), FORMAT, M, K, name)
    blocks = buf.reshape(-1, BLOCK_BYTES)
    d = np.ascontiguousarray(blocks[:, :2]).view("<f2").astype(np.float32)
    q = blocks[:, 2:].view(np.int8).astype(np.float32)
    return (d * q).reshape(M, K)
