"""A small deterministic BPE trainer, and GPT-2's byte <-> unicode mapping.

`train_bpe(words)` learns merges greedily: at each step the most frequent adjacent symbol pair
(ties broken by the lexicographically smallest pair) is merged everywhere. Pairs never cross word
boundaries. Merging continues while any word has two symbols left, or until `max_merges`, so the
first n merges of a long run are exactly the merges of a run stopped at n.

`pretokenize_bytelevel(text)` splits text the way the Llama-3 regex roughly does (contractions,
letter runs with one leading non-letter, digit runs of at most 3, punctuation runs, whitespace),
using only the standard `re` module, and maps every UTF-8 byte to its GPT-2 unicode character.
It is only used to train the synthetic vocabulary; tokenizers must implement the real regex.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from functools import lru_cache
from typing import Iterable


@lru_cache(maxsize=1)
def bytes_to_unicode() -> tuple[list[int], dict[int, str]]:
    """GPT-2's mapping. Returns (byte order, byte -> char). The order lists the 188 printable bytes
    (33..126, 161..172, 174..255) first, then the other 68 bytes, which are mapped to U+0100 onward;
    in a Llama-3 vocabulary token id b' (position in this order) is the single-byte token."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    order = list(printable)
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            order.append(b)
            chars[b] = chr(256 + extra)
            extra += 1
    return order, chars


# Approximation of the Llama-3 pre-tokenizer with `re`: [^\W\d_] is "a letter", \d "a digit".
_PRETOKEN = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\w]?[^\W\d_]+|\d{1,3}| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def pretokenize_bytelevel(text: str) -> list[str]:
    """Pre-tokens of `text`, each as its GPT-2 byte-level string."""
    _, chars = bytes_to_unicode()
    return ["".join(chars[b] for b in piece.encode("utf-8")) for piece in _PRETOKEN.findall(text)]


def train_bpe(words: Iterable[str], max_merges: int | None = None) -> list[tuple[str, str]]:
    """Learn BPE merges over `words` (each a string whose characters are the initial symbols)."""
    counts = Counter(words)
    vocab = [list(w) for w in counts]
    freqs = list(counts.values())
    pair_counts: Counter[tuple[str, str]] = Counter()
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, symbols in enumerate(vocab):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += freqs[i]
            where[pair].add(i)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[str, str]] = []
    while heap and (max_merges is None or len(merges) < max_merges):
        neg, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg or neg == 0:
            continue  # stale entry
        merges.append(pair)
        merged = pair[0] + pair[1]
        touched: set[tuple[str, str]] = set()
        for i in sorted(where.pop(pair)):
            symbols = vocab[i]
            f = freqs[i]
            for p in zip(symbols, symbols[1:]):
                pair_counts[p] -= f
                touched.add(p)
            out, k = [], 0
            while k < len(symbols):
                if k + 1 < len(symbols) and symbols[k] == pair[0] and symbols[k + 1] == pair[1]:
                    out.append(merged)
                    k += 2
                else:
                    out.append(symbols[k])
                    k += 1
            vocab[i] = out
            for p in zip(out, out[1:]):
                pair_counts[p] += f
                where[p].add(i)
                touched.add(p)
        for p in touched:
            c = pair_counts.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            else:
                pair_counts.pop(p, None)
        pair_counts.pop(pair, None)
    return merges
