"""The native BitNet model: the whole forward pass in C (libbitnet's `bn_model`), one call per
token or per prompt chunk.

Feeding it (what a GGUF loader does)
-----------------------------------
`NativeModel(ctx, config, layers, token_embd, output_norm, output=None)`:

* `config`: a `NativeModelConfig` (hyperparameters + `max_context`, `max_batch`, `head`, and the
  graph: `rope_style` "neox" for the bitnet archs or "normal" for arch llama, `sub_norms`, and
  optional `rope_freqs`, llama.cpp's frequency factors, copied by the library);
  `NativeModelConfig.from_spec(spec, ...)` takes any object with ModelSpec's field names.
* `layers`: one mapping per layer from GGUF base names (`blk.{i}.<name>.weight`) to arrays:
  `attn_norm`, `attn_sub_norm`, `ffn_norm`, `ffn_sub_norm` → float32 gains ([d], [d], [d], [f]);
  the two sub-norms only when `config.sub_norms` (the bitnet graphs; arch llama has none);
  `attn_q`, `attn_k`, `attn_v`, `attn_output`, `ffn_gate`, `ffn_up`, `ffn_down` → the tensor's
  I2_S bytes including the 32-byte tail (uint8/int8, any shape, C-contiguous; exactly
  m*k/4 + 32 bytes for the [m, k] weight). A ternary entry may also be a `(bytes, scale)` pair or
  an object with `.i2s` and `.multiplier` (the bitnet arch's `*.scale` tensor; default 1).
* `token_embd` / `output`: [vocab, d] stored as `config.token_embd_type` / `config.output_type`
  (None: like token_embd): "F16" as float16 or uint16 bits (any C-contiguous shape with vocab*d
  elements), or "Q8_0" / "Q6_K" as the table's stored bytes (uint8, C-contiguous, exactly vocab
  rows of d/32 * 34 or d/256 * 210 bytes), e.g. the GGUF tensor's mapped view: the native model
  decodes rows itself (bit-identical to formats.dequant + a float16 cast). `output=None` ties the
  head to `token_embd`. `output_norm`: float32 [d].
* `NativeModel.from_named_tensors(ctx, config, {"blk.0.attn_q.weight": ..., ...})` and
  `NativeModel.from_model_weights(ctx, weights)` wrap the two usual sources.

Zero copy: the native model keeps pointers into these arrays (memory-mapped GGUF views are
fine), and this object keeps references to them, so they live as long as the model. Do not
modify them afterwards. Exceptions, where the native model has stopped reading a table once
created, so no reference to it is kept: with `head="i8"` the head table (an untied `output`)
served only to build the int8 head; with `head="f16"` a Q8_0 / Q6_K head table was decoded into
the model's own f16 copy (also `token_embd` when tied). After `read_embedding_from_file` the
native model reads token_embd rows from the file, and this object drops its reference to
`token_embd` unless a tied f16 head still reads it. Either way a converted copy is freed once the
caller drops it too, and a mapped table's pages can be given back. The model itself allocates
only its F16 KV cache, scratch buffers for `max_batch` tokens, with `head="i8"` an int8 copy of
the head (vocab*(d+4) bytes), and with `head="f16"` over a Q8_0 / Q6_K head table its f16 decode
(vocab*d*2 bytes), both built at creation on the context's threads; the `*_bytes` properties
report them.

Every native status becomes an engine exception carrying the library's message (which names
the offending tensor or field).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import KernelError, ShapeError
from ..gguf import type_by_name
from ..native import KernelContext
from ..native._loader import load
from ..native.status import check

TERNARY_NAMES = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
NORM_NAMES = ("attn_norm", "attn_sub_norm", "ffn_norm", "ffn_sub_norm")
ACTIVATIONS = {"relu2": 0, "silu": 1}   # BN_ACT_RELU2 (bitnet-b1.58, bitnet-25), BN_ACT_SILU (bitnet, llama)
ROPE_STYLES = {"neox": 0, "normal": 1}  # BN_ROPE_NEOX pairs (i, i + hd/2); BN_ROPE_NORMAL (2i, 2i + 1), arch llama
HEAD_MODES = {"f16": 0, "i8": 1}        # BN_HEAD_F16 exact, BN_HEAD_I8 fast
LOGITS_LAST, LOGITS_ALL, LOGITS_NONE = 0, 1, 2
# token_embd / output types the native model takes as stored, and token_embd types
# read_embedding_from_file reads. Other types (BF16, F32) are converted to F16 by the caller.
QUANTIZED_TABLE_TYPES = ("Q8_0", "Q6_K")  # decoded by the native model
TABLE_TYPES = ("F16", *QUANTIZED_TABLE_TYPES)
# Prompt tokens per internal chunk. The ternary GEMM is as fast at 128 tokens as at 512 (2B-4T,
# 2 threads: 87 tok/s either way, 85 at 64), and the scratch is 18 MiB instead of 72.
DEFAULT_MAX_BATCH = 128

BN_ERR_BAD_VALUE = 8
BN_ERR_WEIGHT_SIZE = 20
BN_ERR_TOKEN_RANGE = 21
BN_ERR_POSITION = 22
BN_ERR_CONTEXT_FULL = 23
BN_ERR_IO = 24


class WeightSizeError(ShapeError):
    """A weight buffer's length does not match the shape the configuration gives it."""


