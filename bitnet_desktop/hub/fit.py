"""Will a model fit in memory at a chosen context, before anything is downloaded or loaded? No Qt.

The need is the engine's own estimate (engine/runtime/memory.py: the weights the forward pass reads,
the F16 KV cache at the context, the scratch buffers, the int8 head copy in fast mode), computed from
whichever facts are at hand, best first:

* "file": the GGUF itself (an installed model): exactly what the load checks (BitNetModel's
  estimate, or the llama.cpp engine's for an ordinary GGUF);
* "catalog shape": the layer sizes the catalog records (docs/architectures.md#2b-4t-hyperparameters for 2B-4T), assuming
  the embedding is stored as the catalog says (F16);
* "file size": nothing but the download size (a model whose shape no checked source gives): the
  weights are about the file, plus a margin for the cache and scratch. Labelled as a rough estimate.

"Fits now" compares the peak with what psutil says is available at this moment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

from ..engine.runtime.memory import MemoryEstimate
from .catalog import CatalogEntry, ModelShape

HEADS = {"fast": "i8", "exact": "f16", "i8": "i8", "f16": "f16"}
DEFAULT_CONTEXT = 2048
SIZE_ONLY_MARGIN = 0.15      # file-size estimates: cache, scratch and head copy as a share of the file


@dataclass(frozen=True)
class MemoryNeed:
    total: int                       # bytes held once loaded (peak while loading: `peak`)
    peak: int
    context: int
    head: str                        # "fast" or "exact"
    source: str                      # "file", "catalog shape" or "file size"
    estimate: MemoryEstimate | None  # the engine's breakdown; None for a file-size estimate
    note: str = ""

    def to_dict(self) -> dict:
        breakdown = None
        if self.estimate is not None:
            e = self.estimate
            breakdown = {"weights": e.weights, "kv_cache": e.kv_cache, "scratch": e.scratch,
                         "fast_head": e.fast_head, "load_copy": e.load_copy}
        return {"total": self.total, "peak": self.peak, "context": self.context, "head": self.head,
                "source": self.source, "breakdown": breakdown, "note": self.note}


@dataclass(frozen=True)
class FitResult:
    need: MemoryNeed
    available: int
    fits: bool

    def summary(self) -> str:
        from ..meters.display import format_bytes

        verdict = "fits" if self.fits else "does not fit"
        rough = " (rough: from the file size)" if self.need.source == "file size" else ""
        return (f"needs about {format_bytes(self.need.peak)} at {self.need.context} tokens of context{rough}; "
                f"{format_bytes(self.available)} available now: {verdict}")


def _head(head: str) -> str:
    try:
        return HEADS[head]
    except KeyError:
        raise ValueError(f"unknown head mode {head!r}; use 'fast' or 'exact'") from None


def _threads(threads: int | None) -> int:
    from ..engine.native.kernels import default_threads

    return default_threads() if threads is None else threads


def memory_for_file(path: str | os.PathLike, context: int | None = None, head: str = "fast",
                    threads: int | None = None) -> MemoryNeed:
    """The estimate BitNetModel.load makes for this file (context None: what the load would choose)."""
    from ..engine.gguf import open_gguf
    from ..engine.runtime.memory import copies_at_load, weight_bytes_read
    from ..engine.runtime.model import DEFAULT_CONTEXT as LOAD_DEFAULT_CONTEXT
    from ..engine.runtime.model_spec import read_model_spec
    from ..engine.runtime.native_model import NativeModel, NativeModelConfig
    from ..engine.runtime.weights import native_table_types

    from ..engine.llama_cpp.memory import estimate_memory as llama_cpp_estimate
    from ..engine.runtime.model_kind import is_ternary_model
    from ..engine.runtime.native_model import DEFAULT_MAX_BATCH

    mode = _head(head)
    with open_gguf(path) as g:
        if not is_ternary_model(g):
            trained = g.metadata.get(f"{g.metadata.get('general.architecture')}.context_length")
            trained = trained if isinstance(trained, int) and not isinstance(trained, bool) and trained > 0 \
                else LOAD_DEFAULT_CONTEXT
            context = context or min(LOAD_DEFAULT_CONTEXT, trained)
            estimate = llama_cpp_estimate(g, context, DEFAULT_MAX_BATCH)
            return MemoryNeed(estimate.total, estimate.peak, context, _mode_name(mode), "file", estimate,
                              note="ordinary GGUF: llama.cpp's need (the head mode does not apply)")
        embd = g.tensors.get("token_embd.weight")
        vocab_rows = embd.shape[0] if embd is not None and len(embd.shape) == 2 else 0
        spec = read_model_spec(g.metadata, str(path), vocab_rows)
        context = context or min(LOAD_DEFAULT_CONTEXT, spec.context_length)
        token_embd_type, output_type = native_table_types(g)
        config = NativeModelConfig.from_spec(spec, context, head=mode, token_embd_type=token_embd_type,
                                             output_type=output_type)
        native = NativeModel.estimate_memory(config, _threads(threads))
        estimate = MemoryEstimate(weight_bytes_read(g, mode), native["kv"], native["scratch"], native["head"],
                                  copies_at_load(g, mode))
    return MemoryNeed(estimate.total, estimate.peak, context, _mode_name(mode), "file", estimate)


def memory_for_shape(shape: ModelShape, context: int, head: str = "fast", threads: int | None = None) -> MemoryNeed:
    """The same estimate from the catalog's shape facts (the file is not needed), following
    memory.weight_bytes_read's rules for an embedding stored as `shape.embedding_type`."""
    from ..engine.runtime.native_model import TABLE_TYPES, NativeModel, NativeModelConfig

    mode = _head(head)
    spec = shape.to_spec(context)
    table = shape.embedding_type if shape.embedding_type in TABLE_TYPES else "F16"
    config = NativeModelConfig.from_spec(spec, context, head=mode, token_embd_type=table,
                                         output_type=None if shape.tied else table)
    native = NativeModel.estimate_memory(config, _threads(threads))
    ternary = spec.n_layers * sum(m * k // 4 + 32 for m, k in config.ternary_shapes().values())
    norms = 4 * (spec.n_layers * sum(config.norm_lengths().values()) + spec.d_model)
    table_bytes = 2 * spec.vocab_size * spec.d_model
    embedding = 0
    if shape.embedding_type not in TABLE_TYPES or (mode == "f16" and shape.tied):
        embedding = table_bytes          # held in memory (converted copy, or streamed by the exact head)
    output = table_bytes if (not shape.tied and mode == "f16") else 0
    load_copy = table_bytes if (not shape.tied and mode == "i8" and shape.embedding_type not in TABLE_TYPES) else 0
    estimate = MemoryEstimate(ternary + norms + embedding + output, native["kv"], native["scratch"], native["head"],
                              load_copy)
    return MemoryNeed(estimate.total, estimate.peak, context, _mode_name(mode), "catalog shape", estimate)


def memory_from_file_size(size: int, context: int, head: str = "fast") -> MemoryNeed:
    """A rough need when only the file size is known: the file plus SIZE_ONLY_MARGIN."""
    _head(head)
    total = int(size * (1 + SIZE_ONLY_MARGIN))
    return MemoryNeed(total, total, context, _mode_name(_head(head)), "file size", None,
                      note="the model's shape is not known before download: estimated from the file size")


def memory_for_entry(entry: CatalogEntry, context: int | None = None, head: str = "fast",
                     threads: int | None = None) -> MemoryNeed | None:
    """Best estimate for a catalog entry: from its shape, else its size; None if neither is known.
    Context defaults to min(DEFAULT_CONTEXT, the entry's context length)."""
    if context is None:
        context = min(DEFAULT_CONTEXT, entry.context_length or DEFAULT_CONTEXT)
    if entry.shape is not None:
        return memory_for_shape(entry.shape, context, head, threads)
    if entry.size is not None:
        return memory_from_file_size(entry.size, context, head)
    return None


def check_fit(need: MemoryNeed, available: int | None = None) -> FitResult:
    """Whether the peak fits in the memory available now (or `available` bytes)."""
    available = psutil.virtual_memory().available if available is None else available
    return FitResult(need, available, need.peak <= available)


def _mode_name(mode: str) -> str:
    return "fast" if mode == "i8" else "exact"
