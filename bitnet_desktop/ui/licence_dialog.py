"""Asks a person to accept a model's licence before it is downloaded (the catalog says which models need
it): the licence's name and link, "I accept" or Cancel."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ..hub.catalog import CatalogEntry


class LicenceDialog(QDialog):
    def __init__(self, entry: CatalogEntry, parent: QWidget | None = None):
        super().__init__(parent)
        self.entry = entry
        licence = entry.licence
        self.setWindowTitle("Licence")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        text = QLabel(
            f"<p><b>{escape(entry.name)}</b> is distributed under the <b>{escape(licence.name)}</b>:</p>"
            f"<p><a href=\"{escape(licence.url, quote=True)}\">{escape(licence.url)}</a></p>"
            "<p>Read it, and accept it to download the model.</p>", self)
        text.setObjectName("licence_text")
        text.setWordWrap(True)
        text.setOpenExternalLinks(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        buttons = QDialogButtonBox(self)
        self.accept_button = buttons.addButton("I accept", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
