"""MetadataAccess checks each value's type and range as it is read: a bad one is a ModelMetadataError that
names the file and the key, and says what was expected and what was found."""

import math

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ModelFormatError, ModelMetadataError, TokenizerError, TokenizerMetadataError
from bitnet_desktop.engine.gguf import GGUFArray, ValueType, open_gguf, write_gguf
from bitnet_desktop.engine.gguf.metadata_access import MetadataAccess
from bitnet_desktop.engine.gguf.number_array import NumberArray

V = ValueType
KEY = "some.key"


def fails(value, read, *fragments: str, error=ModelMetadataError) -> str:
    """The message of the error `read(access)` raises for {KEY: value} (value None: key absent)."""
    access = MetadataAccess({} if value is None else {KEY: value}, source="m.gguf", error=error)
    with pytest.raises(error) as e:
        read(access)
    message = str(e.value)
    assert message.startswith(f"m.gguf: metadata key '{KEY}' "), message
    assert (e.value.source, e.value.key) == ("m.gguf", KEY)
    for fragment in fragments:
        assert fragment in message, message
    return message


def numbers(*values, dtype="<i4") -> NumberArray:
    return NumberArray(np.array(values, dtype=dtype))


# ---- the file is named ---------------------------------------------------------------------------------

def test_metadata_read_from_a_file_names_the_file(tmp_path):
    path = write_gguf(tmp_path / "named.gguf", [(KEY, V.STRING, "x")])
    with open_gguf(path) as g:
        access = MetadataAccess(g.metadata)
        assert access.source == str(path)
        with pytest.raises(ModelMetadataError, match=rf"^{str(path)}: metadata key '{KEY}' must be an integer"):
            access.integer(KEY)


def test_a_plain_mapping_is_named_generically():
    with pytest.raises(ModelMetadataError, match=rf"^GGUF metadata: metadata key '{KEY}' is missing"):
        MetadataAccess({}).integer(KEY)


def test_the_caller_picks_the_error_class():
    with pytest.raises(TokenizerMetadataError) as e:
        MetadataAccess({KEY: "x"}, error=TokenizerMetadataError).integer(KEY)
    assert isinstance(e.value, TokenizerError) and isinstance(e.value, ModelFormatError)


# ---- integers ------------------------------------------------------------------------------------------

def test_integers_are_read():
    access = MetadataAccess({KEY: 7, "numpy": np.uint32(9)})
    assert access.integer(KEY, minimum=1, maximum=7) == 7
    assert type(access.integer("numpy")) is int and access.integer("numpy") == 9
    assert access.integer("absent", 5) == 5 and access.integer("absent", None) is None


@pytest.mark.parametrize("value, found", [
    ("12", "the string '12'"),
    (True, "the bool True"),
    (math.nan, "the float nan"),
    (math.inf, "the float inf"),
    (2.0, "the float 2.0"),
    (numbers(1, 2), "an array of 2 integers"),
    ([1, 2], "an array of 2 values"),
])
def test_an_integer_of_the_wrong_type_is_refused(value, found):
    fails(value, lambda m: m.integer(KEY, minimum=0, maximum=9), "must be an integer in 0..9", f"got {found}")


def test_an_integer_out_of_range_is_refused():
    fails(-1, lambda m: m.integer(KEY, minimum=0, maximum=9), "must be an integer in 0..9, got -1")
    fails(10, lambda m: m.integer(KEY, minimum=0, maximum=9), "got 10")
    fails(0, lambda m: m.integer(KEY, minimum=1), "must be an integer >= 1, got 0")
    fails(2**40, lambda m: m.integer(KEY, minimum=1, maximum=2**24, what="a layer count"),
          "must be a layer count (an integer in 1..16777216), got 1099511627776")


def test_a_missing_integer_without_default_is_refused():
    fails(None, lambda m: m.integer(KEY), "is missing")


# ---- floats ---------------------------------------------------------------------------------------------

def test_numbers_are_read_as_floats():
    access = MetadataAccess({KEY: 500000, "f": 1e-5})
    assert access.number(KEY, above=0.0) == 500000.0 and type(access.number(KEY)) is float
    assert access.number("f", above=0.0, maximum=1.0) == 1e-5
    assert access.number("absent", 10000.0) == 10000.0


@pytest.mark.parametrize("value, found", [
    (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), (0.0, "0.0"), (-1, "-1"), ("1e4", "the string '1e4'"),
    (False, "the bool False"), (numbers(1.0, dtype="<f4"), "an array of 1 floats"),
])
def test_a_bad_number_is_refused(value, found):
    fails(value, lambda m: m.number(KEY, above=0.0), "must be a finite number > 0", f"got {found}")


