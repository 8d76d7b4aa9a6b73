"""How much memory a model will need before it is loaded, and the refusal when it cannot fit.

Counted: the weights the forward pass reads (memory-mapped pages become resident as they are
touched; conversions at load are new allocations), the F16 KV cache at the chosen context, the
scratch buffers, and in fast mode the int8 copy of the head. In fast mode the f16 embedding is
only read row by row for the tokens seen, so it is not counted.
"""
from __future__ import annotations

from dataclasses import dataclass

import psutil

from ..errors import BitNetError
from ..gguf import GGUFFile


class InsufficientMemoryError(BitNetError):
    """The model would not fit in the memory available now."""


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int      # bytes of weights the forward pass reads
    kv_cache: int
    scratch: int
    fast_head: int    # int8 head copy (fast mode), else 0

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.scratch + self.fast_head


def weight_bytes_read(g: GGUFFile, head: str) -> int:
    """Bytes of tensors the forward pass touches (I2_S size for ternary tensors in any format)."""
    total = 0
    for name, info in g.tensors.items():
        if name == "token_embd.weight":
            tied_head = "output.weight" not in g.tensors
            if head == "f16" and tied_head:
                total += 2 * info.n_elements
            continue
        if name == "output.weight" and head == "i8":
            continue
        if name.startswith("blk.") and len(info.ne) == 2:
            total += info.n_elements // 4 + 32
        elif name == "output.weight":
            total += 2 * info.n_elements
        else:
            total += 4 * info.n_elements
    return total


def check_fits(estimate: MemoryEstimate, path: str, available: int | None = None) -> None:
    available = psutil.virtual_memory().available if available is None else available
    if estimate.total > available:
        mib = 1 << 20
        raise InsufficientMemoryError(
            f"{path} needs about {estimate.total / mib:,.0f} MiB (weights {estimate.weights / mib:,.0f}, "
            f"KV cache {estimate.kv_cache / mib:,.0f}, scratch {estimate.scratch / mib:,.0f}, "
            f"fast head {estimate.fast_head / mib:,.0f}) but only {available / mib:,.0f} MiB are available: "
            "close other programs, choose a smaller context length, or use the exact head mode")
