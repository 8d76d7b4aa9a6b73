"""GGUF arrays of numbers and bools kept as a read-only numpy view of the mapped file, used like a list.

The reader used to return Python lists; a 128,256-entry `tokenizer.ggml.token_type` list costs about 4.5 MiB of
int objects, the view nothing beyond the file's pages. `NumberArray` keeps what callers of the list relied on:
indexing gives Python ints, floats and bools, `==` compares with lists and is a bool. Numpy code gets the view
itself, without a copy, from `np.asarray(array)` or `.array`.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, Iterator, Sequence

import numpy as np

_ITER_BLOCK = 4096  # elements converted to Python values at a time while iterating


class NumberArray(Sequence[Any]):
    """A read-only list of the numbers (or bools) of one GGUF array."""

    __slots__ = ("_values",)

    def __init__(self, values: np.ndarray):
        self._values = values  # 1-D, read-only

    @property
    def array(self) -> np.ndarray:
        """The values as a read-only numpy array viewing the file."""
        return self._values

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if copy:
            return np.array(self._values, dtype=dtype)
        return self._values if dtype is None else self._values.astype(dtype, copy=False)

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._values[index].tolist()
        return self._values[index].item()

    def __iter__(self) -> Iterator[Any]:
        values = self._values
        return chain.from_iterable(values[i : i + _ITER_BLOCK].tolist() for i in range(0, len(values), _ITER_BLOCK))

    def tolist(self) -> list[Any]:
        return self._values.tolist()

    def __eq__(self, other) -> bool:
        if isinstance(other, NumberArray):
            return len(self) == len(other) and bool(np.array_equal(self._values, other._values))
        if isinstance(other, (list, tuple)):
            return len(self) == len(other) and self.tolist() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compares by value, like a list

    def __repr__(self) -> str:
        shown = self[:3]
        more = f", ... {len(self)} {self._values.dtype} values" if len(self) > 3 else ""
        return f"NumberArray({shown!r}{more})"

