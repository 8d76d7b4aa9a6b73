"""The hyperparameters of a BitNet GGUF file, read and checked from its metadata (BITNET_SPEC 2.2).

The FFN activation is chosen from the architecture, never guessed: `bitnet-b1.58` and its older
name `bitnet-25` are BitNet-b1.58-2B-4T's graph (ReLU² gate, BITNET_SPEC 1.3); `bitnet` is the
1bitLLM graph (SiLU gate, BITNET_SPEC 5.3). A caller who knows a file is mislabelled can override
it explicitly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ModelFormatError

ACTIVATION_BY_ARCH = {"bitnet-b1.58": "relu2", "bitnet-25": "relu2", "bitnet": "silu"}
ACTIVATIONS = ("relu2", "silu")


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

    @property
    def kv_width(self) -> int:
        return self.n_kv_heads * self.head_dim

    def kv_bytes_per_token(self) -> int:
        """F16 K and V for every layer (76,800 B for 2B-4T, BITNET_SPEC 6.4)."""
        return 2 * self.n_layers * self.kv_width * 2


def _int(meta: Mapping[str, Any], key: str, path: str, default: int | None = None) -> int:
    value = meta.get(key, default)
    if value is None:
        raise ModelFormatError(f"{path}: metadata key {key!r} is missing")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > 1 << 24:
        raise ModelFormatError(f"{path}: metadata {key!r} = {value!r} is not a sensible positive integer")
    return value


def _float(meta: Mapping[str, Any], key: str, path: str, default: float) -> float:
    value = meta.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ModelFormatError(f"{path}: metadata {key!r} = {value!r} is not a positive number")
    return float(value)


def read_model_spec(meta: Mapping[str, Any], path: str, vocab_rows: int,
                    activation: str | None = None) -> ModelSpec:
    """ModelSpec from GGUF metadata; `vocab_rows` is the token embedding's row count."""
    arch = meta.get("general.architecture")
    if not isinstance(arch, str):
        raise ModelFormatError(f"{path}: general.architecture is missing")
    if arch not in ACTIVATION_BY_ARCH:
        raise ModelFormatError(
            f"{path}: architecture {arch!r} is not a BitNet model this engine runs "
            f"(supported: {', '.join(ACTIVATION_BY_ARCH)}); ordinary GGUF models go to the llama.cpp engine"
        )
    if activation is not None and activation not in ACTIVATIONS:
        raise ModelFormatError(f"unknown activation override {activation!r}; known: {', '.join(ACTIVATIONS)}")
    p = f"{arch}."
    d_model = _int(meta, p + "embedding_length", path)
    n_heads = _int(meta, p + "attention.head_count", path)
    n_kv_heads = _int(meta, p + "attention.head_count_kv", path, n_heads)
    if d_model % n_heads:
        raise ModelFormatError(f"{path}: embedding_length {d_model} is not a multiple of head_count {n_heads}")
    head_dim = d_model // n_heads
    if n_heads % n_kv_heads:
        raise ModelFormatError(f"{path}: head_count {n_heads} is not a multiple of head_count_kv {n_kv_heads}")
    rope_dims = _int(meta, p + "rope.dimension_count", path, head_dim)
    if rope_dims != head_dim:
        raise ModelFormatError(f"{path}: rope.dimension_count {rope_dims} differs from the head size {head_dim}")
    if head_dim % 2:
        raise ModelFormatError(f"{path}: head size {head_dim} is odd; RoPE needs pairs")
    vocab = meta.get(p + "vocab_size", vocab_rows)
    if vocab != vocab_rows:
        raise ModelFormatError(f"{path}: vocab_size {vocab} differs from token_embd's {vocab_rows} rows")
    return ModelSpec(
        arch=arch,
        name=str(meta.get("general.name", "")),
        n_layers=_int(meta, p + "block_count", path),
        d_model=d_model,
        d_ffn=_int(meta, p + "feed_forward_length", path),
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        head_dim=head_dim,
        vocab_size=vocab_rows,
        context_length=_int(meta, p + "context_length", path, 2048),
        rope_theta=_float(meta, p + "rope.freq_base", path, 10000.0),
        rms_eps=_float(meta, p + "attention.layer_norm_rms_epsilon", path, 1e-5),
        activation=activation or ACTIVATION_BY_ARCH[arch],
    )
