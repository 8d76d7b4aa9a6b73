"""Feeds the stats bar: the meters (memory, CPU, energy) and the answer's figures, each at a
bounded rate, and only when asked: the chat page calls it while an answer streams and after
events, so nothing runs while the app is idle."""
from __future__ import annotations

import time

from ..chats.live_answer import AnswerSnapshot
from ..chats.records import Message
from ..meters.cpu import CpuMeter
from ..meters.energy import EnergyMeter, watt_hours
from ..meters.memory import MemorySample, sample_memory
from .engine_controller import EngineController
from .stats_bar import StatsBar

METER_INTERVAL_S = 1.0
# Labels twice a second: each change relays out the bar, and the speed shown is an average anyway.
LABEL_INTERVAL_S = 0.5


class LiveStats:
    def __init__(self, bar: StatsBar, engine: EngineController, watts_per_core: float | None):
        self.bar, self.engine = bar, engine
        self.energy = EnergyMeter(watts_per_core)
        self.cpu = CpuMeter()
        self.cpu.start()
        self._last_memory: MemorySample | None = None
        self._next_meter = 0.0
        self._next_labels = 0.0

    def answer_started(self) -> None:
        self.bar.clear_answer()
        self.cpu.start()
        self._next_meter = time.monotonic() + METER_INTERVAL_S
        self._next_labels = 0.0

    def show_snapshot(self, snap: AnswerSnapshot) -> None:
        """The answer's figures (rate-limited, except the final ones) and the meters when due."""
        now = time.monotonic()
        if now >= self._next_labels or snap.finished:
            self._next_labels = now + LABEL_INTERVAL_S
            self.bar.show_speed(snap.prompt_tokens_per_second, snap.generation_tokens_per_second,
                                snap.time_to_first_token)
            if self.engine.info is not None:
                self.bar.show_context(snap.context_used, self.engine.info.context_size)
        if now >= self._next_meter:
            self._next_meter = now + METER_INTERVAL_S
            self.sample(full=False)

    def sample(self, full: bool = True) -> None:
        """Memory and CPU. While answering (full=False) only the RSS is read: the model file's
        resident share comes from /proc/self/smaps, which took 14 ms a read with 2B-4T loaded in
        the window (the kernel walks every mapping), and it hardly changes while a model
        generates; the last full reading's share is shown."""
        info = self.engine.info
        allocated = info.allocated_bytes if info else None
        last = self._last_memory
        if full or last is None or info is None:
            memory = sample_memory(info.path if info else None, allocated)
            self._last_memory = memory
        else:
            memory = MemorySample(sample_memory(None, allocated).rss, last.model_file_resident, allocated,
                                  f"{last.source} (model file share as of the last full reading)")
        self.bar.show_memory(memory)
        self.bar.show_cpu(self.cpu.sample().percent)

    def show_context(self, used: int) -> None:
        if self.engine.info is not None:
            self.bar.show_context(used, self.engine.info.context_size)

    def show_conversation_energy(self, messages: list[Message]) -> None:
        """J/token of the last answer and Wh of the whole conversation, with the last source."""
        answers = [m.stats for m in messages
                   if m.role == "assistant" and m.stats and m.stats.energy_joules is not None]
        if not answers:
            self.bar.show_energy(None, None, None, False)
            return
        last = answers[-1]
        per_token = last.energy_joules / last.generated_tokens if last.generated_tokens else None
        total = watt_hours(sum(s.energy_joules for s in answers))
        measured = bool(last.energy_source and last.energy_source.startswith("measured"))
        self.bar.show_energy(per_token, total, last.energy_source, measured)
