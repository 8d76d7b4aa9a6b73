"""The completion documents' sidebar: a "New document" button, the documents (most recently
changed first) and Delete, which asks first. It shows what it is given; the completion page owns
the store calls."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QMessageBox, QPushButton, QVBoxLayout, QWidget

from ..chats.records import CompletionDocument

TITLE_LIMIT = 40


def _shortened(title: str) -> str:
    return title if len(title) <= TITLE_LIMIT else title[:TITLE_LIMIT - 1].rstrip() + "…"


def _when(updated: float, now: float) -> str:
    return time.strftime("%H:%M" if now - updated < 20 * 3600 else "%d %b", time.localtime(updated))


class DocumentList(QWidget):
    document_selected = Signal(int)     # the user picked a document
    new_requested = Signal()
    delete_confirmed = Signal(int)      # the user asked to delete it and said yes

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.new_button = QPushButton("New document", self)
        self.new_button.setObjectName("new_document_button")
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.setObjectName("delete_document_button")
        self.list = QListWidget(self)
        self.list.setObjectName("document_list")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.confirm_box: QMessageBox | None = None
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button, 1)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 0, 6)
        layout.addLayout(buttons)
        layout.addWidget(self.list, 1)
        self.new_button.clicked.connect(self.new_requested)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.list.itemClicked.connect(self._on_list_item_clicked)
        self.list.itemActivated.connect(self._on_list_item_clicked)
        self.delete_button.setEnabled(False)

    def show_documents(self, documents: list[CompletionDocument], current_id: int | None) -> None:
        self.list.clear()
        now = time.time()
        for document in documents:
            item = QListWidgetItem(f"{_shortened(document.title)}\n{_when(document.updated, now)}")
            item.setData(Qt.ItemDataRole.UserRole, document.id)
            item.setToolTip(document.title)
            self.list.addItem(item)
            if document.id == current_id:
                self.list.setCurrentItem(item)
        self.delete_button.setEnabled(current_id is not None)

    def document_ids(self) -> list[int]:
        return [self.list.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.list.count())]

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        self.document_selected.emit(item.data(Qt.ItemDataRole.UserRole))

    def _on_delete_button_clicked(self) -> None:
        document_id, item = self.current_id(), self.list.currentItem()
        if document_id is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Delete the document",
                          f"Delete “{item.toolTip()}”? Its text cannot be brought back.",
                          QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("delete_document_box")
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button) -> None:
            self.confirm_box = None
            if button is delete:
                self.delete_confirmed.emit(document_id)

        box.buttonClicked.connect(answered)
        self.confirm_box = box
        box.open()
