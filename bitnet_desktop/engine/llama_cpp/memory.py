"""How much memory an ordinary GGUF model will need under llama.cpp, known before it is loaded, and
the refusal when it cannot fit (runtime.memory's MemoryEstimate and InsufficientMemoryError, with
the same meanings).

Counted from the file's tensor table and metadata:
* weights: every tensor's bytes. llama.cpp maps the file and reads all of it while loading, so even
  a token embedding of which only the rows of the tokens seen are used later is resident then;
* kv_cache: llama.cpp's F16 K and V for every layer at the chosen context, from the keys it reads
  (`{arch}.block_count`, `.attention.head_count_kv` (a number or one per layer), `.key_length` and
  `.value_length`, by default the embedding width / head count). Architectures that keep another
  kind of state (recurrent ones) are counted the same way, as an upper bound;
* scratch: llama.cpp's compute buffer for a chunk of max_batch tokens, counted as the chunk's
  logits plus its largest activations (2 x FFN width + 4 x model width per token), and its output
  buffer when every position's logits are asked for (perplexity), a chunk's logits again.
  Conservative: llama.cpp reported 16.1 MiB of compute buffer where this counts 18.1 (Q8_0 llama,
  width 512, FFN 1536, vocabulary 32,000, chunks of 128).
"""
from __future__ import annotations

from typing import Any

import psutil

from ..gguf import GGUFFile
from ..runtime.memory import InsufficientMemoryError, MemoryEstimate

F16_BYTES = 2
F32_BYTES = 4


def _per_layer(value: Any, n_layers: int, default: int) -> list[int]:
    """A hyperparameter given as one number or one per layer (e.g. head_count_kv), as a list."""
    if isinstance(value, (list, tuple)) and len(value) == n_layers and all(isinstance(v, int) for v in value):
        return [int(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return [int(value)] * n_layers
    return [default] * n_layers


def _number(meta, key: str, default: int = 0) -> int:
    value = meta.get(key)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
        return max(int(v) for v in value)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def estimate_memory(g: GGUFFile, context: int, max_batch: int) -> MemoryEstimate:
    meta = g.metadata
    arch = meta.get("general.architecture")
    p = f"{arch}."
    n_layers = _number(meta, p + "block_count")
    n_embd = _number(meta, p + "embedding_length")
    n_ff = _number(meta, p + "feed_forward_length")
    n_head = _number(meta, p + "attention.head_count", 1)
    head_dim = n_embd // n_head
    key_length = _number(meta, p + "attention.key_length", head_dim)
    value_length = _number(meta, p + "attention.value_length", head_dim)
    kv_heads = _per_layer(meta.get(p + "attention.head_count_kv"), n_layers, n_head)
    kv_cache = context * sum(kv_heads) * (key_length + value_length) * F16_BYTES

    embedding = g.tensors.get("token_embd.weight")
    weights = sum(t.nbytes for t in g.tensors.values())
    n_vocab = embedding.shape[0] if embedding is not None and len(embedding.shape) == 2 else 0
    compute = max_batch * F32_BYTES * (n_vocab + 2 * n_ff + 4 * n_embd)
    scratch = compute + max_batch * F32_BYTES * n_vocab
    return MemoryEstimate(weights=weights, kv_cache=kv_cache, scratch=scratch, fast_head=0)


def check_fits(estimate: MemoryEstimate, path: str, available: int | None = None) -> None:
    available = psutil.virtual_memory().available if available is None else available
    if estimate.peak > available:
        mib = 1 << 20
        raise InsufficientMemoryError(
            f"{path} needs about {estimate.peak / mib:,.0f} MiB under llama.cpp (weights "
            f"{estimate.weights / mib:,.0f}, KV cache {estimate.kv_cache / mib:,.0f}, scratch "
            f"{estimate.scratch / mib:,.0f}) but only {available / mib:,.0f} MiB are available: close other "
            "programs, choose a smaller context length, or a more strongly quantized file of the model")
