"""Writer -> reader round trips: every metadata value type, tensor layout, zero-copy views."""

import struct

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.gguf import (
    BF16,
    F16,
    F32,
    I2_S,
    Q6_K,
    Q8_0,
    TL1,
    TQ1_0,
    TQ2_0,
    GGUFArray,
    GGUFFile,
    GGUFValue,
    GGUFWriter,
    ValueType,
    open_gguf,
    write_gguf,
)

V = ValueType

SCALARS = [
    ("u8.min", V.UINT8, 0),
    ("u8.max", V.UINT8, 255),
    ("i8.min", V.INT8, -128),
    ("i8.max", V.INT8, 127),
    ("u16.max", V.UINT16, 65535),
    ("i16.min", V.INT16, -32768),
    ("u32.max", V.UINT32, 2**32 - 1),
    ("i32.min", V.INT32, -(2**31)),
    ("f32", V.FLOAT32, 1.5),
    ("f32.eps", V.FLOAT32, float(np.float32(1e-5))),
    ("bool.t", V.BOOL, True),
    ("bool.f", V.BOOL, False),
    ("str", V.STRING, "BitNet b1.58 — ternär ✓ 三值"),
    ("str.empty", V.STRING, ""),
    ("u64.max", V.UINT64, 2**64 - 1),
    ("i64.min", V.INT64, -(2**63)),
    ("f64", V.FLOAT64, 0.1),
]

ARRAYS = [
    ("a.u8", GGUFArray(V.UINT8, [0, 1, 255])),
    ("a.i8", GGUFArray(V.INT8, [-128, 0, 127])),
    ("a.u16", GGUFArray(V.UINT16, [0, 65535])),
    ("a.i16", GGUFArray(V.INT16, [-32768, 32767])),
    ("a.u32", GGUFArray(V.UINT32, [0, 2**32 - 1])),
    ("a.i32", GGUFArray(V.INT32, [1, 3, -1])),
    ("a.f32", GGUFArray(V.FLOAT32, [0.0, -2.5, 0.25])),
    ("a.bool", GGUFArray(V.BOOL, [True, False, True])),
    ("a.str", GGUFArray(V.STRING, ["Ġthe", "", "<|eot_id|>", "▁word", "é"])),
    ("a.u64", GGUFArray(V.UINT64, [0, 2**64 - 1])),
    ("a.i64", GGUFArray(V.INT64, [-(2**63), 2**63 - 1])),
    ("a.f64", GGUFArray(V.FLOAT64, [1e300, -0.1])),
    ("a.empty", GGUFArray(V.INT32, [])),
    (
        "a.nested",
        GGUFArray(
            V.ARRAY,
            [
                GGUFArray(V.STRING, ["a", "b"]),
                GGUFArray(V.ARRAY, [GGUFArray(V.UINT8, [7]), GGUFArray(V.FLOAT32, [])]),
                GGUFArray(V.BOOL, []),
            ],
        ),
    ),
]


def test_every_value_type_round_trips(tmp_path):
    path = tmp_path / "kv.gguf"
    meta = [(k, t, v) for k, t, v in SCALARS] + [(k, V.ARRAY, a) for k, a in ARRAYS]
    write_gguf(path, meta)
    with open_gguf(path) as g:
        assert g.version == 3
        assert list(g.fields) == [k for k, _, _ in meta]
        for key, vtype, value in meta:
            assert g.fields[key] == GGUFValue(vtype, value), key
        assert {f.type for f in g.fields.values()} == set(V)  # all 13 value types were exercised
        assert g.metadata["a.nested"] == [["a", "b"], [[7], []], []]
        assert g.metadata["bool.t"] is True
        assert g.metadata["str"] == "BitNet b1.58 — ternär ✓ 三值"
        assert g.tensors == {}


