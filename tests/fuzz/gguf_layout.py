"""Where each structural field of a GGUF file lies, from an independent walk of the bytes (not
the project's reader, so mutations do not inherit its view of the format).

A field is (offset, size, kind, owner): kind names what the bytes mean ("kv_count", "key.len",
"value.type", "string.len", "array.type", "array.count", "scalar", "n_dims", "ne", "ggml_type",
"tensor_offset", ...); owner is the metadata key or tensor name it belongs to ("" for the header).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9


@dataclass(frozen=True)
class Field:
    offset: int
    size: int
    kind: str
    owner: str


@dataclass(frozen=True)
class Layout:
    fields: list[Field]
    infos_end: int            # first byte after the tensor infos (the data section is aligned after it)
    boundaries: list[int]     # offsets where an entry (kv, tensor info) starts or ends


def walk(raw: bytes) -> Layout:
    """The fields of a valid GGUF v3 file."""
    fields: list[Field] = []
    boundaries: list[int] = []
    pos = 0

    def take(size: int, kind: str, owner: str = "") -> int:
        nonlocal pos
        fields.append(Field(pos, size, kind, owner))
        value = int.from_bytes(raw[pos:pos + size], "little")
        pos += size
        return value

    def string(kind: str, owner: str) -> str:
        nonlocal pos
        n = take(8, kind + ".len", owner)
        text = raw[pos:pos + n].decode("utf-8")
        fields.append(Field(pos, n, kind + ".bytes", owner))
        pos += n
        return text

    def value(vtype: int, owner: str) -> None:
        nonlocal pos
        if vtype == STRING:
            string("string", owner)
        elif vtype == ARRAY:
            elem = take(4, "array.type", owner)
            count = take(8, "array.count", owner)
            if elem in SCALAR_SIZES:  # one field for the whole block: it is patched as data
                fields.append(Field(pos, count * SCALAR_SIZES[elem], f"array.data.{elem}", owner))
                pos += count * SCALAR_SIZES[elem]
            else:
                for _ in range(count):
                    value(elem, owner)
        else:
            take(SCALAR_SIZES[vtype], f"scalar.{vtype}", owner)

    take(4, "magic")
    take(4, "version")
    n_tensors = take(8, "tensor_count")
    n_kv = take(8, "kv_count")
    for _ in range(n_kv):
        boundaries.append(pos)
        key = string("key", "")
        value(take(4, "value.type", key), key)
    for _ in range(n_tensors):
        boundaries.append(pos)
        name = string("name", "")
        n_dims = take(4, "n_dims", name)
        for _ in range(n_dims):
            take(8, "ne", name)
        take(4, "ggml_type", name)
        take(8, "tensor_offset", name)
    boundaries.append(pos)
    return Layout(fields, pos, boundaries)


def patch(raw: bytes | bytearray, offset: int, size: int, value: int) -> bytearray:
    """raw with the little-endian integer field at offset replaced (value taken modulo its size)."""
    out = bytearray(raw)
    out[offset:offset + size] = (value % (1 << (8 * size))).to_bytes(size, "little")
    return out


def f32(value: float) -> bytes:
    return struct.pack("<f", value)
