"""TL1 / TL2 (bitnet.cpp's lookup-table layouts): recognised, and refused with a way forward.

TL1 (id 38) and TL2 (id 39, or 42 in the 2026 fork) store ternary weights in a tiled byte order
whose tile sizes (BM, BK, bm) come from the kernel_config.ini of the machine that converted the
model (docs/file-formats.md#tl1-and-tl2). The file does not record them, so the weights cannot be decoded
reliably; the loader calls `refuse_lut_format` for such tensors.
"""

from __future__ import annotations

from typing import NoReturn

from bitnet_desktop.engine.errors import ModelFormatError

LUT_FORMATS = ("TL1", "TL2")


def lut_unsupported_message(tensor: str, type_name: str) -> str:
    return (
        f"tensor '{tensor}' uses {type_name}, one of bitnet.cpp's lookup-table layouts; "
        "TL1/TL2 files are not supported, because their byte order depends on kernel tile sizes "
        "that the file does not record. Convert the model to I2_S instead: with bitnet.cpp, "
        "`python setup_env.py --hf-repo <model> -q i2_s` (or `python utils/convert-hf-to-gguf-bitnet.py "
        "<model dir> --outtype f32` then `llama-quantize <f32 gguf> <out gguf> I2_S 1`), "
        "or download the model's ggml-model-i2_s.gguf."
    )


def refuse_lut_format(tensor: str, type_name: str) -> NoReturn:
    """Raise the ModelFormatError the loader shows for a TL1/TL2 tensor."""
    raise ModelFormatError(lut_unsupported_message(tensor, type_name))
