"""Byte-level BPE merges as a flat hash table over pairs of symbol ids, instead of a dict of strings.

A dict from Llama-3's 280,147 "left right" strings to ranks costs about 40 MiB; this table keeps 16
bytes per merge plus 4 per bucket (about 6.5 MiB) in numpy arrays:

    keys    (m,) int64   left * KEY_BASE + right, from the symbol ids of the pair, grouped by bucket
    ranks   (m,) int32   the rank of each entry's merge (its position in the GGUF list)
    starts  (buckets + 1,) int32   entries of bucket b are [starts[b], starts[b + 1])
    merged  (ranks,) int32   by rank: the symbol a merge makes

KEY_BASE exceeds every symbol id, so a key names one pair, and it is odd and irregular, so the low
bits of the keys, bucket = key & mask, spread the pairs (about one per bucket). Symbol ids come from
the encoder (bpe.py): token ids, and ids past the vocabulary for strings that are not tokens.
"""

from __future__ import annotations

import operator
from array import array
from itertools import islice, repeat
from typing import Callable, Mapping, Sequence

import numpy as np

from bitnet_desktop.engine.errors import TokenizerError

KEY_BASE = 0x9E3779B1  # 2^32 / golden ratio: above 2^31, odd
NOT_FOUND = -1
_BLOCK = 4096  # merges looked up per batch


class MergeTable:
    """Rank and result of merging two adjacent symbols; a merge listed twice keeps its first rank."""

    def __init__(self, merges: Sequence[str], symbols: Mapping[str, int], new_symbol: Callable[[str], int]) -> None:
        """`symbols` maps the strings of symbols known beforehand to their ids; `new_symbol(text)` gives the
        id of any other string (the same id for the same string)."""
        # Left, right and merged strings of a block of merges are looked up with map(), in C: a Python loop
        # over Llama-3's 280k merges takes twice as long. A merge whose left or right part is empty or holds a
        # space is entered like any other and can never apply, as symbols are never empty and hold no space.
        lefts, rights, results = array("i"), array("i"), array("i")  # index = rank
        known = symbols.get
        it = iter(merges)
        while block := list(islice(it, _BLOCK)):
            try:
                parts = [merge.partition(" ") for merge in block]
            except (AttributeError, TypeError):
                raise TokenizerError("tokenizer.ggml.merges must be a list of 'left right' strings") from None
            left_texts = [part[0] for part in parts]
            right_texts = [part[2] for part in parts]
            for texts, out in (
                (left_texts, lefts),
                (right_texts, rights),
                (list(map(operator.add, left_texts, right_texts)), results),
            ):
                ids = list(map(known, texts, repeat(-1)))
                if -1 in ids:
                    ids = [new_symbol(text) if i == -1 else i for text, i in zip(texts, ids)]
                out.extend(ids)
        self._mask, self._keys, self._ranks, self._starts = _bucketed(lefts, rights)
        self.merged = memoryview(results)  # rank -> merged symbol
        self.size = len(self._keys)

    def byte_pair_ranks(self, byte_symbols: Sequence[int]) -> list[list[int]]:
        """`rows[a][b]` = `find(byte_symbols[a], byte_symbols[b])` for every pair of bytes: the first lookups of
        every word, one per pair of adjacent bytes, become two list reads (about 0.5 MiB)."""
        keys = np.frombuffer(self._keys, dtype=np.int64)
        symbols = np.asarray(byte_symbols, dtype=np.int64)
        wanted = symbols[:, None] * KEY_BASE + symbols[None, :]
        ranks = np.full(wanted.shape, NOT_FOUND, dtype=np.int64)
        if len(keys):
            order = np.argsort(keys)
            at = order[np.minimum(np.searchsorted(keys, wanted, sorter=order), len(keys) - 1)]
            found = keys[at] == wanted
            ranks[found] = np.frombuffer(self._ranks, dtype=np.int32)[at[found]]
        return ranks.tolist()

    def arrays(self) -> tuple[memoryview, memoryview, memoryview, int]:
        """(keys, ranks, starts, mask), for a caller that inlines `find` in a hot loop."""
        return self._keys, self._ranks, self._starts, self._mask

    def find(self, left: int, right: int) -> int:
        """The rank of the merge of the pair (`merged[rank]` is its result), or NOT_FOUND."""
        key = left * KEY_BASE + right
        bucket = key & self._mask
        position, end = self._starts[bucket], self._starts[bucket + 1]
        while position < end:
            if self._keys[position] == key:
                return self._ranks[position]
            position += 1
        return NOT_FOUND


def _bucketed(lefts: array, rights: array) -> tuple[int, memoryview, memoryview, memoryview]:
    """(mask, keys, ranks, starts) of the table from the symbol ids of each rank's merge.

    The result arrays are allocated before the temporaries: freeing those then leaves free memory at the
    top of the heap, which the C allocator returns to the OS, rather than holes below the table, which it
    keeps (about 10 MiB for Llama-3's merges)."""
    n = len(lefts)
    n_buckets = 1 << max(0, n - 1).bit_length()
    mask = n_buckets - 1
    keys, ranks_out, starts = np.empty(n, np.int64), np.empty(n, np.int32), np.zeros(n_buckets + 1, np.int32)
    if n == 0:
        return mask, memoryview(keys), memoryview(ranks_out), memoryview(starts)

    pairs = np.frombuffer(lefts, dtype=np.int32).astype(np.int64)
    pairs *= KEY_BASE
    pairs += np.frombuffer(rights, dtype=np.int32)
    ranks = np.argsort(pairs)
    kept = np.ones(n, dtype=bool)  # one entry per distinct pair, with the lowest of its ranks
    np.not_equal(pairs[ranks[1:]], pairs[ranks[:-1]], out=kept[1:])
    if not kept.all():
        ranks = np.minimum.reduceat(ranks, np.flatnonzero(kept))
    del kept
    buckets = pairs[ranks]
    buckets &= mask
    order = np.argsort(buckets)
    ranks, buckets = ranks[order], buckets[order]
    del order
    m = len(ranks)
    keys, ranks_out = keys[:m], ranks_out[:m]
    np.take(pairs, ranks, out=keys)
    del pairs
    ranks_out[:] = ranks
    np.cumsum(np.bincount(buckets, minlength=n_buckets), out=starts[1:])
    return mask, memoryview(keys), memoryview(ranks_out), memoryview(starts)
