"""What `bitnet-desktop bench ui` measures about the desktop app, its goals, and the table it
prints. Qt-free: the window is driven by bitnet_desktop/ui/bench_ui.py, which fills the report.

* Generation speed of the same prompt (greedy, end-of-text ignored so every run makes exactly
  `gen_tokens` tokens) through the engine alone (ChatSession.answer on a plain thread) and through
  the window (typed into the composer, ChatPage.send); runs alternate, medians are compared.
* The UI thread's largest gap and 99th percentile between 10 ms heartbeat ticks, split into the
  prompt phase (no token yet) and the generation phase, in one more window run after the timed ones
  (the heartbeat's wake-ups cost the engine a core's share where no core is spare).
* In child processes: process start to the window's first frame (second, warm start reported),
  resident memory with no model, opening a 1,000-message conversation, CPU time of 10 s idle.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

MB = 1e6


@dataclass(frozen=True)
class GapStats:
    """Gaps between heartbeat ticks, in milliseconds."""
    count: int
    largest_ms: float
    p99_ms: float

    @classmethod
    def of(cls, gaps: list[float]) -> "GapStats":
        if not gaps:
            return cls(0, 0.0, 0.0)
        ordered = sorted(gaps)
        rank = max(1, math.ceil(0.99 * len(ordered)))  # nearest rank: 99 % of the gaps are at most this
        return cls(len(ordered), ordered[-1], ordered[rank - 1])


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    shown: str             # the value as printed, with its unit
    goal: str | None       # e.g. "<= 50 ms"; None: no goal, shown for context
    passed: bool | None


def _at_most(value: float, limit: float) -> bool:
    return value <= limit


def _at_least(value: float, limit: float) -> bool:
    return value >= limit


@dataclass
class UiBenchReport:
    model: str
    synthetic_shape: str | None
    cpu: str
    threads: int
    kernel: str
    qt_platform: str
    prompt_tokens: int
    gen_tokens: int
    engine_tokens_per_second: list[float]     # one per run, in run order
    window_tokens_per_second: list[float]
    engine_median_tokens_per_second: float
    window_median_tokens_per_second: float
    window_over_engine: float
    ui_thread_busy: float                     # the UI thread's CPU time / wall time while answering (median)
    watched_window_tokens_per_second: float   # the window run the heartbeat watched
    prompt_gaps: GapStats
    generation_gaps: GapStats
    startup_seconds: float                    # warm: the second start
    first_startup_seconds: float
    rss_no_model_bytes: int
    open_conversation_messages: int
    open_conversation_seconds: float
    idle_seconds: float
    idle_cpu_seconds: float
    other_cpu_load: float = 0.0               # share of the CPUs other processes used meanwhile (0..1)
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[Row]:
        def row(name, value, shown, goal=None, check=None, limit=None):
            return Row(name, value, shown, goal, None if check is None else check(value, limit))

        p, g = self.prompt_gaps, self.generation_gaps
        return [
            row("generation, engine alone", self.engine_median_tokens_per_second,
                f"{self.engine_median_tokens_per_second:.2f} tok/s"),
            row("generation, through the window", self.window_median_tokens_per_second,
                f"{self.window_median_tokens_per_second:.2f} tok/s"),
            row("window / engine", self.window_over_engine, f"{self.window_over_engine:.3f}", ">= 0.97",
                _at_least, 0.97),
            row("UI thread busy while answering", self.ui_thread_busy, f"{self.ui_thread_busy:.1%}"),
            row("UI gap while reading the prompt, largest", p.largest_ms, f"{p.largest_ms:.1f} ms", "<= 50 ms",
                _at_most, 50.0),
            row("UI gap while reading the prompt, p99", p.p99_ms, f"{p.p99_ms:.1f} ms", "<= 16 ms", _at_most, 16.0),
            row("UI gap while generating, largest", g.largest_ms, f"{g.largest_ms:.1f} ms", "<= 50 ms",
                _at_most, 50.0),
            row("UI gap while generating, p99", g.p99_ms, f"{g.p99_ms:.1f} ms", "<= 16 ms", _at_most, 16.0),
            row("start to window shown (warm)", self.startup_seconds, f"{self.startup_seconds:.2f} s", "<= 1.5 s",
                _at_most, 1.5),
            row("memory with no model (RSS)", self.rss_no_model_bytes / MB, f"{self.rss_no_model_bytes / MB:.0f} MB",
                "<= 150 MB", _at_most, 150.0),
            row(f"CPU time in {self.idle_seconds:g} s idle", self.idle_cpu_seconds * 1000,
                f"{self.idle_cpu_seconds * 1000:.1f} ms", "<= 20 ms", _at_most, 20.0),
            row(f"open a {self.open_conversation_messages:,}-message conversation", self.open_conversation_seconds,
                f"{self.open_conversation_seconds * 1000:.0f} ms", "<= 300 ms", _at_most, 0.3),
        ]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rows"] = [asdict(r) for r in self.rows()]
        d["all_passed"] = all(r.passed for r in self.rows() if r.passed is not None)
        return d


def format_report(r: UiBenchReport) -> str:
    lines = [f"{r.model}",
             f"CPU: {r.cpu}  threads: {r.threads}  kernel: {r.kernel}  Qt platform: {r.qt_platform}",
             f"prompt {r.prompt_tokens} tokens, {r.gen_tokens} generated tokens per run (greedy, end of text "
             f"ignored), {len(r.engine_tokens_per_second)} runs each, alternating; medians compared"]
    rows = r.rows()
    width = max(len(x.name) for x in rows)
    header = f"{'':{width}}  {'measured':>12}  {'goal':>10}  result"
    lines += [header, "-" * len(header)]
    for x in rows:
        result = "" if x.passed is None else ("pass" if x.passed else "FAIL")
        lines.append(f"{x.name:{width}}  {x.shown:>12}  {x.goal or '':>10}  {result}".rstrip())
    runs = lambda values: ", ".join(f"{v:.2f}" for v in values)  # noqa: E731
    lines.append(f"runs (tok/s): engine {runs(r.engine_tokens_per_second)}; "
                 f"window {runs(r.window_tokens_per_second)}")
    lines.append(f"heartbeat run: {r.watched_window_tokens_per_second:.2f} tok/s, {r.prompt_gaps.count} ticks while "
                 f"reading the prompt, {r.generation_gaps.count} while generating; first start "
                 f"{r.first_startup_seconds:.2f} s")
    lines += [f"note: {n}" for n in r.notes]
    return "\n".join(lines)
