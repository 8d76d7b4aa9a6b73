"""Token generation on a loaded model: prompt processing with KV-cache prefix reuse, sampling,
streaming text that never splits a UTF-8 character or shows part of a stop string, cancellation
between tokens (and inside a forward pass through the kernel context), and live statistics.

Built for a GUI worker thread: `generate()` is an iterator of events; `cancel()` may be called
from any thread.
"""
from __future__ import annotations

import threading
import time
from typing import Iterator, Protocol, Sequence

import numpy as np

from ..errors import BitNetError, CancelledError
from ..sampling import Sampler, SamplingParams, StopStringMatcher
from ..tokenizer import Tokenizer
from .generation_events import FinishedEvent, GenerationStats, TokenEvent


class ForwardModel(Protocol):
    """What the generator needs of a model (NativeModel provides it)."""

    max_context: int

    def forward(self, tokens: Sequence[int], pos: int, all_logits: bool = False) -> np.ndarray: ...
    def truncate(self, n_tokens: int) -> None: ...
    @property
    def kv_length(self) -> int: ...
    def cancel(self) -> None: ...
    def clear_cancel(self) -> None: ...


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _top_logits(logits: np.ndarray, k: int) -> list[tuple[int, float]]:
    k = min(k, logits.size)
    idx = np.argpartition(-logits, k - 1)[:k]
    idx = idx[np.lexsort((idx, -logits[idx]))]
    return [(int(i), float(logits[i])) for i in idx]


class Generator:
    """Runs generations on one model; remembers which tokens its KV cache holds."""

    def __init__(self, model: ForwardModel, tokenizer: Tokenizer, stop_token_ids: frozenset[int]):
        self.model = model
        self.tokenizer = tokenizer
        self.stop_token_ids = frozenset(stop_token_ids)
        self._cached: list[int] = []   # token ids whose K/V are in the model's cache, in order
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop the running generation as soon as possible (thread-safe)."""
        self._cancel.set()
        self.model.cancel()

    def reset(self) -> None:
        """Forget the KV cache (e.g. when switching to another conversation)."""
        self.model.truncate(0)
        self._cached = []

    def _prefill(self, prompt: list[int], stats: GenerationStats) -> np.ndarray:
        keep = min(common_prefix_length(self._cached, prompt), len(prompt) - 1)
        self.model.truncate(keep)
        self._cached = prompt[:keep]
        stats.reused_tokens = keep
        t0 = time.perf_counter()
        logits = self.model.forward(prompt[keep:], keep)
        stats.prompt_seconds = time.perf_counter() - t0
        self._cached = list(prompt)
        return logits

    def generate(self, prompt_ids: Sequence[int], params: SamplingParams,
                 top_logits: int = 0) -> Iterator[TokenEvent | FinishedEvent]:
        """Events for one generation; `top_logits` > 0 attaches the K best logits to each token."""
        prompt = [int(t) for t in prompt_ids]
        if not prompt:
            raise BitNetError("the prompt is empty: at least one token (e.g. BOS) is needed")
        if len(prompt) >= self.model.max_context:
            raise BitNetError(
                f"the prompt has {len(prompt)} tokens but the context holds {self.model.max_context}: "
                "shorten the conversation or load the model with a larger context")
        self._cancel.clear()
        self.model.clear_cancel()
        stats = GenerationStats(prompt_tokens=len(prompt))
        sampler = Sampler(params)
        sampler.accept_many(prompt)  # the repetition penalty sees the prompt too
        decoder = self.tokenizer.incremental_decoder()
        stops = StopStringMatcher(params.stop or ())
        generated: list[int] = []
        text_parts: list[str] = []
        start = time.perf_counter()
        reason = "max_tokens"
        try:
            logits = self._prefill(prompt, stats)
            first_token_at = None
            while len(generated) < params.max_tokens:
                if self._cancel.is_set():
                    reason = "cancelled"
                    break
                best = _top_logits(logits, top_logits) if top_logits > 0 else None
                token = sampler.sample(logits)
                now = time.perf_counter()
                if first_token_at is None:
                    first_token_at = now
                    stats.time_to_first_token = now - start
                if token in self.stop_token_ids:
                    reason = "eos"
                    break
                generated.append(token)
                stats.generated_tokens = len(generated)
                stats.generation_seconds = now - first_token_at
                check = stops.push(decoder.feed(token))
                text_parts.append(check.text)
                yield TokenEvent(token, check.text, len(generated) - 1, now - start, best)
                if check.stopped:
                    reason = "stop_string"
                    break
                if len(self._cached) + 1 >= self.model.max_context:
                    reason = "context_full"
                    break
                if len(generated) >= params.max_tokens:
                    break
                logits = self.model.forward([token], len(self._cached))
                self._cached.append(token)
        except CancelledError:
            reason = "cancelled"
            self._cached = self._cached[: self.model.kv_length]
        finally:
            self.model.clear_cancel()
        if reason != "stop_string":
            text_parts.append(stops.push(decoder.finish()).text + stops.finish())
        yield FinishedEvent(reason, "".join(text_parts), generated, stats)
