"""Energy used between two moments (an answer, say), from the best source this machine offers,
always labelled as a measurement or an estimate. The sources and their order are in
energy_sources.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from bitnet_desktop.meters.energy_sources import (BatterySource, CpuTimeEstimate, RaplSource,
                                                  SourceUnavailable, default_watts_per_core)


@dataclass(frozen=True)
class EnergyReading:
    """Opaque start point returned by EnergyMeter.start()."""
    _source: object
    _source_joules: float
    _estimate_joules: float


@dataclass(frozen=True)
class EnergyResult:
    joules: float
    source: str      # the source's label: "measured: …" or "estimated: …"
    measured: bool


class EnergyMeter:
    """Picks the best source when made and again at each start() (a laptop may have been
    unplugged or plugged in between answers).

    Nothing runs in the background. Call sample() about once a second while generating: the
    battery source integrates power between reads, and RAPL counters must be read at least once
    per wrap. If the source fails before stop() (the charger came on), that interval is
    reported from the CPU-time estimate, labelled as such.
    """

    def __init__(self, watts_per_core: float | None = None, root: str = "/sys") -> None:
        self._root = root
        self._estimate = CpuTimeEstimate(watts_per_core or default_watts_per_core())
        self._source = self._best_source()

    @property
    def source(self) -> str:
        return self._source.label

    @property
    def measured(self) -> bool:
        return self._source.measured

    def start(self) -> EnergyReading:
        if not self._still_usable(self._source):
            self._source = self._best_source()
        try:
            source_joules = self._source.total_joules()
        except SourceUnavailable:
            self._source = self._best_source()
            source_joules = self._source.total_joules()
        return EnergyReading(self._source, source_joules, self._estimate.total_joules())

    def sample(self) -> None:
        """Read the source now, so that battery power is integrated finely and counter wraps
        are caught. Cheap: a few small sysfs reads."""
        try:
            self._source.total_joules()
        except SourceUnavailable:
            pass  # stop() falls back to the estimate

    def stop(self, reading: EnergyReading) -> EnergyResult:
        """Energy used from `reading` until now."""
        source = reading._source
        if source is not self._estimate:
            try:
                return EnergyResult(source.total_joules() - reading._source_joules, source.label, True)
            except SourceUnavailable:
                pass
        estimate = self._estimate
        return EnergyResult(estimate.total_joules() - reading._estimate_joules, estimate.label, False)

    def _best_source(self):
        for make in (RaplSource, BatterySource):
            try:
                return make(self._root)
            except SourceUnavailable:
                continue
        return self._estimate

    def _still_usable(self, source) -> bool:
        if isinstance(source, BatterySource):
            return source.discharging()
        return source is not self._estimate  # when estimating, look again for a counter


def joules_per_token(result: EnergyResult, tokens: int) -> float | None:
    return result.joules / tokens if tokens > 0 else None


def watt_hours(joules: float) -> float:
    return joules / 3600.0
