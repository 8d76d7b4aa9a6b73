"""Write GGUF v3 files: typed metadata, a tensor table, and tensor data streamed one at a time.

Layout written (little-endian): the header, the metadata in insertion order, the tensor table with
offsets that are multiples of the alignment (default 32), zero padding to the alignment, then each
tensor's bytes followed by zero padding to the alignment. `general.alignment` is written only when
asked for (bitnet.cpp's own files do not carry it; readers then assume 32).

Tensor data may be given as bytes / a numpy array, or as a callable returning one, so a large
model is produced tensor by tensor without holding it all in memory. The size produced must equal
the size the registry computes for the declared type and shape.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, Union

import numpy as np

from bitnet_desktop.engine.gguf.layout import align_up
from bitnet_desktop.engine.gguf.number_array import NumberArray
from bitnet_desktop.engine.gguf.types import GGMLType
from bitnet_desktop.engine.gguf.values import (
    INTEGER_RANGES,
    NUMPY_DTYPES,
    SCALAR_FORMATS,
    GGUFArray,
    GGUFValue,
    ValueType,
)

TensorSource = Union[bytes, bytearray, memoryview, np.ndarray, Callable[[], Any]]

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class PlannedTensor:
    """A tensor-table entry as the writer will lay it out."""

    name: str
    ne: tuple[int, ...]
    type: GGMLType
    nbytes: int
    offset: int  # relative to the data section


def _encode_string(s: str) -> bytes:
    b = s.encode("utf-8")
    return _U64.pack(len(b)) + b


def _encode_scalar(vtype: ValueType, value: Any, key: str) -> bytes:
    if vtype in INTEGER_RANGES:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"metadata '{key}': {vtype.name} needs an int, got {value!r}")
        lo, hi = INTEGER_RANGES[vtype]
        if not lo <= int(value) <= hi:
            raise ValueError(f"metadata '{key}': {value} does not fit in {vtype.name}")
        value = int(value)
    elif vtype == ValueType.BOOL:
        value = 1 if value else 0
    return struct.pack(SCALAR_FORMATS[vtype], value)


def encode_value(vtype: ValueType, value: Any, key: str = "?") -> bytes:
    """The on-disk bytes of one metadata value (without its key and type tag)."""
    if vtype == ValueType.STRING:
        if not isinstance(value, str):
            raise TypeError(f"metadata '{key}': STRING needs a str, got {type(value).__name__}")
        return _encode_string(value)
    if vtype == ValueType.ARRAY:
        if not isinstance(value, GGUFArray):
            raise TypeError(f"metadata '{key}': ARRAY values must be GGUFArray")
        return _encode_array(value, key)
    return _encode_scalar(vtype, value, key)


def _encode_array(arr: GGUFArray, key: str) -> bytes:
    head = _U32.pack(int(arr.elem_type)) + _U64.pack(len(arr.items))
    if arr.elem_type == ValueType.STRING:
        parts = []
        for s in arr.items:
            b = s.encode("utf-8")
            parts.append(_U64.pack(len(b)))
            parts.append(b)
        return head + b"".join(parts)
    if arr.elem_type == ValueType.ARRAY:
        return head + b"".join(_encode_array(a, key) for a in arr.items)
    items = arr.items.array if isinstance(arr.items, NumberArray) else arr.items
    if arr.elem_type in INTEGER_RANGES and len(items):
        lo, hi = INTEGER_RANGES[arr.elem_type]
        low, high = (int(items.min()), int(items.max())) if isinstance(items, np.ndarray) else (min(items), max(items))
        if low < lo or high > hi:
            raise ValueError(f"metadata '{key}': array values do not fit in {arr.elem_type.name}")
    if arr.elem_type == ValueType.BOOL:
        values = np.array([bool(v) for v in items], dtype=np.uint8)
    else:
        values = np.asarray(items, dtype=NUMPY_DTYPES[arr.elem_type])
    return head + values.tobytes()


class GGUFWriter:
    """Collects metadata and tensors, then writes the file in one pass with `write()`."""

    def __init__(self, path: str | os.PathLike, alignment: int = 32, write_alignment_key: bool = False):
        if alignment <= 0 or alignment & (alignment - 1):
            raise ValueError(f"alignment must be a power of two, got {alignment}")
        self.path = Path(path)
        self.alignment = alignment
        self._kv: dict[str, GGUFValue] = {}
        self._tensors: list[tuple[PlannedTensor, TensorSource]] = []
        self._data_size = 0
        if write_alignment_key:
            self.add("general.alignment", ValueType.UINT32, alignment)

    # -- metadata -------------------------------------------------------------------------------

    def add(self, key: str, vtype: ValueType, value: Any) -> None:
        """Add one metadata entry. For arrays pass `GGUFArray(elem_type, items)` as the value."""
        if key in self._kv:
            raise ValueError(f"metadata key '{key}' added twice")
        encode_value(vtype, value, key)  # validate now, not at write time
        self._kv[key] = GGUFValue(ValueType(vtype), value)

    def add_string(self, key: str, value: str) -> None:
        self.add(key, ValueType.STRING, value)

    def add_uint32(self, key: str, value: int) -> None:
        self.add(key, ValueType.UINT32, value)

    def add_float32(self, key: str, value: float) -> None:
        self.add(key, ValueType.FLOAT32, value)

    def add_bool(self, key: str, value: bool) -> None:
        self.add(key, ValueType.BOOL, value)

    def add_array(self, key: str, elem_type: ValueType, items: Sequence[Any]) -> None:
        self.add(key, ValueType.ARRAY, GGUFArray(ValueType(elem_type), list(items)))

    # -- tensors --------------------------------------------------------------------------------

    def add_tensor(self, name: str, ne: Sequence[int], ggml_type: GGMLType, data: TensorSource) -> PlannedTensor:
        """Declare a tensor with ggml shape `ne` (innermost first). `data` may be a callable."""
        if any(t.name == name for t, _ in self._tensors):
            raise ValueError(f"tensor '{name}' added twice")
        ne = tuple(int(d) for d in ne)
        nbytes = ggml_type.nbytes(ne, name)
        planned = PlannedTensor(name, ne, ggml_type, nbytes, self._data_size)
        self._tensors.append((planned, data))
        self._data_size += align_up(nbytes, self.alignment)
        return planned

    @property
    def planned_tensors(self) -> list[PlannedTensor]:
        return [t for t, _ in self._tensors]

    def header_bytes(self) -> bytes:
        """Everything before the data section, padded to the alignment."""
        parts = [b"GGUF", _U32.pack(3), _U64.pack(len(self._tensors)), _U64.pack(len(self._kv))]
        for key, v in self._kv.items():
            parts += [_encode_string(key), _U32.pack(int(v.type)), encode_value(v.type, v.value, key)]
        for t, _ in self._tensors:
            parts += [_encode_string(t.name), _U32.pack(len(t.ne))]
            parts += [_U64.pack(d) for d in t.ne]
            parts += [_U32.pack(t.type.id), _U64.pack(t.offset)]
        head = b"".join(parts)
        return head + bytes(align_up(len(head), self.alignment) - len(head))

    def total_size(self) -> int:
        return len(self.header_bytes()) + self._data_size

    def write(self) -> Path:
        """Write the file (to a temporary name first, renamed into place when complete)."""
        tmp = self.path.with_name(self.path.name + ".partial")
        try:
            with open(tmp, "wb") as f:
                f.write(self.header_bytes())
                for t, source in self._tensors:
                    data = source() if callable(source) else source
                    if isinstance(data, np.ndarray):
                        data = np.ascontiguousarray(data)
                    mv = memoryview(data).cast("B")
                    if mv.nbytes != t.nbytes:
                        raise ValueError(
                            f"tensor '{t.name}': {t.type} {list(t.ne)} needs {t.nbytes} bytes, got {mv.nbytes}"
                        )
                    f.write(mv)
                    f.write(bytes(align_up(t.nbytes, self.alignment) - t.nbytes))
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return self.path


def write_gguf(
    path: str | os.PathLike,
    metadata: Iterable[tuple[str, ValueType, Any]],
    tensors: Iterable[tuple[str, Sequence[int], GGMLType, TensorSource]] = (),
    alignment: int = 32,
    write_alignment_key: bool = False,
) -> Path:
    """One-call form: `metadata` as (key, type, value), `tensors` as (name, ne, type, data)."""
    w = GGUFWriter(path, alignment=alignment, write_alignment_key=write_alignment_key)
    for key, vtype, value in metadata:
        w.add(key, vtype, value)
    for name, ne, ggml_type, data in tensors:
        w.add_tensor(name, ne, ggml_type, data)
    return w.write()
