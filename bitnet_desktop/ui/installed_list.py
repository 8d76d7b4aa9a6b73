"""The models on this computer, in the Models panel: name, format, architecture, size, where each lives and
when it was last used, with Load, Delete, Reveal in the file manager, Set as default, Import a local GGUF,
the disk they use; and the model files opened without importing them (Open model file…, recent files).
It shows what the panel hands it and says what the person asked for through signals."""
from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..hub.installed import InstalledModel
from ..meters.display import format_bytes

COLUMNS = ["Model", "Format", "Architecture", "Size", "Where it lives", "Last used"]
NAME_ROLE = Qt.ItemDataRole.UserRole


def _when(seconds: float | None) -> str:
    return "never" if seconds is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


class InstalledList(QWidget):
    load_requested = Signal(str)        # the model's file
    delete_requested = Signal(str)      # the model's name
    reveal_requested = Signal(str)
    default_requested = Signal(str)
    import_requested = Signal()
    open_file_requested = Signal()
    recent_chosen = Signal(str)         # a file opened before

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._models: dict[str, InstalledModel] = {}
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("installed_models")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.empty = QLabel("No models installed yet: download one from the Catalog, or import a GGUF file.", self)
        self.empty.setWordWrap(True)
        self.load_button = QPushButton("Load", self)
        self.delete_button = QPushButton("Delete…", self)
        self.reveal_button = QPushButton("Reveal in file manager", self)
        self.default_button = QPushButton("Set as default", self)
        self.import_button = QPushButton("Import a local GGUF…", self)
        self.total = QLabel(self)
        self.total.setObjectName("installed_total")
        self.total.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.total.setWordWrap(True)
        buttons = QHBoxLayout()
        for b in (self.load_button, self.delete_button, self.reveal_button, self.default_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)

        self.open_button = QPushButton("Open model file…", self)
        self.recent = QListWidget(self)
        self.recent.setObjectName("recent_models")
        opened = QHBoxLayout()
        opened_text = QLabel("<b>Files opened before</b> (loaded where they are, not imported): double-click one "
                             "to load it.", self)
        opened_text.setWordWrap(True)
        opened.addWidget(opened_text, 1)
        opened.addWidget(self.open_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.empty)
        layout.addLayout(buttons)
        layout.addWidget(self.total)
        layout.addLayout(opened)
        layout.addWidget(self.recent, 1)

        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self._emit_selected(self._load))
        self.load_button.clicked.connect(lambda: self._emit_selected(self._load))
        self.delete_button.clicked.connect(lambda: self._emit_selected(self.delete_requested.emit))
        self.reveal_button.clicked.connect(lambda: self._emit_selected(self.reveal_requested.emit))
        self.default_button.clicked.connect(lambda: self._emit_selected(self.default_requested.emit))
        self.import_button.clicked.connect(self.import_requested)
        self.open_button.clicked.connect(self.open_file_requested)
        self.recent.itemActivated.connect(lambda item: self.recent_chosen.emit(item.data(NAME_ROLE)))
        self._update_buttons()

    # ---- what the panel shows

    def show_models(self, models: list[InstalledModel], default: str | None, loaded_path: str | None,
                    total_bytes: int, partial_bytes: int, root: Path) -> None:
        selected = self.selected_name()
        loaded = _resolved(loaded_path) if loaded_path else None
        self._models = {m.name: m for m in models}
        self.table.setRowCount(len(models))
        for row, m in enumerate(models):
            marks = []
            if m.name == default:
                marks.append("default")
            if loaded is not None and _resolved(str(m.path)) == loaded:
                marks.append("loaded")
            if m.missing:
                marks.append("file missing")
            name = m.name + (f"  ({', '.join(marks)})" if marks else "")
            where = str(m.path) + (f" → {m.original_path}" if m.is_link and m.original_path else "")
            tip = (f"{m.repo} at commit {(m.commit or '')[:12]}" if m.repo else f"imported ({m.how})") + \
                (f"\nsha256 {m.sha256}" if m.sha256 else "")
            cells = [name, m.format, m.architecture, format_bytes(m.size), where, _when(m.last_used)]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(NAME_ROLE, m.name)
                item.setToolTip(tip if column == 0 else text)
                self.table.setItem(row, column, item)
            if m.name == selected:
                self.table.selectRow(row)
        self.table.setVisible(bool(models))
        self.empty.setVisible(not models)
        extra = f" (+{format_bytes(partial_bytes)} of unfinished downloads)" if partial_bytes else ""
        self.total.setText(f"{len(models)} model{'s' if len(models) != 1 else ''}, "
                           f"{format_bytes(total_bytes)} on disk in {root}{extra}")
        self._update_buttons()

    def show_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            missing = not os.path.exists(path)
            item = QListWidgetItem(f"{os.path.basename(path)}{'  (missing)' if missing else ''}\n{path}")
            item.setData(NAME_ROLE, path)
            if missing:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.recent.addItem(item)

    def selected_name(self) -> str | None:
        items = self.table.selectedItems()
        return items[0].data(NAME_ROLE) if items else None

    def select(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(NAME_ROLE) == name:
                self.table.selectRow(row)
                return

    # ---- helpers

    def _load(self, name: str) -> None:
        model = self._models.get(name)
        if model is not None and not model.missing:
            self.load_requested.emit(str(model.path))

    def _emit_selected(self, emit) -> None:
        name = self.selected_name()
        if name is not None:
            emit(name)

    def _update_buttons(self) -> None:
        model = self._models.get(self.selected_name() or "")
        for b in (self.delete_button, self.reveal_button):
            b.setEnabled(model is not None)
        self.load_button.setEnabled(model is not None and not model.missing)
        self.default_button.setEnabled(model is not None and not model.missing)


def _resolved(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return path
