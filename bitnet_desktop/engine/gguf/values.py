"""GGUF metadata value types and the typed value objects the reader returns and the writer takes.

On disk (little-endian, docs/file-formats.md#gguf-container) a metadata entry is
    string key; u32 value_type; value
with value_type one of the 13 `ValueType`s below. A string is `u64 byte_length` + UTF-8 bytes (no
terminator); a bool is one byte (0 or 1); an array is `u32 elem_type, u64 count, count × elem`,
and its elements may themselves be arrays (each with its own elem_type and count).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Sequence

import numpy as np

from bitnet_desktop.engine.gguf.number_array import NumberArray


class ValueType(IntEnum):
    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


# Fixed-size scalar types: struct format (little-endian) and numpy dtype of one element.
SCALAR_FORMATS: dict[ValueType, str] = {
    ValueType.UINT8: "<B",
    ValueType.INT8: "<b",
    ValueType.UINT16: "<H",
    ValueType.INT16: "<h",
    ValueType.UINT32: "<I",
    ValueType.INT32: "<i",
    ValueType.FLOAT32: "<f",
    ValueType.BOOL: "<B",
    ValueType.UINT64: "<Q",
    ValueType.INT64: "<q",
    ValueType.FLOAT64: "<d",
}
SCALAR_SIZES: dict[ValueType, int] = {t: struct.calcsize(f) for t, f in SCALAR_FORMATS.items()}
NUMPY_DTYPES: dict[ValueType, str] = {
    ValueType.UINT8: "<u1",
    ValueType.INT8: "<i1",
    ValueType.UINT16: "<u2",
    ValueType.INT16: "<i2",
    ValueType.UINT32: "<u4",
    ValueType.INT32: "<i4",
    ValueType.FLOAT32: "<f4",
    ValueType.BOOL: "<u1",
    ValueType.UINT64: "<u8",
    ValueType.INT64: "<i8",
    ValueType.FLOAT64: "<f8",
}

# The fewest bytes one element of each type can occupy (strings: the u64 length; arrays: the u32
# elem_type + u64 count). Used to refuse counts that cannot fit in what is left of the file.
MIN_SIZES: dict[ValueType, int] = {**SCALAR_SIZES, ValueType.STRING: 8, ValueType.ARRAY: 12}

INTEGER_RANGES: dict[ValueType, tuple[int, int]] = {
    ValueType.UINT8: (0, 2**8 - 1),
    ValueType.INT8: (-(2**7), 2**7 - 1),
    ValueType.UINT16: (0, 2**16 - 1),
    ValueType.INT16: (-(2**15), 2**15 - 1),
    ValueType.UINT32: (0, 2**32 - 1),
    ValueType.INT32: (-(2**31), 2**31 - 1),
    ValueType.UINT64: (0, 2**64 - 1),
    ValueType.INT64: (-(2**63), 2**63 - 1),
}


@dataclass(frozen=True, eq=False)
class GGUFArray:
    """An array value. `items` holds the elements: from the reader, a `NumberArray` (a read-only numpy
    view of the file) for numbers and bools, a `StringArray` for strings, a list of `GGUFArray`s for
    arrays; the writer takes any sequence of Python values as well. Arrays compare equal by type and
    elements."""

    elem_type: ValueType
    items: Sequence[Any]

    def to_python(self) -> Any:
        """`items` as they are (no copy); nested arrays become lists of lists, small in practice."""
        if self.elem_type == ValueType.ARRAY:
            return [a._to_list() for a in self.items]
        return self.items

    def _to_list(self) -> list[Any]:
        if self.elem_type == ValueType.ARRAY:
            return [a._to_list() for a in self.items]
        return _as_list(self.items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GGUFArray):
            return NotImplemented
        return self.elem_type == other.elem_type and _as_list(self.items) == _as_list(other.items)

    __hash__ = None  # type: ignore[assignment]


def _as_list(items: Sequence[Any]) -> list[Any]:
    return items.tolist() if isinstance(items, (np.ndarray, NumberArray)) else list(items)


@dataclass(frozen=True)
class GGUFValue:
    """One typed metadata value: scalar Python value (int/float/bool/str) or a `GGUFArray`."""

    type: ValueType
    value: Any

    def to_python(self) -> Any:
        if isinstance(self.value, GGUFArray):
            return self.value.to_python()
        return self.value
