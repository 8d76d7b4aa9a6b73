"""How busy this process keeps the CPU: process CPU time against wall time."""
from __future__ import annotations

import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class CpuSample:
    cpu_seconds: float    # process CPU time (user + system, all threads) since start()
    wall_seconds: float   # wall time since start()
    percent: float        # CPU use since the previous sample (or start()); 100 = one core busy


def process_cpu_seconds(process: psutil.Process | None = None) -> float:
    """User plus system CPU time of every thread of the process so far."""
    times = (process or psutil.Process()).cpu_times()
    return times.user + times.system


class CpuMeter:
    """Samples this process's CPU use. Nothing runs between calls: the caller decides when to sample."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.logical_cpus: int = psutil.cpu_count(logical=True) or 1
        self._start: tuple[float, float] | None = None
        self._previous: tuple[float, float] | None = None

    def start(self) -> None:
        self._start = self._previous = self._now()

    def sample(self) -> CpuSample:
        if self._start is None or self._previous is None:
            raise RuntimeError("CpuMeter.sample() before start()")
        cpu, wall = self._now()
        previous_cpu, previous_wall = self._previous
        self._previous = (cpu, wall)
        interval = wall - previous_wall
        percent = 100.0 * (cpu - previous_cpu) / interval if interval > 0 else 0.0
        return CpuSample(cpu - self._start[0], wall - self._start[1], percent)

    def _now(self) -> tuple[float, float]:
        return process_cpu_seconds(self._process), time.perf_counter()
