"""GGUF string arrays kept as the file's bytes, each string decoded when it is read.

On disk an array of `count` strings is `count × {u64 byte_length, UTF-8 bytes}`. A Llama-3
vocabulary holds 128,256 tokens and 280,147 merges: as Python str objects in lists about 40 MiB,
here 4 bytes of offset per string (8 past 4 GiB) besides the mapped file's own pages.

`read_string_array` walks the lengths once, checking each against the bytes left as the rest of the
reader does, then checks that every string is UTF-8, so a bad file is still refused when it is
opened, with an error naming the element.
"""

from __future__ import annotations

import array
import codecs
import operator
import struct
from itertools import chain
from typing import Iterator, Sequence

import numpy as np

from bitnet_desktop.engine.gguf.cursor import Cursor

_U64 = struct.Struct("<Q")
_DECODE_CHUNK = 1 << 16  # bytes decoded per call while validating: bounds the temporary str
_HIGH_BITS = np.uint64(0x8080808080808080)
_ITER_BLOCK = 4096  # elements decoded from one copied block while iterating


class StringArray(Sequence[str]):
    """The strings of one GGUF array, read-only: indexing, slicing (a list), len, iteration, equality.

    Holds a memoryview of the whole file, so like `TensorInfo.data` it keeps the mapping alive
    until it is freed. `_bounds[i]` is where element i's length field lies, from `_base`;
    `_bounds[count]` is the end of the array, so element i's bytes are
    [_base + _bounds[i] + 8, _base + _bounds[i + 1]).
    """

    __slots__ = ("_buf", "_base", "_bounds", "_offsets")

    def __init__(self, buf: memoryview, base: int, bounds: np.ndarray):
        self._buf = buf
        self._base = base
        self._bounds = bounds  # (count + 1,) uint32, or uint64 for an array spanning 4 GiB or more
        self._offsets = memoryview(bounds)  # the same numbers as Python ints, twice as fast to index

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index):
        if type(index) is int and 0 <= index < len(self._offsets) - 1:  # the common case, kept short
            start = self._base + self._offsets[index] + 8
            return self._buf[start : self._base + self._offsets[index + 1]].tobytes().decode("utf-8")
        if isinstance(index, slice):
            return [self.encoded(i).decode("utf-8") for i in range(*index.indices(len(self)))]
        return self.encoded(index).decode("utf-8")

    def encoded(self, index: int) -> bytes:
        """Element `index` as its UTF-8 bytes (negative indices count from the end)."""
        i = operator.index(index)
        n = len(self._offsets) - 1
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"string array index {index} out of range (length {n})")
        base = self._base
        return self._buf[base + self._offsets[i] + 8 : base + self._offsets[i + 1]].tobytes()

    def __iter__(self) -> Iterator[str]:
        return chain.from_iterable(map(self._decode_block, range(0, len(self), _ITER_BLOCK)))

    def _decode_block(self, first: int) -> list[str]:
        # A block of elements is copied out at once: slicing bytes is cheaper than slicing the memoryview.
        last = min(len(self), first + _ITER_BLOCK)
        start = int(self._bounds[first])
        block = self._buf[self._base + start : self._base + int(self._bounds[last])].tobytes()
        ends = (self._bounds[first + 1 : last + 1] - start).tolist()
        return [block[a + 8 : b].decode("utf-8") for a, b in zip([0] + ends, ends)]

    def __eq__(self, other) -> bool:
        if isinstance(other, StringArray):
            return len(self) == len(other) and self._span() == other._span()
        if isinstance(other, (list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compares by value, like a list

    def __repr__(self) -> str:
        shown = self[:3]
        more = f", ... {len(self)} strings" if len(self) > 3 else ""
        return f"StringArray({shown!r}{more})"

    def _span(self) -> memoryview:
        return self._buf[self._base : self._base + self._offsets[-1]]


def read_string_array(c: Cursor, count: int, what: str) -> StringArray:
    """`count` GGUF strings at the cursor, checked; the cursor moves past them."""
    buf, pos, size = c.buf, c.pos, c.size
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    base = pos
    unpack = _U64.unpack_from
    bounds = array.array("Q")
    append = bounds.append
    for i in range(count):  # a tight loop: vocabularies hold hundreds of thousands of strings
        if size - pos < 8:
            c.pos = pos
            c.need(8, f"{what}[{i}] (length)")
        (n,) = unpack(buf, pos)
        append(pos - base)
        pos += 8
        if n > size - pos:
            c.pos = pos
            raise c.fail(
                f"{what}[{i}]", f"string length {n} at offset {pos - 8} is larger than the {size - pos} bytes left"
            )
        pos += n
    append(pos - base)
    c.pos = pos
    wide = np.frombuffer(bounds, dtype=np.uint64)
    _check_utf8(c, view, base, wide, what)
    compact = wide.astype(np.uint32) if pos - base < 1 << 32 else wide.copy()
    return StringArray(view, base, compact)


def _check_utf8(c: Cursor, view: memoryview, base: int, bounds: np.ndarray, what: str) -> None:
    """Refuse the array unless every element is UTF-8, decoding long runs of elements at once.

    A length field whose 8 bytes are all below 0x80 (any length under 128, and most others) reads as
    ASCII, which UTF-8 accepts and which cannot continue a multi-byte character: a run of elements
    separated only by such fields is valid exactly when it decodes as one string. Length fields with
    a high bit set are skipped: each ends one run and the next run starts after it."""
    lengths = np.diff(bounds) - np.uint64(8)
    cuts = np.flatnonzero(lengths & _HIGH_BITS)
    run_starts = np.concatenate(([bounds[0]], bounds[cuts] + np.uint64(8)))
    run_ends = np.concatenate((bounds[cuts], [bounds[-1]]))
    for start, end in zip(run_starts.tolist(), run_ends.tolist()):
        position = start
        while position < end:  # in chunks, each ending in a character cut short or at the run's end
            chunk_end = min(end, position + _DECODE_CHUNK)
            try:
                _, used = codecs.utf_8_decode(view[base + position : base + chunk_end], "strict", chunk_end == end)
            except UnicodeDecodeError as e:
                bad = position + e.start
                i = int(np.searchsorted(bounds, bad, side="right")) - 1
                at = bad - int(bounds[i]) - 8
                raise c.fail(f"{what}[{i}]", f"is not valid UTF-8 ({e.reason} at byte {at})") from None
            position += used
