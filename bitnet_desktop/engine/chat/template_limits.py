"""What one chat-template render may cost, and the budget that the sandbox's hooks charge as it runs.

A template is untrusted code, so every render gets a TemplateBudget:

* steps     - loop iterations, calls, filters and operators; the deterministic bound on work.
* seconds   - wall clock, checked at each step: the second line, for steps that are each slow.
* chars     - the rendered text, and the printed size ("weight") of any one value the template makes.
* produced  - all text and container slots made along the way, summed: bounds memory held in buffers.
* int_bits  - the size of any integer the template computes.

Text and work grow with the conversation, so the budget does too (TemplateLimits.for_input): a long chat
must not be refused where a short one renders.

Only an active budget (TemplateBudget.active) can be charged; a charge with none open is refused. Jinja
evaluates some expressions while compiling (constant folding) and gives up on any that raise, so the
refusal also keeps a filter such as `'a'|center(1000000000)` from running at load.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import MappingView
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from typing import Any, Iterable, Iterator

from jinja2.utils import Namespace

MAX_TEMPLATE_CHARS = 32 * 1024   # source size: shipped templates are 1-13 KB; compiling costs up to ~12 us a character
MAX_NESTING = 64                 # containers inside containers; JSON schemas of tools nest ~10 deep
MAX_RANGE = 100_000              # items of one range(); Jinja's own sandbox limit
MAX_ITEMS = 100_000              # items of one list, dict or set: what a filter walks in Python per item

BASE_STEPS = 100_000             # a real template takes 10-40 steps a message
STEPS_PER_MESSAGE = 1_000
BASE_SECONDS = 0.5               # a real template renders 50 messages in about a millisecond
SECONDS_PER_MESSAGE = 0.001
BASE_CHARS = 1_000_000           # far above any prompt a context window holds
CHARS_PER_INPUT_CHAR = 4         # a template may repeat the conversation a few times
PRODUCED_PER_CHAR = 8            # real templates make 2-6 characters along the way per character output
MAX_INT_BITS = 4096              # ~1,200 decimal digits; Python itself refuses to print past 4,300

_ACTIVE: contextvars.ContextVar[TemplateBudget | None] = contextvars.ContextVar("template_budget", default=None)


class TemplateLimitError(Exception):
    """A template went over a limit. The message names the limit: "100,000 steps (...)"."""


@dataclass(frozen=True)
class TemplateLimits:
    steps: int
    seconds: float
    chars: int
    produced: int
    int_bits: int = MAX_INT_BITS

    @classmethod
    def for_input(cls, input_chars: int, messages: int) -> TemplateLimits:
        chars = BASE_CHARS + CHARS_PER_INPUT_CHAR * input_chars
        return cls(
            steps=BASE_STEPS + STEPS_PER_MESSAGE * messages,
            seconds=BASE_SECONDS + SECONDS_PER_MESSAGE * messages,
            chars=chars,
            produced=PRODUCED_PER_CHAR * chars,
        )


def active_budget() -> TemplateBudget:
    budget = _ACTIVE.get()
    if budget is None:
        raise TemplateLimitError("no render under way (a template expression cannot run while compiling)")
    return budget


def input_weight(value: Any) -> int:
    """The printed size of the rendering context (the conversation, tools), before any limit applies."""
    return _weight(value, {}, 0, None)


class TemplateBudget:
    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.exceeded: TemplateLimitError | None = None
        self._steps_left = limits.steps
        self._produced_left = limits.produced
        self._chars = limits.chars
        self._deadline = time.monotonic() + limits.seconds

    @contextmanager
    def active(self) -> Iterator[TemplateBudget]:
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def refuse(self, limit: str) -> TemplateLimitError:
        # Kept, so a limit hit inside code that swallows exceptions is still reported after the render.
        self.exceeded = TemplateLimitError(limit)
        raise self.exceeded

    def step(self) -> bool:
        self._steps_left -= 1
        if self._steps_left < 0:
            self.refuse(f"{self.limits.steps:,} steps (loop iterations, calls, filters and operators)")
        if time.monotonic() > self._deadline:
            self.refuse(f"{self.limits.seconds:g} s of rendering")
        return True

    def text_step(self, length: int) -> None:
        """step() and check() in one, for an operation that makes `length` characters of text ('+')."""
        self._steps_left -= 1
        self._produced_left -= length
        if (self._steps_left < 0 or self._produced_left < 0 or length > self._chars
                or time.monotonic() > self._deadline):
            self._steps_left += 1                 # undone, for the checks that name the limit
            self._produced_left += length
            self.step()
            self.produce(length)
            self.require_chars(length, "one string")

    def produce(self, amount: int) -> None:
        self._produced_left -= amount
        if self._produced_left < 0:
            self.refuse(f"{self.limits.produced:,} characters and items made while rendering")

    def require_chars(self, amount: int, what: str) -> None:
        if amount > self._chars:
            self.refuse(f"{self._chars:,} characters in {what}")

    # The checks below run for nearly every operation of a render, so they dispatch on type(value):
    # isinstance() on a namespace would run its Python-level __getattribute__ for __class__.

    def check(self, value: Any) -> Any:
        """value, once charged for and checked against the size limits."""
        kind = type(value)
        if issubclass(kind, str):
            self.produce(len(value))
            if len(value) > self._chars:
                self.require_chars(len(value), "one string")
        elif kind is int:
            if value.bit_length() > self.limits.int_bits:
                self.refuse(f"{self.limits.int_bits:,}-bit integers")
        elif issubclass(kind, _SIZED):
            self.produce(len(value))
            if len(value) > MAX_ITEMS and kind is not bytes:     # before walking it
                self.refuse(f"{MAX_ITEMS:,} items in one list, dict or set")
            _weight(value, {}, 0, self)
        elif issubclass(kind, Namespace):
            _weight(value, {}, 0, self)
        return value

    def weight(self, value: Any) -> int:
        """Printed size of value, each shared part counted as often as it is referenced: what str(),
        tojson or == would walk. Refused past the chars limit or MAX_NESTING, without walking further."""
        return len(value) if issubclass(type(value), str) else _weight(value, {}, 0, self)

    def collect(self, iterable: Iterable[Any], what: str) -> tuple[list[Any], int]:
        """The items of iterable as a list, and their total weight; refused as soon as that passes the
        chars limit, so a lazy iterable (a filter's generator) never builds more than the limit."""
        items, total = [], 0
        for item in iterable:
            total += self.weight(item)
            self.require_chars(total, what)
            items.append(item)
        self.produce(len(items))
        return items, total

    def join_text(self, parts: Iterable[str]) -> str:
        """"".join(parts) for rendered output, refused before the joined text passes the chars limit."""
        if type(parts) is list:
            self.require_chars(sum(map(len, parts)), "the rendered text")
        else:
            pieces, total, chars = [], 0, self._chars
            for piece in parts:
                total += len(piece)
                if total > chars:
                    self.require_chars(total, "the rendered text")
                pieces.append(piece)
            parts = pieces
        text = "".join(parts)
        self.produce(len(text))
        return text


_SIZED = (list, tuple, dict, set, frozenset, bytes)


def _children(kind: type, value: Any) -> Iterable[Any] | None:
    if issubclass(kind, (list, tuple, set, frozenset)):
        return value
    if issubclass(kind, dict):
        return chain(value.keys(), value.values())
    if issubclass(kind, Namespace):
        return value._Namespace__attrs.values()
    if issubclass(kind, MappingView):
        return value
    return None


def _weight(value: Any, seen: dict[int, list], depth: int, budget: TemplateBudget | None) -> int:
    kind = type(value)
    if issubclass(kind, (str, bytes)):
        return len(value)
    if kind is int:
        return value.bit_length() // 3 + 1
    children = _children(kind, value)
    if children is None:
        return 1
    known = seen.get(id(value))
    if known is not None:
        return known[1]
    if budget is not None and depth >= MAX_NESTING:
        budget.refuse(f"{MAX_NESTING} levels of containers inside containers")
    # The value is kept in `seen` so its id cannot be reused by a temporary (a dict view's item tuples).
    entry = seen[id(value)] = [value, 1]      # a cycle prints as "[...]"
    limit = budget.limits.chars if budget is not None else None
    total = 1
    for child in children:                    # the hot loop of every check: strings inline
        total += len(child) if type(child) is str else _weight(child, seen, depth + 1, budget)
        if limit is not None and total > limit:
            budget.require_chars(total, "one list, dict or namespace (shared parts counted each time)")
    entry[1] = total
    return total
