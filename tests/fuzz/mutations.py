"""Seeded mutations of a valid model file. Each mutator takes the base model and a numpy Generator
and returns (bytes or None, description); None means the mutator wrote the file itself (metadata
mutations re-encode it through the writer). One seed always gives the same file."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bitnet_desktop.engine.gguf import GGUFArray, ValueType
from tests.fuzz.bases import Base, Tensor, encode
from tests.fuzz.gguf_layout import Field, f32, patch

V = ValueType
COUNT_KINDS = ("tensor_count", "kv_count", "key.len", "string.len", "name.len", "array.count", "n_dims", "ne")
TYPE_KINDS = ("value.type", "array.type", "ggml_type")
F16_SPECIALS = (0x7E00, 0x7C00, 0xFC00, 0x7BFF, 0x7C01)  # NaN, +inf, -inf, max finite, signalling NaN
F32_SPECIALS = (math.nan, math.inf, -math.inf, 3.4e38, -3.4e38, 1e-45, 0.0)
HOSTILE_TEMPLATES = (
    "{{ 'a'|center(1000000000) }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{{ ((9999**999)**999)**999 }}",
    "{{ messages|tojson(indent=100000000) }}",
    "{{ lipsum(1000000) }}",
    "{{ 'ab' * 1000000000 }}",
    "{% if x %}" * 600 + "{% endif %}" * 600,
    "{{ " + "(" * 500 + "1" + ")" * 500 + " }}",
    "{% for m in messages %}{{ m.content.__class__.__mro__ }}{% endfor %}",
    "{{ raise_exception('refused') }}",
    "{% if %}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "",
)


def _edge_ints(size: int, original: int) -> list[int]:
    top = (1 << (8 * size)) - 1
    return [0, 1, 2, 3, top, top >> 1, (top >> 1) + 1, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 40, 1 << 62,
            original + 1, original - 1, original * 2, original // 2, original + 4096, original * 1000]


def _fields(base: Base, kinds: tuple[str, ...]) -> list[Field]:
    return [f for f in base.layout.fields if f.kind in kinds]


def truncate(base: Base, rng) -> tuple[bytes, str]:
    raw = base.raw
    if rng.random() < 0.6:
        points = base.layout.boundaries + [base.data_start] + [t.offset for t in base.tensors]
        cut = int(points[rng.integers(len(points))]) + int(rng.integers(-8, 9))
    else:
        cut = int(rng.integers(0, len(raw)))
    cut = min(max(cut, 0), len(raw) - 1)
    return raw[:cut], f"truncated to {cut} of {len(raw)} bytes"


def flip_bytes(base: Base, rng) -> tuple[bytes, str]:
    out = bytearray(base.raw)
    n = int(rng.integers(1, 9))
    limit = base.data_start if rng.random() < 0.85 else len(out)  # the header is where meaning is
    where = sorted(int(p) for p in rng.integers(0, limit, n))
    for p in where:
        out[p] = int(rng.integers(256)) if rng.random() < 0.5 else out[p] ^ (1 << int(rng.integers(8)))
    return bytes(out), f"bytes changed at {where}"


def patch_count(base: Base, rng) -> tuple[bytes, str]:
    f = _pick(rng, _fields(base, COUNT_KINDS))
    original = int.from_bytes(base.raw[f.offset:f.offset + f.size], "little")
    value = _pick(rng, _edge_ints(f.size, original))
    what = f"{f.kind} of {f.owner or 'header'!r} @{f.offset}: {original} -> {value}"
    return bytes(patch(base.raw, f.offset, f.size, value)), what


def patch_offset(base: Base, rng) -> tuple[bytes, str]:
    f = _pick(rng, _fields(base, ("tensor_offset",)))
    original = int.from_bytes(base.raw[f.offset:f.offset + 8], "little")
    others = [t.offset - base.data_start for t in base.tensors]
    size = len(base.raw) - base.data_start
    value = _pick(rng, [0, original + 1, original + 31, original - 32, size, size - 32, size + 32, 2**63, 2**64 - 1,
                        2**64 - 32, _pick(rng, others), original + 32 * int(rng.integers(1, 1000))])
    return bytes(patch(base.raw, f.offset, 8, value)), f"offset of {f.owner!r}: {original} -> {value}"


def patch_type(base: Base, rng) -> tuple[bytes, str]:
    f = _pick(rng, _fields(base, TYPE_KINDS))
    original = int.from_bytes(base.raw[f.offset:f.offset + 4], "little")
    if f.kind == "ggml_type":
        value = _pick(rng, [0, 1, 2, 8, 14, 16, 30, 34, 35, 36, 37, 38, 39, 40, 41, 255, 2**31, 2**32 - 1])
    else:
        value = _pick(rng, list(range(13)) + [13, 99, 2**32 - 1])
    return bytes(patch(base.raw, f.offset, 4, value)), f"{f.kind} of {f.owner!r}: {original} -> {value}"


def non_finite_data(base: Base, rng) -> tuple[bytes, str]:
    """NaN, infinity or extremes written where a float lives: norms, alphas, scales, table values."""
    out = bytearray(base.raw)
    t = _pick(rng, base.tensors)
    name = t.type.name
    if name == "F32":
        value = f32(_pick(rng, F32_SPECIALS))
        spots, width = len(t.data) // 4, 4
    elif name in ("F16", "BF16"):
        bits = _pick(rng, F16_SPECIALS) if name == "F16" else _pick(rng, (0x7FC0, 0x7F80, 0xFF80))
        value, spots, width = bits.to_bytes(2, "little"), len(t.data) // 2, 2
    elif name == "Q8_0":  # block scale (f16) at the start of each 34-byte block
        value, spots, width = _pick(rng, F16_SPECIALS).to_bytes(2, "little"), len(t.data) // 34, 34
    elif name == "Q6_K":  # block scale (f16) at bytes 208..209 of each 210-byte block
        value, spots, width = _pick(rng, F16_SPECIALS).to_bytes(2, "little"), len(t.data) // 210, 210
    elif name == "I2_S":  # alpha: the first 4 bytes of the 32-byte tail
        at = t.offset + len(t.data) - 32
        out[at:at + 4] = f32(_pick(rng, F32_SPECIALS))
        return bytes(out), f"I2_S alpha of {t.name!r} set to {struct_f32(out, at)}"
    else:  # TQ1_0 / TQ2_0: the block's f16 d is its last 2 bytes
        block = 66 if name == "TQ2_0" else 54
        value, spots, width = _pick(rng, F16_SPECIALS).to_bytes(2, "little"), len(t.data) // block, block
    shift = 208 if name == "Q6_K" else (width - 2 if name in ("TQ1_0", "TQ2_0") else 0)
    fill = rng.random() < 0.2
    chosen = range(spots) if fill else sorted({int(i) for i in rng.integers(0, spots, int(rng.integers(1, 4)))})
    for i in chosen:
        at = t.offset + i * width + shift
        out[at:at + len(value)] = value
    return bytes(out), f"{value.hex()} written into {t.name!r} ({name}) at {'every' if fill else list(chosen)} slot"


def struct_f32(raw: bytearray, at: int) -> float:
    return float(np.frombuffer(bytes(raw[at:at + 4]), "<f4")[0])


def _hostile_value(rng, vtype: ValueType, value: Any) -> tuple[ValueType, Any]:
    n = int(rng.integers(0, 3000))
    choices: list[Callable[[], tuple[ValueType, Any]]] = [
        lambda: (V.STRING, ""), lambda: (V.STRING, "x" * n), lambda: (V.STRING, "bitnet-b1.58"),
        lambda: (V.STRING, "12"), lambda: (V.UINT32, 0), lambda: (V.UINT32, 1), lambda: (V.UINT32, 2**32 - 1),
        lambda: (V.INT32, -1), lambda: (V.INT32, -(2**31)), lambda: (V.UINT64, 2**64 - 1), lambda: (V.INT64, -(2**63)),
        lambda: (V.UINT64, 2**40), lambda: (V.UINT8, 255), lambda: (V.INT8, -128), lambda: (V.UINT16, 65535),
        lambda: (V.FLOAT32, math.nan), lambda: (V.FLOAT32, math.inf), lambda: (V.FLOAT64, -math.inf),
        lambda: (V.FLOAT32, 0.0), lambda: (V.FLOAT32, -1.0), lambda: (V.FLOAT64, 1e308), lambda: (V.FLOAT32, 1e-45),
        lambda: (V.FLOAT32, 2.5), lambda: (V.BOOL, True), lambda: (V.BOOL, False),
        lambda: (V.ARRAY, GGUFArray(V.UINT32, [])), lambda: (V.ARRAY, GGUFArray(V.STRING, ["a", "", "b"])),
        lambda: (V.ARRAY, GGUFArray(V.FLOAT32, [math.nan] * n)), lambda: (V.ARRAY, GGUFArray(V.INT32, [-1] * n)),
        lambda: (V.ARRAY, GGUFArray(V.UINT32, [7] * n)),
        lambda: (V.ARRAY, GGUFArray(V.ARRAY, [GGUFArray(V.UINT8, [1, 2]), GGUFArray(V.STRING, ["x"])])),
        lambda: (V.STRING, _pick(rng, HOSTILE_TEMPLATES)),
    ]
    if isinstance(value, GGUFArray) and value.elem_type != V.ARRAY:
        items = list(value.items)
        choices += [lambda: (V.ARRAY, GGUFArray(value.elem_type, items[:int(rng.integers(0, len(items) + 1))])),
                    lambda: (V.ARRAY, GGUFArray(value.elem_type, items + items[:int(rng.integers(1, 50))])),
                    lambda: (V.ARRAY, GGUFArray(value.elem_type, _replace_items(rng, items)))]
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        choices += [lambda: (vtype, _pick(rng, [v for v in (value + 1, value - 1, value * 2, value // 2, 0)
                                                if _fits(vtype, v)] or [0]))]
    elif isinstance(value, float):
        choices += [lambda: (vtype, _pick(rng, [value * 2, -value, value * 1e30, 0.0]))]
    return _pick(rng, choices)()


def _fits(vtype: ValueType, v: int) -> bool:
    bits = {V.UINT8: 8, V.UINT16: 16, V.UINT32: 32, V.UINT64: 64}
    signed = {V.INT8: 8, V.INT16: 16, V.INT32: 32, V.INT64: 64}
    if vtype in bits:
        return 0 <= v < 1 << bits[vtype]
    return -(1 << (signed[vtype] - 1)) <= v < 1 << (signed[vtype] - 1) if vtype in signed else False


def _replace_items(rng, items: list) -> list:
    items = list(items)
    if not items:
        return items
    sample = items[0]
    for i in rng.integers(0, len(items), int(rng.integers(1, 6))):
        if isinstance(sample, str):
            items[int(i)] = _pick(rng, ["", " ", "a b c", "\x00", "<|eot_id|>", "Ġ" * 300,
                                        items[int(rng.integers(len(items)))]])
        elif isinstance(sample, float):
            items[int(i)] = _pick(rng, [math.nan, math.inf, -math.inf, 1e30])
        elif isinstance(sample, bool):
            items[int(i)] = not items[int(i)]
        else:
            items[int(i)] = _pick(rng, [0, 1, 2, 3, 4, 5, 6, 99, -1, 2**31 - 1])
    return items


def metadata(base: Base, rng, path: Path) -> tuple[None, str]:
    """The file re-encoded with one metadata change: a hostile value, a removal, a swap of two
    keys' values, a duplicate or an unknown key."""
    meta = list(base.metadata)
    i = int(rng.integers(len(meta)))
    key, vtype, value = meta[i]
    action = _pick(rng, ["value"] * 6 + ["drop", "swap", "duplicate", "add"])
    if action == "value":
        meta[i] = (key, *_hostile_value(rng, vtype, value))
        what = f"{key} = {meta[i][1].name} {_short(meta[i][2])}"
    elif action == "drop":
        del meta[i]
        what = f"{key} removed"
    elif action == "swap":
        j = int(rng.integers(len(meta)))
        meta[i], meta[j] = (key, meta[j][1], meta[j][2]), (meta[j][0], vtype, value)
        what = f"values of {key} and {meta[i if j == i else j][0]} swapped"
    elif action == "duplicate":
        meta.insert(int(rng.integers(len(meta) + 1)), (key, vtype, value))
        what = f"{key} twice"
    else:
        junk = (f"junk.{int(rng.integers(1000))}", *_hostile_value(rng, V.UINT32, 0))
        meta.insert(int(rng.integers(len(meta) + 1)), junk)
        what = f"extra key {junk[0]}"
    tensors = list(base.tensors)
    if rng.random() < 0.1:  # and sometimes a tensor dropped or reshaped too
        k = int(rng.integers(len(tensors)))
        t = tensors[k]
        if rng.random() < 0.5:
            del tensors[k]
            what += f"; tensor {t.name!r} removed"
        else:
            tensors[k] = Tensor(t.name, tuple(reversed(t.ne)), t.type, t.offset, t.data)
            what += f"; tensor {t.name!r} ne reversed"
    try:
        encode(path, meta, tensors)
    except Exception as exc:  # noqa: BLE001 - the writer refused the combination: a valid file instead
        path.write_bytes(base.raw)
        what += f" (not writable: {type(exc).__name__}; base written)"
    return None, what


