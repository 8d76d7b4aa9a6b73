"""How much memory a model will need before it is loaded, and the refusal when it cannot fit.

Counted: the weights the forward pass reads (memory-mapped pages become resident as they are
touched; conversions at load are new allocations), the F16 KV cache at the chosen context, the
scratch buffers, and in fast mode the int8 copy of the head. Unless the head streams it (exact
mode, tied), an F16, Q8_0 or Q6_K embedding is only read from the file row by row for the tokens
seen, so it is not counted; other types (BF16, F32) keep their F16 copy. A head table the exact
head reads counts as F16 (vocab*d*2 bytes) whatever its type: mapped F16, or the F16 decode the
native model makes of a Q8_0 / Q6_K table (whose mapped pages are then given back), or a copy
converted at load. The fast head's int8 copy is built from the mapped F16 / Q8_0 / Q6_K table
directly; only an untied output of another type (BF16, F32) is first converted to an F16 copy
that lives while loading: `load_copy`, which the refusal adds to the total.
"""
from __future__ import annotations

from dataclasses import dataclass

import psutil

from ..errors import BitNetError
from ..gguf import GGUFFile
from .native_model import TABLE_TYPES


class InsufficientMemoryError(BitNetError):
    """The model would not fit in the memory available now."""


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int      # bytes of weights the forward pass reads
    kv_cache: int
    scratch: int
    fast_head: int    # int8 head copy (fast mode), else 0
    load_copy: int = 0  # F16 copies freed at the end of loading (see the module docstring)

    @property
    def total(self) -> int:
        """Bytes held once the model is loaded."""
        return self.weights + self.kv_cache + self.scratch + self.fast_head

    @property
    def peak(self) -> int:
        """Bytes held at the end of loading, before a converted output's F16 copy is freed."""
        return self.total + self.load_copy


def embedding_rows_from_file(g: GGUFFile, head: str) -> bool:
    """Whether the loaded model reads embedding rows from the file rather than from memory: yes
    unless the exact head streams a tied table, or the table is converted (BF16, F32)."""
    tied_head = "output.weight" not in g.tensors
    return not (head == "f16" and tied_head) and g.tensors["token_embd.weight"].type.name in TABLE_TYPES


def weight_bytes_read(g: GGUFFile, head: str) -> int:
    """Bytes of tensors the forward pass touches (I2_S size for ternary tensors in any format)."""
    total = 0
    for name, info in g.tensors.items():
        if name == "token_embd.weight":
            if not embedding_rows_from_file(g, head):
                total += 2 * info.n_elements
            continue
        if name == "output.weight" and head == "i8":
            continue  # built the int8 head, then its pages are given back or its copy freed
        if name.startswith("blk.") and len(info.ne) == 2:
            total += info.n_elements // 4 + 32
        elif name == "output.weight":
            total += 2 * info.n_elements
        else:
            total += 4 * info.n_elements
    return total


def copies_at_load(g: GGUFFile, head: str) -> int:
    """Bytes of F16 copies that live only while loading: in fast mode, the converted copy of an
    untied output the native model cannot take as stored (BF16, F32)."""
    output = g.tensors.get("output.weight")
    if output is not None and head == "i8" and output.type.name not in TABLE_TYPES:
        return 2 * output.n_elements
    return 0


def check_fits(estimate: MemoryEstimate, path: str, available: int | None = None) -> None:
    available = psutil.virtual_memory().available if available is None else available
    if estimate.peak > available:
        mib = 1 << 20
        loading = f", while loading {estimate.load_copy / mib:,.0f} more" if estimate.load_copy else ""
        raise InsufficientMemoryError(
            f"{path} needs about {estimate.peak / mib:,.0f} MiB (weights {estimate.weights / mib:,.0f}, "
            f"KV cache {estimate.kv_cache / mib:,.0f}, scratch {estimate.scratch / mib:,.0f}, "
            f"fast head {estimate.fast_head / mib:,.0f}{loading}) but only {available / mib:,.0f} MiB are available: "
            "close other programs, choose a smaller context length, or use the exact head mode")
