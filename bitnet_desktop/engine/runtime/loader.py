"""The one entry point that opens any model file the app can run, choosing the engine from the file.

Callers (the CLI, the window's engine thread) load through `load_model` rather than a particular
engine class, so that every kind of file the app supports goes through the same call with the
same progress and cancel arguments.

A BitNet file always runs on our engine: arch `bitnet-b1.58`, `bitnet-25` or `bitnet`, or arch
`llama` with ternary projections (I2_S, TQ1_0, TQ2_0; bitnet.cpp's TL1 / TL2 go to our engine too,
which says how to get an I2_S file), as bitnet.cpp's converter writes Falcon3, Falcon-E and
Llama3-8B-1.58. Any other GGUF (F16, Q8_0, k-quants ... of any architecture) is an ordinary model
and runs on llama.cpp (engine.llama_cpp), which needs the optional llama-cpp-python.
"""
from __future__ import annotations

import threading

from ..gguf import open_gguf
from ..llama_cpp import LlamaCppModel
from .model import BitNetModel, LoadOptions, LoadProgress

BITNET_ARCHS = ("bitnet-b1.58", "bitnet-25", "bitnet")
TERNARY_TYPES = ("I2_S", "TQ1_0", "TQ2_0", "TL1", "TL2")
PROJECTIONS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def runs_on_bitnet_engine(g) -> bool:
    """True when our engine runs this opened GGUF file (see the module docstring)."""
    arch = g.metadata.get("general.architecture")
    if arch in BITNET_ARCHS:
        return True
    if arch != "llama":
        return False
    return any(info.type.name in TERNARY_TYPES for name, info in g.tensors.items()
               if name.startswith("blk.") and name.rsplit(".", 2)[-2] in PROJECTIONS)


def load_model(path, options: LoadOptions = LoadOptions(), progress: LoadProgress | None = None,
               cancel: threading.Event | None = None):
    """The model in `path`, loaded by the engine that runs it: a BitNetModel, or a LlamaCppModel
    (the same interface; `engine_name` "llama.cpp") for an ordinary GGUF."""
    with open_gguf(path) as g:
        ours = runs_on_bitnet_engine(g)
    if ours:
        return BitNetModel.load(path, options, progress=progress, cancel=cancel)
    return LlamaCppModel.load(path, options, progress=progress, cancel=cancel)
