"""The one entry point that opens any model file the app can run, choosing the engine from the file.

Callers (the CLI, the window's engine thread) load through `load_model` rather than a particular
engine class, so that every kind of file the app supports goes through the same call with the
same progress and cancel arguments.
"""
from __future__ import annotations

import threading

from .model import BitNetModel, LoadOptions, LoadProgress


def load_model(path, options: LoadOptions = LoadOptions(), progress: LoadProgress | None = None,
               cancel: threading.Event | None = None) -> BitNetModel:
    """The model in `path`, loaded by the engine that runs it."""
    return BitNetModel.load(path, options, progress=progress, cancel=cancel)
