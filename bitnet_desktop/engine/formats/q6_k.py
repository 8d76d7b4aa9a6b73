"""Q6_K (ggml type 14): decode exactly as ggml does, and a simple encoder
(docs/file-formats.md#embedding-tables-f16-q8_0-q6_k).

A tensor [M, K] (K a multiple of 256) is a sequence of 210-byte blocks of 256 row-major elements:
    ql[128]     low 4 bits of the 6-bit quants
    qh[64]      high 2 bits
    scales[16]  int8 scale per 16 elements
    d           f16 super-block scale (little-endian)
For each half n of the block (ql += 64, qh += 32, scales += 8 per half), l = 0..31, is = l // 16:
    q1 = (ql[l]    & 15 | ((qh[l] >> 0) & 3) << 4) - 32  -> y[l]      = d * sc[is]     * q1
    q2 = (ql[l+32] & 15 | ((qh[l] >> 2) & 3) << 4) - 32  -> y[l + 32] = d * sc[is + 2] * q2
    q3 = (ql[l]    >> 4 | ((qh[l] >> 4) & 3) << 4) - 32  -> y[l + 64] = d * sc[is + 4] * q3
    q4 = (ql[l+32] >> 4 | ((qh[l] >> 6) & 3) << 4) - 32  -> y[l + 96] = d * sc[is + 6] * q4

The encoder is not ggml's (which searches for the best scale per 16 elements): it uses
scale = max|x| / 31 per 16 elements and d = max|scale| / 127. It writes valid blocks whose decode
is within one quantization step of the input, which is all the synthetic models need.
"""

from __future__ import annotations

import numpy as np

from bitnet_desktop.engine.formats.checks import as_uint8, check_length, check_shape
from bitnet_desktop.engine.formats.q8_0 import round_half_away

BLOCK = 256
BLOCK_BYTES = 210
FORMAT = "Q6_K"


def q6_k_nbytes(M: int, K: int) -> int:
    return M * K // BLOCK * BLOCK_BYTES


def _split(blocks: np.ndarray):
    return blocks[:, :128], blocks[:, 128:192], blocks[:, 192:208].view(np.int8), blocks[:, 208:210]


def decode_q6_k(data, M: int, K: int, name: str = "?") -> np.ndarray:
    """Q6_K bytes -> float32 [M, K]."""
    buf = as_uint8(data)
    check_shape(FORMAT, M, K, BLOCK, name)
    check_length(buf, q6_k_nbytes(M, K), FORMAT, M, K, name)
    blocks = buf.reshape(-1, BLOCK_BYTES)
    nb = blocks.shape[0]
    ql, qh, sc, d = _split(blocks)
    d = np.ascontiguousarray(d).view("<f2").astype(np.float32).reshape(nb)
    ql = ql.reshape(nb, 2, 2, 32)  # (block, half, ql[l] / ql[l+32], l)
    qh = qh.reshape(nb, 2, 1, 32).astype(np.int16)
    lo = ql & 15
    hi = ql >> 4
    # quarter r of a half (elements 32r .. 32r+31): low nibble for r=0,1 and high nibble for r=2,3;
    # ql[l] for r=0,2 and ql[l+32] for r=1,3; qh bits at shift 2r.
    nib = np.stack([lo[:, :, 0], lo[:, :, 1], hi[:, :, 0], hi[:, :, 1]], axis=2).astype(np.int16)
    shifts = np.array([0, 2, 4, 6], dtype=np.int16).reshape(1, 1, 4, 1)
    q = (nib | (((qh >> shifts) & 3) << 4)) - 32  # (block, half, quarter, l)
    # scale index within the half: is + 2r, is = l // 16
    sc = sc.reshape(nb, 2, 8).astype(np.float32)
    sc_idx = np.arange(4).reshape(4, 1) * 2 + np.arange(32).reshape(1, 32) // 16  # (quarter, l)
    scale = sc[:, :, sc_idx]  # (block, half, quarter, l)
    y = d.reshape(nb, 1, 1, 1) * scale * q.astype(np.float32)
    return y.reshape(M, K)


def encode_q6_k(x: np.ndarray) -> np.ndarray:
    """float [M, K] -> Q6_K bytes (uint8 1-D); see the module docstring for the scale choice."""
    x = np.asarray(x, dtype=np.float32)
    M, K = x.shape
    check_shape(FORMAT, M, K, BLOCK, "encode_q6_k")
    nb = M * K // BLOCK
    # element order inside a block: (half, quarter r, l); sub-block of 16 = (half, is + 2r)
    xb = x.reshape(nb, 2, 4, 2, 16)  # (block, half, quarter, is, l16)
    sub_scale = np.abs(xb).max(axis=4) / np.float32(31)  # (block, half, quarter, is)
    d = sub_scale.reshape(nb, -1).max(axis=1) / np.float32(127)
    d16 = d.astype("<f2")
    d_used = d16.astype(np.float32)
    inv_d = np.divide(np.float32(1), d_used, out=np.zeros_like(d_used), where=d_used != 0)
    sc = np.clip(round_half_away(sub_scale * inv_d.reshape(nb, 1, 1, 1)), -127, 127)
    step = d_used.reshape(nb, 1, 1, 1) * sc
    inv_step = np.divide(np.float32(1), step, out=np.zeros_like(step), where=step != 0)
    q = np.clip(round_half_away(xb * inv_step[..., None]), -32, 31).astype(np.int16) + 32  # 0..63
    q = q.reshape(nb, 2, 4, 32).astype(np.uint8)  # (block, half, quarter, l)
    out = np.empty((nb, BLOCK_BYTES), dtype=np.uint8)
    ql = out[:, :128].reshape(nb, 2, 2, 32)
    ql[:, :, 0] = (q[:, :, 0] & 15) | ((q[:, :, 2] & 15) << 4)
    ql[:, :, 1] = (q[:, :, 1] & 15) | ((q[:, :, 3] & 15) << 4)
    qh = out[:, 128:192].reshape(nb, 2, 32)
    qh[:] = (q[:, :, 0] >> 4) | ((q[:, :, 1] >> 4) << 2) | ((q[:, :, 2] >> 4) << 4) | ((q[:, :, 3] >> 4) << 6)
    # scales[is + 2r] within each half: sc is (block, half, quarter r, is) -> index 2r + is
    out[:, 192:208] = sc.astype(np.int8).reshape(nb, 2, 8).view(np.uint8).reshape(nb, 16)
    out[:, 208:210] = d16.view(np.uint8).reshape(nb, 2)
    return out.reshape(-1)
