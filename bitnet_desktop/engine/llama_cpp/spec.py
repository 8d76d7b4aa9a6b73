"""The facts of a model llama.cpp has loaded, under ModelSpec's names and meanings (the ones callers
read: arch, name, n_layers, d_model, n_heads, n_kv_heads, vocab_size, context_length).

BitNet-only fields (activation, d_ffn, rope_theta, ...) have no single meaning across the
architectures llama.cpp runs and are left out; llama.cpp's own summary of the file is kept instead.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class LlamaCppModelSpec:
    arch: str
    name: str
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    context_length: int   # the context the model was trained for
    n_params: int
    description: str      # llama.cpp's summary, e.g. "llama 8B Q4_K - Medium"


def metadata_text(lib: ModuleType, model, key: str) -> str:
    """A metadata value of the loaded model as text ("" when the file has no such key)."""
    buf = ctypes.create_string_buffer(256)
    n = lib.llama_model_meta_val_str(model, key.encode(), buf, len(buf))
    if n < 0:
        return ""
    if n >= len(buf):
        buf = ctypes.create_string_buffer(n + 1)
        lib.llama_model_meta_val_str(model, key.encode(), buf, len(buf))
    return buf.value.decode("utf-8", "replace")


def read_llama_cpp_spec(lib: ModuleType, model) -> LlamaCppModelSpec:
    description = ctypes.create_string_buffer(256)
    lib.llama_model_desc(model, description, len(description))
    return LlamaCppModelSpec(
        arch=metadata_text(lib, model, "general.architecture"),
        name=metadata_text(lib, model, "general.name"),
        n_layers=int(lib.llama_model_n_layer(model)),
        d_model=int(lib.llama_model_n_embd(model)),
        n_heads=int(lib.llama_model_n_head(model)),
        n_kv_heads=int(lib.llama_model_n_head_kv(model)),
        vocab_size=int(lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))),
        context_length=int(lib.llama_model_n_ctx_train(model)),
        n_params=int(lib.llama_model_n_params(model)),
        description=description.value.decode("utf-8", "replace"),
    )
