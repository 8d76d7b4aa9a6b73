"""Token generation on a loaded model: prompt processing in chunks with progress and KV-cache
prefix reuse, sampling, streaming text that never splits a UTF-8 character or shows part of a
stop string, cancellation, and live statistics.

Threading rules
---------------
* One consumer per Generator: call `generate()` and iterate its events on one thread (a GUI's
  engine thread). Starting a new generation abandons an unfinished one; iterating the abandoned
  iterator afterwards raises BitNetError.
* `cancel()` is safe from any thread. It stops the generation that is running or was created
  and not yet finished, also before its first event and during prompt processing (the forward
  pass checks the flag between layers). A cancel when no generation is unfinished does nothing:
  it never reaches the next generation.
* `reset()` and `generate()` must not be called while another thread iterates.

Every generation ends with exactly one FinishedEvent, also when it was cancelled or something
failed mid-stream (reason ERROR, with the exception and the text produced so far); only the
argument checks in `generate()` raise.
"""
from __future__ import annotations

import threading
import time
from typing import Iterator, Protocol, Sequence

import numpy as np

from ..errors import BitNetError, CancelledError
from ..sampling import Sampler, SamplingParams, StopStringMatcher
from ..tokenizer import Tokenizer
from .generation_events import FinishedEvent, FinishReason, GenerationStats, PromptProgressEvent, TokenEvent

DEFAULT_PROMPT_CHUNK = 128

Event = PromptProgressEvent | TokenEvent | FinishedEvent


class ForwardModel(Protocol):
    """What the generator needs of a model (NativeModel provides it)."""

    max_context: int

    def forward(self, tokens: Sequence[int], pos: int, all_logits: bool = False) -> np.ndarray: ...
    def prefill(self, tokens: Sequence[int], pos: int) -> None: ...
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


class _Cancelled(Exception):
    """Internal: a cancel seen between steps."""


