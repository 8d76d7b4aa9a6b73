"""Number arrays are read-only numpy views of the file that still behave like the lists the reader used to give."""

import numpy as np
import pytest

from bitnet_desktop.engine.gguf import GGUFArray, ValueType, open_gguf, write_gguf
from bitnet_desktop.engine.gguf.number_array import NumberArray

V = ValueType


@pytest.fixture
def arrays(tmp_path):
    path = write_gguf(
        tmp_path / "n.gguf",
        [
            ("types", V.ARRAY, GGUFArray(V.INT32, list(range(-3, 9997)))),
            ("flags", V.ARRAY, GGUFArray(V.BOOL, [True, False, True])),
            ("scores", V.ARRAY, GGUFArray(V.FLOAT32, [0.0, -1.5, 0.25])),
            ("big", V.ARRAY, GGUFArray(V.UINT64, [2**64 - 1])),
        ],
    )
    with open_gguf(path) as g:
        yield g.metadata


def test_indexing_gives_python_values(arrays):
    types, flags, scores = arrays["types"], arrays["flags"], arrays["scores"]
    assert isinstance(types, NumberArray) and len(types) == 10_000
    assert types[0] == -3 and type(types[0]) is int and types[-1] == 9996
    assert flags[0] is True and flags[1] is False
    assert scores[1] == -1.5 and type(scores[1]) is float
    assert arrays["big"][0] == 2**64 - 1
    assert types[2:5] == [-1, 0, 1] and isinstance(types[2:5], list)
    with pytest.raises(IndexError):
        types[10_000]


def test_iteration_and_equality_work_like_a_list(arrays):
    types = arrays["types"]
    expected = list(range(-3, 9997))
    assert list(types) == expected and types.tolist() == expected
    assert types == expected and expected == types and types == tuple(expected)
    assert types != expected[:-1] and types != expected[:-1] + [0]
    assert arrays["flags"] == [True, False, True] and arrays["scores"] == [0.0, -1.5, 0.25]
    assert types == NumberArray(np.arange(-3, 9997)) and types != NumberArray(np.arange(3))
    assert types != "types" and 5 in types and -4 not in types
    with pytest.raises(TypeError):
        hash(types)
    assert repr(arrays["scores"]) == "NumberArray([0.0, -1.5, 0.25])"
    assert repr(types).startswith("NumberArray([-3, -2, -1], ... 10000 int32 values")


def test_numpy_gets_the_view_itself(arrays):
    view = np.asarray(arrays["types"])
    assert view is arrays["types"].array and not view.flags.writeable
    assert np.asarray(arrays["types"], dtype=np.int64).dtype == np.int64
    copy = np.array(arrays["types"])
    copy[0] = 7  # a copy is writable and leaves the file alone
    assert arrays["types"][0] == -3
