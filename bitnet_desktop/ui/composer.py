"""The message input: multi-line, Enter sends, Shift+Enter starts a new line; one button that is
Send or Stop; a line saying why sending is not possible, when it is not."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget


class _InputBox(QPlainTextEdit):
    submitted = Signal()
    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    send_requested = Signal(str)      # the text to send (not yet cleared: the window clears it once saved)
    stop_requested = Signal()
    edit_cancelled = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.input = _InputBox(self)
        self.input.setObjectName("composer_input")
        self.input.setPlaceholderText("Message (Enter sends, Shift+Enter for a new line)")
        self.input.setTabChangesFocus(True)
        self.input.setMaximumHeight(96)
        self.button = QPushButton("Send", self)
        self.button.setObjectName("composer_button")
        self.reason = QLabel(self)
        self.reason.setObjectName("composer_reason")
        self.reason.setWordWrap(True)
        self.editing_label = QLabel(self)
        self.editing_label.setObjectName("composer_editing")
        self.editing_label.hide()
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editing_label)
        layout.addLayout(row)
        layout.addWidget(self.reason)
        self._generating = False
        self._blocked_reason: str | None = None
        self.editing_message_id: int | None = None
        self.input.submitted.connect(self._on_input_submitted)
        self.input.escaped.connect(self.cancel_editing)
        self.button.clicked.connect(self._on_button_clicked)
        self.set_state(generating=False, blocked_reason=None)

    def set_state(self, *, generating: bool, blocked_reason: str | None) -> None:
        """generating: the button stops the answer. blocked_reason: why nothing can be sent now."""
        self._generating = generating
        self._blocked_reason = blocked_reason
        self.button.setText("Stop" if generating else "Send")
        self.button.setEnabled(generating or blocked_reason is None)
        self.input.setReadOnly(False)
        reason = "Answering… (Stop keeps what was written so far)" if generating else blocked_reason
        self.reason.setText(reason or "")
        self.reason.setVisible(bool(reason))

    @property
    def can_send(self) -> bool:
        return not self._generating and self._blocked_reason is None

    def text(self) -> str:
        return self.input.toPlainText()

    def set_text(self, text: str) -> None:
        self.input.setPlainText(text)

    def clear(self) -> None:
        self.input.clear()

    def begin_editing(self, message_id: int, text: str) -> None:
        self.editing_message_id = message_id
        self.editing_label.setText("Editing a message: sending replaces it and every later message (Esc cancels)")
        self.editing_label.show()
        self.set_text(text)
        self.input.setFocus()

    def cancel_editing(self) -> None:
        if self.editing_message_id is not None:
            self.end_editing()
            self.clear()
            self.edit_cancelled.emit()

    def end_editing(self) -> None:
        self.editing_message_id = None
        self.editing_label.hide()

    def _on_input_submitted(self) -> None:
        if self.can_send and self.text().strip():
            self.send_requested.emit(self.text())

    def _on_button_clicked(self) -> None:
        if self._generating:
            self.stop_requested.emit()
        else:
            self._on_input_submitted()
