"""Where energy figures come from. Each source is a cumulative counter in joules with a label
that says whether it is a measurement, and of what.

Order of preference (EnergyMeter tries them top to bottom):
1. RAPL package counters through Linux powercap. Root-only since Linux 5.10 (a side-channel
   fix), so an ordinary user usually gets source 3 on a desktop.
2. The battery's power draw on a Linux laptop running on battery: the whole machine (screen
   included), integrated over the moments it is sampled.
3. An estimate: this process's CPU time times a per-core wattage.

Not written, and where it would go: Windows 11's Energy Meter Interface offers the RAPL counters
without admin rights (device interface GUID_DEVICE_ENERGY_METER, IOCTL_EMI_GET_METADATA and
IOCTL_EMI_GET_MEASUREMENT through DeviceIoControl). It would sit between 1 and 2, but it needs a
Windows machine to write and test, so Windows gets the estimate for now. macOS offers no
counter to an unprivileged process (powermetrics needs root) and gets the estimate too.
"""
from __future__ import annotations

import glob
import os
import platform
import re
import time
from collections.abc import Callable

import psutil

from bitnet_desktop.meters.cpu import process_cpu_seconds


class SourceUnavailable(Exception):
    """The source cannot be read on this machine, or no longer can (e.g. the charger came on)."""


def _read_int(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError) as e:
        raise SourceUnavailable(f"{path}: {e}") from e


def _read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


class RaplSource:
    """The sum of the RAPL package domains' energy counters (/sys/class/powercap/intel-rapl:N,
    also used for AMD CPUs). Sub-domains (core, uncore, dram) are inside their package and
    `psys` covers the whole platform, so only `package-*` domains are added up.

    A counter wraps at max_energy_range_uj (about 262 kJ: some 40 minutes at 100 W); one wrap
    between two reads is undone, so read it (EnergyMeter.sample) more often than that.
    """
    label = "measured: RAPL package"
    measured = True

    def __init__(self, root: str = "/sys") -> None:
        self._zones: list[list] = []  # [energy_uj path, max range, last value]
        for zone in sorted(glob.glob(os.path.join(root, "class/powercap/intel-rapl:*"))):
            if not re.fullmatch(r"intel-rapl:\d+", os.path.basename(zone)):
                continue
            if not (_read_text(os.path.join(zone, "name")) or "").startswith("package"):
                continue
            energy = os.path.join(zone, "energy_uj")
            self._zones.append([energy, _read_int(os.path.join(zone, "max_energy_range_uj")), _read_int(energy)])
        if not self._zones:
            raise SourceUnavailable("no RAPL package domain under powercap")
        self._microjoules = 0

    def total_joules(self) -> float:
        for zone in self._zones:
            path, max_range, last = zone
            now = _read_int(path)
            self._microjoules += now - last if now >= last else now + max_range - last
            zone[2] = now
        return self._microjoules / 1e6


class BatterySource:
    """The power the battery delivers while discharging (Linux power_supply), integrated with the
    trapezoid rule between reads. Firmware refreshes power_now every few seconds, so figures for
    answers shorter than that are rough, and it is the whole machine's draw, not this process's.
    """
    label = "measured: battery power draw (whole machine)"
    measured = True

    def __init__(self, root: str = "/sys", clock: Callable[[], float] = time.monotonic) -> None:
        self._batteries = sorted(glob.glob(os.path.join(root, "class/power_supply/BAT*")))
        self._clock = clock
        self._last = (clock(), self._watts())
        self._joules = 0.0

    def discharging(self) -> bool:
        return any(_read_text(os.path.join(b, "status")) == "Discharging" for b in self._batteries)

    def total_joules(self) -> float:
        now, watts = self._clock(), self._watts()
        then, last_watts = self._last
        self._joules += (watts + last_watts) / 2 * (now - then)
        self._last = (now, watts)
        return self._joules

    def _watts(self) -> float:
        """Summed draw of the batteries now discharging; raises when none is."""
        microwatts, discharging = 0, False
        for battery in self._batteries:
            if _read_text(os.path.join(battery, "status")) != "Discharging":
                continue
            discharging = True
            if os.path.exists(os.path.join(battery, "power_now")):
                microwatts += abs(_read_int(os.path.join(battery, "power_now")))
            else:  # µA × µV = 1e-12 W
                current = _read_int(os.path.join(battery, "current_now"))
                microwatts += abs(current) * _read_int(os.path.join(battery, "voltage_now")) // 1_000_000
        if not discharging:
            raise SourceUnavailable("no battery is discharging")
        return microwatts / 1e6


def default_watts_per_core() -> float:
    """A crude figure for one busy core with its share of the chip's uncore: 15 W on x86-64
    laptops and desktops, 5 W on arm64 (Apple M-series and recent Snapdragon performance cores
    run at about 3 to 6 W). Real draw per busy core ranges from about 2 W to over 20 W with
    the chip, its clocks and how many cores are busy, so an estimate can be off by 2x either way;
    users with a better figure set their own."""
    return 5.0 if platform.machine().lower() in ("arm64", "aarch64") else 15.0


class CpuTimeEstimate:
    """Not a measurement: this process's CPU time times watts per busy core. With 100 % = one
    core, this is CodeCarbon's process model (TDP × cpu_time / wall_time / cores × wall_time)
    with TDP / cores given directly."""
    measured = False

    def __init__(self, watts_per_core: float) -> None:
        if not watts_per_core > 0:
            raise ValueError(f"watts per core must be positive, got {watts_per_core}")
        self.watts_per_core = watts_per_core
        self.label = f"estimated: CPU time × {watts_per_core:g} W per core"
        self._process = psutil.Process()

    def total_joules(self) -> float:
        return process_cpu_seconds(self._process) * self.watts_per_core
