"""Dequantize any supported tensor to float32, by ggml type: one table, one entry per type.

Supported: F32, F16, BF16, Q8_0, Q6_K, TQ1_0, TQ2_0, I2_S (alpha * T). TL1/TL2 raise the
"convert to I2_S" error of `tl.py`; any other type raises ModelFormatError naming it. The result has
PyTorch shape (reversed ggml `ne`); rows are the product of ne[1:], row length is ne[0].
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.formats.checks import as_uint8, check_length
from bitnet_desktop.engine.formats.floats import bf16_to_f32, f16_to_f32
from bitnet_desktop.engine.formats.i2s import unpack_i2s
from bitnet_desktop.engine.formats.q6_k import decode_q6_k
from bitnet_desktop.engine.formats.q8_0 import decode_q8_0
from bitnet_desktop.engine.formats.tl import LUT_FORMATS, refuse_lut_format
from bitnet_desktop.engine.formats.tq1_0 import decode_tq1_0
from bitnet_desktop.engine.formats.tq2_0 import decode_tq2_0


def _plain(width: int, convert: Callable[[np.ndarray], np.ndarray], fmt: str):
    def decode(data, M: int, K: int, name: str) -> np.ndarray:
        buf = as_uint8(data)
        check_length(buf, M * K * width, fmt, M, K, name)
        return convert(buf).reshape(M, K)

    return decode


def _i2s(data, M: int, K: int, name: str) -> np.ndarray:
    T, alpha = unpack_i2s(data, M, K, name)
    return T.astype(np.float32) * alpha


# ggml type name -> decoder(data, M, K, name) -> float32 [M, K]
DECODERS: dict[str, Callable[..., np.ndarray]] = {
    "F32": _plain(4, lambda b: b.view("<f4").astype(np.float32), "F32"),
    "F16": _plain(2, f16_to_f32, "F16"),
    "BF16": _plain(2, bf16_to_f32, "BF16"),
    "Q8_0": decode_q8_0,
    "Q6_K": decode_q6_k,
    "TQ1_0": decode_tq1_0,
    "TQ2_0": decode_tq2_0,
    "I2_S": _i2s,
}


def dequantize(type_name: str, data, ne: Sequence[int], name: str = "?") -> np.ndarray:
    """Bytes of a tensor of ggml type `type_name` and ggml shape `ne` -> float32, PyTorch shape."""
    if type_name in LUT_FORMATS:
        refuse_lut_format(name, type_name)
    decoder = DECODERS.get(type_name)
    if decoder is None:
        raise ModelFormatError(
            f"tensor '{name}' has type {type_name}, which this engine cannot read (supported: {', '.join(DECODERS)})"
        )
    K = ne[0] if len(ne) else 1
    M = math.prod(ne[1:])
    return decoder(data, M, K, name).reshape(tuple(reversed(tuple(ne))))


def dequantize_tensor(info) -> np.ndarray:
    """Dequantize a `gguf.TensorInfo` (any object with .type.name, .data, .ne and .name)."""
    return dequantize(info.type.name, info.data, info.ne, info.name)
