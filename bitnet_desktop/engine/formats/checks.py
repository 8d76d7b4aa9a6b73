"""Shared argument checks for the codecs: byte buffers, block geometry and exact lengths.

Every problem with data that came from a file is a `ModelFormatError` naming the tensor, the format
and what is wrong; the codecs never index past a buffer or reshape one of the wrong size.
"""

from __future__ import annotations

import numpy as np

from bitnet_desktop.engine.errors import ModelFormatError


def as_uint8(data) -> np.ndarray:
    """A 1-D uint8 view of bytes / bytearray / memoryview / numpy array (no copy when possible)."""
    if isinstance(data, np.ndarray):
        return data.reshape(-1).view(np.uint8) if data.dtype != np.uint8 else data.reshape(-1)
    return np.frombuffer(data, dtype=np.uint8)


def check_shape(fmt: str, M: int, K: int, block: int, name: str) -> None:
    """M rows of K elements, K a positive multiple of the format's block."""
    if M < 1 or K < 1:
        raise ModelFormatError(f"tensor '{name}': {fmt} shape [{M}, {K}] is empty")
    if K % block:
        raise ModelFormatError(
            f"tensor '{name}': {fmt} needs a row length K that is a multiple of {block}, got K = {K}"
        )


def check_length(buf: np.ndarray, expected: int, fmt: str, M: int, K: int, name: str) -> None:
    if buf.size != expected:
        short = "too short" if buf.size < expected else "too long"
        raise ModelFormatError(
            f"tensor '{name}': {fmt} data for shape [{M}, {K}] must be {expected} bytes, got {buf.size} ({short})"
        )


def check_ternary(T: np.ndarray, name: str) -> np.ndarray:
    """T as an int8 [M, K] array with values in {-1, 0, +1} (ValueError otherwise: a caller bug)."""
    T = np.asarray(T)
    if T.ndim != 2:
        raise ValueError(f"{name}: ternary weights must be a 2-D [M, K] array, got shape {T.shape}")
    if T.size and (T.min() < -1 or T.max() > 1):
        raise ValueError(f"{name}: ternary weights must be -1, 0 or +1")
    return T.astype(np.int8, copy=False)
