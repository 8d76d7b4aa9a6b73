"""Assemble a synthetic BitNet model: tensor list, on-disk bytes per format, and the GGUF file.

Tensors, in file order (ggml ne, innermost first; d = n_embd, f = n_ff, kv = head_dim·n_head_kv):

    token_embd.weight            [d, V]   embedding type (F16 default; F32, BF16, Q8_0, Q6_K)
    per layer i:
      blk.i.attn_norm.weight     [d]      F32
      blk.i.attn_q.weight        [d, d]   ternary format
      blk.i.attn_k.weight        [d, kv]
      blk.i.attn_v.weight        [d, kv]
      blk.i.attn_output.weight   [d, d]
      blk.i.attn_sub_norm.weight [d]      F32
      blk.i.ffn_norm.weight      [d]      F32
      blk.i.ffn_gate.weight      [d, f]
      blk.i.ffn_up.weight        [d, f]
      blk.i.ffn_down.weight      [f, d]
      blk.i.ffn_sub_norm.weight  [f]      F32
    output_norm.weight           [d]      F32
    output.weight                [d, V]   embedding type, only when the shape is untied

With `rope_freqs=True` (arch llama) an F32 [head_dim/2] `rope_freqs.weight` follows token_embd:
llama.cpp's frequency factors, each pair's RoPE angle divided by its factor (values in [1, 8)).

With `scales=True` every ternary weight `blk.i.<proj>.weight` is followed by an F32 [1]
`blk.i.<proj>.scale` holding alpha, and the weight itself is stored sign-only (alpha 1): upstream's
flavour (a) of docs/file-formats.md#ternary-weights-in-other-files.

Arch `llama` (bitnet.cpp's LlamaModel converter): no sub-norms, and attn_q / attn_k stored with
their rows permuted by llama.cpp's `permute` (per head, reshape(2, hd/2) then swap), so llama.cpp's
adjacent-pair RoPE computes what the Hugging Face checkpoint's rotate-half RoPE computes. The
generated values are the Hugging Face layout (`hf_ternary`); `ternary` is what the file stores.

Ternary formats: `i2_s` (alpha in the tail, random tail bytes 4..31), `tq2_0` / `tq1_0` (every
block's d = alpha), `f16` (alpha·T as F16). Tensor data are produced lazily, one tensor at a time,
while the file is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bitnet_desktop.engine.formats.dequant import dequantize
from bitnet_desktop.engine.formats.floats import f32_to_bf16, f32_to_f16
from bitnet_desktop.engine.formats.i2s import pack_i2s_codes
from bitnet_desktop.engine.formats.q6_k import encode_q6_k
from bitnet_desktop.engine.formats.q8_0 import encode_q8_0
from bitnet_desktop.engine.formats.tq1_0 import encode_tq1_0
from bitnet_desktop.engine.formats.tq2_0 import encode_tq2_0
from bitnet_desktop.engine.gguf.layout import align_up
from bitnet_desktop.engine.gguf.types import BF16, F16, F32, I2_S, Q6_K, Q8_0, TQ1_0, TQ2_0, GGMLType
from bitnet_desktop.engine.gguf.writer import GGUFWriter, PlannedTensor
from bitnet_desktop.engine.synth import weights
from bitnet_desktop.engine.synth.metadata import ARCHS, LLAMA_ARCHS, LLAMA_CPP_ARCHS, Entry, synthetic_metadata
from bitnet_desktop.engine.synth.shapes import SynthShape, get_shape
from bitnet_desktop.engine.synth.vocab import SynthVocab, llama3_vocab, spm_vocab

TERNARY_FORMATS: dict[str, GGMLType] = {"i2_s": I2_S, "tq2_0": TQ2_0, "tq1_0": TQ1_0, "f16": F16}
EMBEDDING_TYPES: dict[str, GGMLType] = {"f16": F16, "f32": F32, "bf16": BF16, "q8_0": Q8_0, "q6_k": Q6_K}
DEFAULT_ARCH = {"i2_s": "bitnet-b1.58", "tq2_0": "bitnet", "tq1_0": "bitnet", "f16": "bitnet"}
TOKENIZERS = ("gpt2", "llama")
TERNARY_PROJECTIONS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def hf_permute(rows: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf `permute` of a Hugging Face Q or K weight [n_head*hd, d]:
    reshape(n_head, 2, hd/2, d).swapaxes(1, 2), turning each head's rotate-half pairs (i, i + hd/2)
    into adjacent rows (2i, 2i + 1)."""
    m, k = rows.shape
    return rows.reshape(n_head, 2, m // n_head // 2, k).swapaxes(1, 2).reshape(m, k)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    ne: tuple[int, ...]  # ggml order
    type: GGMLType
    role: str  # "embedding", "output", "norm", "ternary", "scale", "rope_freqs"

    @property
    def rows_cols(self) -> tuple[int, int]:
        """(M, K) of a 2-D tensor; (1, n) of a vector."""
        return (self.ne[1], self.ne[0]) if len(self.ne) == 2 else (1, self.ne[0])


class SyntheticModel:
    """A deterministic synthetic BitNet model; nothing is generated until asked for.

    shape: a name of `SHAPES` or a `SynthShape`; fmt: i2_s | tq2_0 | tq1_0 | f16;
    arch: bitnet-b1.58 | bitnet-25 | bitnet (default by format: i2_s -> bitnet-b1.58, others ->
    bitnet); embedding_type: f16 | f32 | bf16 | q8_0 | q6_k; tokenizer: gpt2 (Llama-3 style) or
    llama (SentencePiece style, arch bitnet only); scales: write `.scale` tensors with sign-only
    weights; overrides: any `SynthShape` field (n_layer=1, tied=False, n_vocab=..., ...).
    """

    def __init__(
        self,
        shape: str | SynthShape = "tiny",
        fmt: str = "i2_s",
        arch: str | None = None,
        seed: int = 0,
        *,
        embedding_type: str = "f16",
        tokenizer: str = "gpt2",
        scales: bool = False,
        rope_freqs: bool = False,
        **overrides,
    ):
        self.shape = get_shape(shape, **overrides)
        fmt = fmt.lower()
        if fmt not in TERNARY_FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(TERNARY_FORMATS)}")
        self.fmt = fmt
        self.arch = arch or self.shape.arch or DEFAULT_ARCH[fmt]
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; choose from {', '.join(ARCHS)}")
        embedding_type = embedding_type.lower()
        if embedding_type not in EMBEDDING_TYPES:
            raise ValueError(f"unknown embedding type {embedding_type!r}; choose from {', '.join(EMBEDDING_TYPES)}")
        self.embedding_type = embedding_type
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {tokenizer!r}; choose from {', '.join(TOKENIZERS)}")
        if tokenizer == "llama" and self.arch not in LLAMA_CPP_ARCHS:
            raise ValueError("the SentencePiece (llama) vocabulary is only offered for arch 'bitnet'")
        self.tokenizer = tokenizer
        self.seed = int(seed)
        self.scales = bool(scales)
        if rope_freqs and self.arch not in LLAMA_ARCHS:
            raise ValueError("rope_freqs.weight is written for arch 'llama' only")
        self.rope_freqs = bool(rope_freqs)
        self.name = f"synthetic-{self.shape.name}"
        self._vocab: SynthVocab | None = None
        self.specs: dict[str, TensorSpec] = {s.name: s for s in self._tensor_specs()}

    # -- description --------------------------------------------------------------------------

    @property
    def vocab(self) -> SynthVocab:
        if self._vocab is None:
            build = llama3_vocab if self.tokenizer == "gpt2" else spm_vocab
            self._vocab = build(self.shape.n_vocab, self.shape.n_merges)
        return self._vocab

    def metadata(self) -> list[Entry]:
        return synthetic_metadata(self.arch, self.name, self.shape, self.fmt, self.vocab)

    def _tensor_specs(self) -> list[TensorSpec]:
        s = self.shape
        d, f, kv, vocab = s.n_embd, s.n_ff, s.n_embd_kv, s.n_vocab
        emb = EMBEDDING_TYPES[self.embedding_type]
        tern = TERNARY_FORMATS[self.fmt]
        specs = [TensorSpec("token_embd.weight", (d, vocab), emb, "embedding")]
        if self.rope_freqs:  # llama.cpp's long-context frequency factors (Llama-3.1 style)
            specs.append(TensorSpec("rope_freqs.weight", (s.head_dim // 2,), F32, "rope_freqs"))
        shapes = {
            "attn_q": (d, d),
            "attn_k": (d, kv),
            "attn_v": (d, kv),
            "attn_output": (d, d),
            "ffn_gate": (d, f),
            "ffn_up": (d, f),
            "ffn_down": (f, d),
        }

        def ternary(i: int, proj: str) -> list[TensorSpec]:
            out = [TensorSpec(f"blk.{i}.{proj}.weight", shapes[proj], tern, "ternary")]
            if self.scales:
                out.append(TensorSpec(f"blk.{i}.{proj}.scale", (1,), F32, "scale"))
            return out

        sub_norms = self.arch not in LLAMA_ARCHS
        for i in range(s.n_layer):
            specs.append(TensorSpec(f"blk.{i}.attn_norm.weight", (d,), F32, "norm"))
            for proj in ("attn_q", "attn_k", "attn_v", "attn_output"):
                specs += ternary(i, proj)
            if sub_norms:
                specs.append(TensorSpec(f"blk.{i}.attn_sub_norm.weight", (d,), F32, "norm"))
            specs.append(TensorSpec(f"blk.{i}.ffn_norm.weight", (d,), F32, "norm"))
            for proj in ("ffn_gate", "ffn_up", "ffn_down"):
                specs += ternary(i, proj)
            if sub_norms:
                specs.append(TensorSpec(f"blk.{i}.ffn_sub_norm.weight", (f,), F32, "norm"))
        specs.append(TensorSpec("output_norm.weight", (d,), F32, "norm"))
        if not s.tied:
            specs.append(TensorSpec("output.weight", (d, vocab), emb, "output"))
        return specs

    # -- ground truth -------------------------------------------------------------------------

    def ternary(self, name: str) -> tuple[np.ndarray, np.float32]:
        """(T int8 [M, K], alpha float32) of a ternary weight as the file stores it: the same in
        every format (for arch llama, attn_q / attn_k rows permuted, see the module docstring).

        Accepts the weight name or the projection name with or without `.weight`."""
        weight = name if name.endswith(".weight") else name + ".weight"
        T, alpha = self.hf_ternary(weight)
        return self._stored_rows(weight, T), alpha

    def hf_ternary(self, name: str) -> tuple[np.ndarray, np.float32]:
        """(T int8 [M, K], alpha) in the Hugging Face checkpoint's layout (unpermuted Q/K rows)."""
        weight = name if name.endswith(".weight") else name + ".weight"
        spec = self.specs[weight]
        if spec.role != "ternary":
            raise KeyError(f"{weight} is not a ternary weight")
        M, K = spec.rows_cols
        T = weights.ternary_codes(self.seed, weight, M, K).view(np.int8) - np.int8(1)
        return T, weights.ternary_alpha(self.seed, weight)

    def _stored_rows(self, weight: str, rows: np.ndarray) -> np.ndarray:
        """Rows of a ternary weight in file order: bitnet.cpp's LlamaModel converter permutes Q
        over the query heads and K over the KV heads; every other weight is stored as generated."""
        if self.arch in LLAMA_ARCHS:
            if weight.endswith(".attn_q.weight"):
                return np.ascontiguousarray(hf_permute(rows, self.shape.n_head))
            if weight.endswith(".attn_k.weight"):
                return np.ascontiguousarray(hf_permute(rows, self.shape.n_head_kv))
        return rows

    def decoded(self, name: str) -> np.ndarray:
        """float32 values of any tensor as a reader decodes them (PyTorch shape)."""
        spec = self.specs[name]
        return dequantize(spec.type.name, self.tensor_bytes(name), spec.ne, name)

    # -- on-disk bytes ------------------------------------------------------------------------

    def tensor_bytes(self, name: str) -> np.ndarray:
        """The bytes of tensor `name` exactly as they are written to the file."""
        spec = self.specs[name]
        M, K = spec.rows_cols
        if spec.role == "ternary":
            return self._ternary_bytes(spec, M, K)
        if spec.role == "rope_freqs":
            return weights.rope_freq_factors(self.seed, name, K).astype("<f4").view(np.uint8)
        if spec.role == "scale":
            weight = name[: -len(".scale")] + ".weight"
            return np.array([weights.ternary_alpha(self.seed, weight)], dtype="<f4").view(np.uint8)
        if spec.role == "norm":
            return weights.norm_gain(self.seed, name, K).astype("<f4").view(np.uint8)
        return self._embedding_bytes(spec, M, K)

    def _ternary_bytes(self, spec: TensorSpec, M: int, K: int) -> np.ndarray:
        codes = self._stored_rows(spec.name, weights.ternary_codes(self.seed, spec.name, M, K))
        alpha = np.float32(1.0) if self.scales else weights.ternary_alpha(self.seed, spec.name)
        if self.fmt == "i2_s":
            return pack_i2s_codes(codes, alpha, weights.i2s_tail_padding(self.seed, spec.name))
        T = codes.view(np.int8) - np.int8(1)
        if self.fmt == "tq2_0":
            return encode_tq2_0(T, alpha)
        if self.fmt == "tq1_0":
            return encode_tq1_0(T, alpha)
        return f32_to_f16(T.astype(np.float32) * alpha).view(np.uint8).reshape(-1)

    def _embedding_bytes(self, spec: TensorSpec, M: int, K: int) -> np.ndarray:
        t = spec.type
        out = np.empty(t.nbytes(spec.ne, spec.name), dtype=np.uint8)
        row_bytes = out.size // M
        for r0, chunk in weights.embedding_chunks(self.seed, spec.name, M, K):
            if t is F16:
                enc = f32_to_f16(chunk).view(np.uint8)
            elif t is F32:
                enc = chunk.astype("<f4").view(np.uint8)
            elif t is BF16:
                enc = f32_to_bf16(chunk).astype("<u2").view(np.uint8)
            elif t is Q8_0:
                enc = encode_q8_0(chunk)
            else:
                enc = encode_q6_k(chunk)
            out[r0 * row_bytes : r0 * row_bytes + enc.size] = enc.reshape(-1)
        return out

    # -- the file -----------------------------------------------------------------------------

    def _writer(self, path: str | os.PathLike) -> GGUFWriter:
        w = GGUFWriter(path, alignment=32, write_alignment_key=False)
        for key, vtype, value in self.metadata():
            w.add(key, vtype, value)
        for spec in self.specs.values():
            w.add_tensor(spec.name, spec.ne, spec.type, lambda name=spec.name: self.tensor_bytes(name))
        return w

    def layout(self) -> list[PlannedTensor]:
        """Every tensor's type, byte size and data offset, computed without generating any data."""
        out, pos = [], 0
        for spec in self.specs.values():
            nbytes = spec.type.nbytes(spec.ne, spec.name)
            out.append(PlannedTensor(spec.name, spec.ne, spec.type, nbytes, pos))
            pos += align_up(nbytes, 32)
        return out

    def tensor_data_size(self) -> int:
        """Bytes of the tensor data section (each tensor padded to 32)."""
        return sum(align_up(t.nbytes, 32) for t in self.layout())

    def write(self, path: str | os.PathLike) -> Path:
        return self._writer(path).write()


def write_synthetic_model(
    path: str | os.PathLike,
    shape: str | SynthShape = "tiny",
    fmt: str = "i2_s",
    arch: str | None = None,
    seed: int = 0,
    **overrides,
) -> Path:
    """Write a synthetic model GGUF to `path` and return the path. See `SyntheticModel` for the
    keyword arguments (embedding_type, tokenizer, scales, and `SynthShape` field overrides)."""
    return SyntheticModel(shape, fmt, arch, seed, **overrides).write(path)
