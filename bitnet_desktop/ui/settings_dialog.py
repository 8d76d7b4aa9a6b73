"""The app's settings: how models load (threads, kernel, head, context), what happens when a
conversation outgrows the context, the look, and the power figure behind the energy estimate."""
from __future__ import annotations

import copy

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..app_settings import (
    CONTEXT_LENGTH_RANGE,
    FONT_SIZE_RANGE,
    MAX_WATTS_PER_CORE,
    THREADS_RANGE,
    AppSettings,
)
from ..engine.native.kernels import KERNEL_NAMES, KERNEL_REQUIREMENTS, default_threads

# bn_kernel_best's order (native/src/context.c): what "Auto" picks among the supported kernels.
KERNEL_PREFERENCE = ("avx512", "avx2", "dotprod", "neon", "ref")

HEAD_CHOICES = (
    ("fast", "Fast", "int8 output head: quicker per token, a tiny difference in the probabilities."),
    ("exact", "Exact", "f16 output head: the same probabilities as bitnet.cpp, slower per token."),
)
CONTEXT_POLICY_CHOICES = (
    ("stop_and_ask", "Stop and ask"),
    ("drop_oldest", "Drop the oldest turns, keeping the system prompt"),
)
THEME_CHOICES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


def best_kernel(supported_kernels: list[str]) -> str:
    return next((k for k in KERNEL_PREFERENCE if k in supported_kernels), "ref")


def _select_data(combo: QComboBox, value) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


class AppSettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, supported_kernels: list[str],
                 kernel_reasons: dict[str, str] | None = None, parent: QWidget | None = None, *,
                 default_watts_per_core: float | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self._supported = [k for k in supported_kernels if k in KERNEL_NAMES]

        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(0, THREADS_RANGE[1])  # 0 shows as the special value: auto
        self.threads_spin.setSpecialValueText(f"Auto ({default_threads()} cores)")
        self.threads_spin.setValue(settings.threads or 0)

        self.kernel_combo = QComboBox()
        self._fill_kernels(kernel_reasons or {})
        _select_data(self.kernel_combo, settings.kernel if settings.kernel in self._supported else "auto")

        self.head_combo = QComboBox()
        for value, text, _ in HEAD_CHOICES:
            self.head_combo.addItem(text, value)
        self.head_explanation = QLabel()
        self.head_explanation.setWordWrap(True)
        self.head_combo.currentIndexChanged.connect(self._on_head_combo_changed)
        _select_data(self.head_combo, settings.head)
        self._on_head_combo_changed()

        self.context_spin = QSpinBox()
        self.context_spin.setRange(*CONTEXT_LENGTH_RANGE)
        self.context_spin.setSingleStep(512)
        self.context_spin.setSuffix(" tokens")
        self.context_spin.setValue(settings.context_length)

        self.policy_combo = QComboBox()
        for value, text in CONTEXT_POLICY_CHOICES:
            self.policy_combo.addItem(text, value)
        _select_data(self.policy_combo, settings.context_policy)

        self.theme_combo = QComboBox()
        for value, text in THEME_CHOICES:
            self.theme_combo.addItem(text, value)
        _select_data(self.theme_combo, settings.theme)

        self.font_spin = QDoubleSpinBox()
        self.font_spin.setRange(*FONT_SIZE_RANGE)
        self.font_spin.setDecimals(1)
        self.font_spin.setSingleStep(0.5)
        self.font_spin.setSuffix(" pt")
        self.font_spin.setValue(settings.font_size)

        self.watts_spin = QDoubleSpinBox()
        self.watts_spin.setRange(0.0, MAX_WATTS_PER_CORE)  # 0 shows as the special value: the default
        self.watts_spin.setDecimals(1)
        self.watts_spin.setSingleStep(0.5)
        self.watts_spin.setSuffix(" W")
        default_text = f"{default_watts_per_core:g} W" if default_watts_per_core is not None else "estimated"
        self.watts_spin.setSpecialValueText(f"Default ({default_text})")
        self.watts_spin.setValue(settings.watts_per_core or 0.0)
        self.watts_spin.setToolTip("Used only where the energy cannot be measured; the estimate is labelled.")

        form = QFormLayout()
        form.addRow("Threads:", self.threads_spin)
        form.addRow("Kernel:", self.kernel_combo)
        form.addRow("Output head:", self.head_combo)
        form.addRow("", self.head_explanation)
        form.addRow("Context length:", self.context_spin)
        form.addRow("When a conversation outgrows the context:", self.policy_combo)
        form.addRow("Theme:", self.theme_combo)
        form.addRow("Font size:", self.font_spin)
        form.addRow("Power per core (energy estimate):", self.watts_spin)

        note = QLabel("Threads, kernel, output head and context length apply the next time a model is loaded.")
        note.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        if settings.kernel not in ("auto", *self._supported):  # e.g. settings copied from another computer
            self.message_label.setText(f"The kernel {settings.kernel} cannot run on this computer; "
                                       "Auto is selected instead.")
        else:
            self.message_label.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.button_box = buttons

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)

    def _fill_kernels(self, reasons: dict[str, str]) -> None:
        combo = self.kernel_combo
        combo.addItem(f"Auto (best: {best_kernel(self._supported)})", "auto")
        for name in KERNEL_NAMES:
            if name in self._supported:
                combo.addItem(name, name)
        for name in KERNEL_NAMES:
            if name in self._supported:
                continue
            why = reasons.get(name) or f"needs {KERNEL_REQUIREMENTS[name]}"
            combo.addItem(f"{name} (unavailable: {why})", name)
            index = combo.count() - 1
            combo.model().item(index).setEnabled(False)
            combo.setItemData(index, why, Qt.ItemDataRole.ToolTipRole)

    def _on_head_combo_changed(self) -> None:
        explanations = {value: text for value, _, text in HEAD_CHOICES}
        self.head_explanation.setText(explanations.get(self.head_combo.currentData(), ""))

    def result_settings(self) -> AppSettings:
        """A copy of the settings given, with the user's choices."""
        result = copy.deepcopy(self._settings)
        result.threads = self.threads_spin.value() or None
        result.kernel = self.kernel_combo.currentData()
        result.head = self.head_combo.currentData()
        result.context_length = self.context_spin.value()
        result.context_policy = self.policy_combo.currentData()
        result.theme = self.theme_combo.currentData()
        result.font_size = round(self.font_spin.value(), 1)
        result.watts_per_core = round(self.watts_spin.value(), 1) or None
        return result

    def accept(self) -> None:
        try:
            self.result_settings().validate()
        except ValueError as error:  # the controls' ranges should prevent this; never save a bad file
            self.message_label.setText(str(error))
            self.message_label.show()
            return
        super().accept()
