"""NumPy codecs for the tensor formats BitNet models come in, written from docs/file-formats.md.

They are the independent reference the native kernels are tested against:
I2_S pack/unpack (`i2s`), TQ2_0 / TQ1_0 encode/decode (`tq2_0`, `tq1_0`), Q8_0 encode/decode,
Q6_K decode (+ a simple encoder), F16/BF16 helpers (`floats`), dequantize-by-type (`dequant`),
the re-ternarize rule and `load_ternary` (`ternary`), and the TL1/TL2 refusal (`tl`).

Decoders take `(data, M, K, name)`: the tensor's bytes (exactly its size), M rows of K elements
(a weight [M, K] has ggml ne = [K, M]) and the tensor name for error messages.
"""

from bitnet_desktop.engine.formats.dequant import dequantize, dequantize_tensor
from bitnet_desktop.engine.formats.floats import bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16
from bitnet_desktop.engine.formats.i2s import (
    i2s_alpha,
    i2s_nbytes,
    pack_i2s,
    pack_i2s_codes,
    unpack_i2s,
    unpack_i2s_codes,
)
from bitnet_desktop.engine.formats.q6_k import decode_q6_k, encode_q6_k
from bitnet_desktop.engine.formats.q8_0 import decode_q8_0, encode_q8_0
from bitnet_desktop.engine.formats.ternary import load_ternary, reternarize
from bitnet_desktop.engine.formats.tl import lut_unsupported_message, refuse_lut_format
from bitnet_desktop.engine.formats.tq1_0 import decode_tq1_0, encode_tq1_0, unpack_tq1_0
from bitnet_desktop.engine.formats.tq2_0 import decode_tq2_0, encode_tq2_0, unpack_tq2_0

__all__ = [
    "bf16_to_f32",
    "decode_q6_k",
    "decode_q8_0",
    "decode_tq1_0",
    "decode_tq2_0",
    "dequantize",
    "dequantize_tensor",
    "encode_q6_k",
    "encode_q8_0",
    "encode_tq1_0",
    "encode_tq2_0",
    "f16_to_f32",
    "f32_to_bf16",
    "f32_to_f16",
    "i2s_alpha",
    "i2s_nbytes",
    "load_ternary",
    "lut_unsupported_message",
    "pack_i2s",
    "pack_i2s_codes",
    "refuse_lut_format",
    "reternarize",
    "unpack_i2s",
    "unpack_i2s_codes",
    "unpack_tq1_0",
    "unpack_tq2_0",
]
