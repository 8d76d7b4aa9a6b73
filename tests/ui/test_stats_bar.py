import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel

from bitnet_desktop.meters.memory import MemorySample
from bitnet_desktop.ui.stats_bar import WARNING_COLOR, StatsBar

MIB, GIB = 1024 ** 2, 1024 ** 3


@pytest.fixture
def bar(qtbot):
    widget = StatsBar()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def label(bar, name) -> QLabel:
    return bar.findChild(QLabel, f"stats_{name}")


def shown(bar, name) -> str:
    found = label(bar, name)
    return found.text() if found.isVisible() else ""


def test_starts_blank(bar):
    for name in ("memory", "speed", "ttft", "context", "cpu", "energy"):
        assert shown(bar, name) == ""


def test_memory_and_the_model_share(bar):
    bar.show_memory(MemorySample(int(1.5 * GIB), GIB, 52 * MIB, "psutil RSS + /proc/self/smaps"))
    assert shown(bar, "memory") == "RAM 1.50 GiB · model 1.05 GiB"
    tip = label(bar, "memory").toolTip()
    assert "1.00 GiB" in tip and "52 MiB" in tip and "/proc/self/smaps" in tip


def test_memory_without_a_known_model_share(bar):
    bar.show_memory(MemorySample(812 * MIB, None, None, "psutil RSS"))
    assert shown(bar, "memory") == "RAM 812 MiB"


def test_speed_and_time_to_first_token(bar):
    bar.show_speed(123.44, 15.26, 0.32)
    assert shown(bar, "speed") == "prompt 123.4 tok/s · gen 15.3 tok/s"
    assert shown(bar, "ttft") == "first token 320 ms"
    bar.show_speed(123.44, None, 2.46)
    assert shown(bar, "speed") == "prompt 123.4 tok/s"
    assert shown(bar, "ttft") == "first token 2.5 s"


def test_clear_answer_blanks_speed_and_ttft_only(bar):
    bar.show_speed(100.0, 20.0, 0.5)
    bar.show_context(812, 2048)
    bar.clear_answer()
    assert shown(bar, "speed") == "" and shown(bar, "ttft") == ""
    assert shown(bar, "context") == "ctx 812 / 2048"


def context_color(bar) -> QColor:
    found = label(bar, "context")
    return found.palette().color(QPalette.ColorRole.WindowText)


def test_context_turns_to_the_warning_colour_above_90_percent(bar):
    bar.show_context(812, 2048)
    assert shown(bar, "context") == "ctx 812 / 2048"
    assert not label(bar, "context").property("warning")
    assert context_color(bar) != QColor(WARNING_COLOR)
    bar.show_context(1900, 2048)
    assert label(bar, "context").property("warning")
    assert context_color(bar) == QColor(WARNING_COLOR)
    bar.show_context(1843, 2048)  # exactly 90 %: not yet
    assert not label(bar, "context").property("warning")
    assert context_color(bar) != QColor(WARNING_COLOR)


def test_cpu(bar):
    bar.show_cpu(387.4)
    assert shown(bar, "cpu") == "CPU 387 %"
    bar.show_cpu(None)
    assert shown(bar, "cpu") == ""


def test_measured_energy_carries_its_source(bar):
    bar.show_energy(0.4213, 0.0123, "measured: RAPL package", True)
    assert shown(bar, "energy") == "0.421 J/token · 12.3 mWh this chat"
    assert label(bar, "energy").toolTip() == "measured: RAPL package"


def test_an_estimate_is_marked_as_one(bar):
    bar.show_energy(0.4213, 0.0123, "estimated: CPU time × 15 W per core", False)
    assert shown(bar, "energy") == "≈ 0.421 J/token · 12.3 mWh this chat"
    tip = label(bar, "energy").toolTip()
    assert "estimated: CPU time × 15 W per core" in tip and "not a measurement" in tip


def test_energy_before_the_first_token(bar):
    bar.show_energy(None, 0.5, "estimated: CPU time × 15 W per core", False)
    assert shown(bar, "energy") == "≈ 500 mWh this chat"
    bar.show_energy(None, None, None, False)
    assert shown(bar, "energy") == ""


def test_a_narrow_bar_puts_the_meters_under_the_figures_and_cuts_nothing(bar, qtbot):
    bar.show_speed(1969.4, 150.2, 0.342)
    bar.show_context(654, 8192)
    bar.show_memory(MemorySample(128 * MIB, 19 * MIB, 3 * MIB, "psutil"))
    bar.show_cpu(99.0)
    bar.show_energy(0.231, None, "estimated", False)
    names = ("speed", "ttft", "context", "memory", "cpu", "energy")
    bar.resize(1600, 40)
    qtbot.waitUntil(lambda: not bar.stacked)
    assert all(label(bar, n).width() >= label(bar, n).sizeHint().width() for n in names)
    bar.resize(500, 40)
    qtbot.waitUntil(lambda: bar.stacked)
    qtbot.waitUntil(lambda: bar.height() > label(bar, "speed").height() * 2)
    assert all(label(bar, n).width() >= label(bar, n).sizeHint().width() for n in ("speed", "ttft", "context"))
    bar.clear_answer()   # shorter again: back on one line
    bar.show_energy(None, None, None, False)
    bar.show_context(0, 8192)
    bar.resize(500, 40)
    qtbot.waitUntil(lambda: not bar.stacked)
