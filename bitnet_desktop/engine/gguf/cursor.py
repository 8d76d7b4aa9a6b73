"""Bounds-checked little-endian reads over a byte buffer (the mmap of a GGUF file).

Every read first checks that the bytes exist, so a truncated or hostile file produces a
`ModelFormatError` naming the file, the item being read and the offset, never a struct.error,
IndexError or an attempt to allocate a length that was read from the file.
"""

from __future__ import annotations

import struct

import numpy as np

from bitnet_desktop.engine.errors import ModelFormatError

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class Cursor:
    """A read position in `buf` (bytes, memoryview or mmap) of `size` bytes, for file `path`."""

    def __init__(self, buf, size: int, path: str):
        self.buf = buf
        self.size = size
        self.path = path
        self.pos = 0

    @property
    def remaining(self) -> int:
        return self.size - self.pos

    def fail(self, what: str, problem: str) -> ModelFormatError:
        """An error naming the file, what was being read, and the problem."""
        return ModelFormatError(f"{self.path}: {what}: {problem}")

    def need(self, n: int, what: str) -> None:
        """Refuse to go on if fewer than `n` bytes are left."""
        if n > self.remaining:
            raise self.fail(
                what,
                f"needs {n} bytes at offset {self.pos} but the file ends after {self.remaining} "
                f"(file size {self.size}); the file is truncated or corrupt",
            )

    def unpack(self, st: struct.Struct, what: str):
        self.need(st.size, what)
        value = st.unpack_from(self.buf, self.pos)
        self.pos += st.size
        return value[0] if len(value) == 1 else value

    def u32(self, what: str) -> int:
        return self.unpack(_U32, what)

    def u64(self, what: str) -> int:
        return self.unpack(_U64, what)

    def raw(self, n: int, what: str) -> bytes:
        self.need(n, what)
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def string(self, what: str) -> str:
        """A GGUF string: u64 length, then that many bytes of UTF-8."""
        n = self.u64(f"{what} (length)")
        if n > self.remaining:
            raise self.fail(
                what,
                f"string length {n} at offset {self.pos - 8} is larger than the {self.remaining} "
                "bytes left in the file",
            )
        data = self.raw(n, what)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise self.fail(what, f"is not valid UTF-8 ({e.reason} at byte {e.start})") from None

    def view(self, dtype: str, count: int, what: str) -> np.ndarray:
        """`count` fixed-size elements of `dtype` as a read-only numpy view of the buffer, no copy
        (count already checked by the caller)."""
        itemsize = np.dtype(dtype).itemsize
        self.need(count * itemsize, what)
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        out.flags.writeable = False
        self.pos += count * itemsize
        return out
