import os

import pytest

from bitnet_desktop.meters.energy_sources import (BatterySource, CpuTimeEstimate, RaplSource,
                                                  SourceUnavailable, default_watts_per_core)
from tests.meters.fake_sysfs import RAPL_RANGE, battery, rapl_zone, write


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_rapl_adds_up_the_packages_only(tmp_path):
    package0 = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    package1 = rapl_zone(tmp_path, "intel-rapl:1", "package-1", 5_000_000)
    core = rapl_zone(tmp_path, "intel-rapl:0:0", "core", 0)  # inside package-0
    psys = rapl_zone(tmp_path, "intel-rapl:2", "psys", 0)  # the whole platform, package included
    mmio = rapl_zone(tmp_path, "intel-rapl-mmio:0", "package-0", 0)  # the same package again
    source = RaplSource(str(tmp_path))
    start = source.total_joules()
    write(package0, 3_000_000)
    write(package1, 5_500_000)
    for other in (core, psys, mmio):
        write(other, 99_000_000)
    assert source.total_joules() - start == pytest.approx(2.5)


def test_rapl_undoes_a_wrap_around(tmp_path):
    energy = rapl_zone(tmp_path, "intel-rapl:0", "package-0", RAPL_RANGE - 1_000_000)
    source = RaplSource(str(tmp_path))
    start = source.total_joules()
    write(energy, 500_000)
    assert source.total_joules() - start == pytest.approx(1.5)


def test_rapl_counts_each_wrap_it_is_read_across(tmp_path):
    energy = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0, max_range=10_000_000)
    source = RaplSource(str(tmp_path))
    for reading in (8_000_000, 2_000_000, 9_000_000, 1_000_000):  # two wraps, read between them
        write(energy, reading)
        source.total_joules()
    assert source.total_joules() == pytest.approx(21.0)


def test_no_rapl_without_a_package_domain(tmp_path):
    rapl_zone(tmp_path, "intel-rapl:0", "psys", 0)
    with pytest.raises(SourceUnavailable):
        RaplSource(str(tmp_path))


def test_an_unreadable_rapl_counter_makes_rapl_unavailable(tmp_path):
    energy = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    energy.unlink()
    energy.symlink_to(tmp_path / "gone")  # reading fails as it does without permission
    with pytest.raises(SourceUnavailable):
        RaplSource(str(tmp_path))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_root_only_rapl_counter_makes_rapl_unavailable(tmp_path):
    rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0).chmod(0o400)
    (tmp_path / "class/powercap/intel-rapl:0/energy_uj").chmod(0)
    with pytest.raises(SourceUnavailable):
        RaplSource(str(tmp_path))


def test_battery_power_is_integrated_between_reads(tmp_path):
    bat = battery(tmp_path, power_now=10_000_000)  # 10 W
    clock = Clock()
    source = BatterySource(str(tmp_path), clock=clock)
    start = source.total_joules()
    clock.now = 2.0
    write(bat / "power_now", 20_000_000)
    assert source.total_joules() - start == pytest.approx(30.0)  # trapezoid: (10 + 20) / 2 W × 2 s
    clock.now = 3.0
    assert source.total_joules() - start == pytest.approx(50.0)


def test_battery_power_from_current_and_voltage(tmp_path):
    battery(tmp_path, current_now=1_000_000, voltage_now=12_000_000)  # 1 A at 12 V
    clock = Clock()
    source = BatterySource(str(tmp_path), clock=clock)
    clock.now = 10.0
    assert source.total_joules() == pytest.approx(120.0)


def test_two_discharging_batteries_are_added(tmp_path):
    battery(tmp_path, "BAT0", power_now=4_000_000)
    battery(tmp_path, "BAT1", power_now=6_000_000)
    battery(tmp_path, "BAT2", status="Full", power_now=50_000_000)
    clock = Clock()
    source = BatterySource(str(tmp_path), clock=clock)
    clock.now = 1.0
    assert source.total_joules() == pytest.approx(10.0)


@pytest.mark.parametrize("status", ["Charging", "Full", "Not charging", "Unknown"])
def test_a_battery_that_is_not_discharging_measures_nothing(tmp_path, status):
    battery(tmp_path, status=status, power_now=10_000_000)
    with pytest.raises(SourceUnavailable):
        BatterySource(str(tmp_path))


def test_the_battery_source_stops_when_the_charger_comes_on(tmp_path):
    bat = battery(tmp_path, power_now=10_000_000)
    source = BatterySource(str(tmp_path))
    assert source.discharging()
    write(bat / "status", "Charging")
    assert not source.discharging()
    with pytest.raises(SourceUnavailable):
        source.total_joules()


def test_the_estimate_is_labelled_with_its_figure():
    estimate = CpuTimeEstimate(15)
    assert estimate.label == "estimated: CPU time × 15 W per core"
    assert not estimate.measured
    assert CpuTimeEstimate(7.5).label == "estimated: CPU time × 7.5 W per core"


@pytest.mark.parametrize("watts", [0, -3])
def test_the_estimate_needs_a_positive_figure(watts):
    with pytest.raises(ValueError):
        CpuTimeEstimate(watts)


@pytest.mark.parametrize("machine, watts", [("x86_64", 15.0), ("AMD64", 15.0), ("arm64", 5.0), ("aarch64", 5.0)])
def test_default_watts_per_core(monkeypatch, machine, watts):
    monkeypatch.setattr("platform.machine", lambda: machine)
    assert default_watts_per_core() == watts
