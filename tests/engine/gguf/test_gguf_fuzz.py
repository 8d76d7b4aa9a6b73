"""Seeded mutation fuzzing: every mutant of a small valid file parses or raises ModelFormatError.

Mutations: truncation at every structural boundary and at random points, random byte flips,
huge / edge values patched into every count, length, n_dims, ne, type and offset field, and
tensor offsets moved onto other tensors, off alignment and past the end of the file.
"""

import time

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ModelFormatError
from bitnet_desktop.engine.gguf import F32, I2_S, Q8_0, TQ2_0, GGUFArray, GGUFFile, ValueType, write_gguf

V = ValueType
SEED = 20240601
TIME_BUDGET_S = 60.0


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> bytes:
    rng = np.random.default_rng(SEED)
    meta = [
        ("general.architecture", V.STRING, "bitnet-b1.58"),
        ("bitnet-b1.58.block_count", V.UINT32, 2),
        ("bitnet-b1.58.rope.freq_base", V.FLOAT32, 500000.0),
        ("tokenizer.ggml.add_bos_token", V.BOOL, True),
        ("tokenizer.ggml.tokens", V.ARRAY, GGUFArray(V.STRING, ["a", "Ġb", "<|eot_id|>"])),
        ("tokenizer.ggml.scores", V.ARRAY, GGUFArray(V.FLOAT32, [0.0, -1.0, -2.0])),
        ("tokenizer.ggml.token_type", V.ARRAY, GGUFArray(V.INT32, [1, 1, 3])),
        ("nested", V.ARRAY, GGUFArray(V.ARRAY, [GGUFArray(V.UINT8, [1, 2]), GGUFArray(V.STRING, ["x"])])),
        ("general.seed", V.UINT64, 2**40),
    ]
    tensors = [
        ("blk.0.attn_q.weight", (128, 2), I2_S),
        ("blk.0.attn_norm.weight", (8,), F32),
        ("token_embd.weight", (32, 2), Q8_0),
        ("blk.0.ffn_up.weight", (256, 1), TQ2_0),
    ]
    path = tmp_path_factory.mktemp("fuzz") / "sample.gguf"
    write_gguf(path, meta, [(n, ne, t, rng.integers(0, 256, t.nbytes(ne), dtype=np.uint8)) for n, ne, t in tensors])
    return path.read_bytes()


def field_map(raw: bytes) -> list[tuple[int, int, str]]:
    """(offset, size, kind) of every structural field, from an independent walk of a valid file."""
    fields = []
    pos = 0

    def take(size, kind):
        nonlocal pos
        fields.append((pos, size, kind))
        value = int.from_bytes(raw[pos : pos + size], "little")
        pos += size
        return value

    def string(kind):
        nonlocal pos
        n = take(8, kind + ".len")
        pos += n

    def value(vtype):
        nonlocal pos
        if vtype == 8:
            string("str")
        elif vtype == 9:
            elem = take(4, "arr.type")
            count = take(8, "arr.count")
            for _ in range(count):
                value(elem)
        else:
            pos += {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}[vtype]

    take(4, "magic")
    take(4, "version")
    n_tensors = take(8, "n_tensors")
    n_kv = take(8, "n_kv")
    for _ in range(n_kv):
        string("key")
        value(take(4, "kv.type"))
    for _ in range(n_tensors):
        string("name")
        n_dims = take(4, "n_dims")
        for _ in range(n_dims):
            take(8, "ne")
        take(4, "ggml_type")
        take(8, "offset")
    fields.append((pos, 0, "end_of_infos"))
    return fields


def check(mutant: bytes, what: str) -> bool:
    """True if the mutant parsed, False if it was refused; any other exception fails the test."""
    try:
        g = GGUFFile.from_bytes(mutant, "mutant.gguf")
    except ModelFormatError as e:
        assert str(e).startswith("mutant.gguf: "), (what, str(e))
        return False
    except Exception as e:  # pragma: no cover - this is the failure being hunted
        pytest.fail(f"{what}: {type(e).__name__}: {e}")
    for t in g.tensors.values():  # the views must be readable and exactly nbytes long
        assert t.data.size == t.nbytes
        assert t.file_offset + t.nbytes <= len(mutant)
    repr(g.metadata)
    return True


