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

from ..chats.completion import max_context
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
    head: str            # "fast" | "exact" (ours); another engine's own word (llama.cpp: "file")
    context_size: int
    memory_bytes: int    # the loader's estimate of what the loaded model holds
    allocated_bytes: int  # what the native model allocated (KV cache, scratch, head copy)
    load_seconds: float
    chat_format: str     # the chat format's name; "none" for a base model
    engine: str = "bitnet"   # which engine runs it: ours, or another behind the same interface (llama.cpp)
    base_model: bool = False  # no chat format: the window opens it in the text-completion view


HEAD_NAMES = {"i8": "fast", "f16": "exact"}   # our engine's head modes as the settings name them


def kernel_reason(requested: str | None, chosen: str) -> str:
    if requested and requested != "auto":
        return "chosen in the settings"
    if os.environ.get(KERNEL_ENV_VAR, "").strip():
        return f"${KERNEL_ENV_VAR}"
    return "best for this CPU"


def describe(model: BitNetModel, options: LoadOptions) -> ModelInfo:
    """The summary of a loaded model, read on the engine thread. Only what every engine's model
    offers is required (path, spec, chat_format, memory, load_seconds, and the context size of
    `native.max_context`); the kernel context, head mode and native allocation are ours and are
    read when present, so a model run by another engine (its `engine_name`) is described too."""
    engine = getattr(model, "engine_name", "bitnet")
    spec, ctx, native = model.spec, getattr(model, "ctx", None), getattr(model, "native", None)
    kernel = getattr(ctx, "kernel", None)
    chat_format = model.chat_format
    return ModelInfo(
        path=str(model.path), name=getattr(spec, "name", None) or os.path.basename(str(model.path)),
        arch=getattr(spec, "arch", "?"), layers=getattr(spec, "n_layers", 0),
        kernel=kernel or engine,
        kernel_why=kernel_reason(options.kernel, kernel) if engine == "bitnet" and kernel else f"run by {engine}",
        threads=getattr(ctx, "threads", None) or options.threads or 0,
        head=HEAD_NAMES.get(getattr(model, "head", None), getattr(model, "head", None) or "n/a"),
        context_size=max_context(model), memory_bytes=model.memory.total,
        allocated_bytes=getattr(native, "allocated_bytes", 0), load_seconds=model.load_seconds,
        chat_format="none" if chat_format is None else getattr(chat_format, "name", type(chat_format).__name__),
        engine=engine, base_model=bool(getattr(model, "is_base_model", chat_format is None)))


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
