"""Read a GGUF v2/v3 file: header, typed metadata, tensor table, and zero-copy tensor views.

File layout (little-endian, docs/file-formats.md#gguf-container):

    u32 magic "GGUF" (bytes 47 47 55 46)   u32 version (2 or 3; both have this layout)
    u64 n_tensors                          u64 n_kv
    n_kv      × { string key; u32 value_type; value }            (see `values.py`)
    n_tensors × { string name; u32 n_dims; u64 ne[n_dims]; u32 ggml_type; u64 offset }
    zero padding up to a multiple of `general.alignment` (u32 key; absent -> 32)
    tensor data: tensor i occupies [data_start + offset_i, + nbytes_i), nbytes from `types.py`

The file is mapped read-only; `TensorInfo.data` is a numpy uint8 view into the mapping (no copy)
and `TensorInfo.file_offset` is the absolute offset the native engine can map itself. Metadata
arrays are not copied either: numbers are a `NumberArray` (number_array.py), a read-only numpy view
of the mapping used like a list, and strings a `StringArray` (string_array.py) that decodes an
element when it is read, so a vocabulary costs a few MiB of offsets instead of tens of MiB of
Python objects.

Hostile input: every count, length, offset and size read from the file is checked against the
bytes that remain before anything is allocated or read. Every problem raises `ModelFormatError`
whose message names the file, the key or tensor, and what is wrong. Limits enforced besides the
file size: n_dims <= 4, every dimension >= 1, at most 2^62 elements per tensor, tensor names
shorter than 64 bytes (ggml's GGML_MAX_NAME), arrays nested at most 8 deep, alignment a power of
two, no duplicate keys or tensor names, bools 0 or 1, UTF-8 everywhere (string arrays included,
checked when the file is opened), at most 2^20 metadata entries and 2^20 tensors. The path must be a
regular file: a directory, FIFO, socket or device is refused before it is read (a FIFO would block open()
until a writer came, /dev/zero would never end). Metadata values are checked for type and range where they
are used, through `metadata_access.MetadataAccess`.

A file changed under the mapping: pages are read from the file when they are touched, so what the checks
above saw is only what the file held when it was opened. If another program truncates a loaded file in
place, touching a page past the new end raises SIGBUS on Linux and macOS, which ends the process (Python
cannot catch it); Windows refuses to truncate a mapped file. Bytes overwritten in place are read as they
now are, unchecked. Replacing a file by renaming a new one over it is safe: the mapping keeps the old
file's data until it is closed. So nothing in this app writes a model file in place: `GGUFWriter` writes a
temporary file and renames it, and a model must be unloaded before its file is deleted or replaced.
"""

from __future__ import annotations

import math
import mmap
import os
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.gguf.cursor import Cursor
from bitnet_desktop.engine.gguf.layout import RawTensor, align_up, check_layout, resolve_ambiguous_types
from bitnet_desktop.engine.gguf.metadata_access import GGUFMetadata
from bitnet_desktop.engine.gguf.number_array import NumberArray
from bitnet_desktop.engine.gguf.string_array import read_string_array
from bitnet_desktop.engine.gguf.types import MAX_ELEMENTS, GGMLType, lookup_type
from bitnet_desktop.engine.gguf.values import (
    MIN_SIZES,
    NUMPY_DTYPES,
    SCALAR_FORMATS,
    GGUFArray,
    GGUFValue,
    ValueType,
)

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4
MAX_NAME_BYTES = 63  # ggml GGML_MAX_NAME = 64 including the terminating NUL
MAX_ARRAY_DEPTH = 8
MAX_KV = 1 << 20  # real models carry tens of keys; this only bounds the work a hostile header causes
MAX_TENSORS = 1 << 20

_SCALAR_STRUCTS = {t: struct.Struct(f) for t, f in SCALAR_FORMATS.items()}
_MIN_KV_BYTES = 8 + 4 + 1  # empty key, value type, smallest value
_MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8  # empty name, n_dims = 0, type, offset


