"""The ggml type registry: byte sizes of docs/file-formats.md#ggml-type-ids,
docs/file-formats.md#tensor-sizes-and-offsets, unknown ids, and the id 39 ambiguity."""

import struct

import pytest

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.gguf import (
    BF16,
    F16,
    F32,
    GGML_TYPES,
    I2_S,
    MXFP4,
    Q6_K,
    Q8_0,
    TL1,
    TL2,
    TL2_2026,
    TQ1_0,
    TQ2_0,
    GGUFFile,
    lookup_type,
    type_by_name,
)


def test_ids_and_names():
    expected = {
        0: "F32",
        1: "F16",
        8: "Q8_0",
        14: "Q6_K",
        30: "BF16",
        34: "TQ1_0",
        35: "TQ2_0",
        36: "I2_S",
        38: "TL1",
        39: "TL2",
        42: "TL2",
    }
    for type_id, name in expected.items():
        assert GGML_TYPES[type_id].name == name
        assert lookup_type(type_id).id == type_id
    assert type_by_name("i2_s") is I2_S and type_by_name("q6_k") is Q6_K and type_by_name("mxfp4") is MXFP4
    assert (MXFP4.id, MXFP4.block_size, MXFP4.type_size) == (39, 32, 17)
    assert {t.name for t in GGML_TYPES.values() if t.ternary} == {"TQ1_0", "TQ2_0", "I2_S", "TL1", "TL2"}


def test_spec_2_4_sizes_of_bitnet_2b4t():
    assert I2_S.nbytes([2560, 2560]) == 1_638_432
    assert I2_S.nbytes([2560, 640]) == 409_632
    assert I2_S.nbytes([2560, 6912]) == 4_423_712
    assert I2_S.nbytes([6912, 2560]) == 4_423_712
    assert F32.nbytes([2560]) == 10_240
    assert F32.nbytes([6912]) == 27_648
    assert F16.nbytes([2560, 128256]) == 656_670_720


def test_block_type_sizes():
    n = 2560 * 4
    assert Q8_0.nbytes([2560, 4]) == 34 * n // 32
    assert Q6_K.nbytes([2560, 4]) == 210 * n // 256
    assert TQ1_0.nbytes([2560, 4]) == 54 * n // 256
    assert TQ2_0.nbytes([2560, 4]) == 66 * n // 256
    assert BF16.nbytes([3, 5]) == 30
    assert TL1.nbytes([2560, 640]) == 2560 * 640 // 4


def test_tl2_formula():
    # (ne0 - 256) * ne1 / 3 * 5 / 8 + 256 * ne1 / 2 * 4 / 8, integer arithmetic left to right
    assert TL2.nbytes([3200, 3200]) == (3200 - 256) * 3200 // 3 * 5 // 8 + 256 * 3200 // 2 * 4 // 8
    assert TL2_2026.nbytes([1536, 4096]) == TL2.nbytes([1536, 4096])
    with pytest.raises(ModelFormatError, match="TL2 weights must be 2-D"):
        TL2.nbytes([512], "w")
    with pytest.raises(ModelFormatError, match="ne0 >= 256"):
        TL2.nbytes([128, 4], "w")


def test_unknown_id_message():
    with pytest.raises(ModelFormatError, match=r"tensor 'blk.3.ffn_up.weight' has unknown ggml type id 1000"):
        lookup_type(1000, "blk.3.ffn_up.weight")
    for removed in (4, 5, 31, 32, 33, 40, 41):
        with pytest.raises(ModelFormatError, match=f"unknown ggml type id {removed}"):
            lookup_type(removed, "t")


def test_row_length_must_fill_blocks():
    with pytest.raises(ModelFormatError, match="TQ2_0 stores blocks of 256 elements.*ne0 = 2688"):
        TQ2_0.nbytes([2560 + 128, 2], "x")  # 2688 is not a multiple of 256
    assert TQ2_0.nbytes([2560, 2]) == 2 * 10 * 66


# -- id 39 resolution -------------------------------------------------------------------------


def _file_with_type_39(arch: str, ne, data_bytes: int, scale_sibling: bool = False) -> bytes:
    def s(text):
        b = text.encode()
        return struct.pack("<Q", len(b)) + b

    tensors = [("w", ne, 39, 0)]
    if scale_sibling:
        tensors.append(("w_scale", [1], 0, (data_bytes + 31) // 32 * 32))
    head = (
        b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 1) + s("general.architecture") + struct.pack("<I", 8) + s(arch)
    )
    for name, dims, tid, off in tensors:
        head += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", tid, off)
    head += bytes(-len(head) % 32)
    data = bytes((data_bytes + 31) // 32 * 32)
    if scale_sibling:
        data += bytes(32)
    return head + data


def test_type_39_sized_as_mxfp4_in_a_non_bitnet_file():
    ne = [512, 4]
    g = GGUFFile.from_bytes(_file_with_type_39("gpt-oss", ne, MXFP4.nbytes(ne)))
    assert g.tensors["w"].type is MXFP4 and g.tensors["w"].nbytes == 512 * 4 // 32 * 17


def test_type_39_sized_as_tl2_in_a_bitnet_file():
    ne = [512, 4]
    g = GGUFFile.from_bytes(_file_with_type_39("bitnet", ne, TL2.nbytes(ne), scale_sibling=True))
    assert g.tensors["w"].type is TL2 and g.tensors["w"].nbytes == TL2.nbytes(ne)


def test_type_39_layout_wins_over_architecture():
    # TL2-sized data in a file whose arch does not say bitnet: the byte layout decides.
    ne = [1024, 64]
    assert TL2.nbytes(ne) != MXFP4.nbytes(ne)
    g = GGUFFile.from_bytes(_file_with_type_39("llama", ne, TL2.nbytes(ne)))
    assert g.tensors["w"].type is TL2


def test_type_39_falls_back_to_context_when_layout_is_ambiguous():
    # Data region large enough for neither reading exactly: the arch decides, then sizes are checked.
    ne = [512, 4]
    big = max(TL2.nbytes(ne), MXFP4.nbytes(ne)) + 64
    assert GGUFFile.from_bytes(_file_with_type_39("bitnet-b1.58", ne, big)).tensors["w"].type is TL2
    assert GGUFFile.from_bytes(_file_with_type_39("qwen2", ne, big)).tensors["w"].type is MXFP4