def test_numeric_arrays_are_read_only_views_of_the_mapped_file(tmp_path):
    path = write_gguf(
        tmp_path / "n.gguf",
        [
            ("types", V.ARRAY, GGUFArray(V.INT32, [1, 1, 3, -7])),
            ("flags", V.ARRAY, GGUFArray(V.BOOL, [True, False])),
            ("scores", V.ARRAY, GGUFArray(V.FLOAT32, [0.0, -1.5])),
        ],
    )
    with open_gguf(path) as g:
        types, flags, scores = (np.asarray(g.metadata[k]) for k in ("types", "flags", "scores"))
        assert types.dtype == np.dtype("<i4") and types.tolist() == [1, 1, 3, -7]
        assert flags.dtype == np.bool_ and scores.dtype == np.dtype("<f4")
        for values in (types, flags, scores):
            assert not values.flags.writeable and not values.flags.owndata
            with pytest.raises(ValueError):
                values[0] = 0
        assert g.fields["types"] == GGUFValue(V.ARRAY, GGUFArray(V.INT32, [1, 1, 3, -7]))
        assert g.fields["types"] != GGUFValue(V.ARRAY, GGUFArray(V.INT32, [1, 1, 3]))
        assert g.fields["types"] != GGUFValue(V.ARRAY, GGUFArray(V.INT64, [1, 1, 3, -7]))


def test_read_arrays_write_back_unchanged(tmp_path):
    meta = [
        ("toks", V.ARRAY, GGUFArray(V.STRING, ["a", "Ġb", "é"])),
        ("ids", V.ARRAY, GGUFArray(V.UINT64, [0, 2**64 - 1])),
    ]
    first = write_gguf(tmp_path / "a.gguf", meta)
    with open_gguf(first) as g:
        second = write_gguf(tmp_path / "b.gguf", [(k, v.type, v.value) for k, v in g.fields.items()])
    assert second.read_bytes() == first.read_bytes()


def test_large_string_array_round_trips(tmp_path):
    tokens = [f"tok{i}é" for i in range(20000)]
    path = write_gguf(tmp_path / "v.gguf", [("tokenizer.ggml.tokens", V.ARRAY, GGUFArray(V.STRING, tokens))])
    with open_gguf(path) as g:
        assert g.metadata["tokenizer.ggml.tokens"] == tokens


def _tensors(rng):
    # (name, ne, type): one of each type the engine cares about, odd sizes to exercise padding.
    specs = [
        ("f32", (5, 3), F32),
        ("f16", (7,), F16),
        ("bf16", (3, 2, 2), BF16),
        ("q8", (64, 3), Q8_0),
        ("q6k", (256, 1), Q6_K),
        ("tq1", (256, 3), TQ1_0),
        ("tq2", (512, 1), TQ2_0),
        ("i2s", (128, 5), I2_S),
        ("tl1", (8, 2), TL1),
    ]
    return [(n, ne, t, rng.integers(0, 256, t.nbytes(ne), dtype=np.uint8)) for n, ne, t in specs]


@pytest.mark.parametrize("alignment,key", [(32, False), (32, True), (64, True), (1024, True)])
def test_tensors_round_trip_aligned(tmp_path, alignment, key):
    rng = np.random.default_rng(1)
    tensors = _tensors(rng)
    path = write_gguf(tmp_path / "t.gguf", [("general.architecture", V.STRING, "x")], tensors, alignment, key)
    with open_gguf(path) as g:
        assert g.alignment == alignment
        assert ("general.alignment" in g.metadata) == key
        assert g.data_start % alignment == 0
        assert list(g.tensors) == [n for n, *_ in tensors]
        for i, (name, ne, gtype, data) in enumerate(tensors):
            t = g.tensors[name]
            assert t.index == i
            assert t.ne == ne and t.shape == tuple(reversed(ne))
            assert t.type is gtype
            assert t.nbytes == data.size
            assert t.offset % alignment == 0
            assert t.file_offset == g.data_start + t.offset
            np.testing.assert_array_equal(t.data, data)
            assert not t.data.flags.writeable and not t.data.flags.owndata
            raw = path.read_bytes()[t.file_offset : t.file_offset + t.nbytes]
            assert bytes(t.memoryview()) == raw


