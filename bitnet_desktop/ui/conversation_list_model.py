"""A list model that adapts the conversation store for the sidebar: either the conversations
(pinned first, then by last activity, as the store orders them) or the hits of a search.

Each row shows two lines: the title (with a pin mark) and, below it, the last activity in words
or the search snippet. Titles are edited in place; setData renames in the store.
"""
from __future__ import annotations

import time
from datetime import datetime
from html import escape
from typing import Any, Callable

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from ..chats.errors import StoreError
from ..chats.records import Conversation, SearchHit

PIN_MARK = "★"  # in DejaVu and every common UI font; many Linux desktops have no emoji font

_Index = QModelIndex | QPersistentModelIndex


def relative_time(when: float, now: float) -> str:
    """'just now', '5 min ago', '3 h ago' (same day), 'yesterday', then the date."""
    seconds = now - when
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    then, today = datetime.fromtimestamp(when), datetime.fromtimestamp(now)
    days = (today.date() - then.date()).days
    if days == 0:
        return f"{int(seconds // 3600)} h ago"
    if days == 1:
        return "yesterday"
    if then.year == today.year:
        return f"{then.day} {then:%b}"
    return f"{then.day} {then:%b %Y}"


class ConversationListModel(QAbstractListModel):
    IdRole = Qt.ItemDataRole.UserRole + 1         # int: the conversation's id
    MessageIdRole = Qt.ItemDataRole.UserRole + 2  # int | None: the hit's message (None: a title hit)
    PinnedRole = Qt.ItemDataRole.UserRole + 3     # bool (always False for a search hit)

    renamed = Signal(int, str)                    # conversation id, new title
    rename_failed = Signal(str)                   # a StoreError's message

    def __init__(self, store, parent=None, *, clock: Callable[[], float] = time.time):
        super().__init__(parent)
        self._store = store
        self._clock = clock
        self._rows: list[Conversation | SearchHit] = []
        self._query: str | None = None

    @property
    def query(self) -> str | None:
        """The search shown, or None when the conversations are shown."""
        return self._query

    def show_conversations(self) -> None:
        """Reloads the conversations from the store. Raises StoreError."""
        rows = self._store.conversations()
        self._replace(rows, None)

    def show_search(self, text: str) -> None:
        """Replaces the rows with the store's hits for `text`. Raises StoreError."""
        rows = self._store.search(text)
        self._replace(rows, text)

    def reload(self) -> None:
        """Reloads whichever of the two is shown. Raises StoreError."""
        if self._query is None:
            self.show_conversations()
        else:
            self.show_search(self._query)

    def row_of(self, conversation_id: int) -> int | None:
        """The first row of that conversation (in a search, its first hit)."""
        for row, item in enumerate(self._rows):
            if _conversation_id(item) == conversation_id:
                return row
        return None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        item = self._rows[index.row()]
        if role == self.IdRole:
            return _conversation_id(item)
        if isinstance(item, SearchHit):
            return self._hit_data(item, role)
        return self._conversation_data(item, role)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and isinstance(self._rows[index.row()], Conversation):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not self.flags(index) & Qt.ItemFlag.ItemIsEditable:
            return False
        item = self._rows[index.row()]
        title = str(value).strip()
        if not title or title == item.title:
            return False
        try:
            self._store.rename_conversation(item.id, title)
            self._rows[index.row()] = self._store.conversation(item.id)
        except StoreError as error:
            self.rename_failed.emit(str(error))
            return False
        self.dataChanged.emit(index, index)
        self.renamed.emit(item.id, title)
        return True

    def _replace(self, rows: list, query: str | None) -> None:
        self.beginResetModel()
        self._rows, self._query = list(rows), query
        self.endResetModel()

    def _conversation_data(self, item: Conversation, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            title = f"{PIN_MARK} {item.title}" if item.pinned else item.title
            return f"{title}\n{relative_time(item.updated, self._clock())}"
        if role == Qt.ItemDataRole.EditRole:
            return item.title
        if role == Qt.ItemDataRole.ToolTipRole:
            when = datetime.fromtimestamp(item.updated).strftime("%Y-%m-%d %H:%M")
            return _rich_tooltip(item.title, f"Last activity {when}")
        if role == self.PinnedRole:
            return item.pinned
        return None

    def _hit_data(self, item: SearchHit, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{item.conversation_title}\n{_one_line(item.snippet)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return _rich_tooltip(item.conversation_title, item.snippet)
        if role == self.MessageIdRole:
            return item.message_id
        if role == self.PinnedRole:
            return False
        return None


def _conversation_id(item: Conversation | SearchHit) -> int:
    return item.conversation_id if isinstance(item, SearchHit) else item.id


def _rich_tooltip(title: str, detail: str) -> str:
    # Always rich text, escaped: Qt would guess a title such as "<b>x</b>" to be markup.
    return f"<b>{escape(title)}</b><br>{escape(detail).replace(chr(10), '<br>')}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
