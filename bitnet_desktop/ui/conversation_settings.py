"""One conversation's system prompt and sampling, with named presets to fill them in."""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..app_settings import Preset, check_sampling
from ..chats.records import sampling_from_dict, sampling_to_dict
from ..engine.sampling import SamplingParams

MAX_SEED = 2**63 - 1   # seeds the engine draws are 63-bit; a QSpinBox stops at 2**31 - 1


def _double_spin(low: float, high: float, step: float, decimals: int) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    return spin


class ConversationSettingsDialog(QDialog):
    def __init__(self, system_prompt: str, sampling: dict, presets: list[Preset],
                 parent: QWidget | None = None, *, default_sampling: dict | None = None,
                 title: str = "Conversation settings", with_system_prompt: bool = True):
        """with_system_prompt=False: sampling only (a completion document has no system prompt)."""
        super().__init__(parent)
        self.setWindowTitle(title)
        self._presets = [copy.deepcopy(p) for p in presets]
        # What "Reset to defaults" restores: SamplingParams' defaults under the app's own.
        self._defaults = {**sampling_to_dict(SamplingParams()), **self._usable(default_sampling)}

        self.system_prompt_edit = QPlainTextEdit(system_prompt)
        self.system_prompt_edit.setTabChangesFocus(True)

        self.temperature_spin = _double_spin(0.0, 5.0, 0.05, 2)
        self.temperature_spin.setSpecialValueText("0 (greedy)")
        self.top_k_spin = QSpinBox()
        self.top_k_spin.setRange(0, 1_000_000)
        self.top_k_spin.setSpecialValueText("Off")
        self.top_p_spin = _double_spin(0.0, 1.0, 0.01, 3)
        self.min_p_spin = _double_spin(0.0, 1.0, 0.01, 3)
        self.min_p_spin.setSpecialValueText("Off")
        # From 0, not a hair above it: SamplingParams is the one judge of what is valid.
        self.repetition_penalty_spin = _double_spin(0.0, 3.0, 0.05, 2)
        self.max_tokens_spin = QSpinBox()
        self.max_tokens_spin.setRange(1, 131072)
        self.seed_check = QCheckBox("Fixed seed")
        self.seed_edit = QLineEdit()
        self.seed_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,19}"), self.seed_edit))
        self.seed_edit.setPlaceholderText("a whole number")
        self.seed_check.toggled.connect(self.seed_edit.setEnabled)

        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_check)
        seed_row.addWidget(self.seed_edit, 1)

        self.preset_combo = QComboBox()
        self.preset_combo.activated.connect(self._on_preset_combo_activated)
        self.save_preset_button = QPushButton("Save as preset…")
        self.save_preset_button.clicked.connect(self._on_save_preset_clicked)
        self.delete_preset_button = QPushButton("Delete preset")
        self.delete_preset_button.clicked.connect(self._on_delete_preset_clicked)
        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.setToolTip("The sampling values go back to the defaults; the system prompt stays.")
        self.reset_button.clicked.connect(self._on_reset_clicked)
        self.preset_combo.currentIndexChanged.connect(self._update_delete_button)

        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset_combo, 1)
        preset_row.addWidget(self.save_preset_button)
        preset_row.addWidget(self.delete_preset_button)

        form = QFormLayout()
        form.addRow("Preset:", preset_row)
        form.addRow("System prompt:", self.system_prompt_edit)
        form.addRow("Temperature:", self.temperature_spin)
        form.addRow("Top-k:", self.top_k_spin)
        form.addRow("Top-p:", self.top_p_spin)
        form.addRow("Min-p:", self.min_p_spin)
        form.addRow("Repetition penalty:", self.repetition_penalty_spin)
        form.addRow("Max tokens:", self.max_tokens_spin)
        form.addRow("Seed:", seed_row)
        form.setRowVisible(self.system_prompt_edit, with_system_prompt)

        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.reset_button, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.button_box = buttons

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)

        self._fill_preset_combo()
        usable = self._usable(sampling)
        self._set_sampling({**sampling_to_dict(SamplingParams()), **usable})
        if sampling and not usable:
            self._show_message("The stored sampling values were not valid; the defaults are shown.")

    @staticmethod
    def _usable(sampling: dict | None) -> dict[str, Any]:
        try:
            return check_sampling(sampling or {})
        except ValueError:
            return {}

    # ---- fields ----

    def _set_sampling(self, values: dict[str, Any]) -> None:
        self.temperature_spin.setValue(values["temperature"])
        self.top_k_spin.setValue(values["top_k"])
        self.top_p_spin.setValue(values["top_p"])
        self.min_p_spin.setValue(values["min_p"])
        self.repetition_penalty_spin.setValue(values["repetition_penalty"])
        self.max_tokens_spin.setValue(values["max_tokens"])
        seed = values["seed"]
        self.seed_check.setChecked(seed is not None)
        self.seed_edit.setEnabled(seed is not None)
        self.seed_edit.setText("" if seed is None else str(seed))

    def _read_sampling(self) -> dict[str, Any]:
        """The fields as a SAMPLING_KEYS dict, checked by SamplingParams; ValueError says what is wrong."""
        seed = None
        if self.seed_check.isChecked():
            text = self.seed_edit.text().strip()
            if not text:
                raise ValueError("Enter a seed, or untick Fixed seed for a random one.")
            if not text.isdecimal():
                raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {text!r}")
            seed = int(text)
            if seed > MAX_SEED:
                raise ValueError(f"seed must be at most {MAX_SEED}, got {seed}")
        values = {
            "temperature": round(self.temperature_spin.value(), 2),
            "top_k": self.top_k_spin.value(),
            "top_p": round(self.top_p_spin.value(), 3),
            "min_p": round(self.min_p_spin.value(), 3),
            "repetition_penalty": round(self.repetition_penalty_spin.value(), 2),
            "max_tokens": self.max_tokens_spin.value(),
            "seed": seed,
        }
        sampling_from_dict(values)
        return values

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    # ---- presets ----

    def _fill_preset_combo(self, select: str | None = None) -> None:
        combo = self.preset_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("Choose a preset…", None)
        for preset in self._presets:
            combo.addItem(preset.name, preset.name)
        combo.setCurrentIndex(max(combo.findData(select), 0) if select is not None else 0)
        combo.blockSignals(False)
        self._update_delete_button()

    def _preset(self, name: str | None) -> Preset | None:
        return next((p for p in self._presets if p.name == name), None)

    def _update_delete_button(self) -> None:
        self.delete_preset_button.setEnabled(self.preset_combo.currentData() is not None)

    def _on_preset_combo_activated(self, index: int) -> None:
        preset = self._preset(self.preset_combo.itemData(index))
        if preset is None:
            return
        self.system_prompt_edit.setPlainText(preset.system_prompt)
        self._set_sampling({**sampling_to_dict(SamplingParams()), **self._usable(preset.sampling)})
        self._show_message("")

    def _on_save_preset_clicked(self) -> None:
        try:
            sampling = self._read_sampling()
        except ValueError as error:
            self._show_message(str(error))
            return
        current = self.preset_combo.currentData() or ""
        name, ok = QInputDialog.getText(self, "Save as preset", "Preset name:", text=current)
        name = name.strip()
        if not ok or not name:
            return
        preset = Preset(name, self.system_prompt_edit.toPlainText(), sampling)
        existing = self._preset(name)
        if existing is not None:
            self._presets[self._presets.index(existing)] = preset
            self._show_message(f"Preset “{name}” replaced.")
        else:
            self._presets.append(preset)
            self._show_message(f"Preset “{name}” saved.")
        self._fill_preset_combo(select=name)

    def _on_delete_preset_clicked(self) -> None:
        name = self.preset_combo.currentData()
        preset = self._preset(name)
        if preset is None:
            return
        self._presets.remove(preset)
        self._fill_preset_combo()
        self._show_message(f"Preset “{name}” deleted.")

    def _on_reset_clicked(self) -> None:
        self._set_sampling(self._defaults)
        self._show_message("")

    # ---- results ----

    def accept(self) -> None:
        try:
            self._read_sampling()
        except ValueError as error:
            self._show_message(str(error))
            return
        super().accept()

    def result_system_prompt(self) -> str:
        return self.system_prompt_edit.toPlainText()

    def result_sampling(self) -> dict[str, Any]:
        """Every SAMPLING_KEYS entry; seed is None for a fresh random seed each answer. Call after
        the dialog was accepted (the values are then valid)."""
        return self._read_sampling()

    def result_presets(self) -> list[Preset]:
        return [copy.deepcopy(p) for p in self._presets]
