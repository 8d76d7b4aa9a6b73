"""TQ1_0, llama.cpp's 1.6875-bit ternary format: encode and decode
(docs/file-formats.md#tq1_0).

A weight [M, K] (K a multiple of 256) is a sequence of 54-byte blocks of 256 consecutive row-major
elements:

    qs[48]  five trits per byte: bytes 0..31 hold elements 0..159, element 32n + m in qs[m];
            bytes 32..47 hold elements 160..239, element 160 + 16n + m in qs[32 + m]
    qh[4]   four trits per byte: element 240 + 4n + j in qh[j], n = 0..3
    d       f16 block scale (little-endian)

Trits c = t + 1 are a base-3 fixed-point fraction, first trit most significant:
    encode  q = sum_n c_n * 3^(4-n)  (qh: 4 trits then *3), then q = ceil(q * 256 / 243)
    decode  trit(q, n) = ((uint8)(q * 3^n) * 3) >> 8,  value = (trit - 1) * d
"""

from __future__ import annotations

import numpy as np

from bitnet_desktop.engine.formats.checks import as_uint8, check_length, check_shape, check_ternary

BLOCK = 256
BLOCK_BYTES = 54
FORMAT = "TQ1_0"
_POW3 = np.array([1, 3, 9, 27, 81, 243], dtype=np.uint16)


def tq1_0_nbytes(M: int, K: int) -> int:
    return M * K // BLOCK * BLOCK_BYTES


def encode_trits(c: np.ndarray) -> np.ndarray:
    """Trits (uint8 [..., 5], values 0..2, first most significant) -> one byte each (fixed point)."""
    c = c.astype(np.uint16)
    q = np.zeros(c.shape[:-1], dtype=np.uint16)
    for n in range(5):
        q = q * 3 + c[..., n]
    return ((q * 256 + 242) // 243).astype(np.uint8)


def decode_trits(q: np.ndarray, n_trits: int) -> np.ndarray:
    """Bytes -> trits (uint8 [..., n_trits]), trit n = ((uint8)(q * 3^n) * 3) >> 8."""
    q = q.astype(np.uint16)[..., None]
    shifted = (q * _POW3[:n_trits]) & 0xFF
    return ((shifted * 3) >> 8).astype(np.uint8)


def encode_tq1_0(T: np.ndarray, d) -> np.ndarray:
    """Ternary int8 [M, K] and scale(s) d (scalar or [M, K/256], rounded to f16) -> TQ1_0 bytes."""
    T = check_ternary(T, "encode_tq1_0")
    M, K = T.shape
    check_shape(FORMAT, M, K, BLOCK, "encode_tq1_0")
    n_blocks = M * K // BLOCK
    c = (T + 1).astype(np.uint8).reshape(n_blocks, BLOCK)
    out = np.empty((n_blocks, BLOCK_BYTES), dtype=np.uint8)
    # elements 32n + m -> qs[m]: gather as (block, m, n)
    out[:, 0:32] = encode_trits(c[:, :160].reshape(n_blocks, 5, 32).transpose(0, 2, 1))
    out[:, 32:48] = encode_trits(c[:, 160:240].reshape(n_blocks, 5, 16).transpose(0, 2, 1))
    qh = c[:, 240:].reshape(n_blocks, 4, 4).transpose(0, 2, 1)  # (block, j, n)
    out[:, 48:52] = encode_trits(np.concatenate([qh, np.zeros((n_blocks, 4, 1), np.uint8)], axis=2))
    d = np.asarray(d, dtype=np.float32)
    d = np.full(n_blocks, d, np.float32) if d.ndim == 0 else d.reshape(-1)
    if d.size != n_blocks:
        raise ValueError(f"need one scale per 256-element block ({M}x{K // BLOCK}), got {d.size}")
    out[:, 52:54] = d.astype("<f2").view(np.uint8).reshape(n_blocks, 2)
    return out.reshape(-1)


def _trits_and_scales(data, M: int, K: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    buf = as_uint8(data)
    check_shape(FORMAT, M, K, BLOCK, name)
    check_length(buf, tq1_0_nbytes(M, K), FORMAT, M, K, name)
    blocks = buf.reshape(-1, BLOCK_BYTES)
    n_blocks = blocks.shape[0]
    trits = np.empty((n_blocks, BLOCK), dtype=np.uint8)
    trits[:, :160] = decode_trits(blocks[:, 0:32], 5).transpose(0, 2, 1).reshape(n_blocks, 160)
    trits[:, 160:240] = decode_trits(blocks[:, 32:48], 5).transpose(0, 2, 1).reshape(n_blocks, 80)
    trits[:, 240:] = decode_trits(blocks[:, 48:52], 4).transpose(0, 2, 1).reshape(n_blocks, 16)
    d = np.ascontiguousarray(blocks[:, 52:54]).view("<f2").reshape(M, K // BLOCK).astype(np.float32)
    return trits.reshape(M, K), d


def decode_tq1_0(data, M: int, K: int, name: str = "?") -> np.ndarray:
    """TQ1_0 bytes -> float32 [M, K], exactly llama.cpp's (float)(trit - 1) * d."""
    trits, d = _trits_and_scales(data, M, K, name)
    q = trits.astype(np.float32) - 1.0
    return (q.reshape(M, K // BLOCK, BLOCK) * d[:, :, None]).reshape(M, K)


def unpack_tq1_0(data, M: int, K: int, name: str = "?") -> tuple[np.ndarray, np.ndarray]:
    """TQ1_0 bytes -> (T int8 [M, K], d float32 [M, K/256]). Every byte decodes to trits 0..2."""
    trits, d = _trits_and_scales(data, M, K, name)
    return trits.astype(np.int8) - 1, d
