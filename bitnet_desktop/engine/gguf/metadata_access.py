"""Typed, range-checked reads of GGUF metadata: the one place a value's type and range are checked, so a
wrong type never reaches arithmetic.

    meta = MetadataAccess(g.metadata)   # names g's file in every error; error=... picks the class
    layers = meta.integer("bitnet.block_count", minimum=1, maximum=1 << 24)
    theta = meta.number("bitnet.rope.freq_base", 10000.0, above=0.0)       # finite, > 0
    bos = meta.integer("tokenizer.ggml.bos_token_id", None, minimum=0, maximum=n - 1, what="a token id")
    tokens = meta.strings("tokenizer.ggml.tokens")
    types = meta.numbers("tokenizer.ggml.token_type", None, integers=True, count=n, per="token")

The second argument is the default for an absent key; without one an absent key is an error. Values are
what the reader gives (int, float, bool, str, `NumberArray`, `StringArray`, lists for nested arrays) or
plain Python / numpy values (hand-made vocabularies in tests). A bool is never an integer or a number,
and a float is never an integer, even 2.0: llama.cpp refuses both, as a GGUF key has one declared type.

Every failure raises `error` (ModelMetadataError unless the caller picks a subclass) with the message
"<file>: metadata key '<key>' must be <what was expected>, got <what was found>".
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from bitnet_desktop.engine.errors import ModelMetadataError
from bitnet_desktop.engine.gguf.number_array import NumberArray
from bitnet_desktop.engine.gguf.string_array import StringArray

REQUIRED: Any = object()  # default meaning "the key must be present"
_SHOWN_CHARS = 40  # of a string value quoted in a message


class GGUFMetadata(dict):
    """The reader's key -> value dict; remembers the file it came from, so errors can name it."""

    def __init__(self, items, source: str):
        super().__init__(items)
        self.source = source


