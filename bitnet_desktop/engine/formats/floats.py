"""IEEE half (F16) and bfloat16 (BF16) conversions to and from float32, as ggml does them.

F16 <-> F32 is numpy's IEEE conversion (round to nearest even). BF16 is the top 16 bits of an F32;
F32 -> BF16 rounds to nearest even and turns NaN into a quiet NaN, like ggml_compute_fp32_to_bf16.
"""

from __future__ import annotations

import numpy as np

from bitnet_desktop.engine.formats.checks import as_uint8


def f16_to_f32(data) -> np.ndarray:
    """Little-endian F16 values (bytes, uint8/uint16/float16 array) -> float32 1-D array (exact)."""
    if isinstance(data, np.ndarray) and data.dtype == np.float16:
        return data.astype(np.float32).reshape(-1)
    return as_uint8(data).view("<f2").astype(np.float32)


def f32_to_f16(x) -> np.ndarray:
    """float values -> float16 array, same shape (round to nearest even; overflow gives inf)."""
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float32).astype("<f2")


def bf16_to_f32(data) -> np.ndarray:
    """Little-endian BF16 values (bytes or uint8/uint16 array) -> float32 1-D array (exact)."""
    if isinstance(data, np.ndarray) and data.dtype == np.uint16:
        u = data.reshape(-1)
    else:
        u = as_uint8(data).view("<u2")
    return (u.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x) -> np.ndarray:
    """float32 values -> BF16 bit patterns (uint16), same shape, round to nearest even."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32)
    rounded = ((u + (0x7FFF + ((u >> 16) & 1))) >> 16).astype(np.uint16)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    return np.where(nan, ((u >> 16) | 64).astype(np.uint16), rounded)