class ModelConfigError(KernelError, ValueError):
    """A configuration value, gain, alpha or scale is outside its allowed range."""


class TokenRangeError(KernelError, ValueError):
    """A token id is negative or not below the vocabulary size."""


class PositionError(KernelError, ValueError):
    """A position (or truncation length) is negative or past the cached positions."""


class ContextFullError(KernelError):
    """The tokens would run past the model's KV cache length (max_context)."""


class ModelFileReadError(KernelError, OSError):
    """The model file could not be opened or read (moved, deleted, truncated, or a disk error)."""


_MODEL_EXCEPTIONS = {
    BN_ERR_BAD_VALUE: ModelConfigError,
    BN_ERR_WEIGHT_SIZE: WeightSizeError,
    BN_ERR_TOKEN_RANGE: TokenRangeError,
    BN_ERR_POSITION: PositionError,
    BN_ERR_CONTEXT_FULL: ContextFullError,
    BN_ERR_IO: ModelFileReadError,
}


def _check(status: int, operation: str, detail: str = "") -> None:
    """Like native.status.check, with the model's own statuses and the library's detail text."""
    if status == 0:
        return
    if detail:
        operation = f"{operation}: {detail}"
    exc_type = _MODEL_EXCEPTIONS.get(status)
    if exc_type is None:
        check(status, operation)
        return
    ffi, lib = load()
    reason = ffi.string(lib.bn_status_string(status)).decode()
    raise exc_type(f"{operation} ({reason}, status {status})", status)


