"""The strip above the chat (and the completion view): which model is loaded, on which kernel (and
why) or which engine, threads and head mode, and whether it is a base model; loading progress with
Cancel; Open and Unload."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..meters.display import format_bytes
from .engine_controller import ModelInfo


class ModelBar(QWidget):
    open_requested = Signal()
    unload_requested = Signal()
    cancel_load_requested = Signal()
    settings_requested = Signal()     # the conversation's settings (system prompt, sampling)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel("No model loaded", self)
        self.label.setObjectName("model_label")
        self.label.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(220)
        self.open_button = QPushButton("Open model…", self)
        self.unload_button = QPushButton("Unload", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.settings_button = QPushButton("Chat settings…", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        for w in (self.progress, self.cancel_button, self.open_button, self.unload_button, self.settings_button):
            layout.addWidget(w)
        self.open_button.clicked.connect(self.open_requested)
        self.unload_button.clicked.connect(self.unload_requested)
        self.cancel_button.clicked.connect(self.cancel_load_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.show_unloaded()

    def show_loading(self, stage: str, fraction: float) -> None:
        self.label.setText(f"Loading: {stage}…")
        self.progress.setValue(int(fraction * 100))
        self.progress.show()
        self.cancel_button.show()
        self.unload_button.hide()
        self.open_button.setEnabled(False)

    def show_loaded(self, info: ModelInfo) -> None:
        threads = f"{info.threads} thread{'s' if info.threads != 1 else ''}"
        if info.engine == "bitnet":
            runs_on = f"kernel <b>{info.kernel}</b> ({info.kernel_why}) · {threads} · {info.head} head"
        else:
            runs_on = f"engine <b>{_escape(info.engine)}</b> · {threads}"
        kind = " · <b>base model: text completion</b>" if info.base_model else ""
        self.label.setText(f"<b>{_escape(info.name)}</b>{kind} · {runs_on} · "
                           f"context {info.context_size:,} · ~{format_bytes(info.memory_bytes)}")
        self.label.setToolTip(
            f"{info.path}\n{info.arch}, {info.layers} layers, chat format {info.chat_format}\n"
            + ("A base model: it has no chat template, so it continues the text you write.\n"
               if info.base_model else "")
            + (f"kernel {info.kernel}: {info.kernel_why}\n" if info.engine == "bitnet" else f"run by {info.engine}\n")
            + f"loaded in {info.load_seconds:.2f} s")
        self._idle()
        self.unload_button.show()

    def show_unloaded(self, message: str | None = None) -> None:
        self.label.setText(_escape(message) if message else "No model loaded")
        self.label.setToolTip("")
        self._idle()
        self.unload_button.hide()

    def _idle(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self.open_button.setEnabled(True)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
