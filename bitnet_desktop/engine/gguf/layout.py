"""Checks on where tensor data lies: aligned, inside the file, and not overlapping.

Also resolves ggml type ids whose meaning depends on the writer (id 39: bitnet.cpp TL2 or
upstream MXFP4) from the layout itself and from context, as docs/file-formats.md#ggml-type-ids recommends:

1. A reading "fits" when the tensor's byte size padded to the alignment reaches exactly the next
   tensor's offset (or, for the last tensor, the end of the file): writers pad every tensor, so this
   identifies the real size whenever the two readings differ.
2. If exactly one reading fits, it is taken. Otherwise (both or neither fit, or one cannot describe
   the shape) TL2 is taken when the file's architecture starts with "bitnet" or a sibling tensor
   `<name>_scale` exists (TL2 weights always carry one), else MXFP4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.gguf.types import AMBIGUOUS_TYPES, GGMLType, TL2


@dataclass
class RawTensor:
    """A tensor-info record as read from the file, before its data range is checked."""

    name: str
    ne: tuple[int, ...]
    type_id: int
    offset: int  # relative to the start of the data section
    type: GGMLType | None = None
    nbytes: int = 0


def align_up(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment


def _gap(t: RawTensor, next_offset: int | None, data_size: int) -> int:
    return (next_offset if next_offset is not None else data_size) - t.offset


def resolve_ambiguous_types(
    tensors: Sequence[RawTensor], alignment: int, data_size: int, architecture: str | None, path: str
) -> None:
    """Fill in `.type` for tensors whose id has several meanings (see the module docstring)."""
    ordered = sorted(tensors, key=lambda t: t.offset)
    next_offsets = {id(t): (ordered[i + 1].offset if i + 1 < len(ordered) else None) for i, t in enumerate(ordered)}
    names = {t.name for t in tensors}
    for t in tensors:
        if t.type is not None or t.type_id not in AMBIGUOUS_TYPES:
            continue
        gap = _gap(t, next_offsets[id(t)], data_size)
        fitting = []
        for candidate in AMBIGUOUS_TYPES[t.type_id]:
            try:
                size = candidate.nbytes(t.ne, t.name)
            except ModelFormatError:
                continue
            if size <= gap < size + alignment:
                fitting.append(candidate)
        if len(fitting) == 1:
            t.type = fitting[0]
            continue
        bitnet_context = (architecture or "").startswith("bitnet") or f"{t.name}_scale" in names
        t.type = TL2 if bitnet_context else AMBIGUOUS_TYPES[t.type_id][1]


def check_layout(tensors: Sequence[RawTensor], alignment: int, data_start: int, file_size: int, path: str) -> None:
    """Every tensor aligned, inside the file, and no two tensors sharing a byte."""
    data_size = file_size - data_start
    for t in tensors:
        if t.offset % alignment:
            raise ModelFormatError(
                f"{path}: tensor '{t.name}': data offset {t.offset} is not a multiple of the alignment {alignment}"
            )
        if t.offset > data_size or t.nbytes > data_size - t.offset:
            raise ModelFormatError(
                f"{path}: tensor '{t.name}': its {t.nbytes} bytes of {t.type} data at file offset "
                f"{data_start + t.offset} extend past the end of the file (size {file_size}); "
                "the file is truncated or corrupt"
            )
    ordered = sorted(tensors, key=lambda t: t.offset)
    for a, b in zip(ordered, ordered[1:]):
        if a.offset + a.nbytes > b.offset:
            raise ModelFormatError(
                f"{path}: tensor '{b.name}' (data offset {b.offset}) overlaps tensor '{a.name}' "
                f"(data offset {a.offset}, {a.nbytes} bytes)"
            )
