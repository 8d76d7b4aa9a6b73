"""The regression corpus: named hostile model files, each made from a synthetic base model
(tests/fuzz/bases.py) by one deliberate change. The suite runs every one of them in process
(tests/engine/test_hostile_files.py); none is committed.

    .venv/bin/python -m tests.fuzz.make_hostile_files FOLDER     # write them all, to look at

Only inputs that fail fast belong here; files that could hang or balloon before their limits hold
are the fuzzer's business (it runs each file in a child with a timeout and a memory cap).
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from bitnet_desktop.engine.errors import BitNetError, ModelFormatError, NonFiniteLogitsError
from bitnet_desktop.engine.gguf import GGUFArray, ValueType
from bitnet_desktop.engine.runtime.native_model import ModelConfigError
from tests.fuzz.bases import Base, encode, make_bases
from tests.fuzz.gguf_layout import f32, patch

V = ValueType
F16_NAN, F16_INF = b"\x00\x7e", b"\x00\x7c"
TIED, UNTIED_Q8, SPM_TQ2 = "i2s-tied-f16", "i2s-untied-q8", "tq2-scales-spm"
Q6K, F16_BF16 = "tq1-q6k", "f16-untied-bf16"


@dataclass(frozen=True)
class Case:
    base: str
    make: Callable[[Base, Path], None]
    expect: type[BitNetError] | None = None  # the error this case must get, in both heads (None: any own error or none)
    fast_only: type[BitNetError] | None = None  # the error the fast head must get (the exact head may load)


CASES: dict[str, Case] = {}


def _raw(name: str, base: str, change: Callable[[Base], bytes], **kw) -> None:
    CASES[name] = Case(base, lambda b, path: path.write_bytes(change(b)), **kw)


def _meta(name: str, base: str, changes: dict[str, Any], drop_tensors: tuple[str, ...] = (), **kw) -> None:
    """changes: key -> (ValueType, value), or None to remove the key; unknown keys are added."""
    def make(b: Base, path: Path) -> None:
        meta = [(k, *changes[k]) if k in changes else (k, t, v) for k, t, v in b.metadata
                if not (k in changes and changes[k] is None)]
        present = {k for k, _, _ in b.metadata}
        meta += [(k, *c) for k, c in changes.items() if k not in present and c is not None]
        encode(path, meta, [t for t in b.tensors if t.name not in drop_tensors])
    CASES[name] = Case(base, make, **kw)


def _field(b: Base, kind: str, owner: str = "", nth: int = 0):
    return [f for f in b.layout.fields if f.kind == kind and (not owner or f.owner == owner)][nth]


def _patched(b: Base, kind: str, value: int, owner: str = "") -> bytes:
    f = _field(b, kind, owner)
    return bytes(patch(b.raw, f.offset, f.size, value))


def _write(b: Base, tensor: str, at: int, data: bytes, repeat: int = 1) -> bytes:
    out = bytearray(b.raw)
    start = b.tensor(tensor).offset + at
    out[start:start + len(data) * repeat] = data * repeat
    return bytes(out)


def _tokens(b: Base) -> list:
    return next(v.items for k, _, v in b.metadata if k == "tokenizer.ggml.tokens")


# ---- the container (engine/gguf) ----
_raw("empty-file", TIED, lambda b: b"")
_raw("magic-only", TIED, lambda b: b.raw[:4])
_raw("truncated-in-metadata", TIED, lambda b: b.raw[:_field(b, "array.count", "tokenizer.ggml.tokens").offset + 500])
_raw("truncated-in-tensor-infos", TIED, lambda b: b.raw[:b.layout.infos_end - 20])
_raw("truncated-data", TIED, lambda b: b.raw[:-100])
_raw("tensor-count-huge", TIED, lambda b: _patched(b, "tensor_count", 2**63))
_raw("kv-count-huge", TIED, lambda b: _patched(b, "kv_count", 2**64 - 1))
_raw("string-length-huge", TIED, lambda b: _patched(b, "string.len", 2**62, "tokenizer.ggml.tokens"))
_raw("array-count-huge", TIED, lambda b: _patched(b, "array.count", 2**40, "tokenizer.ggml.tokens"))
_raw("n-dims-huge", TIED, lambda b: _patched(b, "n_dims", 2**31, "token_embd.weight"))
_raw("ne-huge", TIED, lambda b: _patched(b, "ne", 2**40, "blk.0.attn_q.weight"))
_raw("ne-zero", TIED, lambda b: _patched(b, "ne", 0, "blk.0.attn_q.weight"))
_raw("offset-past-end", TIED, lambda b: _patched(b, "tensor_offset", 2**40, "blk.0.attn_k.weight"))
_raw("offset-unaligned", TIED, lambda b: _patched(b, "tensor_offset", b.tensor("blk.0.attn_k.weight").offset
                                                 - b.data_start + 1, "blk.0.attn_k.weight"))
_raw("offsets-overlap", TIED, lambda b: _patched(b, "tensor_offset", b.tensor("blk.0.attn_q.weight").offset
                                                - b.data_start, "blk.0.attn_k.weight"))
_raw("tensor-type-unknown", TIED, lambda b: _patched(b, "ggml_type", 999, "blk.0.attn_q.weight"))
_raw("tensor-type-relabelled", TIED, lambda b: _patched(b, "ggml_type", 0, "blk.0.attn_q.weight"))
_raw("value-type-unknown", TIED, lambda b: _patched(b, "value.type", 13, "general.name"))
_raw("array-type-unknown", TIED, lambda b: _patched(b, "array.type", 99, "tokenizer.ggml.scores"))

# ---- NaN and infinity in the weights (runtime/weights.py, the int8 head's build, the sampler) ----
_raw("nan-norm-gain", TIED, lambda b: _write(b, "blk.0.ffn_norm.weight", 40, f32(math.nan)), expect=ModelFormatError)
_raw("inf-output-norm", Q6K, lambda b: _write(b, "output_norm.weight", 0, f32(-math.inf)), expect=ModelFormatError)
_raw("nan-i2s-alpha", TIED, lambda b: _write(b, "blk.0.ffn_down.weight",
                                             len(b.tensor("blk.0.ffn_down.weight").data) - 32, f32(math.nan)),
     expect=ModelFormatError)
_raw("inf-scale-tensor", SPM_TQ2, lambda b: _write(b, "blk.0.attn_v.scale", 0, f32(math.inf)), expect=ModelFormatError)
_raw("nan-ternary-block-scale", SPM_TQ2, lambda b: _write(b, "blk.0.attn_q.weight", 64, F16_NAN),
     expect=ModelFormatError)
_raw("inf-in-f16-ternary", F16_BF16, lambda b: _write(b, "blk.0.ffn_up.weight", 1000, F16_INF),
     expect=ModelFormatError)
_raw("nan-embedding-all", TIED, lambda b: _write(b, "token_embd.weight", 0, F16_NAN, 1024 * 256),
     fast_only=ModelConfigError)
_raw("inf-embedding-one", TIED, lambda b: _write(b, "token_embd.weight", 2 * (300 * 256 + 7), F16_INF),
     fast_only=ModelConfigError)
_raw("inf-q8-output-block-scale", UNTIED_Q8, lambda b: _write(b, "output.weight", 34 * 8 * 12, F16_INF),
     fast_only=ModelConfigError)
_raw("nan-q8-embedding-all", UNTIED_Q8, lambda b: _write(b, "token_embd.weight", 0, F16_NAN + b"\x01" * 32, 1024 * 8),
     expect=NonFiniteLogitsError)
_raw("nan-q6k-block-scale", Q6K, lambda b: _write(b, "token_embd.weight", 210 * 5 + 208, F16_NAN),
     fast_only=ModelConfigError)
_raw("nan-bf16-output", F16_BF16, lambda b: _write(b, "output.weight", 2 * 5000, b"\xc0\x7f"),
     expect=ModelFormatError)
_raw("bf16-embedding-beyond-f16", F16_BF16, lambda b: _write(b, "token_embd.weight", 2 * 700, b"\x15\x50"),
     expect=ModelFormatError)  # 1e10: finite in BF16, infinite as F16
_raw("inf-ternary-block-scale", SPM_TQ2, lambda b: _write(b, "blk.0.ffn_gate.weight", 66 * 3 + 64, F16_INF),
     expect=ModelFormatError)  # inf * 0 in the decode: no numpy warning may escape

# ---- metadata values of the wrong type or range (spec, vocabulary, chat) ----
_bos = "tokenizer.ggml.bos_token_id"
_meta("bos-id-string", TIED, {_bos: (V.STRING, "1")})
_meta("bos-id-array", TIED, {_bos: (V.ARRAY, GGUFArray(V.UINT32, [1, 2]))})
_meta("bos-id-nan", TIED, {_bos: (V.FLOAT32, math.nan)})
_meta("bos-id-inf", SPM_TQ2, {_bos: (V.FLOAT64, math.inf)})
_meta("bos-id-past-vocab", TIED, {_bos: (V.UINT64, 2**40)})
_meta("eos-id-negative", TIED, {"tokenizer.ggml.eos_token_id": (V.INT32, -1)})
_meta("tokens-a-number", TIED, {"tokenizer.ggml.tokens": (V.UINT32, 5)})
_meta("token-type-nan-floats", TIED, {"tokenizer.ggml.token_type": (V.ARRAY, GGUFArray(V.FLOAT32, [math.nan] * 1024))})
_meta("token-type-out-of-range", SPM_TQ2, {"tokenizer.ggml.token_type": (V.ARRAY, GGUFArray(V.INT32, [99] * 1024))})
_meta("scores-nan", SPM_TQ2, {"tokenizer.ggml.scores": (V.ARRAY, GGUFArray(V.FLOAT32, [math.nan] * 1024))})
_meta("merges-garbage", TIED, {"tokenizer.ggml.merges": (V.ARRAY, GGUFArray(V.STRING, ["a", "", "b c d", " "]))})
_meta("tokenizer-model-unknown", TIED, {"tokenizer.ggml.model": (V.STRING, "bert")})
_meta("add-bos-a-string", TIED, {"tokenizer.ggml.add_bos_token": (V.STRING, "yes")})
_meta("chat-template-a-number", SPM_TQ2, {"tokenizer.chat_template": (V.INT32, 7)})
_meta("chat-template-an-array", SPM_TQ2, {"tokenizer.chat_template": (V.ARRAY, GGUFArray(V.INT32, [1, 2, 3]))})
_meta("chat-template-nested-100", SPM_TQ2,
      {"tokenizer.chat_template": (V.STRING, "{% if 1 %}" * 100 + "{% endif %}" * 100)})
_meta("chat-template-nested-2000", SPM_TQ2,
      {"tokenizer.chat_template": (V.STRING, "{% if 1 %}" * 2000 + "{% endif %}" * 2000)})
_meta("chat-template-syntax-error", SPM_TQ2, {"tokenizer.chat_template": (V.STRING, "{% if %}")})
_meta("chat-template-missing", SPM_TQ2, {"tokenizer.chat_template": None})
_meta("no-embedding-no-vocab-size", TIED, {"bitnet-b1.58.vocab_size": None}, drop_tensors=("token_embd.weight",))
CASES["vocabulary-shorter-than-embedding"] = Case(TIED, lambda b, path: _meta_write(
    b, path, {"tokenizer.ggml.tokens": (V.ARRAY, GGUFArray(V.STRING, _tokens(b)[:1000]))}))
_meta("rope-freq-base-inf", TIED, {"bitnet-b1.58.rope.freq_base": (V.FLOAT32, math.inf)})
_meta("rms-eps-nan", TIED, {"bitnet-b1.58.attention.layer_norm_rms_epsilon": (V.FLOAT32, math.nan)})
_meta("context-length-a-string", TIED, {"bitnet-b1.58.context_length": (V.STRING, "512")})
_meta("context-length-zero", TIED, {"bitnet-b1.58.context_length": (V.UINT32, 0)})
_meta("context-length-huge", TIED, {"bitnet-b1.58.context_length": (V.UINT64, 2**62)})
_meta("block-count-huge", TIED, {"bitnet-b1.58.block_count": (V.UINT32, 2**31)})
_meta("head-count-zero", TIED, {"bitnet-b1.58.attention.head_count": (V.UINT32, 0)})
_meta("head-count-float", TIED, {"bitnet-b1.58.attention.head_count": (V.FLOAT32, 4.0)})
_meta("embedding-length-mismatch", TIED, {"bitnet-b1.58.embedding_length": (V.UINT32, 384)})
_meta("architecture-unknown", TIED, {"general.architecture": (V.STRING, "gpt-j")})
_meta("architecture-a-number", TIED, {"general.architecture": (V.UINT32, 1)})
_meta("alignment-not-a-power-of-two", TIED, {"general.alignment": (V.UINT32, 3)})


def _meta_write(b: Base, path: Path, changes: dict[str, Any]) -> None:
    encode(path, [(k, *changes[k]) if k in changes else (k, t, v) for k, t, v in b.metadata], list(b.tensors))


def write_corpus(folder: Path, bases: dict[str, Base] | None = None) -> dict[str, Path]:
    bases = bases or make_bases()
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, case in CASES.items():
        paths[name] = folder / f"{name}.gguf"
        case.make(bases[case.base], paths[name])
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.fuzz.make_hostile_files FOLDER")
    for name, path in write_corpus(Path(sys.argv[1])).items():
        print(f"{path.stat().st_size:9} {path}")
