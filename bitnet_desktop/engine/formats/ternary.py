"""Turn any stored BitNet weight into (T, alpha): ternary int8 [M, K] and one float32 multiplier.

I2_S stores T and alpha directly. Every other way a ternary weight reaches us
(docs/file-formats.md#ternary-weights-in-other-files:
TQ1_0 / TQ2_0 blocks whose d = fp16(alpha); alpha*T in F16/F32/BF16; sign-only weights with a
separate F32 [1] `<proj>.scale` tensor) goes through the re-ternarize rule:

    W = dequant(W) * (scale if present)
    alpha = max|W|
    T = sign(W) * [|W| > alpha / 2]

which is lossless when W really is alpha*T. With `strict=True` (the default) a weight that is not
ternary — some nonzero |W| further than `tolerance * alpha` from alpha — is a ModelFormatError
rather than silently rounded, so a non-BitNet model is refused instead of producing gibberish.
"""

from __future__ import annotations

import numpy as np

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.formats.dequant import dequantize
from bitnet_desktop.engine.formats.i2s import unpack_i2s
from bitnet_desktop.engine.formats.tl import LUT_FORMATS, refuse_lut_format

# bf16 keeps 8 significant bits, so alpha*T stored in bf16 is within 2^-9 of alpha; allow some slack.
DEFAULT_TOLERANCE = 2.0**-7


def reternarize(
    W: np.ndarray,
    scale: float | None = None,
    name: str = "?",
    strict: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
) -> tuple[np.ndarray, np.float32]:
    """float [M, K] (and optional scalar scale) -> (T int8 [M, K], alpha float32)."""
    W = np.asarray(W, dtype=np.float32)
    if scale is not None:
        W = W * np.float32(scale)
    if not np.isfinite(W).all():
        raise ModelFormatError(f"tensor '{name}': weights contain NaN or infinity")
    A = np.abs(W)
    alpha = np.float32(A.max()) if A.size else np.float32(0)
    if alpha == 0:
        return np.zeros(W.shape, dtype=np.int8), np.float32(0)
    nonzero = A > alpha / np.float32(2)
    T = (np.sign(W) * nonzero).astype(np.int8)
    if strict:
        off = (A > tolerance * alpha) & (np.abs(A - alpha) > tolerance * alpha)
        n_off = int(off.sum())
        if n_off:
            idx = np.unravel_index(int(np.flatnonzero(off)[0]), W.shape)
            raise ModelFormatError(
                f"tensor '{name}' is not a ternary weight: {n_off} of {W.size} values are neither 0 nor "
                f"±alpha (alpha = {float(alpha):.6g}, e.g. W{list(map(int, idx))} = {float(W[idx]):.6g})"
            )
    return T, alpha


def load_ternary(info, scale: float | None = None, strict: bool = True) -> tuple[np.ndarray, np.float32]:
    """(T, alpha) of a 2-D weight `gguf.TensorInfo`, whatever its storage type.

    `scale` is the value of the weight's F32 [1] `.scale` tensor if the file has one
    (upstream `bitnet` arch flavour (a)); it multiplies alpha.
    """
    type_name = info.type.name
    if len(info.ne) != 2:
        raise ModelFormatError(f"tensor '{info.name}': a ternary weight must be 2-D, got ne = {list(info.ne)}")
    K, M = info.ne
    if type_name in LUT_FORMATS:
        refuse_lut_format(info.name, type_name)
    if type_name == "I2_S":
        T, alpha = unpack_i2s(info.data, M, K, info.name)
        if scale is not None:
            alpha = np.float32(alpha * np.float32(scale))
        return T, alpha
    W = dequantize(type_name, info.data, info.ne, info.name)
    return reternarize(W, scale, info.name, strict)
