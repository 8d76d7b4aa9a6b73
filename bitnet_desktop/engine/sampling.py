"""Choosing the next token from logits, and spotting stop strings in streamed text.

Sampler: the filter chain is llama.cpp's default order, each step as llama.cpp defines it:

    1. repetition penalty  every distinct token among the last `repetition_window` tokens seen (prompt tokens
                           fed through accept() and generated ones) gets logit / penalty if logit > 0,
                           logit * penalty otherwise                              (1.0 = off)
    2. top-k               keep the k highest logits; ties at the cut go to the lowest id       (k <= 0 = off)
    3. top-p               softmax over what is left, keep the smallest best-first prefix whose probability
                           reaches p (at least one token)                          (p >= 1 = off)
    4. min-p               keep tokens with probability >= min_p * (probability of the best token)
                                                                                   (min_p <= 0 = off)
    5. temperature         logits / temperature; temperature <= 0 means greedy: the argmax after step 1,
                           lowest id on ties, and steps 2-6 are skipped
    6. sample              softmax, draw with numpy Generator(PCG64(seed))

top-p and min-p see the distribution before temperature, as in llama.cpp. The same seed, parameters and logits
give the same tokens on every run. A call on 128,256 logits with the defaults costs about 0.5 ms: top-k uses
argpartition and sorts only k survivors; with top-k off, top-p sorts the values once (about 1.5 ms).

StopStringMatcher: holds back streamed text that could be the start of a stop string, so a partial stop
string is never shown, and reports the stop once one is complete.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from .errors import NonFiniteLogitsError


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens. Defaults are llama-cli's, which bitnet.cpp's run_inference.py inherits."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repetition_penalty: float = 1.0
    repetition_window: int = 64       # how many of the most recent tokens the penalty looks at
    seed: int | None = None           # None: a fresh random seed, readable afterwards as Sampler.seed
    max_tokens: int = 512             # generation budget; enforced by the generation loop, not the Sampler
    stop: tuple[str, ...] = field(default=())  # stop strings; see StopStringMatcher

    def __post_init__(self) -> None:
        object.__setattr__(self, "stop", tuple(self.stop))
        if not math.isfinite(self.temperature):
            raise ValueError(f"temperature must be a finite number, got {self.temperature}")
        if math.isnan(self.top_p) or self.top_p < 0.0:
            raise ValueError(f"top_p must be >= 0, got {self.top_p}")
        if not 0.0 <= self.min_p <= 1.0:
            raise ValueError(f"min_p must be within [0, 1], got {self.min_p}")
        if not self.repetition_penalty > 0.0 or not math.isfinite(self.repetition_penalty):
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.repetition_window < 0:
            raise ValueError(f"repetition_window must be >= 0, got {self.repetition_window}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.seed is not None and self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if any(not isinstance(s, str) or not s for s in self.stop):
            raise ValueError("stop strings must be non-empty strings")

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


class Sampler:
    """Picks token ids from logits according to SamplingParams; keeps the recent-token window and the RNG.

    One Sampler per generation. Feed the prompt's ids to accept_many() so the repetition penalty sees them
    (as llama-cli does); sample() records each token it picks by itself.
    """

    def __init__(self, params: SamplingParams) -> None:
        self.params = params
        self.seed: int = params.seed if params.seed is not None else _fresh_seed()
        self._rng = np.random.Generator(np.random.PCG64(self.seed))
        self._recent: deque[int] = deque(maxlen=max(params.repetition_window, 1))

    def accept(self, token_id: int) -> None:
        """Record a token the model saw (prompt or generated) for the repetition penalty."""
        if self.params.repetition_window > 0:
            self._recent.append(int(token_id))

    def accept_many(self, token_ids: Iterable[int]) -> None:
        for token_id in token_ids:
            self.accept(token_id)

    def sample(self, logits: np.ndarray) -> int:
        """The next token id for one row of logits (shape [vocab]); the choice is recorded via accept()."""
        logits = np.asarray(logits)
        if logits.ndim != 1 or logits.size == 0:
            raise ValueError(f"logits must be a non-empty 1-D array, got shape {logits.shape}")
        if logits.dtype != np.float32:
            logits = logits.astype(np.float32)
        best = float(logits.max())  # NaN when any logit is NaN
        if math.isnan(best) or best == math.inf:
            raise NonFiniteLogitsError(
                f"the model produced {'NaN' if math.isnan(best) else '+inf'} logits: its weights hold non-finite "
                "values (a damaged or badly converted file)")
        if best == -math.inf:
            raise NonFiniteLogitsError("every logit is -inf: the model's weights hold non-finite values, "
                                       "there is no token to choose")

        logits = self._apply_repetition_penalty(logits)
        if self.params.greedy:
            token_id = int(np.argmax(logits))
        else:
            token_id = self._sample_filtered(logits)
        self.accept(token_id)
        return token_id

    # ---- chain steps --------------------------------------------------------------------------------------

    def _apply_repetition_penalty(self, logits: np.ndarray) -> np.ndarray:
        if self.params.repetition_penalty == 1.0 or not self._recent:
            return logits
        return apply_repetition_penalty(logits, self._recent, self.params.repetition_penalty)

    def _sample_filtered(self, logits: np.ndarray) -> int:
        params = self.params
        # `ids` maps candidate positions to token ids (None: candidate i is token i, the whole vocabulary).
        # Candidates stay in ascending id order throughout, so "lowest id wins ties" is a plain slice and the
        # final draw has a fixed order. Nothing larger than the top-k set is ever argsorted.
        ids: np.ndarray | None = None
        values = logits
        if 0 < params.top_k < logits.size:
            ids = np.sort(_top_k_ids(logits, params.top_k))
            values = logits[ids]

        if params.top_p < 1.0:
            keep = _top_p_positions(values, params.top_p)
            ids = keep if ids is None else ids[keep]
            values = values[keep]

        if params.min_p > 0.0:
            keep = np.flatnonzero(values >= float(values.max()) + math.log(params.min_p))
            ids = keep if ids is None else ids[keep]
            values = values[keep]

        scaled = values / np.float32(params.temperature)
        weights = np.exp(scaled - scaled.max())
        draw = self._rng.random() * float(weights.sum(dtype=np.float64))
        position = _first_prefix_index(weights, draw, inclusive=False)
        return position if ids is None else int(ids[position])


# ---- helpers ----------------------------------------------------------------------------------------------


def apply_repetition_penalty(logits: np.ndarray, recent_ids: Iterable[int], penalty: float) -> np.ndarray:
    """llama.cpp's repeat penalty: each distinct id in recent_ids gets logit / penalty when the logit is
    positive, logit * penalty otherwise (once, however often it occurred). Returns a new array."""
    recent = np.unique(np.fromiter(recent_ids, dtype=np.int64))
    recent = recent[(recent >= 0) & (recent < logits.size)]
    penalized = logits.copy()
    values = penalized[recent]
    penalized[recent] = np.where(values > 0, values / penalty, values * penalty)
    return penalized


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)


def _top_k_ids(logits: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k highest logits; among logits equal to the k-th highest, the lowest ids."""
    kth_value = logits[np.argpartition(logits, logits.size - k)[logits.size - k]]
    above = np.flatnonzero(logits > kth_value)
    tied = np.flatnonzero(logits == kth_value)
    return np.concatenate([above, tied[: k - above.size]])


