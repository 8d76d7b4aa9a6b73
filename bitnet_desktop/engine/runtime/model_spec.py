"""The hyperparameters of a BitNet GGUF file, read and checked from its metadata
(docs/file-formats.md#metadata-keys-the-engine-reads).

Which graph runs (docs/architectures.md):
* `bitnet-b1.58` and its older name `bitnet-25`: BitNet-b1.58-2B-4T's graph (ReLU² gate, sub-norms,
  NeoX RoPE, docs/architectures.md#the-bitnet-b158-graph);
* `bitnet`: the 1bitLLM graph (SiLU gate, sub-norms, NeoX RoPE, docs/architectures.md#the-bitnet-graph-1bitllm);
* `llama` with ternary weights (Falcon3, Falcon-E, Llama3-8B-1.58 as bitnet.cpp's converter writes
  them): plain LLaMA, SiLU gate, no sub-norms, RoPE on adjacent pairs (llama.cpp's "normal" style)
  over Q/K rows the converter permuted.

The activation comes from the model's identity, never from the arch string alone: bitnet.cpp's
newest converter labels 1bitLLM checkpoints `bitnet-b1.58` too. Their SentencePiece vocabulary
(`tokenizer.ggml.model = llama`) and multi-head attention are 1bitLLM's (2B-4T has a Llama-3 BPE
vocabulary and grouped-query attention), so such a file runs the SiLU graph, with a logged
warning. A caller who knows better overrides the activation explicitly.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ModelFormatError, TokenizerMetadataError
from ..gguf.metadata_access import REQUIRED, MetadataAccess

ACTIVATION_BY_ARCH = {"bitnet-b1.58": "relu2", "bitnet-25": "relu2", "bitnet": "silu", "llama": "silu"}
ACTIVATIONS = ("relu2", "silu")
# The graph each arch runs besides its activation: RoPE pairing and whether sub-norms exist.
ROPE_STYLE_BY_ARCH = {"bitnet-b1.58": "neox", "bitnet-25": "neox", "bitnet": "neox", "llama": "normal"}
ARCHS_WITHOUT_SUB_NORMS = ("llama",)
RELU2_ARCHS = ("bitnet-b1.58", "bitnet-25")
SENTENCEPIECE = "llama"  # tokenizer.ggml.model of a SentencePiece vocabulary

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    arch: str
    name: str
    n_layers: int
    d_model: int
    d_ffn: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab_size: int
    context_length: int
    rope_theta: float
    rms_eps: float
    activation: str
    rope_style: str = "neox"   # "neox": pairs (i, i + hd/2); "normal": pairs (2i, 2i + 1), arch llama
    sub_norms: bool = True     # attn/ffn sub-norms (bitnet archs); arch llama has none

    @property
    def kv_width(self) -> int:
        return self.n_kv_heads * self.head_dim

    def kv_bytes_per_token(self) -> int:
        """F16 K and V for every layer (76,800 B for 2B-4T, docs/published-numbers.md#memory-of-the-official-file)."""
        return 2 * self.n_layers * self.kv_width * 2


# Largest value of any size hyperparameter (width, layers, heads, context, vocabulary): far above real
# models, and small enough that no product of a few of them comes near 64 bits.
MAX_SIZE = 1 << 24
# The native model's own limits (bitnet.h BN_MODEL_MAX_*), checked here so the error names the key.
MAX_LAYERS = 1024
MAX_WIDTH = 65536
MAX_HEAD_DIM = 1024
# The native config holds these as float32: a double beyond its range becomes inf or 0 there.
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_TINY = 1.1754943508222875e-38  # smallest normal float32
EMBEDDING = "token_embd.weight"


def read_model_spec(meta: Mapping[str, Any], path: str, vocab_rows: int,
                    activation: str | None = None) -> ModelSpec:
    """ModelSpec from GGUF metadata; `vocab_rows` is the token embedding's row count (0: no 2-D embedding).

    Every value is type- and range-checked as it is read (MetadataAccess): a bad one raises
    ModelMetadataError naming the file and the key."""
    m = MetadataAccess(meta, source=path)
    arch = m.string("general.architecture")
    if arch not in ACTIVATION_BY_ARCH:
        raise ModelFormatError(
            f"{path}: architecture {arch!r} is not a BitNet model this engine runs "
            f"(supported: {', '.join(ACTIVATION_BY_ARCH)}); ordinary GGUF models go to the llama.cpp engine"
        )
    if activation is not None and activation not in ACTIVATIONS:
        raise ModelFormatError(f"unknown activation override {activation!r}; known: {', '.join(ACTIVATIONS)}")
    p = f"{arch}."

    def size(key: str, default: int | None = None, maximum: int = MAX_SIZE) -> int:
        return m.integer(p + key, REQUIRED if default is None else default, minimum=1, maximum=maximum)

    d_model = size("embedding_length", maximum=MAX_WIDTH)
    n_heads = size("attention.head_count")
    n_kv_heads = size("attention.head_count_kv", n_heads)
    if d_model % n_heads:
        raise m.fail(p + "embedding_length", f"= {d_model} is not a multiple of '{p}attention.head_count' = {n_heads}")
    head_dim = d_model // n_heads
    if head_dim > MAX_HEAD_DIM:
        raise m.fail(p + "attention.head_count", f"= {n_heads} makes heads of {head_dim} values; at most "
                     f"{MAX_HEAD_DIM} are supported")
    if n_heads % n_kv_heads:
        raise m.fail(p + "attention.head_count",
                     f"= {n_heads} is not a multiple of '{p}attention.head_count_kv' = {n_kv_heads}")
    key_length = size("attention.key_length", head_dim, maximum=MAX_HEAD_DIM)
    if key_length != head_dim:
        raise m.fail(p + "attention.key_length", f"= {key_length} differs from embedding_length / head_count = "
                     f"{head_dim}; only heads that tile the embedding are supported")
    rope_dims = size("rope.dimension_count", head_dim)
    if rope_dims != head_dim:
        raise m.fail(p + "rope.dimension_count", f"= {rope_dims} differs from the head size {head_dim}")
    if head_dim % 2:
        raise ModelFormatError(f"{path}: head size {head_dim} is odd; RoPE needs pairs")
    _check_vocabulary(m, p, vocab_rows)
    if activation is None:
        activation = _activation_from_identity(m, arch, path, n_heads, n_kv_heads)
    return ModelSpec(
        arch=arch,
        name=m.string("general.name", ""),
        n_layers=size("block_count", maximum=MAX_LAYERS),
        d_model=d_model,
        d_ffn=size("feed_forward_length", maximum=MAX_WIDTH),
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        head_dim=head_dim,
        vocab_size=vocab_rows,
        context_length=size("context_length", 2048),
        rope_theta=m.number(p + "rope.freq_base", 10000.0, above=0.0, maximum=FLOAT32_MAX),
        rms_eps=m.number(p + "attention.layer_norm_rms_epsilon", 1e-5, above=FLOAT32_TINY, maximum=1.0),
        activation=activation,
        rope_style=ROPE_STYLE_BY_ARCH[arch],
        sub_norms=arch not in ARCHS_WITHOUT_SUB_NORMS,
    )


def _activation_from_identity(m: MetadataAccess, arch: str, path: str, n_heads: int, n_kv_heads: int) -> str:
    """The FFN activation of the model the file holds (see the module docstring)."""
    if arch not in RELU2_ARCHS:
        return ACTIVATION_BY_ARCH[arch]
    sentencepiece = m.using(TokenizerMetadataError).string("tokenizer.ggml.model", "") == SENTENCEPIECE
    if sentencepiece and n_kv_heads == n_heads:
        _log.warning("%s: arch %r, but a SentencePiece vocabulary and multi-head attention are a 1bitLLM "
                     "checkpoint's (bitnet.cpp's converter labels those %r too): running its SiLU graph, "
                     "not 2B-4T's ReLU² (override with the activation option)", path, arch, arch)
        return "silu"
    if sentencepiece:
        _log.warning("%s: arch %r with a SentencePiece vocabulary but grouped-query attention: neither "
                     "2B-4T nor a 1bitLLM checkpoint; running the ReLU² graph the arch names (override "
                     "with the activation option)", path, arch)
    return ACTIVATION_BY_ARCH[arch]


def _check_vocabulary(m: MetadataAccess, p: str, vocab_rows: int) -> None:
    """The embedding has one row per token: as many as `vocab_size` says and the tokenizer holds."""
    if vocab_rows < 1:
        raise ModelFormatError(f"{m.source}: the model has no 2-D tensor '{EMBEDDING}' (one row per token)")
    if vocab_rows > MAX_SIZE:
        raise ModelFormatError(f"{m.source}: tensor '{EMBEDDING}' has {vocab_rows} rows, more than {MAX_SIZE}")
    vocab = m.integer(p + "vocab_size", vocab_rows, minimum=1, maximum=MAX_SIZE)
    if vocab != vocab_rows:
        raise m.fail(p + "vocab_size", f"= {vocab} differs from the {vocab_rows} rows of tensor '{EMBEDDING}'")
    # The tokenizer reads its own keys; only their number is checked here, where the embedding is known.
    tokenizer_keys = m.using(TokenizerMetadataError)
    tokens = tokenizer_keys.strings("tokenizer.ggml.tokens", None)
    if tokens is not None and len(tokens) != vocab_rows:
        raise tokenizer_keys.fail("tokenizer.ggml.tokens",
                                  f"holds {len(tokens)} tokens, but tensor '{EMBEDDING}' has {vocab_rows} rows")
