import time

import pytest

from bitnet_desktop.meters.cpu import process_cpu_seconds
from bitnet_desktop.meters.energy import EnergyMeter, EnergyResult, joules_per_token, watt_hours
from tests.meters.fake_sysfs import battery, rapl_zone, write


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_rapl_comes_first(tmp_path):
    energy = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    battery(tmp_path, power_now=10_000_000)
    meter = EnergyMeter(root=str(tmp_path))
    assert (meter.source, meter.measured) == ("measured: RAPL package", True)
    reading = meter.start()
    write(energy, 4_000_000)
    assert meter.stop(reading) == EnergyResult(3.0, "measured: RAPL package", True)


def test_unreadable_rapl_falls_back_to_the_battery(tmp_path):
    energy = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    energy.unlink()
    energy.symlink_to(tmp_path / "gone")
    battery(tmp_path, power_now=10_000_000)
    meter = EnergyMeter(root=str(tmp_path))
    assert meter.source == "measured: battery power draw (whole machine)" and meter.measured
    before = time.monotonic()
    reading = meter.start()
    time.sleep(0.05)
    meter.sample()
    time.sleep(0.05)
    result = meter.stop(reading)
    elapsed = time.monotonic() - before
    assert result.measured and result.source == meter.source
    assert 10 * 0.1 <= result.joules <= 10 * elapsed  # a steady 10 W


def test_unreadable_rapl_and_no_battery_fall_back_to_the_estimate(tmp_path):
    energy = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    energy.unlink()
    energy.symlink_to(tmp_path / "gone")
    battery(tmp_path, status="Charging", power_now=10_000_000)
    meter = EnergyMeter(watts_per_core=10, root=str(tmp_path))
    assert (meter.source, meter.measured) == ("estimated: CPU time × 10 W per core", False)


def test_the_estimate_is_cpu_time_times_watts(tmp_path):
    meter = EnergyMeter(watts_per_core=10, root=str(tmp_path))  # an empty /sys: nothing to measure
    cpu_before = process_cpu_seconds()
    reading = meter.start()
    cpu_after_start = process_cpu_seconds()
    spin(0.3)
    cpu_before_stop = process_cpu_seconds()
    result = meter.stop(reading)
    cpu_after = process_cpu_seconds()
    assert not result.measured and result.source == "estimated: CPU time × 10 W per core"
    assert cpu_before_stop - cpu_after_start > 0.1
    assert 10 * (cpu_before_stop - cpu_after_start) <= result.joules + 1e-9
    assert result.joules <= 10 * (cpu_after - cpu_before) + 1e-9


def test_the_charger_coming_on_mid_answer_gives_an_estimate(tmp_path):
    bat = battery(tmp_path, power_now=10_000_000)
    meter = EnergyMeter(watts_per_core=10, root=str(tmp_path))
    reading = meter.start()
    spin(0.05)
    write(bat / "status", "Charging")
    meter.sample()
    result = meter.stop(reading)
    assert not result.measured and result.source.startswith("estimated:")
    assert result.joules >= 0
    meter.start()  # looks again for a source
    assert meter.source.startswith("estimated:") and not meter.measured


def test_unplugging_between_answers_switches_to_the_battery(tmp_path):
    bat = battery(tmp_path, status="Charging", power_now=10_000_000)
    meter = EnergyMeter(root=str(tmp_path))
    assert not meter.measured
    write(bat / "status", "Discharging")
    meter.start()
    assert meter.measured and meter.source == "measured: battery power draw (whole machine)"


def test_this_machine_has_a_best_source():
    meter = EnergyMeter()
    reading = meter.start()
    spin(0.05)
    meter.sample()
    result = meter.stop(reading)
    assert result.joules >= 0
    assert result.measured == result.source.startswith("measured:")
    assert result.measured or result.source.startswith("estimated:")


def test_per_token_and_watt_hours():
    result = EnergyResult(7.2, "measured: RAPL package", True)
    assert joules_per_token(result, 36) == pytest.approx(0.2)
    assert joules_per_token(result, 0) is None
    assert watt_hours(3600.0) == 1.0
    assert watt_hours(36.0) == pytest.approx(0.01)
