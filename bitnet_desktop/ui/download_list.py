"""The downloads under the Models panel's tables: one row per download with its progress (bytes, speed,
time left, and the downloader's state message such as "retrying…"), Pause / Resume / Cancel, and for a
failed one the reason with Retry (or "Enter token…" when the hub wants one). Hidden while empty. Rows are
redrawn when the DownloadManager says an item changed; this widget polls nothing."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QFrame, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from ..hub.errors import AuthenticationRequiredError
from ..hub.pull import LicenceNotAcceptedError
from ..meters.display import format_bytes
from .download_manager import DownloadItem, DownloadManager


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds + 0.5)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def describe(item: DownloadItem) -> str:
    """One line saying where the download stands."""
    p = item.progress
    if item.phase == "queued":
        return "waiting for the download before it"
    if item.phase == "resolving" and p is None:
        return "asking the hub for the file's size and checksum…"
    if item.phase == "installed":
        return f"installed as {item.model.name}, sha256 verified" if item.model else "installed"
    if item.phase == "cancelled":
        return "cancelled; the partial file was deleted"
    if item.phase == "failed":
        return str(item.error) or type(item.error).__name__
    if item.phase == "paused":
        return p.message if p is not None and p.message else "paused"
    if p is None:
        return "starting…"
    amount = format_bytes(p.done) + (f" of {format_bytes(p.total)}" if p.total else "")
    if p.state == "downloading":
        parts = [amount]
        if p.speed:
            parts.append(f"{format_bytes(int(p.speed))}/s")
        if p.eta is not None:
            parts.append(f"{_duration(p.eta)} left")
        return " · ".join(parts)
    if p.state == "retrying":
        return f"{amount} · retrying: {p.message}" if p.message else f"{amount} · retrying…"
    if p.state == "verifying":
        return f"checking the sha256… {amount}"
    if p.state == "done":
        return "verified; checking the model and installing it…"
    if p.state == "starting":
        return "connecting…"
    return f"{p.state}: {p.message}" if p.message else p.state


class DownloadRow(QFrame):
    def __init__(self, item: DownloadItem, manager: DownloadManager, owner: "DownloadList"):
        super().__init__(owner)
        self.item_id = item.id
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(self)
        self.state = QLabel(self)
        self.state.setObjectName("download_state")
        self.state.setWordWrap(True)
        self.state.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.pause_button = QPushButton("Pause", self)
        self.resume_button = QPushButton("Resume", self)
        self.token_button = QPushButton("Enter token…", self)
        self.licence_button = QPushButton("Licence…", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.dismiss_button = QPushButton("Dismiss", self)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.progress, 1)
        for button in (self.pause_button, self.resume_button, self.token_button, self.licence_button,
                       self.cancel_button, self.dismiss_button):
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.state)
        self.pause_button.clicked.connect(lambda: manager.pause(self.item_id))
        self.resume_button.clicked.connect(lambda: manager.resume(self.item_id))
        self.cancel_button.clicked.connect(lambda: manager.cancel(self.item_id))
        self.dismiss_button.clicked.connect(lambda: manager.dismiss(self.item_id))
        self.token_button.clicked.connect(lambda: owner.token_requested.emit(self.item_id))
        self.licence_button.clicked.connect(lambda: owner.licence_requested.emit(self.item_id))
        self.show_item(item)

    def show_item(self, item: DownloadItem) -> None:
        self.title.setText(f"<b>{escape(item.label)}</b>")
        self.state.setText(describe(item))
        self.state.setStyleSheet("color: #c92a2a;" if item.phase == "failed" else "")
        p = item.progress
        if item.phase == "installed":
            self.progress.setValue(1000)
        elif p is not None and p.total:
            self.progress.setValue(int(1000 * min(p.done, p.total) / p.total))
        elif item.phase == "cancelled":
            self.progress.setValue(0)
        self.progress.setFormat("%p%")
        running = item.active or item.phase == "queued"
        failed = item.phase == "failed"
        self.pause_button.setVisible(running)
        self.resume_button.setVisible(item.phase == "paused" or failed)
        self.resume_button.setText("Retry" if failed else "Resume")
        self.token_button.setVisible(failed and isinstance(item.error, AuthenticationRequiredError))
        self.licence_button.setVisible(failed and isinstance(item.error, LicenceNotAcceptedError))
        self.cancel_button.setVisible(running or item.phase == "paused" or failed)
        self.dismiss_button.setVisible(item.phase in ("installed", "cancelled"))


class DownloadList(QGroupBox):
    token_requested = Signal(str)      # item id: the hub wants a token for it
    licence_requested = Signal(str)    # item id: its licence must be accepted first

    def __init__(self, manager: DownloadManager, parent: QWidget | None = None):
        super().__init__("Downloads", parent)
        self.manager = manager
        self.rows: dict[str, DownloadRow] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        manager.item_added.connect(self._on_manager_item_added)
        manager.item_changed.connect(self._on_manager_item_changed)
        manager.item_removed.connect(self._on_manager_item_removed)
        self.setVisible(False)

    def row(self, item_id: str) -> DownloadRow:
        return self.rows[item_id]

    def _on_manager_item_added(self, item_id: str) -> None:
        row = DownloadRow(self.manager.item(item_id), self.manager, self)
        self.rows[item_id] = row
        self._layout.addWidget(row)
        self.setVisible(True)

    def _on_manager_item_changed(self, item_id: str) -> None:
        row = self.rows.get(item_id)
        if row is not None:
            row.show_item(self.manager.item(item_id))

    def _on_manager_item_removed(self, item_id: str) -> None:
        row = self.rows.pop(item_id, None)
        if row is not None:
            self._layout.removeWidget(row)
            row.deleteLater()
        self.setVisible(bool(self.rows))
