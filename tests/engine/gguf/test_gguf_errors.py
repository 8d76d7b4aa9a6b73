"""Each specific malformation gives a ModelFormatError naming the file, the key or tensor, and the problem."""

import struct

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.gguf import F32, I2_S, GGUFFile, ValueType, open_gguf, write_gguf

V = ValueType
NAME = "hostile.gguf"


def s(text: str | bytes) -> bytes:
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype: int, payload: bytes) -> bytes:
    return s(key) + struct.pack("<I", vtype) + payload


def ti(name, ne, type_id, offset) -> bytes:
    return (
        s(name)
        + struct.pack("<I", len(ne))
        + b"".join(struct.pack("<Q", d) for d in ne)
        + struct.pack("<IQ", type_id, offset)
    )


def gguf(kvs=(), tensors=(), data=b"", version=3, n_kv=None, n_tensors=None, magic=b"GGUF") -> bytes:
    head = magic + struct.pack(
        "<IQQ", version, len(tensors) if n_tensors is None else n_tensors, len(kvs) if n_kv is None else n_kv
    )
    head += b"".join(kvs) + b"".join(tensors)
    head += bytes(-len(head) % 32)
    return head + data


def parse(raw: bytes) -> GGUFFile:
    return GGUFFile.from_bytes(raw, NAME)


def fails(raw: bytes, *fragments: str) -> str:
    with pytest.raises(ModelFormatError) as e:
        parse(raw)
    msg = str(e.value)
    assert msg.startswith(NAME + ":"), msg
    for f in fragments:
        assert f in msg, msg
    return msg


F32_4 = ti("w", [4], 0, 0)


def test_the_builder_makes_valid_files():
    g = parse(gguf([kv("k", 4, struct.pack("<I", 5))], [F32_4], bytes(16)))
    assert g.metadata == {"k": 5} and g.tensors["w"].nbytes == 16


# -- header ------------------------------------------------------------------------------------


def test_too_small():
    fails(b"GGU", "only 3 bytes")


def test_wrong_magic():
    fails(gguf(magic=b"GGML"), "not a GGUF file", "b'GGML'")


def test_unsupported_versions():
    fails(gguf(version=1), "unsupported GGUF version 1")
    fails(gguf(version=4), "unsupported GGUF version 4")
    fails(gguf(version=0x03000000), "big-endian")


def test_truncated_header():
    fails(gguf()[:20], "header", "truncated")


def test_huge_counts():
    fails(gguf(n_kv=2**62), "metadata count 4611686018427387904 is more than the 1048576 this reader accepts")
    fails(gguf(n_tensors=2**64 - 1), "tensor count 18446744073709551615 is more than the 1048576")
    fails(gguf(n_kv=1000), "metadata count 1000 cannot fit in the 8 bytes left")
    fails(gguf(n_tensors=2**20), "tensor count 1048576 cannot fit")


# -- metadata ----------------------------------------------------------------------------------


def test_huge_string_length():
    raw = gguf([s("k")[:0] + struct.pack("<Q", 2**60) + b"abc"])
    fails(raw, "metadata key #0", "string length 1152921504606846976")


def test_huge_string_value_length():
    fails(gguf([kv("name", 8, struct.pack("<Q", 2**60))]), "metadata key 'name'", "string length")


def test_huge_array_count():
    fails(
        gguf([kv("arr", 9, struct.pack("<IQ", 4, 2**62))]), "metadata key 'arr'", "array of 4611686018427387904 UINT32"
    )
    fails(gguf([kv("arr", 9, struct.pack("<IQ", 8, 2**40))]), "metadata key 'arr'", "STRING elements cannot fit")


def test_huge_string_inside_array():
    payload = struct.pack("<IQ", 8, 2) + s("ok") + struct.pack("<Q", 2**63)
    fails(gguf([kv("toks", 9, payload)]), "metadata key 'toks'[1]", "string length")


def test_unknown_value_type():
    fails(gguf([kv("k", 13, b"\0" * 8)]), "metadata key 'k'", "unknown value type 13")
    fails(gguf([kv("k", 9, struct.pack("<IQ", 99, 0))]), "metadata key 'k'", "unknown value type 99")


def test_bad_bool():
    fails(gguf([kv("flag", 7, b"\x02")]), "metadata key 'flag'", "bool value must be 0 or 1, got 2")
    fails(gguf([kv("flags", 9, struct.pack("<IQ", 7, 3) + b"\x01\x00\x05")]), "'flags'[2]", "got 5")


def test_bad_utf8():
    fails(gguf([kv(b"k\xff", 4, bytes(4))]), "metadata key #0", "not valid UTF-8")
    fails(gguf([kv("name", 8, s(b"\xc3\x28"))]), "metadata key 'name'", "not valid UTF-8")
    fails(gguf([kv("t", 9, struct.pack("<IQ", 8, 1) + s(b"\xed\xa0\x80"))]), "'t'[0]", "not valid UTF-8")
    fails(gguf(tensors=[ti(b"w\x80", [4], 0, 0)], data=bytes(16)), "tensor #0 name", "not valid UTF-8")


def test_duplicate_keys():
    one = kv("general.name", 8, s("a"))
    fails(gguf([one, one]), "metadata key 'general.name'", "appears twice")