def _top_p_positions(values: np.ndarray, top_p: float) -> np.ndarray:
    """Ascending positions of the shortest best-first prefix whose probability reaches top_p (at least one).

    Only the values are sorted, ascending, to find the cut: the best `count` tokens reach top_p exactly when
    the worst n - count hold at most 1 - top_p of the mass. Ties at the cut go to the lowest positions.
    """
    ascending = np.sort(values)
    weights = np.exp(ascending - ascending[-1])
    total = float(weights.sum(dtype=np.float64))
    excluded = _first_prefix_index(weights, (1.0 - top_p) * total, inclusive=False)
    cut_value = ascending[excluded]
    count = values.size - excluded
    positions = np.flatnonzero(values >= cut_value)
    if positions.size > count:  # more tokens tie at the cut than fit: drop the highest-id ties
        tied = np.flatnonzero(values[positions] == cut_value)
        positions = np.delete(positions, tied[tied.size - (positions.size - count):])
    return positions


_PREFIX_BLOCK = 1024


def _first_prefix_index(weights: np.ndarray, target: float, *, inclusive: bool) -> int:
    """Smallest i with weights[0] + ... + weights[i] >= target (inclusive) or > target (not inclusive).

    The same answer as searching np.cumsum(weights), clamped to the last index, but a full cumsum of 128k
    floats costs ~1-2 ms; summing 1024-wide blocks first and cumsumming only one block costs ~0.1 ms.
    """
    side = "left" if inclusive else "right"
    n = weights.size
    if n <= _PREFIX_BLOCK:
        index = int(np.searchsorted(np.cumsum(weights, dtype=np.float64), target, side=side))
        return min(index, n - 1)
    full = n - n % _PREFIX_BLOCK
    block_sums = weights[:full].reshape(-1, _PREFIX_BLOCK).sum(axis=1, dtype=np.float64)
    if full < n:
        block_sums = np.append(block_sums, weights[full:].sum(dtype=np.float64))
    block_ends = np.cumsum(block_sums)
    block = min(int(np.searchsorted(block_ends, target, side=side)), block_ends.size - 1)
    before = float(block_ends[block - 1]) if block > 0 else 0.0
    start = block * _PREFIX_BLOCK
    inside = np.cumsum(weights[start:start + _PREFIX_BLOCK], dtype=np.float64) + before
    index = start + int(np.searchsorted(inside, target, side=side))
    return min(index, n - 1)


