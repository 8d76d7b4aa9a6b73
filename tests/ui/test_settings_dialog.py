import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from bitnet_desktop.app_settings import AppSettings, Preset
from bitnet_desktop.engine.native.kernels import default_threads
from bitnet_desktop.ui.settings_dialog import AppSettingsDialog, best_kernel


@pytest.fixture
def make_dialog(qtbot):
    def make(settings=None, supported=("ref", "avx2"), reasons=None, **kwargs):
        dialog = AppSettingsDialog(settings or AppSettings(), list(supported), reasons, **kwargs)
        qtbot.addWidget(dialog)
        return dialog
    return make


def _click_ok(dialog):
    dialog.button_box.button(QDialogButtonBox.StandardButton.Ok).click()


def test_defaults_show_the_auto_values(make_dialog):
    dialog = make_dialog(default_watts_per_core=15.0)
    assert dialog.message_label.isHidden()
    assert dialog.threads_spin.text() == f"Auto ({default_threads()} cores)"
    assert dialog.kernel_combo.currentText() == "Auto (best: avx2)"
    assert dialog.watts_spin.text() == "Default (15 W)"
    assert dialog.head_combo.currentData() == "fast"
    assert "int8" in dialog.head_explanation.text()
    _click_ok(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_settings() == AppSettings()


def test_the_users_choices_come_back_in_a_copy(make_dialog):
    original = AppSettings(recent_models=["/a.gguf"], presets=[Preset("P", "", {})])
    dialog = make_dialog(original)
    dialog.threads_spin.setValue(6)
    dialog.kernel_combo.setCurrentIndex(dialog.kernel_combo.findData("ref"))
    dialog.head_combo.setCurrentIndex(dialog.head_combo.findData("exact"))
    assert "bitnet.cpp" in dialog.head_explanation.text()
    dialog.context_spin.setValue(8192)
    dialog.policy_combo.setCurrentIndex(dialog.policy_combo.findData("drop_oldest"))
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("dark"))
    dialog.font_spin.setValue(14.5)
    dialog.watts_spin.setValue(9.5)
    _click_ok(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted

    result = dialog.result_settings()
    assert (result.threads, result.kernel, result.head, result.context_length) == (6, "ref", "exact", 8192)
    assert (result.context_policy, result.theme, result.font_size, result.watts_per_core) == \
        ("drop_oldest", "dark", 14.5, 9.5)
    assert result.recent_models == ["/a.gguf"] and result.presets == [Preset("P", "", {})]
    assert result.recent_models is not original.recent_models
    assert original == AppSettings(recent_models=["/a.gguf"], presets=[Preset("P", "", {})])


def test_existing_settings_are_shown(make_dialog):
    settings = AppSettings(threads=2, kernel="avx2", head="exact", context_length=1024,
                           context_policy="drop_oldest", theme="light", font_size=9.0, watts_per_core=4.0)
    dialog = make_dialog(settings)
    assert dialog.threads_spin.value() == 2
    assert dialog.kernel_combo.currentData() == "avx2"
    assert dialog.watts_spin.text() == "4.0 W"
    assert dialog.result_settings() == settings


def test_auto_values_map_back_to_none(make_dialog):
    dialog = make_dialog(AppSettings(threads=4, watts_per_core=10.0, kernel="ref"))
    dialog.threads_spin.setValue(0)
    dialog.watts_spin.setValue(0.0)
    dialog.kernel_combo.setCurrentIndex(0)
    result = dialog.result_settings()
    assert (result.threads, result.watts_per_core, result.kernel) == (None, None, "auto")


def test_unsupported_kernels_are_listed_disabled_with_the_reason(make_dialog):
    dialog = make_dialog(supported=["ref", "avx2"], reasons={"avx512": "this CPU lacks AVX-512 VNNI"})
    combo = dialog.kernel_combo
    index = combo.findData("avx512")
    assert not combo.model().item(index).isEnabled()
    assert "this CPU lacks AVX-512 VNNI" in combo.itemText(index)
    assert combo.itemData(index, Qt.ItemDataRole.ToolTipRole) == "this CPU lacks AVX-512 VNNI"
    neon = combo.findData("neon")  # no reason given: the requirement is named
    assert not combo.model().item(neon).isEnabled() and "AArch64" in combo.itemText(neon)
    assert combo.model().item(combo.findData("avx2")).isEnabled()


def test_a_saved_kernel_this_cpu_cannot_run_shows_as_auto(make_dialog):
    dialog = make_dialog(AppSettings(kernel="avx512"), supported=["ref"])
    assert dialog.kernel_combo.currentData() == "auto"
    assert dialog.kernel_combo.currentText() == "Auto (best: ref)"
    assert "avx512 cannot run on this computer" in dialog.message_label.text()


def test_cancel_rejects(make_dialog):
    dialog = make_dialog()
    dialog.button_box.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_the_dialog_says_when_engine_settings_apply(make_dialog):
    from PySide6.QtWidgets import QLabel
    dialog = make_dialog()
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert any("next time a model is loaded" in text for text in texts)


@pytest.mark.parametrize("supported, best", [
    (["ref"], "ref"), (["ref", "avx2", "avx512"], "avx512"), (["ref", "neon", "dotprod"], "dotprod"),
])
def test_best_kernel_follows_the_native_preference(supported, best):
    assert best_kernel(supported) == best


def test_settings_that_fail_validation_keep_the_dialog_open(make_dialog):
    dialog = make_dialog(AppSettings(presets=[Preset("P", "", {"min_p": 3.0})]))
    dialog.show()
    _click_ok(dialog)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert "min_p" in dialog.message_label.text()
