"""The conversations sidebar: a "New chat" button, a search field, the list (pinned first, then by
last activity), a context menu and keys for rename / pin / delete / export, an undo strip after a
delete, and a "⋯" menu to export everything or import a JSON export.

Exports and imports run on the task pool; their results and errors come back through callbacks on
the UI thread. Store errors are reported through `error_occurred`, never raised.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QFrame, QHBoxLayout, QLabel, QLineEdit, QListView, QMenu,
    QPushButton, QToolButton, QVBoxLayout, QWidget,
)

from ..chats.errors import StoreError
from ..chats.export import export_json, export_markdown, import_json, read_export_file
from .conversation_list_model import ConversationListModel
from .tasks import TaskManager

SEARCH_DELAY_MS = 200
UNDO_TIMEOUT_MS = 10_000
_MARKDOWN_FILTER = "Markdown (*.md)"
_JSON_FILTER = "JSON (*.json)"


def file_name_for(title: str, suffix: str) -> str:
    """A file name suggested for exporting a conversation called `title`."""
    stem = re.sub(r'[\x00-\x1f<>:"/\\|?*]+', " ", title)
    stem = " ".join(stem.split()).strip(". ")[:60].rstrip(". ")
    return f"{stem or 'conversation'}{suffix}"


def _shortened(title: str, limit: int = 40) -> str:
    return title if len(title) <= limit else title[:limit - 1].rstrip() + "…"


class ConversationList(QWidget):
    conversation_selected = Signal(int)          # the user picked a conversation
    search_hit_activated = Signal(int, int)      # conversation id, message id
    new_requested = Signal()                     # "New chat" clicked
    error_occurred = Signal(str)                 # a message to show to the user
    conversation_deleted = Signal(int)           # the user deleted it (Undo may bring it back)
    conversation_renamed = Signal(int, str)      # conversation id, new title
    file_exported = Signal(str)                  # the path written
    conversations_imported = Signal(int)         # how many

    def __init__(self, store, tasks: TaskManager, parent: QWidget | None = None, *,
                 undo_timeout_ms: int = UNDO_TIMEOUT_MS):
        super().__init__(parent)
        self._store = store
        self._tasks = tasks
        self._current_id: int | None = None
        self._updating = False          # a programmatic change of the view's current row
        self._refresh_pending = False   # refresh() came while a title was being edited
        self._deleted = None            # the last DeletedConversation, while Undo is offered
        self._deleted_was_current = False

        self._model = ConversationListModel(store, self)
        self._model.renamed.connect(self._on_model_renamed)
        self._model.rename_failed.connect(self.error_occurred)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._on_search_timer_timeout)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.setInterval(undo_timeout_ms)
        self._undo_timer.timeout.connect(self._on_undo_timer_timeout)

        self._build_widgets()
        self._build_row_actions()
        self.refresh()

    # --- the window's API -------------------------------------------------------------------

    def refresh(self) -> None:
        """Reloads from the store, keeping the selection."""
        if self._view.state() == QAbstractItemView.State.EditingState:
            self._refresh_pending = True    # a reset would close the editor and lose the typing
            return
        self._refresh_pending = False
        current = self._view.currentIndex()
        hit = (current.data(ConversationListModel.IdRole),
               current.data(ConversationListModel.MessageIdRole)) if current.isValid() else None
        try:
            with self._programmatic():
                self._model.reload()
        except StoreError as error:
            self.error_occurred.emit(str(error))
            return
        self._after_reload(hit)

    def select(self, conversation_id: int | None) -> None:
        """Marks `conversation_id` as the one shown, without emitting conversation_selected."""
        self._current_id = conversation_id
        if self._model.query is None:
            self._select_row(self._model.row_of(conversation_id) if conversation_id is not None else None)

    def current_id(self) -> int | None:
        return self._current_id

    # --- building -----------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        new_button = QPushButton("New chat")
        new_button.setObjectName("newChatButton")
        new_button.clicked.connect(self._on_new_button_clicked)

        more_menu = QMenu(self)
        more_menu.addAction("Export all as Markdown…", lambda: self._export(None, "markdown"))
        more_menu.addAction("Export all as JSON…", lambda: self._export(None, "json"))
        more_menu.addSeparator()
        more_menu.addAction("Import JSON…", self._import)
        more_button = QToolButton()
        more_button.setObjectName("moreButton")
        more_button.setText("⋯")
        more_button.setToolTip("Export or import conversations")
        more_button.setAccessibleName("More")
        more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        more_button.setMenu(more_menu)

        self._search = QLineEdit()
        self._search.setObjectName("searchField")
        self._search.setPlaceholderText("Search chats")
        self._search.setClearButtonEnabled(True)
        self._search.textChanged.connect(self._on_search_text_changed)

        self._no_hits = QLabel()
        self._no_hits.setObjectName("noHitsLabel")
        self._no_hits.setTextFormat(Qt.TextFormat.PlainText)   # it quotes what the user typed
        self._no_hits.setWordWrap(True)
        self._no_hits.hide()

        self._view = QListView()
        self._view.setSpacing(3)  # rows of two lines (title, time) must not run together
        self._view.setObjectName("conversationView")
        self._view.setModel(self._model)
        self._view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)  # F2 is an action
        self._view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._view.setWordWrap(False)
        self._view.setUniformItemSizes(True)
        self._view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._view.customContextMenuRequested.connect(self._on_view_context_menu_requested)
        self._view.selectionModel().currentChanged.connect(self._on_view_current_changed)
        self._view.itemDelegate().closeEditor.connect(self._on_delegate_close_editor)

        # Esc leaves a search from the field, and from the hits (only then: it is free otherwise).
        self._leave_search_actions = []
        for widget in (self._search, self._view):
            leave = QAction(widget)
            leave.setShortcut(QKeySequence(Qt.Key.Key_Escape))
            leave.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            leave.setEnabled(False)
            leave.triggered.connect(self._search.clear)
            widget.addAction(leave)
            self._leave_search_actions.append(leave)

        self._undo_label = QLabel()
        self._undo_label.setObjectName("undoLabel")
        self._undo_label.setTextFormat(Qt.TextFormat.PlainText)
        undo_button = QPushButton("Undo")
        undo_button.setObjectName("undoButton")
        undo_button.clicked.connect(self._on_undo_button_clicked)
        self._undo_strip = QFrame()
        self._undo_strip.setObjectName("undoStrip")
        self._undo_strip.setFrameShape(QFrame.Shape.StyledPanel)
        strip_layout = QHBoxLayout(self._undo_strip)
        strip_layout.setContentsMargins(6, 2, 2, 2)
        strip_layout.addWidget(self._undo_label, 1)
        strip_layout.addWidget(undo_button)
        self._undo_strip.hide()

        top = QHBoxLayout()
        top.addWidget(new_button, 1)
        top.addWidget(more_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self._search)
        layout.addWidget(self._no_hits)
        layout.addWidget(self._view, 1)
        layout.addWidget(self._undo_strip)

    def _build_row_actions(self) -> None:
        """Actions on the current row: keys on the list, and the entries of its context menu."""
        def action(text: str, slot: Callable[[], None], key=None) -> QAction:
            result = QAction(text, self._view)
            if key is not None:
                result.setShortcut(QKeySequence(key))
                # Only while the list itself has focus: never while the title editor has it.
                result.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            result.triggered.connect(slot)
            self._view.addAction(result)
            return result

        self._rename_action = action("Rename", self._on_rename_triggered, Qt.Key.Key_F2)
        self._pin_action = action("Pin", self._on_pin_triggered)
        self._delete_action = action("Delete", self._on_delete_triggered, QKeySequence.StandardKey.Delete)
        self._export_markdown_action = action(
            "Export as Markdown…", lambda: self._export_current("markdown"))
        self._export_json_action = action("Export as JSON…", lambda: self._export_current("json"))

    def row_menu(self) -> QMenu | None:
        """The context menu of the current row (None without one)."""
        index = self._view.currentIndex()
        if not index.isValid():
            return None
        try:
            pinned = self._store.conversation(index.data(ConversationListModel.IdRole)).pinned
        except StoreError as error:
            self.error_occurred.emit(str(error))
            return None
        self._pin_action.setText("Unpin" if pinned else "Pin")
        menu = QMenu(self)
        menu.addActions([self._rename_action, self._pin_action, self._delete_action])
        menu.addSeparator()
        menu.addActions([self._export_markdown_action, self._export_json_action])
        return menu

    # --- selection and search -----------------------------------------------------------------

    @contextmanager
    def _programmatic(self) -> Iterator[None]:
        """Changes of the current row inside are not the user's: nothing is announced."""
        self._updating = True
        try:
            yield
        finally:
            self._updating = False

    def _select_row(self, row: int | None) -> None:
        with self._programmatic():
            if row is None:
                self._view.setCurrentIndex(QModelIndex())
                return
            index = self._model.index(row)
            self._view.setCurrentIndex(index)
            self._view.scrollTo(index)

    def _after_reload(self, hit: tuple[int, int | None] | None) -> None:
        searching = self._model.query is not None
        for action in self._leave_search_actions:
            action.setEnabled(searching)
        self._rename_action.setEnabled(not searching)   # a hit row shows a snippet, not the title
        self._no_hits.setVisible(searching and self._model.rowCount() == 0)
        if searching:
            self._no_hits.setText(f"No chats match “{_shortened(self._model.query)}”")
            rows = [r for r in range(self._model.rowCount())
                    if hit == (self._model.index(r).data(ConversationListModel.IdRole),
                               self._model.index(r).data(ConversationListModel.MessageIdRole))]
            self._select_row(rows[0] if rows else None)
        else:
            self.select(self._current_id)

    def _on_view_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._updating or not current.isValid():
            return
        conversation_id = current.data(ConversationListModel.IdRole)
        message_id = current.data(ConversationListModel.MessageIdRole)
        self._current_id = conversation_id
        if message_id is None:
            self.conversation_selected.emit(conversation_id)
        else:
            self.search_hit_activated.emit(conversation_id, message_id)

    def _on_search_text_changed(self, text: str) -> None:
        if text.strip():
            self._search_timer.start()      # restarts: one search once typing pauses
            return
        self._search_timer.stop()
        if self._model.query is not None:
            self._show(self._model.show_conversations)

    def _on_search_timer_timeout(self) -> None:
        text = self._search.text().strip()
        if text:
            self._show(lambda: self._model.show_search(text))

    def _show(self, load: Callable[[], None]) -> None:
        try:
            with self._programmatic():
                load()
        except StoreError as error:
            self.error_occurred.emit(str(error))
            return
        self._after_reload(None)

    def _on_new_button_clicked(self) -> None:
        self._search.clear()
        self.new_requested.emit()

    # --- rename, pin, delete, undo -----------------------------------------------------------

    def _current_conversation_id(self) -> int | None:
        index = self._view.currentIndex()
        return index.data(ConversationListModel.IdRole) if index.isValid() else None

    def _on_view_context_menu_requested(self, pos) -> None:
        # A right press has made the row under the pointer the current one.
        if not self._view.indexAt(pos).isValid():
            return
        menu = self.row_menu()
        if menu is not None:
            menu.exec(self._view.viewport().mapToGlobal(pos))
            menu.deleteLater()

    def _on_rename_triggered(self) -> None:
        index = self._view.currentIndex()
        if index.isValid() and index.flags() & Qt.ItemFlag.ItemIsEditable:
            self._view.edit(index)

    def _on_model_renamed(self, conversation_id: int, title: str) -> None:
        self._refresh_pending = True        # the store moved it up; reorder once the editor closes
        self.conversation_renamed.emit(conversation_id, title)

    def _on_delegate_close_editor(self, *_args) -> None:
        if self._refresh_pending:
            self.refresh()

    def _on_pin_triggered(self) -> None:
        conversation_id = self._current_conversation_id()
        if conversation_id is None:
            return
        try:
            pinned = self._store.conversation(conversation_id).pinned
            self._store.set_pinned(conversation_id, not pinned)
        except StoreError as error:
            self.error_occurred.emit(str(error))
            return
        self.refresh()

    def _on_delete_triggered(self) -> None:
        conversation_id = self._current_conversation_id()
        if conversation_id is None:
            return
        row = self._view.currentIndex().row()
        was_current = conversation_id == self._current_id
        try:
            deleted = self._store.delete_conversation(conversation_id)
        except StoreError as error:
            self.error_occurred.emit(str(error))
            return
        # An earlier deletion can no longer be undone: only the last one is offered.
        self._deleted, self._deleted_was_current = deleted, was_current
        self._undo_label.setText(f"Deleted “{_shortened(deleted.conversation.title)}” ·")
        self._undo_strip.show()
        self._undo_timer.start()
        if was_current:
            self._current_id = None
        self.conversation_deleted.emit(conversation_id)
        self.refresh()
        if was_current and self._model.query is None and self._model.rowCount():
            neighbour = self._model.index(min(row, self._model.rowCount() - 1))
            self._view.setCurrentIndex(neighbour)   # the user's choice, so it is announced

    def _on_undo_button_clicked(self) -> None:
        deleted, was_current = self._deleted, self._deleted_was_current
        self._hide_undo_strip()
        if deleted is None:
            return
        try:
            restored = self._store.restore_conversation(deleted)
        except StoreError as error:
            self.error_occurred.emit(str(error))
            return
        self.refresh()
        if was_current:
            self.select(restored.id)
            self.conversation_selected.emit(restored.id)

    def _on_undo_timer_timeout(self) -> None:
        self._hide_undo_strip()

    def _hide_undo_strip(self) -> None:
        self._undo_timer.stop()
        self._undo_strip.hide()
        self._deleted = None

    # --- export and import (on the task pool) ------------------------------------------------

    def _export_current(self, kind: str) -> None:
        conversation_id = self._current_conversation_id()
        if conversation_id is not None:
            self._export([conversation_id], kind)

    def _export(self, ids: list[int] | None, kind: str) -> None:
        """Asks where to save, then writes `ids` (None: every conversation) on the task pool."""
        suffix, file_filter = (".md", _MARKDOWN_FILTER) if kind == "markdown" else (".json", _JSON_FILTER)
        if ids is None:
            suggested = f"conversations{suffix}"
        else:
            try:
                suggested = file_name_for(self._store.conversation(ids[0]).title, suffix)
            except StoreError as error:
                self.error_occurred.emit(str(error))
                return
        caption = "Export as Markdown" if kind == "markdown" else "Export as JSON"
        path, _ = QFileDialog.getSaveFileName(self, caption, str(Path.home() / suggested), file_filter)
        if not path:
            return
        store = self._store

        def write() -> str:
            if kind == "markdown":
                text = export_markdown(store, ids)
            else:
                text = json.dumps(export_json(store, ids), ensure_ascii=False, indent=2) + "\n"
            Path(path).write_text(text, encoding="utf-8")
            return path

        self._tasks.run_in_background(write, self.file_exported.emit, self._on_task_failed)

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import conversations", str(Path.home()), f"{_JSON_FILTER};;All files (*)")
        if not path:
            return
        store = self._store

        self._tasks.run_in_background(lambda: import_json(store, read_export_file(path)),
                                      self._on_import_done, self._on_task_failed)

    def _on_import_done(self, ids: list[int]) -> None:
        self.refresh()
        self.conversations_imported.emit(len(ids))

    def _on_task_failed(self, error: BaseException) -> None:
        if isinstance(error, StoreError):
            self.error_occurred.emit(str(error))
        elif isinstance(error, OSError):
            where = f"{error.filename}: " if error.filename else ""
            self.error_occurred.emit(f"{where}{error.strerror or error}")
        else:
            raise error     # a bug, not a condition the user can act on