class Generator:
    """Runs generations on one model; remembers which tokens its KV cache holds."""

    def __init__(self, model: ForwardModel, tokenizer: Tokenizer, stop_token_ids: frozenset[int],
                 prompt_chunk: int | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.stop_token_ids = frozenset(stop_token_ids)
        # Prompt tokens per forward call: progress and cancel points. The native model splits a
        # call into the same max_batch chunks, so feeding it chunk by chunk changes no result.
        config = getattr(model, "config", None)
        self.prompt_chunk = prompt_chunk or getattr(config, "max_batch", None) or DEFAULT_PROMPT_CHUNK
        self._cached: list[int] = []   # token ids whose K/V are in the model's cache, in order
        self._lock = threading.Lock()
        self._current = 0              # id of the newest generation
        self._finished = 0             # id of the newest generation that has ended or was abandoned
        self._cancel_requested = 0     # id of the generation a cancel was asked for

    def cancel(self) -> None:
        """Stop the unfinished generation as soon as possible (thread-safe; no-op when none)."""
        with self._lock:
            if self._finished < self._current:
                self._cancel_requested = self._current
                self.model.cancel()

    def reset(self) -> None:
        """Forget the KV cache (e.g. when switching to another conversation)."""
        self.model.truncate(0)
        self._cached = []

    @property
    def cached_tokens(self) -> int:
        """Positions of the KV cache in use (what the next prompt can reuse)."""
        return len(self._cached)

    def generate(self, prompt_ids: Sequence[int], params: SamplingParams,
                 top_logits: int = 0) -> Iterator[Event]:
        """Events for one generation; `top_logits` > 0 attaches the K best logits to each token.
        The generation counts as started (cancellable) from this call on."""
        prompt = [int(t) for t in prompt_ids]
        if not prompt:
            raise BitNetError("the prompt is empty: at least one token (e.g. BOS) is needed")
        if len(prompt) >= self.model.max_context:
            raise BitNetError(
                f"the prompt has {len(prompt)} tokens but the context holds {self.model.max_context}: "
                "shorten the conversation or load the model with a larger context")
        with self._lock:
            if self._finished < self._current:  # abandoned unfinished: it cannot run any more
                self._finished = self._current
            self._current += 1
            self.model.clear_cancel()
            generation = self._current
        return self._run(generation, prompt, params, top_logits)

    def _check_cancel(self, generation: int) -> None:
        if self._cancel_requested == generation:
            raise _Cancelled()

    def _end(self, generation: int) -> None:
        with self._lock:
            if self._finished < generation:
                self._finished = generation
            self.model.clear_cancel()

    def _prefill(self, generation: int, prompt: list[int], stats: GenerationStats, start: float):
        """Feeds the prompt's new tokens chunk by chunk, yielding progress; returns the logits."""
        keep = min(common_prefix_length(self._cached, prompt), len(prompt) - 1)
        self.model.truncate(keep)
        self._cached = prompt[:keep]
        stats.reused_tokens = keep
        todo = prompt[keep:]
        t0 = time.perf_counter()
        yield PromptProgressEvent(0, len(todo), t0 - start)
        logits = None
        for at in range(0, len(todo), self.prompt_chunk):
            self._check_cancel(generation)
            part = todo[at:at + self.prompt_chunk]
            if at + len(part) < len(todo):
                self.model.prefill(part, len(self._cached))
            else:
                logits = self.model.forward(part, len(self._cached))
            self._cached.extend(part)
            now = time.perf_counter()
            stats.prompt_seconds = now - t0
            yield PromptProgressEvent(at + len(part), len(todo), now - start)
        return logits

    def _run(self, generation: int, prompt: list[int], params: SamplingParams,
             top_logits: int) -> Iterator[Event]:
        stats = GenerationStats(prompt_tokens=len(prompt))
        generated: list[int] = []
        text_parts: list[str] = []
        reason = FinishReason.MAX_TOKENS
        error: BaseException | None = None
        stops = StopStringMatcher(params.stop or ())
        decoder = None
        start = time.perf_counter()
        try:
            if self._current != generation:
                raise BitNetError("this generation was replaced by a newer one on the same model")
            sampler = Sampler(params)
            sampler.accept_many(prompt)  # the repetition penalty sees the prompt too
            decoder = self.tokenizer.incremental_decoder()
            logits = yield from self._prefill(generation, prompt, stats, start)
            first_token_at = None
            while len(generated) < params.max_tokens:
                self._check_cancel(generation)
                best = _top_logits(logits, top_logits) if top_logits > 0 else None
                token = sampler.sample(logits)
                now = time.perf_counter()
                if first_token_at is None:
                    first_token_at = now
                    stats.time_to_first_token = now - start
                if token in self.stop_token_ids:
                    reason = FinishReason.EOS
                    break
                generated.append(token)
                stats.generated_tokens = len(generated)
                stats.generation_seconds = now - first_token_at
                check = stops.push(decoder.feed(token))
                text_parts.append(check.text)
                yield TokenEvent(token, check.text, len(generated) - 1, now - start, best, now - first_token_at)
                if check.stopped:
                    reason = FinishReason.STOP_STRING
                    break
                if len(self._cached) + 1 >= self.model.max_context:
                    reason = FinishReason.CONTEXT_FULL
                    break
                if len(generated) >= params.max_tokens:
                    break
                self._check_cancel(generation)
                logits = self.model.forward([token], len(self._cached))
                self._cached.append(token)
        except (_Cancelled, CancelledError):
            reason = FinishReason.CANCELLED
        except Exception as exc:  # noqa: BLE001 - the stream ends with the error, the text is kept
            reason, error = FinishReason.ERROR, exc
        finally:
            self._end(generation)
        if reason in (FinishReason.CANCELLED, FinishReason.ERROR):
            self._resync_cache()
        if reason != FinishReason.STOP_STRING and decoder is not None:
            text_parts.append(stops.push(decoder.finish()).text + stops.finish())
        yield FinishedEvent(reason, "".join(text_parts), generated, stats, error)

    def _resync_cache(self) -> None:
        """After a stop mid-forward, keep only the positions the model says survived."""
        try:
            self._cached = self._cached[: self.model.kv_length]
        except Exception:  # noqa: BLE001 - a broken model: nothing can be reused
            self._cached = []
