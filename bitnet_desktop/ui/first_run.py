"""What the chat area shows while no model is known: what to do next. The main window offers the
catalog's first-run model here (BitNet b1.58 2B-4T) in one click; the Models panel downloads it and
the window loads it once it is installed."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

FIRST_RUN_TEXT = """
<h2>Welcome to BitNet Desktop</h2>
<p>Chat privately with BitNet b1.58 ternary models on this computer's CPU. Nothing leaves this
machine.</p>
<p><b>To start, get a model:</b> download one below (from Hugging Face, checked against its published
sha256 before it is used), or open a GGUF file you already have (I2_S, TQ2_0 or TQ1_0 format).
The Models tab lists more models, with the memory each needs and the speed to expect on this computer.</p>
"""

SYNTH_TEXT = """
<p style="color: gray;">Only trying the app? A synthetic model of the real 2B-4T shape (random weights) is made
with <code>bitnet-desktop synth --shape 2b4t --format i2_s model.gguf</code>, a tiny one with
<code>bitnet-desktop synth --shape small model.gguf</code>.</p>
"""


class FirstRunPage(QWidget):
    open_requested = Signal()
    download_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        text = QLabel(FIRST_RUN_TEXT, self)
        text.setObjectName("first_run_text")
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_button = QPushButton(self)
        self.download_button.setObjectName("first_run_download")
        self.download_button.setDefault(True)
        self.download_button.hide()
        self.open_button = QPushButton("Open a model file…", self)
        self.open_button.setObjectName("first_run_open")
        self.reason = QLabel(self)
        self.reason.setObjectName("first_run_reason")
        self.reason.setWordWrap(True)
        self.reason.hide()
        synth = QLabel(SYNTH_TEXT, self)
        synth.setWordWrap(True)
        synth.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(text)
        layout.addLayout(buttons)
        layout.addWidget(self.reason)
        layout.addWidget(synth)
        layout.addStretch(2)
        self.open_button.clicked.connect(self.open_requested)
        self.download_button.clicked.connect(self.download_requested)

    def offer_download(self, text: str | None, disabled_reason: str | None = None) -> None:
        """Shows the one-click download as `text` (hidden when None); disabled, with the reason shown
        under it, when downloads are not possible (offline mode)."""
        self.download_button.setVisible(text is not None)
        self.download_button.setText(text or "")
        self.download_button.setEnabled(disabled_reason is None)
        self.reason.setText(disabled_reason or "")
        self.reason.setVisible(text is not None and disabled_reason is not None)
