"""What the chat area shows while no model is known: what to do next."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

FIRST_RUN_TEXT = """
<h2>Welcome to BitNet Desktop</h2>
<p>Chat privately with BitNet b1.58 ternary models on this computer's CPU. Nothing leaves this
machine.</p>
<p><b>To start, open a model file</b> (a GGUF file in I2_S, TQ2_0 or TQ1_0 format, for example
<code>ggml-model-i2_s.gguf</code> of microsoft/BitNet-b1.58-2B-4T).</p>
<p>No model yet? A synthetic model of the real 2B-4T shape (random weights, for trying the app
and measuring speed) is made with:<br>
<code>bitnet-desktop synth --shape 2b4t --format i2_s model.gguf</code><br>
or a tiny one: <code>bitnet-desktop synth --shape small model.gguf</code></p>
"""


class FirstRunPage(QWidget):
    open_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        text = QLabel(FIRST_RUN_TEXT, self)
        text.setObjectName("first_run_text")
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open model file…", self)
        self.open_button.setObjectName("first_run_open")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(text)
        layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(2)
        self.open_button.clicked.connect(self.open_requested)