def patch(raw: bytes, pos: int, size: int, value: int) -> bytes:
    return raw[:pos] + (value % (1 << (8 * size))).to_bytes(size, "little") + raw[pos + size :]


def test_sample_is_valid_and_field_map_is_complete(sample):
    assert check(sample, "original")
    fields = field_map(sample)
    kinds = {k for _, _, k in fields}
    assert {"n_tensors", "n_kv", "key.len", "str.len", "arr.count", "n_dims", "ne", "offset"} <= kinds


def test_truncation_everywhere(sample):
    rng = np.random.default_rng(SEED)
    cuts = set()
    for pos, size, _ in field_map(sample):
        cuts.update({pos, pos + 1, pos + size - 1, pos + size})
    cuts.update(rng.integers(0, len(sample), 300).tolist())
    cuts.update(range(len(sample) - 40, len(sample)))
    parsed = [check(sample[:c], f"truncated at {c}") for c in sorted(c for c in cuts if 0 <= c < len(sample))]
    assert not any(parsed[: len(parsed) // 2])  # cutting into the header or table must always fail


HUGE = [
    0,
    1,
    2,
    3,
    4,
    5,
    7,
    8,
    13,
    31,
    33,
    63,
    255,
    256,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**60,
    2**62,
    2**63 - 1,
    2**63,
    2**64 - 1,
]


def test_huge_and_edge_values_in_every_field(sample):
    fields = [f for f in field_map(sample) if f[1] in (4, 8) and f[2] != "magic"]
    outcomes = []
    for pos, size, kind in fields:
        for value in HUGE + [len(sample), len(sample) + 1, len(sample) - pos]:
            outcomes.append(check(patch(sample, pos, size, value), f"{kind}@{pos}={value}"))
    assert any(outcomes) and not all(outcomes)


def test_bad_tensor_offsets(sample):
    g = GGUFFile.from_bytes(sample)
    offsets = [t.offset for t in g.tensors.values()]
    offset_fields = [f for f in field_map(sample) if f[2] == "offset"]
    data_size = len(sample) - g.data_start
    refused = 0
    for pos, size, _ in offset_fields:
        for value in offsets + [o + d for o in offsets for d in (-32, -1, 1, 16, 32)] + [data_size, data_size - 32]:
            refused += not check(patch(sample, pos, size, value), f"offset@{pos}={value}")
    assert refused > len(offset_fields) * 10


def test_random_byte_flips(sample):
    rng = np.random.default_rng(SEED + 1)
    start = time.monotonic()
    header_end = field_map(sample)[-1][0]
    parsed = refused = 0
    for i in range(3000):
        mutant = bytearray(sample)
        for _ in range(int(rng.integers(1, 4))):
            # Mostly hit the header and tables, where the structure is; sometimes anywhere.
            limit = header_end if rng.random() < 0.9 else len(sample)
            mutant[int(rng.integers(0, limit))] ^= int(rng.integers(1, 256))
        if check(bytes(mutant), f"flip #{i}"):
            parsed += 1
        else:
            refused += 1
        assert time.monotonic() - start < TIME_BUDGET_S
    assert parsed > 0 and refused > 0


def test_random_splices(sample):
    """Chunks of the file duplicated or dropped: shifts every later field."""
    rng = np.random.default_rng(SEED + 2)
    for i in range(1000):
        a, b = sorted(rng.integers(0, len(sample), 2).tolist())
        if rng.random() < 0.5:
            mutant = sample[:a] + sample[b:]
        else:
            mutant = sample[:b] + sample[a:b] + sample[b:]
        check(mutant, f"splice #{i} [{a}, {b})")
