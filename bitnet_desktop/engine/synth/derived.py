"""Derived tokens and merges that bring a synthetic Llama-3 vocabulary to full size (the 2b4t shape).

The built-in corpus teaches about 1,800 merges; the real BitNet-b1.58-2B-4T vocabulary has 128,000
ordinary tokens and 280,147 merges, and what a tokenizer costs in memory and load time follows those
counts. Training BPE on a corpus big enough to learn them would take minutes, so the rest is derived:

* units: the corpus tokens that are 1-3 lowercase ASCII letters, with or without a leading "Ġ"
  (word starts), and the 100 most frequent of those without it (word continuations);
* words of 5 units, a word start then four continuations, drawn at random; each word is added
  after every shorter run of units inside it (u1u2, u2u3, ..., u1u2u3, ..., then u1..u5), where
  those are not tokens already, so every run of units that is a token has all its sub-runs as
  tokens with smaller ids;
* each derived token gets one merge per unit boundary it can be split at ("u1u2 u3" and "u1 u2u3"
  for a run of 3), longest left half first, after the merges of the tokens before it: ranks grow
  with the id of the token a merge makes, as in Llama-3's merge list. That is about 2.4 merges
  per token; merges beyond the budget are taken back from the last tokens, each keeping its first.

Deterministic: a fixed `random.Random` seed, independent of the model seed.
"""

from __future__ import annotations

import random
import re

_UNIT = re.compile("Ġ?[a-z]{1,3}")
_CONTINUATIONS = 100
_WORD_UNITS = 5
_SEED = 0x5EED


def derive_tokens_and_merges(
    tokens: list[str], seen: set[str], room: int, merge_budget: int
) -> tuple[list[str], list[str]]:
    """Up to `room` new tokens (none in `seen`) and up to `merge_budget` merges "left right" for them.

    `tokens` is the vocabulary so far in id order (its corpus tokens supply the units); the new
    tokens take the ids after it. `seen` gets every new token."""
    n_tokens = min(room, merge_budget)
    starts = [t for t in tokens if _UNIT.fullmatch(t)]
    continuations = [t for t in starts if not t.startswith("Ġ")][:_CONTINUATIONS]
    if n_tokens <= 0 or not continuations:
        return [], []
    rng = random.Random(_SEED)

    def pick(units: list[str]) -> str:
        return units[int(rng.random() * len(units))]

    made: list[tuple[str, ...]] = []  # the units of each new token, in id order
    words_left = 10 * n_tokens  # bounds the work should the units ever run out of new words
    while len(made) < n_tokens and words_left:
        words_left -= 1
        word = (pick(starts),) + tuple(pick(continuations) for _ in range(_WORD_UNITS - 1))
        for length in range(2, _WORD_UNITS + 1):
            for start in range(_WORD_UNITS - length + 1):
                units = word[start : start + length]
                text = "".join(units)
                if text not in seen and len(made) < n_tokens:
                    seen.add(text)
                    made.append(units)

    splits = [len(units) - 1 for units in made]
    excess = sum(splits) - merge_budget
    for i in range(len(made) - 1, -1, -1):
        if excess <= 0:
            break
        dropped = min(excess, splits[i] - 1)
        splits[i] -= dropped
        excess -= dropped

    merges: list[str] = []
    for units, n_splits in zip(made, splits):
        for split in range(len(units) - 1, len(units) - 1 - n_splits, -1):
            merges.append("".join(units[:split]) + " " + "".join(units[split:]))
    return ["".join(units) for units in made], merges
