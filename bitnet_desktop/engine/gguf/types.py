"""The ggml tensor type registry: type id -> name, block geometry and on-disk byte size.

One table (`GGML_TYPES`) describes every type id a GGUF file may name. Each entry knows how many
bytes a tensor of a given ggml shape `ne` occupies in the file (docs/file-formats.md#ggml-type-ids,
docs/file-formats.md#tensor-sizes-and-offsets):

    F32 4n, F16 2n, BF16 2n, Q8_0 34n/32, Q6_K 210n/256, TQ1_0 54n/256, TQ2_0 66n/256,
    I2_S n/4 + 32 (ternary codes then a 32-byte tail holding alpha),
    TL1 n/4 (alpha lives in the adjacent `<name>_scale` F32 tensor),
    TL2 (ne0-256)*ne1/3*5/8 + 256*ne1/2*4/8 (integer arithmetic, left to right; alpha adjacent too).

For block types the innermost dimension `ne0` must be a multiple of the block size (ggml stores
blocks row by row). Unknown ids and impossible shapes raise `ModelFormatError` naming the tensor.

Type id 39 is ambiguous: the 2025 bitnet.cpp fork calls it TL2, upstream ggml (late 2025) calls it
MXFP4. `lookup_type` returns the TL2 entry by default; the reader resolves 39 per tensor from
context (see `gguf.layout.resolve_ambiguous_types`). Id 42 is TL2 in the 2026 fork and has no other
meaning, so it always maps to TL2.

The engine runs only a few of these types; the others are listed so that a file using them gets a
clear "type Q4_K is not supported" from the loader instead of "unknown type", and so that their byte
ranges can still be validated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from bitnet_desktop.engine.errors import ModelFormatError

# Largest element count we accept for one tensor (2^62): keeps every size computation far from
# 64-bit overflow in the native engine, and is larger than any file that can exist.
MAX_ELEMENTS = 1 << 62


@dataclass(frozen=True)
class GGMLType:
    """One ggml tensor type.

    `block_size` elements are stored in `type_size` bytes, except for the bitnet.cpp types (I2_S, TL1,
    TL2), whose sizes are whole-tensor formulas (`size_fn`); ggml itself declares them as
    block 1 / 1 byte per element and special-cases `ggml_nbytes`.
    """

    id: int
    name: str
    block_size: int
    type_size: int
    size_fn: Callable[[Sequence[int]], int] | None = None
    ternary: bool = False  # a BitNet ternary weight encoding (I2_S, TL1, TL2, TQ1_0, TQ2_0)

    def nbytes(self, ne: Sequence[int], tensor: str = "?") -> int:
        """Bytes this tensor occupies in the file. `ne` is the ggml shape (innermost first)."""
        n = math.prod(ne)
        if n > MAX_ELEMENTS:
            raise ModelFormatError(f"tensor '{tensor}': {n} elements is more than any model can hold")
        if self.size_fn is not None:
            return self.size_fn(ne, tensor)
        ne0 = ne[0] if len(ne) else 1
        if ne0 % self.block_size:
            raise ModelFormatError(
                f"tensor '{tensor}': type {self.name} stores blocks of {self.block_size} elements, "
                f"but the row length ne0 = {ne0} is not a multiple of {self.block_size}"
            )
        return n // self.block_size * self.type_size

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"GGMLType({self.name}={self.id})"


def _i2s_size(ne: Sequence[int], tensor: str) -> int:
    n = math.prod(ne)
    if n % 4:
        raise ModelFormatError(f"tensor '{tensor}': I2_S needs an element count divisible by 4, got {n}")
    return n // 4 + 32


def _tl1_size(ne: Sequence[int], tensor: str) -> int:
    n = math.prod(ne)
    if n % 4:
        raise ModelFormatError(f"tensor '{tensor}': TL1 needs an element count divisible by 4, got {n}")
    return n // 4


def tl2_size(ne: Sequence[int], tensor: str = "?") -> int:
    """TL2 on-disk bytes, docs/file-formats.md#tensor-sizes-and-offsets, without ggml's pad32 + 32 (the `_scale`
    tensor)."""
    if len(ne) != 2:
        raise ModelFormatError(f"tensor '{tensor}': TL2 weights must be 2-D, got ne = {list(ne)}")
    ne0, ne1 = ne
    if ne0 < 256:
        raise ModelFormatError(f"tensor '{tensor}': TL2 needs ne0 >= 256, got {ne0}")
    return (ne0 - 256) * ne1 // 3 * 5 // 8 + 256 * ne1 // 2 * 4 // 8


def _t(id: int, name: str, block: int, size: int, **kw) -> GGMLType:
    return GGMLType(id, name, block, size, **kw)


F32 = _t(0, "F32", 1, 4)
F16 = _t(1, "F16", 1, 2)
Q8_0 = _t(8, "Q8_0", 32, 34)
Q6_K = _t(14, "Q6_K", 256, 210)
BF16 = _t(30, "BF16", 1, 2)
TQ1_0 = _t(34, "TQ1_0", 256, 54, ternary=True)
TQ2_0 = _t(35, "TQ2_0", 256, 66, ternary=True)
I2_S = _t(36, "I2_S", 1, 1, size_fn=_i2s_size, ternary=True)
TL1 = _t(38, "TL1", 1, 1, size_fn=_tl1_size, ternary=True)
TL2 = _t(39, "TL2", 1, 1, size_fn=tl2_size, ternary=True)
TL2_2026 = _t(42, "TL2", 1, 1, size_fn=tl2_size, ternary=True)
MXFP4 = _t(39, "MXFP4", 32, 17)  # upstream ggml's meaning of id 39; never in BitNet files

# Every id, with the meaning a BitNet file gives it (39 -> TL2, see the module docstring).
GGML_TYPES: dict[int, GGMLType] = {
    t.id: t
    for t in (
        F32,
        F16,
        _t(2, "Q4_0", 32, 18),
        _t(3, "Q4_1", 32, 20),
        _t(6, "Q5_0", 32, 22),
        _t(7, "Q5_1", 32, 24),
        Q8_0,
        _t(9, "Q8_1", 32, 36),
        _t(10, "Q2_K", 256, 84),
        _t(11, "Q3_K", 256, 110),
        _t(12, "Q4_K", 256, 144),
        _t(13, "Q5_K", 256, 176),
        Q6_K,
        _t(15, "Q8_K", 256, 292),
        _t(16, "IQ2_XXS", 256, 66),
        _t(17, "IQ2_XS", 256, 74),
        _t(18, "IQ3_XXS", 256, 98),
        _t(19, "IQ1_S", 256, 50),
        _t(20, "IQ4_NL", 32, 18),
        _t(21, "IQ3_S", 256, 110),
        _t(22, "IQ2_S", 256, 82),
        _t(23, "IQ4_XS", 256, 136),
        _t(24, "I8", 1, 1),
        _t(25, "I16", 1, 2),
        _t(26, "I32", 1, 4),
        _t(27, "I64", 1, 8),
        _t(28, "F64", 1, 8),
        _t(29, "IQ1_M", 256, 56),
        BF16,
        TQ1_0,
        TQ2_0,
        I2_S,
        TL1,
        TL2,
        TL2_2026,
    )
}

# Ids whose meaning depends on who wrote the file: id -> the alternative readings.
AMBIGUOUS_TYPES: dict[int, tuple[GGMLType, ...]] = {39: (TL2, MXFP4)}


def lookup_type(type_id: int, tensor: str = "?") -> GGMLType:
    """The registry entry for `type_id`; ModelFormatError naming the tensor if the id is unknown."""
    try:
        return GGML_TYPES[type_id]
    except KeyError:
        hint = ""
        if type_id == 37:
            hint = " (I8_S is a runtime-only activation type of bitnet.cpp and never belongs in a file)"
        raise ModelFormatError(
            f"tensor '{tensor}' has unknown ggml type id {type_id}{hint}; "
            "the file may come from a newer or incompatible llama.cpp fork"
        ) from None


def type_by_name(name: str) -> GGMLType:
    """The registry entry called `name` (case-insensitive), e.g. 'i2_s' -> I2_S. TL2 -> id 39."""
    wanted = name.upper()
    for t in GGML_TYPES.values():
        if t.name == wanted:
            return t
    if wanted == MXFP4.name:
        return MXFP4
    raise KeyError(name)
