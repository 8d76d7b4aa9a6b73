"""The Benchmark and Settings places of the main window, as far as this version goes: what this CPU
offers the kernels, and the app settings. The benchmark runs extend these pages. (The Models place
is ui/models_panel.py.)"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from ..app_settings import AppSettings


class SystemPage(QWidget):
    """What the benchmark tab starts from: the CPU, and which kernel variants it can run."""

    def __init__(self, facts: dict | None, problem: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setObjectName("system_facts")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addStretch(1)
        if facts is None:
            self.label.setText(f"<h3>This computer</h3><p>The kernel library could not be loaded: {problem}</p>")
            return
        cpu, kernel = facts["cpu"], facts["kernel"]
        self.label.setText(
            "<h3>This computer</h3>"
            f"<p><b>CPU:</b> {cpu['brand'] or 'unknown'} ({cpu['arch']}), {facts['threads']} physical cores</p>"
            f"<p><b>CPU features:</b> {' '.join(cpu['features']) or 'none of interest'}</p>"
            f"<p><b>Kernel variants:</b> compiled {', '.join(cpu['compiled_kernels'])}; this CPU runs "
            f"{', '.join(cpu['supported_kernels'])}</p>"
            f"<p><b>Kernel chosen:</b> {kernel['chosen']} ({kernel['why']})</p>"
            "<p>Side-by-side kernel and model benchmarks run from the command line today: "
            "<code>bitnet-desktop bench kernels</code> and <code>bitnet-desktop bench --shape 2b4t</code>.</p>")


class SettingsPage(QWidget):
    change_requested = Signal()

    def __init__(self, settings: AppSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.summary = QLabel(self)
        self.summary.setObjectName("settings_summary")
        self.summary.setWordWrap(True)
        self.change_button = QPushButton("Change settings…", self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.change_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.change_button.clicked.connect(self.change_requested)
        self.refresh()

    def refresh(self) -> None:
        s = self.settings
        self.summary.setText(
            "<h3>Settings</h3>"
            f"<p>Threads: {s.threads or 'auto'} · kernel: {s.kernel} · head: {s.head} · context: {s.context_length:,}"
            f"<br>Context policy: {s.context_policy.replace('_', ' ')} · theme: {s.theme} · font size: {s.font_size:g}"
            f"<br>Power per core for the energy estimate: "
            f"{f'{s.watts_per_core:g} W' if s.watts_per_core else 'default'}</p>")