# ---- stop strings -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StopCheck:
    """Result of feeding text to a StopStringMatcher."""

    text: str                   # text that is safe to show now
    stopped: bool               # a stop string has completed; generation should end
    stop_string: str | None = None


class StopStringMatcher:
    """Finds stop strings in streamed text that may arrive split across tokens.

    push() returns the text that can be shown: everything except a tail that might still grow into a stop
    string. When a stop string completes, the text before it is returned and stopped=True; the stop string
    itself is never shown. Call finish() when generation ends for another reason to release the held tail.
    """

    def __init__(self, stop_strings: Iterable[str]) -> None:
        self.stop_strings = tuple(s for s in stop_strings if s)
        self._prefixes = frozenset(s[:i] for s in self.stop_strings for i in range(1, len(s)))
        self._longest_prefix = max((len(s) - 1 for s in self.stop_strings), default=0)
        self._held = ""
        self._stopped_by: str | None = None

    @property
    def stopped(self) -> bool:
        return self._stopped_by is not None

    def push(self, text: str) -> StopCheck:
        if self._stopped_by is not None:
            return StopCheck("", True, self._stopped_by)
        buffer = self._held + text
        found = self._first_completed(buffer)
        if found is not None:
            start, stop_string = found
            self._held = ""
            self._stopped_by = stop_string
            return StopCheck(buffer[:start], True, stop_string)
        hold = self._held_tail_length(buffer)
        self._held = buffer[len(buffer) - hold:] if hold else ""
        return StopCheck(buffer[: len(buffer) - hold], False)

    def finish(self) -> str:
        """Generation ended without a stop string: the held-back tail is ordinary text after all."""
        held, self._held = self._held, ""
        return "" if self._stopped_by is not None else held

    def _first_completed(self, buffer: str) -> tuple[int, str] | None:
        """(start, stop string) of the stop string that completes first in the buffer, or None."""
        best: tuple[int, int, str] | None = None   # (end, start, stop string)
        for stop_string in self.stop_strings:
            start = buffer.find(stop_string)
            if start != -1:
                candidate = (start + len(stop_string), start, stop_string)
                if best is None or candidate[:2] < best[:2]:
                    best = candidate
        return None if best is None else (best[1], best[2])

    def _held_tail_length(self, buffer: str) -> int:
        for length in range(min(self._longest_prefix, len(buffer)), 0, -1):
            if buffer[-length:] in self._prefixes:
                return length
        return 0