@dataclass(frozen=True, eq=False)
class TensorInfo:
    """One tensor of the file. `ne` is ggml order (innermost first); `shape` is PyTorch order."""

    name: str
    ne: tuple[int, ...]
    type: GGMLType
    offset: int  # bytes from the start of the data section (as stored in the file)
    file_offset: int  # absolute byte offset of the data in the file
    nbytes: int  # bytes of data in the file (docs/file-formats.md#tensor-sizes-and-offsets)
    index: int  # position in the file's tensor table
    _owner: "GGUFFile" = field(repr=False, compare=False)

    @property
    def shape(self) -> tuple[int, ...]:
        """PyTorch-style shape: a weight [out, in] has ne = [in, out]."""
        return tuple(reversed(self.ne))

    @property
    def n_elements(self) -> int:
        return math.prod(self.ne)

    @property
    def data(self) -> np.ndarray:
        """The tensor's bytes as a read-only numpy uint8 view of the mapped file (no copy)."""
        return self._owner._view(self.file_offset, self.nbytes)

    def memoryview(self) -> memoryview:
        return memoryview(self.data)


class GGUFFile:
    """A parsed GGUF file. Use as a context manager, or call `close()` when done.

    Attributes: `path`, `version`, `alignment`, `data_start` (absolute offset of the data section),
    `file_size`, `fields` (key -> typed `GGUFValue`, in file order), `metadata` (key -> plain value:
    int/float/bool/str; for an array a `NumberArray` (numbers, bools; `np.asarray` gives the view), a
    `StringArray` (strings) or nested lists), `tensors` (name -> `TensorInfo`, in file order).

    Metadata arrays view the mapping like tensor data does: after `close()` they stay readable, and
    the file stays mapped until the last of them is freed.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            _refuse_unless_regular(self.path, os.stat(self.path).st_mode)
            # Non-blocking: a FIFO swapped in after the stat above must not block open() until a writer comes.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
            try:
                st = os.fstat(fd)
                _refuse_unless_regular(self.path, st.st_mode)
                size = st.st_size
                if size < 8:
                    raise ModelFormatError(f"{self.path}: not a GGUF file: only {size} bytes, smaller than the header")
                buf = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            finally:
                os.close(fd)
        except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
            raise ModelFormatError(f"{self.path}: cannot open the model file: {getattr(e, 'strerror', None) or e}") \
                from e
        self._buf: Any = buf
        try:
            self._parse(buf, size)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<memory>") -> "GGUFFile":
        """Parse an in-memory GGUF image (tests, fuzzing). Tensor views point into a copy of `data`."""
        self = cls.__new__(cls)
        self.path = Path(name)
        self._buf = bytes(data)
        if len(self._buf) < 8:
            raise ModelFormatError(f"{name}: not a GGUF file: only {len(self._buf)} bytes, smaller than the header")
        self._parse(self._buf, len(self._buf))
        return self

    # -- public helpers -------------------------------------------------------------------------

    @property
    def architecture(self) -> str | None:
        arch = self.metadata.get("general.architecture")
        return arch if isinstance(arch, str) else None

    def tensor(self, name: str) -> TensorInfo:
        try:
            return self.tensors[name]
        except KeyError:
            raise ModelFormatError(f"{self.path}: the model has no tensor '{name}'") from None

    def release_pages(self, name: str) -> bool:
        """Drop a tensor's pages from this process's resident set (madvise DONTNEED).

        For a tensor read once (e.g. the f16 embedding after an int8 copy was built from it): the
        data stays valid and is faulted back in from the page cache if read again. Returns False
        where the OS offers no such advice or the file is not memory-mapped."""
        info = self.tensor(name)
        return self._release(info.file_offset, info.file_offset + info.nbytes)

    def release_metadata_pages(self) -> bool:
        """Drop the pages of the metadata and tensor table from the resident set, as `release_pages`
        does for a tensor. Worth it once the tokenizer is built: opening the file read every string
        array to check it (about 8 MiB for a Llama-3 vocabulary) and the merges are not read again;
        tokens are faulted back in one page at a time as they are decoded."""
        return self._release(0, self.data_start)

    def _release(self, start: int, end: int) -> bool:
        if not isinstance(self._buf, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED"):
            return False
        page = mmap.PAGESIZE
        start = -(-start // page) * page
        end = end // page * page
        if end > start:
            self._buf.madvise(mmap.MADV_DONTNEED, start, end - start)
        return True

    def close(self) -> None:
        """Unmap the file. Views handed out earlier keep the mapping alive until they are freed."""
        buf, self._buf = self._buf, None
        if isinstance(buf, mmap.mmap):
            try:
                buf.close()
            except BufferError:
                pass  # numpy views still reference it; it is unmapped when the last one goes

    @property
    def closed(self) -> bool:
        return self._buf is None

    def __enter__(self) -> "GGUFFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self) -> Iterator[TensorInfo]:
        return iter(self.tensors.values())

    def __repr__(self) -> str:
        return f"GGUFFile({str(self.path)!r}, v{self.version}, {len(self.fields)} keys, {len(self.tensors)} tensors)"

    def _view(self, offset: int, nbytes: int) -> np.ndarray:
        if self._buf is None:
            raise ValueError(f"{self.path}: the GGUF file was closed")
        return np.frombuffer(self._buf, dtype=np.uint8, count=nbytes, offset=offset)

    # -- parsing --------------------------------------------------------------------------------

    def _parse(self, buf, size: int) -> None:
        c = Cursor(memoryview(buf), size, str(self.path))
        self.file_size = size
        magic = c.raw(4, "header")
        if magic != GGUF_MAGIC:
            raise c.fail("header", f"not a GGUF file (magic {magic!r}, expected {GGUF_MAGIC!r})")
        self.version = c.u32("header version")
        if self.version not in SUPPORTED_VERSIONS:
            swapped = int.from_bytes(self.version.to_bytes(4, "little"), "big")
            if swapped in SUPPORTED_VERSIONS:
                raise c.fail("header", "big-endian GGUF files are not supported")
            raise c.fail("header", f"unsupported GGUF version {self.version} (supported: 2 and 3)")
        n_tensors = c.u64("header tensor count")
        n_kv = c.u64("header metadata count")
        if n_kv > MAX_KV:
            raise c.fail("header", f"metadata count {n_kv} is more than the {MAX_KV} this reader accepts")
        if n_tensors > MAX_TENSORS:
            raise c.fail("header", f"tensor count {n_tensors} is more than the {MAX_TENSORS} this reader accepts")
        if n_kv > c.remaining // _MIN_KV_BYTES:
            raise c.fail("header", f"metadata count {n_kv} cannot fit in the {c.remaining} bytes left in the file")
        if n_tensors > c.remaining // _MIN_TENSOR_INFO_BYTES:
            raise c.fail("header", f"tensor count {n_tensors} cannot fit in the {c.remaining} bytes left in the file")

        self.fields: dict[str, GGUFValue] = {}
        for i in range(n_kv):
            key = c.string(f"metadata key #{i}")
            if key in self.fields:
                raise c.fail(f"metadata key '{key}'", "appears twice")
            vtype = self._value_type(c, c.u32(f"metadata key '{key}' (value type)"), f"metadata key '{key}'")
            self.fields[key] = GGUFValue(vtype, self._read_value(c, vtype, f"metadata key '{key}'", 0))
        self.metadata: dict[str, Any] = GGUFMetadata(((k, v.to_python()) for k, v in self.fields.items()),
                                                     str(self.path))
        self.alignment = self._alignment(c)

        raw: list[RawTensor] = []
        seen: set[str] = set()
        for i in range(n_tensors):
            raw.append(self._read_tensor_info(c, i, seen))
        self.data_start = align_up(c.pos, self.alignment)
        data_size = max(0, size - self.data_start)
        if raw and self.data_start > size:
            raise c.fail("tensor data", f"the data section would start at {self.data_start}, past the end of the file")

        resolve_ambiguous_types(raw, self.alignment, data_size, self.architecture, str(self.path))
        for t in raw:
            if t.type is None:
                t.type = self._lookup_type(t)
            try:
                t.nbytes = t.type.nbytes(t.ne, t.name)
            except ModelFormatError as e:
                raise ModelFormatError(f"{self.path}: {e}") from None
        check_layout(raw, self.alignment, self.data_start, size, str(self.path))

        self.tensors: dict[str, TensorInfo] = {
            t.name: TensorInfo(t.name, t.ne, t.type, t.offset, self.data_start + t.offset, t.nbytes, i, self)
            for i, t in enumerate(raw)
        }

    def _lookup_type(self, t: RawTensor) -> GGMLType:
        try:
            return lookup_type(t.type_id, t.name)
        except ModelFormatError as e:
            raise ModelFormatError(f"{self.path}: {e}") from None

    @staticmethod
    def _value_type(c: Cursor, raw: int, what: str) -> ValueType:
        try:
            return ValueType(raw)
        except ValueError:
            raise c.fail(what, f"unknown value type {raw} (valid: 0..12)") from None

    def _alignment(self, c: Cursor) -> int:
        field_ = self.fields.get("general.alignment")
        if field_ is None:
            return DEFAULT_ALIGNMENT
        if field_.type != ValueType.UINT32:
            raise c.fail("metadata key 'general.alignment'", f"must be a UINT32, not {field_.type.name}")
        a = field_.value
        if a == 0 or a & (a - 1):
            raise c.fail("metadata key 'general.alignment'", f"must be a power of two, got {a}")
        return a

    def _read_value(self, c: Cursor, vtype: ValueType, what: str, depth: int) -> Any:
        if vtype == ValueType.STRING:
            return c.string(what)
        if vtype == ValueType.ARRAY:
            return self._read_array(c, what, depth + 1)
        value = c.unpack(_SCALAR_STRUCTS[vtype], what)
        if vtype == ValueType.BOOL:
            if value not in (0, 1):
                raise c.fail(what, f"bool value must be 0 or 1, got {value}")
            return bool(value)
        return value

    def _read_array(self, c: Cursor, what: str, depth: int) -> GGUFArray:
        if depth > MAX_ARRAY_DEPTH:
            raise c.fail(what, f"arrays nested more than {MAX_ARRAY_DEPTH} deep")
        elem = self._value_type(c, c.u32(f"{what} (array element type)"), what)
        count = c.u64(f"{what} (array length)")
        if count > c.remaining // MIN_SIZES[elem]:
            raise c.fail(
                what,
                f"array of {count} {elem.name} elements cannot fit in the {c.remaining} bytes left in the file",
            )
        if elem == ValueType.STRING:
            return GGUFArray(elem, read_string_array(c, count, what))
        if elem == ValueType.ARRAY:
            return GGUFArray(elem, [self._read_array(c, f"{what}[{i}]", depth + 1) for i in range(count)])
        values = c.view(NUMPY_DTYPES[elem], count, what)
        if elem == ValueType.BOOL:
            bad = np.flatnonzero(values > 1)
            if bad.size:
                raise c.fail(f"{what}[{bad[0]}]", f"bool value must be 0 or 1, got {values[bad[0]]}")
            return GGUFArray(elem, NumberArray(values.view(np.bool_)))
        return GGUFArray(elem, NumberArray(values))

    def _read_tensor_info(self, c: Cursor, i: int, seen: set[str]) -> RawTensor:
        name = c.string(f"tensor #{i} name")
        what = f"tensor '{name}'"
        if len(name.encode("utf-8")) > MAX_NAME_BYTES:
            raise c.fail(what, f"name is longer than {MAX_NAME_BYTES} bytes")
        if name in seen:
            raise c.fail(what, "appears twice in the tensor table")
        seen.add(name)
        n_dims = c.u32(f"{what} (n_dims)")
        if n_dims > MAX_DIMS:
            raise c.fail(what, f"has {n_dims} dimensions; at most {MAX_DIMS} are allowed")
        ne = []
        n = 1
        for d in range(n_dims):
            dim = c.u64(f"{what} (ne[{d}])")
            if dim == 0:
                raise c.fail(what, f"dimension ne[{d}] is 0")
            n *= dim
            if n > MAX_ELEMENTS:
                raise c.fail(what, f"shape {ne + [dim]}... has more than 2^62 elements")
            ne.append(dim)
        type_id = c.u32(f"{what} (type)")
        offset = c.u64(f"{what} (offset)")
        return RawTensor(name, tuple(ne), type_id, offset)


_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _refuse_unless_regular(path: Path, mode: int) -> None:
    """ModelFormatError unless `mode` is a regular file's: reading a FIFO or a device could block or never end."""
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "a special file")
    raise ModelFormatError(f"{path}: is {kind}, not a regular file; a model must be a .gguf file")


def open_gguf(path: str | os.PathLike) -> GGUFFile:
    """Open and validate a GGUF file (see `GGUFFile`)."""
    return GGUFFile(path)
