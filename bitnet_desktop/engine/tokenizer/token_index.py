"""Token string -> id lookups without a dict of all the strings.

A dict from 128,256 token strings to ids costs about 17 MiB (the str objects, the int objects and the
table). This index keeps 16 bytes per token in numpy arrays (2 MiB) and reads the token string itself
from the vocabulary (a GGUF `StringArray` or a list) only to confirm a candidate:

    hashes  (n,) int64   Python's hash() of each token string, grouped by bucket = hash & mask
    ids     (n,) int32   the token id of each entry; within a bucket, in increasing order
    starts  (buckets + 1,) int32   entries of bucket b are [starts[b], starts[b + 1])

With as many buckets as tokens (rounded up to a power of two) a bucket holds about one entry, so a
lookup hashes the text, compares one or two hashes and decodes one token. hash() is randomized per
process, which does not matter: the index is built in the process that uses it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bitnet_desktop.engine.errors import TokenizerError


def _hash_of_token(text: object) -> int:
    if type(text) is not str:
        raise TokenizerError("tokenizer.ggml.tokens must be a list of strings")
    return hash(text)


class TokenIndex:
    """Finds the id of a token string; among tokens with equal strings the highest id wins (as llama.cpp)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = tokens
        n = len(tokens)
        n_buckets = 1 << max(0, n - 1).bit_length()
        self._mask = n_buckets - 1
        # The result arrays come first, before the temporaries (see merge_table._bucketed for why).
        hashes, ids, starts = np.empty(n, np.int64), np.empty(n, np.int32), np.zeros(n_buckets + 1, np.int32)
        unordered = np.fromiter(map(_hash_of_token, tokens), dtype=np.int64, count=n)
        buckets = unordered & self._mask
        order = np.argsort(buckets, kind="stable")  # ascending ids within each bucket
        np.take(unordered, order, out=hashes)
        ids[:] = order
        np.cumsum(np.bincount(buckets, minlength=n_buckets), out=starts[1:])
        self._hashes, self._ids, self._starts = memoryview(hashes), memoryview(ids), memoryview(starts)

    def find(self, text: str, allowed: bytes | None = None) -> int | None:
        """The highest id whose token string is `text` and, given `allowed`, whose `allowed[id]` is non-zero."""
        h = hash(text)
        bucket = h & self._mask
        first, position = self._starts[bucket], self._starts[bucket + 1] - 1
        while position >= first:  # highest id first
            if self._hashes[position] == h:
                token_id = self._ids[position]
                if (allowed is None or allowed[token_id]) and self._tokens[token_id] == text:
                    return token_id
            position -= 1
        return None
