import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QInputDialog

from bitnet_desktop.app_settings import Preset
from bitnet_desktop.chats.records import SAMPLING_KEYS, sampling_to_dict
from bitnet_desktop.engine.sampling import SamplingParams
from bitnet_desktop.ui.conversation_settings import ConversationSettingsDialog

DEFAULTS = sampling_to_dict(SamplingParams())


@pytest.fixture
def make_dialog(qtbot):
    def make(system_prompt="You are helpful.", sampling=None, presets=(), **kwargs):
        dialog = ConversationSettingsDialog(system_prompt, dict(sampling or {}), list(presets), **kwargs)
        qtbot.addWidget(dialog)
        return dialog
    return make


@pytest.fixture
def preset_name(monkeypatch):
    """Answers the next QInputDialog.getText with the name put in the returned list."""
    answers = []

    def get_text(*args, **kwargs):
        return answers.pop(0)
    monkeypatch.setattr(QInputDialog, "getText", get_text)
    return answers


def _click_ok(dialog):
    dialog.button_box.button(QDialogButtonBox.StandardButton.Ok).click()


def _choose_preset(dialog, name):
    index = dialog.preset_combo.findData(name)
    dialog.preset_combo.setCurrentIndex(index)
    dialog.preset_combo.activated.emit(index)


