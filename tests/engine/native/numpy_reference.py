"""Independent NumPy statements of the kernel formulas (docs/numerics.md, docs/file-formats.md#i2_s), written
from the spec, not from the C code. The tests compare the native scalar reference against them."""
from __future__ import annotations

import numpy as np


def quantize_activations(x: np.ndarray):
    """A.3: double-precision absmax with a 1e-5 floor, f32 scale, f32 product, RNE, clamp."""
    amax = np.maximum(np.abs(x.astype(np.float64)).max(axis=1), 1e-5)
    s = (127.0 / amax).astype(np.float32)
    v = np.clip(x * s[:, None], np.float32(-128), np.float32(127))
    q = np.rint(v).astype(np.int8)
    return q, s, q.astype(np.int32).sum(axis=1).astype(np.int32)


def i2s_pack(t: np.ndarray, alpha: float) -> np.ndarray:
    """2.5: code = t + 1; byte j of a 128-block = c[j]<<6 | c[32+j]<<4 | c[64+j]<<2 | c[96+j]."""
    m, k = t.shape
    c = (t.astype(np.int16) + 1).astype(np.uint8).reshape(m * k // 128, 4, 32)
    packed = (c[:, 0] << 6) | (c[:, 1] << 4) | (c[:, 2] << 2) | c[:, 3]
    tail = np.zeros(32, np.uint8)
    tail[:4] = np.frombuffer(np.float32(alpha).tobytes(), np.uint8)
    return np.concatenate([packed.reshape(-1), tail])


def i2s_codes(w: np.ndarray, m: int, k: int) -> np.ndarray:
    """The raw 2-bit codes [m, k] of I2_S bytes (code 3 kept as 3, as the kernels use it)."""
    b = w[: m * k // 4].reshape(m * k // 128, 32)
    groups = [(b >> shift) & 3 for shift in (6, 4, 2, 0)]
    return np.stack(groups, axis=1).reshape(m, k)


def i2s_matmul(w: np.ndarray, m: int, k: int, q, scales, sums) -> np.ndarray:
    """A.4: y = (f32)(D - Sq) / s * alpha with D = codes . q in exact integers."""
    alpha = np.frombuffer(w[m * k // 4: m * k // 4 + 4].tobytes(), np.float32)[0]
    d = q.astype(np.int64) @ i2s_codes(w, m, k).astype(np.int64).T
    return (d - sums[:, None]).astype(np.float32) / scales[:, None] * alpha


def i8_matmul(w, w_scales, q, scales) -> np.ndarray:
    d = q.astype(np.int64) @ w.astype(np.int64).T
    return d.astype(np.float32) / scales[:, None] * w_scales[None, :]


def f16_matmul_f64(w_bits: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The mathematically exact head product (float64), for tolerance checks."""
    w = w_bits.view(np.float16).astype(np.float64)
    return x.astype(np.float64) @ w.T