def test_pytorch_shape_of_a_weight(tmp_path):
    # A weight [M=3 out, K=128 in] is stored with ne = [128, 3].
    path = write_gguf(tmp_path / "w.gguf", [], [("w", (128, 3), I2_S, bytes(128 * 3 // 4 + 32))])
    with open_gguf(path) as g:
        assert g.tensors["w"].shape == (3, 128)
        assert g.tensors["w"].n_elements == 384


def test_views_outlive_close_and_closed_file_refuses_new_views(tmp_path):
    data = np.arange(16, dtype=np.float32)
    path = write_gguf(tmp_path / "c.gguf", [], [("x", (16,), F32, data)])
    g = open_gguf(path)
    info = g.tensors["x"]
    view = info.data
    g.close()
    assert g.closed
    np.testing.assert_array_equal(view.view(np.float32), data)
    with pytest.raises(ValueError, match="closed"):
        _ = info.data


def test_version_2_is_accepted(tmp_path):
    path = write_gguf(tmp_path / "v2.gguf", [("k", V.UINT32, 7)], [("x", (4,), F32, bytes(16))])
    raw = bytearray(path.read_bytes())
    raw[4:8] = struct.pack("<I", 2)
    g = GGUFFile.from_bytes(bytes(raw))
    assert g.version == 2 and g.metadata["k"] == 7 and g.tensors["x"].nbytes == 16


def test_header_size_and_total_size_match_the_file(tmp_path):
    w = GGUFWriter(tmp_path / "s.gguf")
    w.add_string("general.architecture", "bitnet-b1.58")
    w.add_tensor("a", (128, 2), I2_S, bytes(96))
    w.add_tensor("b", (3,), F32, bytes(12))
    assert [t.offset for t in w.planned_tensors] == [0, 96]
    total = w.total_size()
    w.write()
    assert (tmp_path / "s.gguf").stat().st_size == total


def test_writer_streams_callables_and_checks_their_size(tmp_path):
    calls = []

    def produce():
        calls.append(1)
        return np.ones(4, dtype=np.float32)

    path = write_gguf(tmp_path / "cb.gguf", [], [("x", (4,), F32, produce)])
    assert calls == [1]
    with open_gguf(path) as g:
        np.testing.assert_array_equal(g.tensors["x"].data.view(np.float32), np.ones(4))
    with pytest.raises(ValueError, match="needs 16 bytes, got 12"):
        write_gguf(tmp_path / "bad.gguf", [], [("x", (4,), F32, bytes(12))])
    assert not (tmp_path / "bad.gguf").exists()
    assert not (tmp_path / "bad.gguf.partial").exists()


def test_writer_refuses_bad_metadata(tmp_path):
    w = GGUFWriter(tmp_path / "m.gguf")
    w.add_uint32("a", 1)
    with pytest.raises(ValueError, match="added twice"):
        w.add_uint32("a", 2)
    with pytest.raises(ValueError, match="does not fit in UINT8"):
        w.add("b", V.UINT8, 256)
    with pytest.raises(ValueError, match="do not fit in INT8"):
        w.add_array("c", V.INT8, [0, 128])
    with pytest.raises(TypeError):
        w.add("d", V.STRING, 5)
    with pytest.raises(TypeError):
        w.add("e", V.UINT32, True)
    w.add_tensor("t", (4,), F32, bytes(16))
    with pytest.raises(ValueError, match="added twice"):
        w.add_tensor("t", (4,), F32, bytes(16))
    with pytest.raises(ModelFormatError, match="multiple of 32"):
        w.add_tensor("q", (33,), Q8_0, bytes(34))
