"""Which engine a GGUF file belongs to: ours (a ternary BitNet model) or llama.cpp's (an ordinary one).

Ours: the BitNet architectures (`bitnet-b1.58`, `bitnet-25`, `bitnet`), and arch `llama` when its
projections are stored ternary (I2_S, TQ1_0, TQ2_0, or bitnet.cpp's TL1 / TL2, which we refuse with
a message saying how to get an I2_S file): that is how bitnet.cpp's converter writes Falcon3,
Falcon-E and Llama3-8B-1.58 (docs/architectures.md). Any other file, a `llama` one with F16 or
k-quant projections included, is an ordinary model. The stored type decides, not the values: an
F16 file of ternary values is converted by llama.cpp's tools as any F16 model would be.
"""
from __future__ import annotations

from ..errors import ModelFormatError

BITNET_ARCHS = ("bitnet-b1.58", "bitnet-25", "bitnet")
LLAMA_ARCH = "llama"
TERNARY_TYPES = ("I2_S", "TQ1_0", "TQ2_0", "TL1", "TL2")
PROBE_TENSOR = "blk.0.attn_q.weight"


class OrdinaryModelError(ModelFormatError):
    """The file is an ordinary (not ternary) model: the llama.cpp engine runs it, not ours."""


def is_ternary_model(g) -> bool:
    """True when the BitNet engine runs this opened GGUF file (see the module docstring)."""
    arch = g.metadata.get("general.architecture")
    if arch in BITNET_ARCHS:
        return True
    if arch == LLAMA_ARCH:
        probe = g.tensors.get(PROBE_TENSOR)
        return probe is not None and probe.type.name in TERNARY_TYPES
    return False
