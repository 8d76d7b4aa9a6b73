"""Perplexity over non-overlapping windows, as llama.cpp's perplexity tool computes it: each
window of `ctx` tokens starts with BOS (replacing its first token when the model adds BOS), is
evaluated in one pass, and only its second half is scored (every scored token has at least
ctx/2 tokens of context). Also reports how often the model's top-1 prediction was the next token.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import BitNetError, NonFiniteLogitsError


@dataclass
class PerplexityResult:
    perplexity: float
    nll_mean: float
    top1_accuracy: float
    scored_tokens: int
    windows: int
    ctx: int
    window_perplexities: list[float]


def log_softmax_f64(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x -= x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def text_tokens(tokenizer, text: str) -> list[int]:
    """The token stream llama.cpp's perplexity tool scores for `text`: tokenized with the
    vocabulary's own BOS (and EOS) rules, so a model that adds BOS starts the stream with it. That
    shifts every window by one token against a stream without BOS, which moved the result by about
    half a percent."""
    return tokenizer.encode(text)


def perplexity(forward_all: Callable[[Sequence[int]], np.ndarray], tokens: Sequence[int], ctx: int,
               bos_id: int | None, progress: Callable[[int, int], None] | None = None) -> PerplexityResult:
    """`forward_all(ids)` returns logits [len(ids), vocab] for a fresh sequence at position 0."""
    if ctx < 4:
        raise BitNetError(f"--ctx must be at least 4, got {ctx}")
    n_windows = len(tokens) // ctx
    if n_windows == 0:
        raise BitNetError(f"the text has {len(tokens)} tokens, fewer than one window of {ctx}: "
                          "use a longer text or a smaller --ctx")
    first = ctx // 2
    nll_sum, correct, scored = 0.0, 0, 0
    per_window = []
    for w in range(n_windows):
        window = list(tokens[w * ctx:(w + 1) * ctx])
        if bos_id is not None:
            window[0] = bos_id
        logprobs = log_softmax_f64(forward_all(window))
        if not np.isfinite(logprobs).all():
            raise NonFiniteLogitsError(f"window {w + 1}: the model produced NaN or infinite logits: its weights "
                                       "hold non-finite values (a damaged or badly converted file)")
        positions = np.arange(first, ctx - 1)
        targets = np.asarray(window[first + 1:ctx])
        nll = -logprobs[positions, targets]
        nll_sum += float(nll.sum())
        correct += int((logprobs[positions].argmax(axis=-1) == targets).sum())
        scored += len(positions)
        per_window.append(math.exp(float(nll.mean())))
        if progress:
            progress(w + 1, n_windows)
    mean = nll_sum / scored
    return PerplexityResult(math.exp(mean), mean, correct / scored, scored, n_windows, ctx, per_window)