def template(base: Base, rng, path: Path) -> tuple[None, str]:
    """A hostile chat template (the 2B-4T archs ignore theirs: these reach the Jinja sandbox on
    the bases of arch bitnet only)."""
    text = _pick(rng, HOSTILE_TEMPLATES)
    meta = [(k, t, v) for k, t, v in base.metadata if k != "tokenizer.chat_template"]
    encode(path, [*meta, ("tokenizer.chat_template", V.STRING, text)], list(base.tensors))
    return None, f"chat template {_short(text)}"


def _short(value: Any) -> str:
    if isinstance(value, GGUFArray):
        return f"[{value.elem_type.name} x{len(value.items)}]"
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


BYTE_MUTATORS = {"truncate": truncate, "flip": flip_bytes, "count": patch_count, "offset": patch_offset,
                 "type": patch_type, "nonfinite": non_finite_data}
# How often each kind is chosen: metadata and counts are where the interpreting code is.
WEIGHTS = {"truncate": 1, "flip": 3, "count": 3, "offset": 1, "type": 2, "nonfinite": 2, "metadata": 5, "combo": 2,
           "template": 1}


def mutate(bases: dict[str, Base], seed: int, path: Path) -> tuple[str, str, str]:
    """Writes the mutant of `seed` to path; returns (base name, mutator, description)."""
    rng = np.random.default_rng(seed)
    names = sorted(bases)
    base = bases[names[int(rng.integers(len(names)))]]
    kinds = list(WEIGHTS)
    p = np.array([WEIGHTS[k] for k in kinds], float)
    kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
    if kind in ("metadata", "template"):
        _, what = (metadata if kind == "metadata" else template)(base, rng, path)
        return base.name, kind, what
    if kind == "combo":
        raw, parts = base.raw, []
        for _ in range(int(rng.integers(2, 4))):
            name = _pick(rng, [k for k in BYTE_MUTATORS if k != "truncate"])
            raw, what = BYTE_MUTATORS[name](Base(base.name, raw, base.layout, base.metadata, base.tensors,
                                                 base.data_start), rng)
            parts.append(what)
        path.write_bytes(raw)
        return base.name, kind, "; ".join(parts)
    raw, what = BYTE_MUTATORS[kind](base, rng)
    path.write_bytes(raw)
    return base.name, kind, what
