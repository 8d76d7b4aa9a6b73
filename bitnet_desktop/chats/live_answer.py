"""The answer being generated, as the engine thread writes it and the UI reads it.

The engine thread updates it per event; the UI pulls a snapshot on its own timer (about 30 times
a second) instead of receiving one signal per token, which would flood its event loop."""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class AnswerSnapshot:
    message_id: int | None = None
    text: str = ""
    prompt_done: int = 0          # new prompt tokens processed
    prompt_total: int = 0
    generated_tokens: int = 0
    prompt_tokens_per_second: float | None = None
    generation_tokens_per_second: float | None = None
    time_to_first_token: float | None = None
    context_used: int = 0         # positions of the context the prompt and answer take
    dropped_messages: int = 0     # left out of the prompt by the drop_oldest policy
    finished: bool = False
    version: int = 0              # bumped at every change; the UI re-renders only when it moved


class LiveAnswer:
    """Thread-safe holder of the current AnswerSnapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot = AnswerSnapshot()

    def update(self, **changes) -> None:
        with self._lock:
            self._snapshot = replace(self._snapshot, version=self._snapshot.version + 1, **changes)

    def append_text(self, text: str, **changes) -> None:
        with self._lock:
            s = self._snapshot
            self._snapshot = replace(s, text=s.text + text, version=s.version + 1, **changes)

    def snapshot(self) -> AnswerSnapshot:
        with self._lock:
            return self._snapshot