def test_a_number_above_its_maximum_is_refused():
    fails(2.0, lambda m: m.number(KEY, above=0.0, maximum=1.0), "must be a finite number > 0 and <= 1", "got 2.0")


# ---- strings and flags -----------------------------------------------------------------------------------

def test_strings_and_flags_are_read():
    access = MetadataAccess({KEY: "gpt2", "b": True, "nb": np.bool_(False)})
    assert access.string(KEY) == "gpt2" and access.string("absent", None) is None
    assert access.flag("b", False) is True and access.flag("nb", True) is False and access.flag("absent", True)


def test_a_string_of_the_wrong_type_is_refused():
    fails(5, lambda m: m.string(KEY), "must be a string, got the integer 5")
    fails(["a"], lambda m: m.string(KEY, None), "must be a string, got an array of 1 values")


@pytest.mark.parametrize("value, found", [("no", "the string 'no'"), (1, "the integer 1"), (0.0, "the float 0.0")])
def test_a_flag_of_the_wrong_type_is_refused(value, found):
    fails(value, lambda m: m.flag(KEY, False), "must be a bool", f"got {found}")


def test_long_strings_are_shortened_in_messages():
    message = fails("x" * 10_000, lambda m: m.integer(KEY))
    assert len(message) < 200


# ---- arrays of strings -----------------------------------------------------------------------------------

def test_string_arrays_are_read(tmp_path):
    path = write_gguf(tmp_path / "s.gguf", [(KEY, V.ARRAY, GGUFArray(V.STRING, ["a", "b c"]))])
    with open_gguf(path) as g:
        assert list(MetadataAccess(g.metadata).strings(KEY)) == ["a", "b c"]
    assert MetadataAccess({KEY: ("a",)}).strings(KEY) == ("a",)
    assert MetadataAccess({}).strings(KEY, None) is None


@pytest.mark.parametrize("value, found", [
    (5, "the integer 5"),
    ("a b", "the string 'a b'"),
    (numbers(1, 2, 3), "an array of 3 integers"),
    ([["a"], ["b"]], "an array of 2 arrays"),
])
def test_a_string_array_of_the_wrong_type_is_refused(value, found):
    fails(value, lambda m: m.strings(KEY), "must be an array of strings", f"got {found}")


def test_a_non_string_element_is_named():
    fails(["a", 7, "b"], lambda m: m.strings(KEY), "element 1 is the integer 7")


# ---- arrays of numbers -----------------------------------------------------------------------------------

def test_number_arrays_are_read_without_a_copy():
    view = np.arange(4, dtype="<i4")
    got = MetadataAccess({KEY: NumberArray(view)}).numbers(KEY, integers=True, count=4)
    assert np.shares_memory(got, view) and not got.flags.writeable
    assert MetadataAccess({KEY: [1.5, 2]}).numbers(KEY, count=2).tolist() == [1.5, 2.0]
    assert MetadataAccess({}).numbers(KEY, None, count=4) is None


@pytest.mark.parametrize("value, found", [
    (numbers(1.0, math.nan, dtype="<f4"), "an array of 2 floats"),
    (numbers(True, False, dtype="?"), "an array of 2 bools"),
    ([1, 2.5], "an array of 2 values"),
    (3, "the integer 3"),
])
def test_an_integer_array_of_the_wrong_type_is_refused(value, found):
    fails(value, lambda m: m.numbers(KEY, integers=True, count=2), "must be an array of integers", f"got {found}")


@pytest.mark.parametrize("value, found", [
    ("abc", "the string 'abc'"),
    (["a", "b"], "an array of 2 values"),
    ([[1], [2]], "an array of 2 arrays"),
    (numbers(True, False, dtype="?"), "an array of 2 bools"),
])
def test_a_number_array_of_the_wrong_type_is_refused(value, found):
    fails(value, lambda m: m.numbers(KEY, count=2), "must be an array of numbers", f"got {found}")


def test_nan_in_a_number_array_is_refused_with_its_index():
    fails(numbers(0.5, 1.0, math.nan, dtype="<f4"), lambda m: m.numbers(KEY, count=3), "element 2 is NaN")


def test_a_number_array_of_the_wrong_length_is_refused():
    fails(numbers(1, 2), lambda m: m.numbers(KEY, integers=True, count=3, per="token"),
          "has 2 entries, but there are 3 tokens")
