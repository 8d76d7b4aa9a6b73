"""String arrays stay the file's bytes (decoded on access) and are still fully checked when the file is opened."""

import struct
import sys

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.gguf import GGUFArray, GGUFFile, ValueType, open_gguf, write_gguf
from bitnet_desktop.engine.gguf.string_array import StringArray
from tests.mapped_memory import mapped_rss

V = ValueType
NAME = "strings.gguf"


def string_array_file(*strings: bytes) -> bytes:
    """A GGUF with one metadata key 't': an array of these raw strings (UTF-8 or not)."""
    key = struct.pack("<Q", 1) + b"t"
    payload = struct.pack("<IIQ", 9, 8, len(strings)) + b"".join(struct.pack("<Q", len(b)) + b for b in strings)
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + key + payload


def parse(*strings: bytes) -> StringArray:
    return GGUFFile.from_bytes(string_array_file(*strings), NAME).metadata["t"]


def refused(*strings: bytes) -> str:
    with pytest.raises(ModelFormatError) as e:
        parse(*strings)
    return str(e.value)


WORDS = ["Ġthe", "", "<|eot_id|>", "▁word", "é", "x" * 127, "y" * 128, "三" * 100, "z" * 256, "😀"]


@pytest.fixture
def words() -> StringArray:
    return parse(*(w.encode() for w in WORDS))


def test_indexing_len_and_iteration(words):
    assert isinstance(words, StringArray)
    assert len(words) == len(WORDS)
    assert [words[i] for i in range(len(WORDS))] == WORDS
    assert list(words) == WORDS
    assert words[-1] == "😀" and words[-len(WORDS)] == "Ġthe"
    assert words[np.int64(2)] == "<|eot_id|>"  # numpy integers index too
    assert words.encoded(7) == ("三" * 100).encode()


def test_out_of_range_and_bad_index_types(words):
    for index in (len(WORDS), -len(WORDS) - 1, 2**70):
        with pytest.raises(IndexError, match="out of range"):
            words[index]
    with pytest.raises(TypeError):
        words["0"]
    with pytest.raises(TypeError):
        words[1.0]


def test_slices_are_lists(words):
    assert words[:3] == WORDS[:3] and isinstance(words[:3], list)
    assert words[::-2] == WORDS[::-2]
    assert words[100:] == []


def test_equality_with_lists_tuples_and_other_arrays(words):
    assert words == WORDS and WORDS == words and words == tuple(WORDS)
    assert words != WORDS[:-1] and words != WORDS[:-1] + ["😁"]
    assert words == parse(*(w.encode() for w in WORDS))
    assert words != parse(b"other")
    assert words != "Ġthe" and words != 7
    with pytest.raises(TypeError):
        hash(words)


def test_sequence_helpers_and_repr(words):
    assert "▁word" in words and "missing" not in words
    assert words.index("é") == 4 and words.count("") == 1
    assert repr(words).startswith("StringArray(['Ġthe', '', '<|eot_id|>'], ... 10 strings")
    assert repr(parse(b"a")) == "StringArray(['a'])"


def test_empty_array():
    empty = parse()
    assert len(empty) == 0 and list(empty) == [] and empty == []
    with pytest.raises(IndexError):
        empty[0]


def test_a_string_array_is_not_copied_and_outlives_close(tmp_path):
    tokens = [f"tok{i}é" for i in range(1000)]
    path = write_gguf(tmp_path / "v.gguf", [("toks", V.ARRAY, GGUFArray(V.STRING, tokens))])
    g = open_gguf(path)
    toks = g.metadata["toks"]
    assert toks is g.fields["toks"].value.items  # one object, not a converted copy
    g.close()
    assert toks[999] == "tok999é" and list(toks) == tokens  # the mapping lives as long as the array


# ---- validation at open time ------------------------------------------------------------------------------


def test_invalid_utf8_names_the_element_and_byte():
    msg = refused(b"ok", b"fine", b"ab\xffcd")
    assert msg.startswith(NAME + ": metadata key 't'[2]: is not valid UTF-8 (invalid start byte at byte 2)"), msg


def test_a_character_cannot_span_two_elements():
    # "\xc3" + "\xa9" is "é", but split over two strings each half is invalid.
    assert "'t'[0]" in refused(b"\xc3", b"\xa9")
    # The same where the second length (200) has its high bit set and validation skips its field.
    assert "'t'[0]" in refused(b"\xc3", b"\xa9" + b"a" * 199)
    assert "'t'[1]" in refused(b"a", b"\xa9" + b"a" * 199)
    assert "'t'[0]" in refused(b"a" * 199 + b"\xc3", b"\xa9")


def test_long_strings_with_characters_cut_by_the_decode_chunks():
    long = "é€" * 20_000  # 100,000 bytes; characters straddle the 64 KiB validation chunks
    assert parse(long.encode(), b"tail")[0] == long
    broken = bytearray(long.encode())
    broken[70_000] = 0xFF
    assert "'t'[0]: is not valid UTF-8 (invalid start byte at byte 70000)" in refused(bytes(broken))


def test_truncated_and_oversized_lengths_are_refused():
    raw = string_array_file(b"abc", b"defg")
    for cut in range(len(raw) - 12, len(raw)):
        with pytest.raises(ModelFormatError, match="'t'"):
            GGUFFile.from_bytes(raw[:cut], NAME)
    oversized = raw[:-12] + struct.pack("<Q", 2**63) + b"defg"
    with pytest.raises(ModelFormatError, match=r"'t'\[1\]: string length 9223372036854775808"):
        GGUFFile.from_bytes(oversized, NAME)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_metadata_pages_can_be_released_and_read_again(tmp_path):
    tokens = [f"token number {i} é" for i in range(100_000)]  # about 2.5 MB of strings
    path = write_gguf(tmp_path / "v.gguf", [("toks", V.ARRAY, GGUFArray(V.STRING, tokens))])
    with open_gguf(path) as g:
        toks = g.metadata["toks"]
        before = mapped_rss(path)
        assert before > 2_000_000  # opening the file checked every string
        assert g.release_metadata_pages()
        assert mapped_rss(path) < before - 2_000_000
        assert toks[99_999] == tokens[-1] and list(toks) == tokens