def test_empty_sampling_shows_the_defaults(make_dialog):
    dialog = make_dialog()
    assert dialog.temperature_spin.value() == pytest.approx(0.8)
    assert not dialog.seed_check.isChecked() and not dialog.seed_edit.isEnabled()
    _click_ok(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_sampling() == DEFAULTS
    assert tuple(dialog.result_sampling()) == SAMPLING_KEYS
    assert dialog.result_system_prompt() == "You are helpful."


def test_stored_values_are_shown(make_dialog):
    sampling = {"temperature": 0.3, "top_k": 7, "seed": 2**62 + 5}  # a 63-bit seed as the engine draws them
    dialog = make_dialog(sampling=sampling)
    result = dialog.result_sampling()
    assert result == {**DEFAULTS, **sampling}


def test_edited_values_come_back(make_dialog):
    dialog = make_dialog()
    dialog.system_prompt_edit.setPlainText("Talk like a pirate.")
    dialog.temperature_spin.setValue(1.25)
    dialog.top_k_spin.setValue(0)
    dialog.top_p_spin.setValue(0.9)
    dialog.min_p_spin.setValue(0.0)
    dialog.repetition_penalty_spin.setValue(1.1)
    dialog.max_tokens_spin.setValue(64)
    dialog.seed_check.setChecked(True)
    assert dialog.seed_edit.isEnabled()
    dialog.seed_edit.setText("42")
    _click_ok(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_system_prompt() == "Talk like a pirate."
    assert dialog.result_sampling() == {"temperature": 1.25, "top_k": 0, "top_p": 0.9, "min_p": 0.0,
                                        "repetition_penalty": 1.1, "max_tokens": 64, "seed": 42}


def test_unticking_fixed_seed_gives_a_random_seed(make_dialog):
    dialog = make_dialog(sampling={"seed": 9})
    assert dialog.seed_check.isChecked() and dialog.seed_edit.text() == "9"
    dialog.seed_check.setChecked(False)
    assert dialog.result_sampling()["seed"] is None


def test_an_invalid_value_keeps_the_dialog_open_with_the_message(make_dialog):
    dialog = make_dialog()
    dialog.show()
    dialog.repetition_penalty_spin.setValue(0.0)
    _click_ok(dialog)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.message_label.isVisible()
    assert "repetition_penalty must be > 0" in dialog.message_label.text()

    dialog.repetition_penalty_spin.setValue(1.0)
    _click_ok(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted and not dialog.isVisible()


def test_a_fixed_seed_needs_a_number(make_dialog, qtbot):
    dialog = make_dialog()
    dialog.seed_check.setChecked(True)
    dialog.seed_edit.setText("")
    _click_ok(dialog)
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "seed" in dialog.message_label.text()
    qtbot.keyClicks(dialog.seed_edit, "12x3")
    assert dialog.seed_edit.text() == "123"  # the validator takes digits only
    dialog.seed_edit.clear()
    qtbot.keyClicks(dialog.seed_edit, "9" * 25)
    assert dialog.seed_edit.text() == "9" * 19
    _click_ok(dialog)
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "seed must be at most" in dialog.message_label.text()
    dialog.seed_edit.setText("-4")  # set by a program, past the validator
    _click_ok(dialog)
    assert "whole number" in dialog.message_label.text()


def test_invalid_stored_sampling_falls_back_to_the_defaults(make_dialog):
    dialog = make_dialog(sampling={"min_p": 7.0})
    assert dialog.result_sampling() == DEFAULTS
    assert "not valid" in dialog.message_label.text()


def test_choosing_a_preset_fills_the_fields(make_dialog):
    presets = [Preset("Precise", "Answer exactly.", {"temperature": 0.0, "top_k": 1}),
               Preset("Creative", "Be bold.", {"temperature": 1.5, "seed": 3})]
    dialog = make_dialog(presets=presets)
    assert [dialog.preset_combo.itemText(i) for i in range(1, 3)] == ["Precise", "Creative"]
    assert not dialog.delete_preset_button.isEnabled()
    _choose_preset(dialog, "Creative")
    assert dialog.result_system_prompt() == "Be bold."
    assert dialog.result_sampling() == {**DEFAULTS, "temperature": 1.5, "seed": 3}
    _choose_preset(dialog, "Precise")
    assert dialog.result_system_prompt() == "Answer exactly."
    assert dialog.result_sampling() == {**DEFAULTS, "temperature": 0.0, "top_k": 1}
    assert dialog.result_presets() == presets


def test_save_as_preset_adds_it(make_dialog, preset_name):
    dialog = make_dialog(system_prompt="Short answers.")
    dialog.temperature_spin.setValue(0.5)
    preset_name.append(("  Brief ", True))
    dialog.save_preset_button.click()
    assert dialog.result_presets() == [Preset("Brief", "Short answers.", {**DEFAULTS, "temperature": 0.5})]
    assert dialog.preset_combo.currentData() == "Brief"
    assert dialog.delete_preset_button.isEnabled()
    assert "saved" in dialog.message_label.text()


def test_save_as_preset_with_an_existing_name_replaces_it(make_dialog, preset_name):
    dialog = make_dialog(presets=[Preset("A", "old", {}), Preset("B", "b", {})])
    dialog.system_prompt_edit.setPlainText("new")
    preset_name.append(("A", True))
    dialog.save_preset_button.click()
    assert [(p.name, p.system_prompt) for p in dialog.result_presets()] == [("A", "new"), ("B", "b")]
    assert "replaced" in dialog.message_label.text()


@pytest.mark.parametrize("answer", [("Name", False), ("   ", True)])
def test_save_as_preset_cancelled_or_blank_adds_nothing(make_dialog, preset_name, answer):
    dialog = make_dialog()
    preset_name.append(answer)
    dialog.save_preset_button.click()
    assert dialog.result_presets() == []


def test_save_as_preset_refuses_invalid_values_without_asking(make_dialog, preset_name):
    dialog = make_dialog()
    dialog.repetition_penalty_spin.setValue(0.0)
    dialog.save_preset_button.click()  # getText would fail: no answer queued
    assert dialog.result_presets() == []
    assert "repetition_penalty" in dialog.message_label.text()


def test_delete_preset_removes_the_chosen_one(make_dialog):
    presets = [Preset("A", "a", {}), Preset("B", "b", {})]
    dialog = make_dialog(presets=presets)
    _choose_preset(dialog, "A")
    dialog.delete_preset_button.click()
    assert dialog.result_presets() == [Preset("B", "b", {})]
    assert dialog.preset_combo.findData("A") == -1
    assert not dialog.delete_preset_button.isEnabled()
    assert presets[0].name == "A" and len(presets) == 2  # the caller's list is untouched


def test_reset_restores_the_default_sampling_and_keeps_the_prompt(make_dialog):
    dialog = make_dialog(sampling={"temperature": 0.1, "seed": 5}, default_sampling={"max_tokens": 100})
    dialog.reset_button.click()
    assert dialog.result_sampling() == {**DEFAULTS, "max_tokens": 100}
    assert dialog.result_system_prompt() == "You are helpful."
    assert dialog.result() != QDialog.DialogCode.Accepted  # reset does not close the dialog
