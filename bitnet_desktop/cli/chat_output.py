"""What `bitnet-desktop chat` prints of an answer: its text as it streams, the stats line after
it (the format tests parse), and one line per message of a resumed conversation."""
from __future__ import annotations

from ..chats.live_answer import LiveAnswer
from ..chats.records import AnswerStats, Message
from ..chats.session import AnswerOutcome
from ..engine.runtime.generation_events import FinishedEvent
from ..meters.display import ESTIMATE_MARK, format_energy_per_token, format_watt_hours
from ..meters.energy import watt_hours

TRANSCRIPT_WIDTH = 100


class TerminalAnswer(LiveAnswer):
    """Prints the answer (or a continuation) as it arrives, after `label`; the session calls it on
    the engine thread."""

    def __init__(self, label: str = "assistant> ") -> None:
        super().__init__()
        self.label = label
        self.started = False
        self._shown = ""

    def update(self, **changes) -> None:
        super().update(**changes)
        if "message_id" in changes and not self.started:  # the prompt fitted; the answer begins
            self.started = True
            print(self.label, end="", flush=True)
        text = changes.get("text", "")
        if changes.get("finished") and text.startswith(self._shown):
            self._show(text[len(self._shown):])  # what the decoder held back until the end

    def append_text(self, text: str, **changes) -> None:
        super().append_text(text, **changes)
        self._show(text)

    def _show(self, text: str) -> None:
        if text:
            self._shown += text
            print(text, end="", flush=True)


def stats_line(outcome: AnswerOutcome) -> str:
    return generation_stats_line(outcome.finished, outcome.message.stats)


def generation_stats_line(finished: FinishedEvent, stored: AnswerStats | None) -> str:
    """The stats line of one answer or continuation: speeds from the generation, energy as stored."""
    s = finished.stats
    line = (f"[{s.processed_prompt_tokens} new prompt tokens ({s.reused_tokens} reused) at "
            f"{s.prompt_tokens_per_second:.1f} tok/s; {s.generated_tokens} tokens at "
            f"{s.generation_tokens_per_second:.1f} tok/s")
    if stored is not None and stored.energy_joules is not None:
        mark = "" if (stored.energy_source or "").startswith("measured") else ESTIMATE_MARK
        line += f"; {mark}{format_watt_hours(watt_hours(stored.energy_joules))}"
        if s.generated_tokens:
            line += f", {mark}{format_energy_per_token(stored.energy_joules / s.generated_tokens)}"
        line += f" ({stored.energy_source})"
    return line + "]"


def brief(message: Message) -> str:
    text = " ".join(message.text.split())
    if len(text) > TRANSCRIPT_WIDTH:
        text = text[: TRANSCRIPT_WIDTH - 1] + "…"
    label = "you" if message.role == "user" else message.role
    return f"  {label}: {text}" + ("" if message.complete else " (incomplete)")