class MetadataAccess:
    """Reads values of one metadata mapping; `source` names it in errors (default: the reader's file)."""

    def __init__(self, metadata: Mapping[str, Any], source: str | None = None,
                 error: type[ModelMetadataError] = ModelMetadataError) -> None:
        self._metadata = metadata
        self.source = source or getattr(metadata, "source", None) or "GGUF metadata"
        self._error = error

    def using(self, error: type[ModelMetadataError]) -> "MetadataAccess":
        """The same metadata, raising `error` instead (e.g. TokenizerMetadataError for tokenizer keys)."""
        return MetadataAccess(self._metadata, self.source, error)

    def fail(self, key: str, problem: str) -> ModelMetadataError:
        """The error for `key`, to raise: "<source>: metadata key '<key>' <problem>"."""
        return self._error(f"{self.source}: metadata key '{key}' {problem}", self.source, key)

    def _expected(self, key: str, expected: str, value: Any) -> ModelMetadataError:
        return self.fail(key, f"must be {expected}, got {describe(value)}")

    def has(self, key: str) -> bool:
        return self._metadata.get(key) is not None

    def _get(self, key: str, default: Any) -> Any:
        value = self._metadata.get(key)
        if value is None and default is REQUIRED:
            raise self.fail(key, "is missing")
        return value

    def integer(self, key: str, default: Any = REQUIRED, *, minimum: int | None = None,
                maximum: int | None = None, what: str | None = None) -> Any:
        """An int in [minimum, maximum]; `what` names it in the message ("a token id")."""
        value = self._get(key, default)
        if value is None:
            return default
        if _is_integer(value):
            value = int(value)
            if (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
                return value
            found = str(value)
        else:
            found = describe(value)
        expected = _integer_range(minimum, maximum)
        raise self.fail(key, f"must be {f'{what} ({expected})' if what else expected}, got {found}")

    def number(self, key: str, default: Any = REQUIRED, *, above: float | None = None,
               maximum: float | None = None) -> Any:
        """A finite float (an int is taken too) > `above` and <= `maximum`."""
        value = self._get(key, default)
        if value is None:
            return default
        number = _as_float(value)
        if number is not None:
            if math.isfinite(number) and (above is None or number > above) and (maximum is None or number <= maximum):
                return number
            found = str(value) if _is_integer(value) else repr(number)
        else:
            found = describe(value)
        expected = "a finite number" + (f" > {above:g}" if above is not None else "")
        expected += f" and <= {maximum:g}" if maximum is not None else ""
        raise self.fail(key, f"must be {expected}, got {found}")

    def string(self, key: str, default: Any = REQUIRED) -> Any:
        value = self._get(key, default)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        raise self._expected(key, "a string", value)

    def flag(self, key: str, default: Any = REQUIRED) -> Any:
        value = self._get(key, default)
        if value is None:
            return default
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise self._expected(key, "a bool", value)

    def strings(self, key: str, default: Any = REQUIRED) -> Any:
        """An array of strings, as given (a `StringArray` is not copied; its elements are UTF-8 strings by
        construction, a list's are checked here)."""
        value = self._get(key, default)
        if value is None:
            return default
        if isinstance(value, StringArray):
            return value
        if isinstance(value, (list, tuple)) and not (value and isinstance(value[0], list)):
            for index, item in enumerate(value):
                if type(item) is not str:
                    raise self.fail(key, f"must be an array of strings, but element {index} is {describe(item)}")
            return value
        raise self._expected(key, "an array of strings", value)

    def numbers(self, key: str, default: Any = REQUIRED, *, integers: bool = False, count: int | None = None,
                per: str = "element") -> Any:
        """A read-only 1-D numpy array: integers only (`integers`), or integers and floats without NaN.
        The reader's array is viewed, not copied. `count`: the length required, one per `per`."""
        values = self._get(key, default)
        if values is None:
            return default
        kinds = "iu" if integers else "iuf"
        expected = "an array of integers" if integers else "an array of numbers"
        array = _numeric_array(values, kinds)
        if array is None:
            raise self._expected(key, expected, values)
        if count is not None and len(array) != count:
            raise self.fail(key, f"has {len(array)} entries, but there are {count} {per}s")
        if array.dtype.kind == "f":
            nan = np.flatnonzero(np.isnan(array))
            if nan.size:
                raise self.fail(key, f"must be {expected} without NaN, but element {nan[0]} is NaN")
        array = array.view()  # a read-only view, leaving a caller's own array writable
        array.flags.writeable = False
        return array


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _integer_range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"an integer in {minimum}..{maximum}"
    if minimum is not None:
        return f"an integer >= {minimum}"
    if maximum is not None:
        return f"an integer <= {maximum}"
    return "an integer"


def _as_float(value: Any) -> float | None:
    """A number as a float (inf for an int too large for one), None for anything else."""
    if _is_integer(value):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if isinstance(value, (float, np.floating)):
        return float(value)
    return None


def _numeric_array(values: Any, kinds: str) -> np.ndarray | None:
    """`values` as a 1-D numpy array whose dtype kind is in `kinds`, or None when it is not one."""
    if isinstance(values, (NumberArray, np.ndarray)):
        array = np.asarray(values)
    elif isinstance(values, (list, tuple)):
        if not values:
            return np.empty(0, np.int64)
        try:
            array = np.asarray(values)
        except (TypeError, ValueError, OverflowError):  # ragged nesting, ints past 64 bits
            return None
    else:
        return None
    if array.ndim != 1 or array.dtype.kind not in kinds:
        return None
    return array


def describe(value: Any) -> str:
    """A short, safe description of a metadata value for a message: "the string 'x'", "an array of 3 floats"."""
    if isinstance(value, (bool, np.bool_)):
        return f"the bool {bool(value)}"
    if _is_integer(value):
        return f"the integer {int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"the float {float(value)!r}"
    if isinstance(value, str):
        shown = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "..."
        return f"the string {shown!r}"
    if isinstance(value, (NumberArray, np.ndarray)):
        kinds = {"b": "bools", "f": "floats", "i": "integers", "u": "integers"}
        kind = kinds.get(np.asarray(value).dtype.kind, "values")
        return f"an array of {len(value)} {kind}"
    if isinstance(value, StringArray):
        return f"an array of {len(value)} strings"
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], list):
            return f"an array of {len(value)} arrays"
        return f"an array of {len(value)} values"
    return f"a {type(value).__name__}"
