"""The one entry point that opens any model file the app can run, choosing the engine from the file.

Callers (the CLI, the window's engine thread) load through `load_model` rather than a particular
engine class, so that every kind of file the app supports goes through the same call with the
same progress and cancel arguments.

A BitNet file always runs on our engine (model_kind.is_ternary_model: the BitNet archs, and arch
`llama` with ternary projections, as bitnet.cpp's converter writes Falcon3, Falcon-E and
Llama3-8B-1.58). Any other GGUF (F16, Q8_0, k-quants ... of any architecture) is an ordinary model
and runs on llama.cpp (engine.llama_cpp), which needs the optional llama-cpp-python.
"""
from __future__ import annotations

import threading

from ..gguf import open_gguf
from ..llama_cpp import LlamaCppModel
from .model import BitNetModel, LoadOptions, LoadProgress
from .model_kind import is_ternary_model


def load_model(path, options: LoadOptions = LoadOptions(), progress: LoadProgress | None = None,
               cancel: threading.Event | None = None):
    """The model in `path`, loaded by the engine that runs it: a BitNetModel, or a LlamaCppModel
    (the same interface; `engine_name` "llama.cpp") for an ordinary GGUF."""
    with open_gguf(path) as g:
        ours = is_ternary_model(g)
    if ours:
        return BitNetModel.load(path, options, progress=progress, cancel=cancel)
    return LlamaCppModel.load(path, options, progress=progress, cancel=cancel)