@dataclass(frozen=True)
class NativeModelConfig:
    """Hyperparameters (docs/architectures.md#2b-4t-hyperparameters) plus the runtime sizes of the native model."""
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ffn: int
    vocab: int
    rope_theta: float = 500000.0
    rms_eps: float = 1e-5
    activation: str = "relu2"   # "relu2" for bitnet-b1.58 / bitnet-25, "silu" for bitnet
    max_context: int = 4096     # KV cache length (positions)
    max_batch: int = DEFAULT_MAX_BATCH  # tokens per internal chunk (scratch size)
    head: str = "f16"           # "f16" exact (bitnet.cpp parity) or "i8" fast
    token_embd_type: str = "F16"   # how token_embd is stored: one of TABLE_TYPES
    output_type: str | None = None  # how output is stored; None: like token_embd (always so when tied)
    rope_style: str = "neox"    # "neox" (bitnet archs) or "normal" (llama: Q/K rows permuted by the converter)
    sub_norms: bool = True      # attn/ffn sub-norms before attn_output / ffn_down (bitnet); llama: False
    rope_freqs: tuple[float, ...] | None = None  # llama.cpp's rope_freqs.weight: head_dim/2 angle divisors

    @classmethod
    def from_spec(cls, spec: Any, max_context: int | None = None, max_batch: int = DEFAULT_MAX_BATCH,
                  head: str = "f16", token_embd_type: str = "F16",
                  output_type: str | None = None, rope_freqs: Sequence[float] | None = None) -> "NativeModelConfig":
        """From an object with ModelSpec's fields (n_layers, d_model, n_heads, n_kv_heads,
        head_dim, d_ffn, vocab_size, rope_theta, rms_eps, activation, context_length, and when it
        has them rope_style and sub_norms)."""
        return cls(
            rope_style=getattr(spec, "rope_style", "neox"), sub_norms=bool(getattr(spec, "sub_norms", True)),
            rope_freqs=None if rope_freqs is None else tuple(float(v) for v in rope_freqs),
            n_layers=spec.n_layers, d_model=spec.d_model, n_heads=spec.n_heads,
            n_kv_heads=spec.n_kv_heads, head_dim=spec.head_dim, d_ffn=spec.d_ffn,
            vocab=spec.vocab_size, rope_theta=float(spec.rope_theta), rms_eps=float(spec.rms_eps),
            activation=spec.activation,
            max_context=int(max_context if max_context is not None else spec.context_length),
            max_batch=max_batch, head=head, token_embd_type=token_embd_type, output_type=output_type,
        )

    @property
    def head_table_type(self) -> str:
        """How the table the head is made from is stored (output's, or token_embd's when tied)."""
        return self.output_type or self.token_embd_type

    def ternary_shapes(self) -> dict[str, tuple[int, int]]:
        """[out, in] of each ternary weight of a layer."""
        d, f, kv = self.d_model, self.d_ffn, self.n_kv_heads * self.head_dim
        return {"attn_q": (d, d), "attn_k": (kv, d), "attn_v": (kv, d), "attn_output": (d, d),
                "ffn_gate": (f, d), "ffn_up": (f, d), "ffn_down": (d, f)}

    def norm_lengths(self) -> dict[str, int]:
        """Length of each norm gain of a layer the graph has."""
        d, f = self.d_model, self.d_ffn
        if not self.sub_norms:
            return {"attn_norm": d, "ffn_norm": d}
        return {"attn_norm": d, "attn_sub_norm": d, "ffn_norm": d, "ffn_sub_norm": f}

    def _to_native(self, ffi):
        """(bn_model_config, the cffi arrays it points into: keep them while it is used)."""
        if self.activation not in ACTIVATIONS:
            raise ModelConfigError(f"unknown activation {self.activation!r}; known: {', '.join(ACTIVATIONS)}")
        if self.head not in HEAD_MODES:
            raise ModelConfigError(f"unknown head mode {self.head!r}; known: {', '.join(HEAD_MODES)}")
        c = ffi.new("bn_model_config *")
        for name in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ffn", "vocab",
                     "max_context", "max_batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 < value < 2**31:
                raise ModelConfigError(f"config {name} = {value!r} must be a positive 32-bit integer")
            setattr(c, name, int(value))
        for name in ("rope_theta", "rms_eps"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value <= 0:
                raise ModelConfigError(f"config {name} = {value!r} must be finite and > 0")
            setattr(c, name, value)
        c.activation = ACTIVATIONS[self.activation]
        c.head_mode = HEAD_MODES[self.head]
        c.tok_embd_type = _ggml_type_id(self.token_embd_type, "token_embd")
        c.output_type = _ggml_type_id(self.head_table_type, "output")
        if self.rope_style not in ROPE_STYLES:
            raise ModelConfigError(f"unknown rope style {self.rope_style!r}; known: {', '.join(ROPE_STYLES)}")
        c.rope_style = ROPE_STYLES[self.rope_style]
        keep = []
        if self.rope_freqs is not None:
            freqs = ffi.new("float[]", [float(v) for v in self.rope_freqs])
            keep.append(freqs)
            c.rope_freqs = freqs
            c.rope_freqs_len = len(self.rope_freqs)
        return c, keep


def _ggml_type_id(name: str, what: str) -> int:
    try:
        return type_by_name(name).id
    except KeyError:
        raise ModelConfigError(f"unknown ggml type {name!r} for {what}", BN_ERR_BAD_VALUE) from None


def _contiguous(a: Any, what: str) -> np.ndarray:
    a = np.asarray(a)
    if not a.flags.c_contiguous:
        raise ShapeError(f"{what} must be C-contiguous (a view into the file, or np.ascontiguousarray)")
    return a


def _bytes(a: Any, what: str, kind: str = "I2_S") -> np.ndarray:
    a = _contiguous(a, what)
    if a.dtype not in (np.uint8, np.int8):
        raise ShapeError(f"{what} must be {kind} bytes (uint8), got {a.dtype}")
    return a.reshape(-1).view(np.uint8)


def _f32(a: Any, what: str) -> np.ndarray:
    a = _contiguous(a, what)
    if a.dtype != np.float32:
        raise ShapeError(f"{what} must be float32, got {a.dtype}")
    return a.reshape(-1)


def _f16_bits(a: Any, what: str) -> np.ndarray:
    a = _contiguous(a, what)
    if a.dtype == np.float16:
        a = a.view(np.uint16)
    if a.dtype != np.uint16:
        raise ShapeError(f"{what} must be float16 (or its uint16 bits), got {a.dtype}")
    return a.reshape(-1)


def _table(a: Any, type_name: str, what: str) -> np.ndarray:
    """f16 bits of an F16 table, else the stored bytes of the table (the library checks the type)."""
    return _f16_bits(a, what) if type_name == "F16" else _bytes(a, what, type_name)


def _ternary_parts(value: Any) -> tuple[Any, float]:
    if isinstance(value, tuple):
        data, scale = value
        return data, float(scale)
    if hasattr(value, "i2s"):
        return value.i2s, float(getattr(value, "multiplier", 1.0))
    return value, 1.0


class NativeModel:
    """A BitNet model whose forward pass runs natively on a KernelContext's threads.

    One forward call at a time (the context serialises them); `ctx.cancel()` / `cancel()` from any
    thread stops a running forward between layers with CancelledError, keeping the cache
    consistent (`kv_length` then says how many positions survived)."""

    def __init__(self, ctx: KernelContext, config: NativeModelConfig,
                 layers: Sequence[Mapping[str, Any]], token_embd: Any, output_norm: Any,
                 output: Any = None):
        ffi, lib = load()
        self._ffi, self._lib = ffi, lib
        self.ctx = ctx
        self.config = config
        cfg, cfg_arrays = config._to_native(ffi)
        if len(layers) != config.n_layers:
            raise ShapeError(f"{len(layers)} layers given, the config says n_layers = {config.n_layers}")
        keep: list[Any] = []   # arrays and cffi buffers the native model points into

        def pointer(array: np.ndarray, ctype: str):
            buf = ffi.from_buffer(array, require_writable=False)
            keep.append(buf)
            return ffi.cast(ctype, buf)

        structs = ffi.new("bn_layer_weights[]", len(layers))
        for i, layer in enumerate(layers):
            s = structs[i]
            for name in NORM_NAMES:  # sub-norms the config does not expect are the library's to refuse
                if name not in layer:
                    if name in config.norm_lengths():
                        raise ShapeError(f"layer {i} has no {name!r} tensor")
                    continue
                g = _f32(layer[name], f"blk.{i}.{name}")
                setattr(s, name, pointer(g, "float *"))
                setattr(s, name + "_len", g.size)
            for name in TERNARY_NAMES:
                if name not in layer:
                    raise ShapeError(f"layer {i} has no {name!r} tensor")
                data, scale = _ternary_parts(layer[name])
                w = _bytes(data, f"blk.{i}.{name}")
                t = getattr(s, name)
                t.data = pointer(w, "uint8_t *")
                t.len = w.size
                t.scale = scale
        embd = _table(token_embd, config.token_embd_type, "token_embd")
        norm = _f32(output_norm, "output_norm")
        head = _table(output, config.head_table_type, "output") if output is not None else None
        embd_buffer = ffi.from_buffer(embd, require_writable=False)
        head_buffer = ffi.from_buffer(head, require_writable=False) if head is not None else None
        err = ffi.new("char[]", 512)
        out = ffi.new("bn_model **")
        status = lib.bn_model_create(
            ctx.handle, cfg, structs, len(layers), embd_buffer, embd.size,
            head_buffer if head is not None else ffi.NULL, head.size if head is not None else 0,
            pointer(norm, "float *"), norm.size, err, len(err), out)
        del cfg_arrays  # rope_freqs was copied by the library
        _check(status, "creating the native model", ffi.string(err).decode("utf-8", "replace"))
        # The head reads the caller's table only in exact mode over F16; otherwise it served the
        # int8 build or was decoded, and is not kept past creation.
        head_streams_table = config.head == "f16" and config.head_table_type == "F16"
        if head is not None and head_streams_table:
            keep.append(head_buffer)
        self._keep = keep
        self._head_reads_token_embd = head is None and head_streams_table
        # Kept apart: read_embedding_from_file may drop it. A tied exact head decoded from Q8_0 /
        # Q6_K serves the embedding rows too, so the table is not read again.
        tied_and_decoded = head is None and config.head == "f16" and not head_streams_table
        self._token_embd: Any = None if tied_and_decoded else embd_buffer
        self._model = ffi.gc(out[0], lib.bn_model_free)
        self._embedding_file: str | None = None

    # ---- alternative constructors ----

    @classmethod
    def from_named_tensors(cls, ctx: KernelContext, config: NativeModelConfig,
                           tensors: Mapping[str, Any]) -> "NativeModel":
        """From GGUF tensor names: token_embd.weight, output_norm.weight, optional output.weight,
        blk.{i}.<name>.weight and optional blk.{i}.<ternary name>.scale (one number)."""
        def get(name: str):
            if name not in tensors:
                raise ShapeError(f"tensor {name!r} is missing")
            return tensors[name]

        layers = []
        for i in range(config.n_layers):
            layer: dict[str, Any] = {n: get(f"blk.{i}.{n}.weight") for n in config.norm_lengths()}
            for n in TERNARY_NAMES:
                scale = tensors.get(f"blk.{i}.{n}.scale")
                data = get(f"blk.{i}.{n}.weight")
                layer[n] = (data, float(np.asarray(scale).reshape(-1)[0])) if scale is not None else data
            layers.append(layer)
        return cls(ctx, config, layers, get("token_embd.weight"), get("output_norm.weight"),
                   tensors.get("output.weight"))

    @classmethod
    def from_model_weights(cls, ctx: KernelContext, weights: Any, max_context: int | None = None,
                           max_batch: int = DEFAULT_MAX_BATCH, head: str = "f16") -> "NativeModel":
        """From an object shaped like runtime.weights.ModelWeights (spec, layers with `.ternary`
        and `.norms` dicts, token_embd, output, output_norm)."""
        config = NativeModelConfig.from_spec(weights.spec, max_context, max_batch, head, weights.token_embd_type,
                                             weights.output_type, getattr(weights, "rope_freqs", None))
        layers = [{**layer.norms, **layer.ternary} for layer in weights.layers]
        return cls(ctx, config, layers, weights.token_embd, weights.output_norm, weights.output)

    @staticmethod
    def estimate_memory(config: NativeModelConfig, threads: int) -> dict[str, int]:
        """Bytes a model of this config would allocate: {"kv", "scratch", "head", "decoded_head"}
        (see the properties of the same names)."""
        ffi, lib = load()
        out = ffi.new("uint64_t[4]")
        cfg, _arrays = config._to_native(ffi)
        _check(lib.bn_model_memory_estimate(cfg, int(threads), out, out + 1, out + 2, out + 3),
               "estimating the model's memory")
        return {"kv": int(out[0]), "scratch": int(out[1]), "head": int(out[2]), "decoded_head": int(out[3])}

    def read_embedding_from_file(self, path: str | os.PathLike, offset: int, type_name: str = "F16") -> None:
        """Read embedding rows from `path` (token_embd's table at byte `offset`, stored as
        `type_name`: F16, Q8_0 or Q6_K, decoded to the same f16 values as formats.dequant)
        instead of from the token_embd array, which the model then no longer touches: unless a
        tied f16 head streams it, this object drops its reference, and the caller can give a
        mapped table's pages back (GGUFFile.release_pages) or free a converted copy. Checks that
        the file holds this model's token_embd (ModelConfigError otherwise, also for another
        type); nothing changes when it does not."""
        type_id = _ggml_type_id(type_name, "token_embd")
        ffi = self._ffi
        err = ffi.new("char[]", 512)
        _check(self._lib.bn_model_embedding_from_file(self._model, os.fsencode(path), int(offset), type_id,
                                                      err, len(err)),
               "reading the embedding from the model file", ffi.string(err).decode("utf-8", "replace"))
        self._embedding_file = os.fspath(path)
        if not self._head_reads_token_embd:
            self._token_embd = None

    @property
    def embedding_file(self) -> str | None:
        """The file embedding rows are read from, or None when they are read from token_embd."""
        return self._embedding_file

    # ---- running ----

    def _tokens(self, tokens: Sequence[int] | np.ndarray) -> np.ndarray:
        t = np.asarray(tokens)
        if t.ndim != 1 or t.size == 0:
            raise ShapeError(f"tokens must be a non-empty 1-D sequence, got shape {t.shape}")
        if t.dtype.kind not in "iu":
            raise TokenRangeError(f"token ids must be integers, got {t.dtype}", BN_ERR_TOKEN_RANGE)
        bad = np.flatnonzero((t < 0) | (t >= self.config.vocab))
        if bad.size:
            raise TokenRangeError(
                f"token id {int(t[bad[0]])} at index {int(bad[0])} is outside the vocabulary "
                f"[0, {self.config.vocab})", BN_ERR_TOKEN_RANGE)
        return np.ascontiguousarray(t, dtype=np.int32)

    def _run(self, tokens, pos, mode: int, out: np.ndarray | None) -> None:
        t = self._tokens(tokens)
        pos = self.kv_length if pos is None else int(pos)
        ffi = self._ffi
        if mode == LOGITS_NONE:
            ptr, length = ffi.NULL, 0
        else:
            ptr, length = ffi.cast("float *", ffi.from_buffer(out)), out.size
        _check(self._lib.bn_model_forward(self._model, ffi.cast("int32_t *", ffi.from_buffer(t)), t.size,
                                          pos, ptr, length, mode),
               f"forward of {t.size} token(s) at position {pos} (cached: {self.kv_length}, "
               f"max_context: {self.config.max_context})")

    def forward(self, tokens: Sequence[int] | np.ndarray, pos: int | None = None,
                all_logits: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """Runs tokens at positions pos, pos+1, ... (pos defaults to kv_length; a smaller pos drops
        the cached positions >= pos first). Returns float32 logits: [vocab] of the last token, or
        [n_tokens, vocab] with all_logits=True. `out` may supply that array (reused per token)."""
        n = len(tokens)
        shape = (n, self.config.vocab) if all_logits else (self.config.vocab,)
        if out is None:
            out = np.empty(shape, np.float32)
        elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ShapeError(f"out must be a C-contiguous float32 array of shape {shape}")
        self._run(tokens, pos, LOGITS_ALL if all_logits else LOGITS_LAST, out)
        return out

    def prefill(self, tokens: Sequence[int] | np.ndarray, pos: int | None = None) -> None:
        """Like forward, but only fills the KV cache (no head, no logits)."""
        self._run(tokens, pos, LOGITS_NONE, None)

    def truncate(self, n_tokens: int) -> None:
        """Keeps cached positions [0, n_tokens)."""
        _check(self._lib.bn_model_truncate(self._model, int(n_tokens)),
               f"truncating the KV cache to {n_tokens} positions (cached: {self.kv_length})")

    def cancel(self) -> None:
        self.ctx.cancel()

    def close(self) -> None:
        """Frees the native model now (KV cache, scratch, head copies) and drops the references
        to the caller's tables; the object is unusable afterwards. Idempotent."""
        model, self._model = getattr(self, "_model", None), None
        if model is not None:
            self._ffi.release(model)
        self._keep = []
        self._token_embd = None

    def clear_cancel(self) -> None:
        self.ctx.clear_cancel()

    # ---- facts ----

    @property
    def kv_length(self) -> int:
        return int(self._lib.bn_model_kv_length(self._model))

    @property
    def max_context(self) -> int:
        return self.config.max_context

    @property
    def vocab(self) -> int:
        return self.config.vocab

    @property
    def has_sub_norms(self) -> bool:
        """Whether the native model runs the bitnet graph (sub-norms) or the llama graph (none)."""
        return bool(self._lib.bn_model_has_sub_norms(self._model))

    @property
    def kv_bytes(self) -> int:
        """F16 KV cache (allocated at creation for max_context positions)."""
        return int(self._lib.bn_model_kv_bytes(self._model))

    @property
    def scratch_bytes(self) -> int:
        """Chunk buffers for max_batch tokens plus per-thread attention buffers."""
        return int(self._lib.bn_model_scratch_bytes(self._model))

    @property
    def head_bytes(self) -> int:
        """The int8 head copy (head="i8"), else 0."""
        return int(self._lib.bn_model_head_bytes(self._model))

    @property
    def decoded_head_bytes(self) -> int:
        """The f16 decode of a Q8_0 / Q6_K head table (head="f16"), else 0."""
        return int(self._lib.bn_model_decoded_head_bytes(self._model))

    @property
    def allocated_bytes(self) -> int:
        return self.kv_bytes + self.scratch_bytes + self.head_bytes + self.decoded_head_bytes
