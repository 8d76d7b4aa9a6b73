"""GGUF container support: the ggml type registry, a hardened reader and a writer.

from bitnet_desktop.engine.gguf import open_gguf
with open_gguf(path) as g:
    arch = g.metadata["general.architecture"]
    t = g.tensors["blk.0.attn_q.weight"]     # TensorInfo: ne, shape, type, file_offset, nbytes
    raw = t.data                              # numpy uint8 view of the mapped file, no copy
"""

from bitnet_desktop.engine.gguf.reader import GGUFFile, TensorInfo, open_gguf
from bitnet_desktop.engine.gguf.types import (
    BF16,
    F16,
    F32,
    GGML_TYPES,
    I2_S,
    MXFP4,
    Q6_K,
    Q8_0,
    TL1,
    TL2,
    TL2_2026,
    TQ1_0,
    TQ2_0,
    GGMLType,
    lookup_type,
    type_by_name,
)
from bitnet_desktop.engine.gguf.values import GGUFArray, GGUFValue, ValueType
from bitnet_desktop.engine.gguf.writer import GGUFWriter, PlannedTensor, write_gguf

__all__ = [
    "BF16",
    "F16",
    "F32",
    "GGML_TYPES",
    "I2_S",
    "MXFP4",
    "Q6_K",
    "Q8_0",
    "TL1",
    "TL2",
    "TL2_2026",
    "TQ1_0",
    "TQ2_0",
    "GGMLType",
    "GGUFArray",
    "GGUFFile",
    "GGUFValue",
    "GGUFWriter",
    "PlannedTensor",
    "TensorInfo",
    "ValueType",
    "lookup_type",
    "open_gguf",
    "type_by_name",
    "write_gguf",
]
