"""The UI-thread stall check: a 10 ms timer whose ticks should arrive every 10 ms. A tick that
comes late means the UI thread was busy (or waited for the GIL) that long; the gaps between ticks
are the figure. Runs only between start() and stop()."""
from __future__ import annotations

import time
from collections import defaultdict
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer

from ..engine.benchmarks.ui_bench import GapStats

INTERVAL_MS = 10


class Heartbeat(QObject):
    """`phase`, if given, is called at each tick and names the phase the gap ending there belongs
    to (e.g. "prompt" or "generation"); gaps are kept per phase."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS,
                 phase: Callable[[], str] | None = None):
        super().__init__(parent)
        self._phase = phase or (lambda: "all")
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5 % late by design
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._gaps: dict[str, list[float]] = defaultdict(list)
        self._last = 0.0

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        """Forgets earlier gaps and starts ticking."""
        self._gaps = defaultdict(list)
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        """Stops the timer; the time since the last tick counts as a gap (the thread may have been
        blocked right up to here)."""
        if self._timer.isActive():
            self._on_timer_timeout()
            self._timer.stop()

    def gaps(self, phase: str | None = None) -> list[float]:
        """Milliseconds between ticks, of one phase or of all."""
        if phase is not None:
            return list(self._gaps.get(phase, []))
        return [g for gaps in self._gaps.values() for g in gaps]

    def phases(self) -> list[str]:
        return list(self._gaps)

    def stats(self, phase: str | None = None) -> GapStats:
        return GapStats.of(self.gaps(phase))

    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        self._gaps[self._phase()].append((now - self._last) * 1000.0)
        self._last = now
