"""The loaded model, owned by the engine thread: load (with progress and cancel), unload, and the
requests that run on it. The UI thread only ever sees ModelInfo, a frozen summary made on the
engine thread, and receives results through signals emitted on the UI thread."""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from ..engine.native.kernels import KERNEL_ENV_VAR
from ..engine.runtime.loader import load_model
from ..engine.runtime.model import BitNetModel, LoadOptions
from .tasks import TaskManager


@dataclass(frozen=True)
class ModelInfo:
    path: str
    name: str
    arch: str
    layers: int
    kernel: str
    kernel_why: str
    threads: int
    head: str            # "fast" | "exact"
    context_size: int
    memory_bytes: int    # the loader's estimate of what the loaded model holds
    allocated_bytes: int  # what the native model allocated (KV cache, scratch, head copy)
    load_seconds: float
    chat_format: str


def kernel_reason(requested: str | None, chosen: str) -> str:
    if requested and requested != "auto":
        return "chosen in the settings"
    if os.environ.get(KERNEL_ENV_VAR, "").strip():
        return f"${KERNEL_ENV_VAR}"
    return "best for this CPU"


def describe(model: BitNetModel, options: LoadOptions) -> ModelInfo:
    return ModelInfo(
        path=str(model.path), name=model.spec.name or os.path.basename(str(model.path)), arch=model.spec.arch,
        layers=model.spec.n_layers, kernel=model.ctx.kernel, kernel_why=kernel_reason(options.kernel, model.ctx.kernel),
        threads=model.ctx.threads, head="fast" if model.head == "i8" else "exact",
        context_size=model.native.max_context, memory_bytes=model.memory.total,
        allocated_bytes=model.native.allocated_bytes, load_seconds=model.load_seconds,
        chat_format=getattr(model.chat_format, "name", type(model.chat_format).__name__))


class EngineController(QObject):
    load_progressed = Signal(str, float)   # stage, fraction
    model_loaded = Signal(object)          # ModelInfo
    model_load_failed = Signal(str)        # a message for the user (cancelled loads emit it too)
    model_unloaded = Signal()

    def __init__(self, tasks: TaskManager, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self._model: BitNetModel | None = None   # touched on the engine thread only
        self.info: ModelInfo | None = None       # UI thread's view of it
        self._load_cancel: threading.Event | None = None
        self.loading = False

    @property
    def model(self) -> BitNetModel | None:
        """For code running on the engine thread (sessions); the UI thread reads `info`."""
        return self._model

    def load(self, path: str, options: LoadOptions) -> Future:
        """Unloads the current model (after any queued request) and loads `path`."""
        cancel = threading.Event()
        self._load_cancel = cancel
        self.loading = True

        def progress(stage: str, fraction: float) -> None:
            self.tasks.run_on_main(lambda: self.load_progressed.emit(stage, fraction))

        def work() -> ModelInfo:
            self._close_model()
            model = load_model(path, options, progress=progress, cancel=cancel)
            self._model = model
            return describe(model, options)

        return self.tasks.run_on_engine(work, self._on_loaded, self._on_load_failed)

    def cancel_load(self) -> None:
        if self._load_cancel is not None:
            self._load_cancel.set()

    def unload(self) -> Future:
        self.info = None
        return self.tasks.run_on_engine(self._close_model, lambda _: self.model_unloaded.emit())

    def run(self, fn: Callable[[BitNetModel], Any], on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None) -> Future:
        """Runs fn(model) on the engine thread after what is queued there."""
        def work():
            if self._model is None:
                raise RuntimeError("no model is loaded")
            return fn(self._model)
        return self.tasks.run_on_engine(work, on_done, on_error)

    def shutdown(self) -> None:
        """Closes the model on the engine thread and waits for it (the app is quitting)."""
        self.cancel_load()
        self.tasks.run_on_engine(self._close_model).result(timeout=60)

    def _close_model(self) -> None:
        model, self._model = self._model, None
        if model is not None:
            model.close()

    def _on_loaded(self, info: ModelInfo) -> None:
        self.loading = False
        self.info = info
        self.model_loaded.emit(info)

    def _on_load_failed(self, error: BaseException) -> None:
        self.loading = False
        self.info = None
        self.model_load_failed.emit(load_error_message(error))


def load_error_message(error: BaseException) -> str:
    from ..engine.errors import ChatTemplateError
    from ..engine.runtime.model import LoadCancelledError

    if isinstance(error, LoadCancelledError):
        return "Loading was cancelled."
    if isinstance(error, ChatTemplateError):
        return f"This model cannot be used for chat: it has no usable chat format ({error})."
    if isinstance(error, FileNotFoundError):
        return f"The model file is missing: {error.filename or error}"
    if isinstance(error, OSError):
        return f"The model file could not be read: {error}"
    return str(error) or type(error).__name__