def test_arrays_nested_too_deep():
    payload = struct.pack("<IQ", 9, 1) * 20 + struct.pack("<IQ", 4, 0)
    fails(gguf([kv("deep", 9, payload)]), "nested more than 8 deep")


def test_bad_alignment():
    fails(gguf([kv("general.alignment", 4, struct.pack("<I", 48))]), "'general.alignment'", "power of two, got 48")
    fails(gguf([kv("general.alignment", 4, struct.pack("<I", 0))]), "power of two, got 0")
    fails(gguf([kv("general.alignment", 10, struct.pack("<Q", 32))]), "must be a UINT32, not UINT64")


def test_truncated_metadata_value():
    raw = gguf([kv("k", 12, struct.pack("<d", 1.0))])
    fails(raw[: 24 + 9 + 4 + 3], "metadata key 'k'", "truncated")


# -- tensor table ------------------------------------------------------------------------------


def test_too_many_dims():
    fails(gguf(tensors=[ti("w", [1, 1, 1, 1, 4], 0, 0)], data=bytes(16)), "tensor 'w'", "5 dimensions; at most 4")


def test_zero_dim():
    fails(gguf(tensors=[ti("w", [4, 0], 0, 0)], data=bytes(16)), "tensor 'w'", "ne[1] is 0")


def test_element_count_overflow():
    fails(gguf(tensors=[ti("w", [2**32, 2**32], 0, 0)], data=bytes(16)), "tensor 'w'", "more than 2^62 elements")
    fails(gguf(tensors=[ti("w", [2**64 - 1], 0, 0)], data=bytes(16)), "tensor 'w'", "more than 2^62 elements")


def test_size_larger_than_file_without_allocating():
    fails(gguf(tensors=[ti("w", [2**30, 2**30], 0, 0)], data=bytes(16)), "tensor 'w'", "extend past the end")


def test_unknown_ggml_type_names_tensor_and_id():
    msg = fails(gguf(tensors=[ti("blk.0.attn_q.weight", [4], 77, 0)], data=bytes(16)), "unknown ggml type id 77")
    assert "'blk.0.attn_q.weight'" in msg
    fails(gguf(tensors=[ti("x", [4], 37, 0)], data=bytes(16)), "type id 37", "runtime-only")


def test_block_type_with_bad_row_length():
    fails(gguf(tensors=[ti("emb", [33, 2], 8, 0)], data=bytes(128)), "tensor 'emb'", "Q8_0", "ne0 = 33")


def test_i2s_element_count_not_divisible_by_4():
    fails(gguf(tensors=[ti("w", [3], 36, 0)], data=bytes(64)), "tensor 'w'", "divisible by 4")


def test_duplicate_tensor_names():
    fails(gguf(tensors=[ti("w", [4], 0, 0), ti("w", [4], 0, 32)], data=bytes(64)), "tensor 'w'", "appears twice")


def test_tensor_name_too_long():
    fails(gguf(tensors=[ti("n" * 64, [4], 0, 0)], data=bytes(16)), "name is longer than 63 bytes")


def test_offset_not_aligned():
    fails(
        gguf(tensors=[ti("w", [4], 0, 8)], data=bytes(64)),
        "tensor 'w'",
        "offset 8 is not a multiple of the alignment 32",
    )


def test_overlapping_tensors():
    tensors = [ti("a", [16], 0, 0), ti("b", [4], 0, 32)]
    fails(gguf(tensors=tensors, data=bytes(128)), "tensor 'b'", "overlaps tensor 'a'")


def test_tensor_data_past_eof():
    fails(gguf(tensors=[ti("w", [16], 0, 0)], data=bytes(63)), "tensor 'w'", "64 bytes of F32", "extend past the end")
    fails(gguf(tensors=[ti("w", [4], 0, 2**63)], data=bytes(16)), "tensor 'w'", "extend past the end")


def test_truncated_tensor_table():
    raw = gguf(tensors=[ti("w", [4, 4], 0, 0)], data=bytes(64))
    fails(raw[: 24 + 8 + 1 + 4 + 8 + 3], "tensor 'w'", "ne[1]", "truncated")


def test_data_section_past_eof():
    raw = gguf(tensors=[ti("w", [4], 0, 0)])
    fails(raw[:-1], "data section would start")


# -- files on disk -----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ModelFormatError, match="cannot open the model file"):
        open_gguf(tmp_path / "nope.gguf")


def test_empty_file(tmp_path):
    (tmp_path / "e.gguf").write_bytes(b"")
    with pytest.raises(ModelFormatError, match="only 0 bytes"):
        open_gguf(tmp_path / "e.gguf")


def test_truncated_file_on_disk_names_the_path(tmp_path):
    path = write_gguf(tmp_path / "t.gguf", [], [("w", (128, 4), I2_S, bytes(160)), ("n", (8,), F32, bytes(32))])
    raw = path.read_bytes()
    (tmp_path / "cut.gguf").write_bytes(raw[:-20])
    with pytest.raises(ModelFormatError) as e:
        open_gguf(tmp_path / "cut.gguf")
    assert str(tmp_path / "cut.gguf") in str(e.value) and "tensor 'n'" in str(e.value)


def test_f32_tensor_values_are_readable():
    data = np.arange(4, dtype="<f4").tobytes()
    g = parse(gguf(tensors=[F32_4], data=data))
    np.testing.assert_array_equal(g.tensors["w"].data.view("<f4"), [0, 1, 2, 3])
