"""Byte-level BPE: turns one pre-tokenized word into token ids by applying merges in rank order.

Algorithm (the same as llama.cpp's llm_tokenizer_bpe and Hugging Face `tokenizers` BPE):
1. map the word's UTF-8 bytes to the byte-level alphabet (byte_level.py);
2. if ignore_merges and the whole mapped word is a vocabulary entry, that is the answer;
3. otherwise start from one symbol per byte and repeatedly merge the adjacent pair with the lowest merge rank
   (the leftmost one among equal ranks) until no adjacent pair is in the merge table;
4. look each final symbol up in the vocabulary; a symbol that is not there (possible only with inconsistent
   merges) falls back to its single-byte tokens.

Symbols are ints, not strings: the id of the word-level token with that string, or for a string that is no such
token (a byte or merge result missing from an inconsistent vocabulary) an id past the vocabulary, kept with its
text. String and id are one-to-one, so merging ids gives exactly the string algorithm's result, and the merge
table (merge_table.py) needs no per-merge Python objects.

Results are cached per word: natural text repeats words, so a 2,000-token prompt costs a few milliseconds.
"""

from __future__ import annotations

import heapq
from typing import Sequence

import numpy as np

from bitnet_desktop.engine.errors import TokenizerError
from bitnet_desktop.engine.tokenizer.byte_level import BYTE_TO_UNICODE, byte_level_to_bytes, bytes_to_byte_level
from bitnet_desktop.engine.tokenizer.merge_table import KEY_BASE, NOT_FOUND, MergeTable
from bitnet_desktop.engine.tokenizer.token_index import TokenIndex
from bitnet_desktop.engine.tokenizer.vocabulary import TokenType

# Token types a word may resolve to; specials are only ever produced by the special-token splitter.
_WORD_TOKEN_TYPES = (TokenType.UNDEFINED, TokenType.NORMAL, TokenType.USER_DEFINED, TokenType.BYTE)

_CACHE_LIMIT = 100_000  # words; cleared wholesale when full (the cache only ever saves time)
_MERGED = -1  # symbol slot merged into its left neighbour


class BytePairEncoder:
    """Encodes words (already split by a PreTokenizer) with a byte-level BPE vocabulary."""

    def __init__(
        self,
        tokens: Sequence[str],
        token_types: np.ndarray,
        merges: Sequence[str],
        index: TokenIndex,
        *,
        ignore_merges: bool,
        unknown_id: int | None = None,
    ) -> None:
        self._index = index
        self._n_tokens = len(tokens)
        # token id -> 1 where a word may encode to the token (a bytes object indexes faster than numpy)
        self._word_level = np.isin(token_types, _WORD_TOKEN_TYPES).astype(np.uint8).tobytes()
        self._virtual_texts: list[str] = []  # strings of the symbols past the vocabulary
        self._byte_symbols, self._merges = self._build_symbols(tokens, merges)
        self._byte_pair_ranks = self._merges.byte_pair_ranks(self._byte_symbols)
        self._ignore_merges = ignore_merges
        self._unknown_id = unknown_id
        self._cache: dict[str, tuple[int, ...]] = {}
        self._byte_level_cache: dict[str, tuple[int, ...]] = {}  # apart: "Ġ" is a space here, U+0120 there

    def _build_symbols(self, tokens: Sequence[str], merges: Sequence[str]) -> tuple[list[int], MergeTable]:
        # A plain dict is ten times faster than the index for the 840k lookups of Llama-3's merges; it is
        # only alive while the table is built.
        word_ids = {text: token_id for token_id, text in enumerate(tokens) if self._word_level[token_id]}
        virtual_ids: dict[str, int] = {}

        def new_symbol(text: str) -> int:
            symbol = virtual_ids.get(text)
            if symbol is None:
                symbol = virtual_ids[text] = self._n_tokens + len(self._virtual_texts)
                self._virtual_texts.append(text)
            return symbol

        byte_symbols = [word_ids[ch] if ch in word_ids else new_symbol(ch) for ch in BYTE_TO_UNICODE]
        return byte_symbols, MergeTable(merges, word_ids, new_symbol)

    def encode_word(self, word: str) -> tuple[int, ...]:
        """Token ids for one pre-tokenized word (raw text, not yet byte-level mapped)."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids = self._encode_bytes(word.encode("utf-8"))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = ids
        return ids

    def encode_byte_level_word(self, word: str) -> tuple[int, ...]:
        """Token ids for one word already in the byte-level alphabet (a pre-tokenizer cut after ByteLevel,
        maybe inside a UTF-8 character)."""
        cached = self._byte_level_cache.get(word)
        if cached is not None:
            return cached
        ids = self._encode_bytes(byte_level_to_bytes(word))
        if len(self._byte_level_cache) >= _CACHE_LIMIT:
            self._byte_level_cache.clear()
        self._byte_level_cache[word] = ids
        return ids

    def _encode_bytes(self, data: bytes) -> tuple[int, ...]:
        # A single byte needs no lookup: its symbol already is its token when the vocabulary has one.
        if self._ignore_merges and len(data) > 1:
            whole = self._index.find(bytes_to_byte_level(data), self._word_level)
            if whole is not None:
                return (whole,)
        n_tokens = self._n_tokens
        ids: list[int] = []
        for symbol in self._merge(data):
            if symbol < n_tokens:
                ids.append(symbol)
            else:
                # Only with inconsistent merges: a merged string that is not a token. Emit its bytes instead.
                ids.extend(self._byte_token_id(ch) for ch in self._virtual_texts[symbol - n_tokens])
        return tuple(ids)

    def _merge(self, data: bytes) -> list[int]:
        """Apply merges to a word's bytes; returns the final symbols left to right."""
        symbols = list(map(self._byte_symbols.__getitem__, data))
        n = len(symbols)
        if n < 2:
            return symbols
        next_index = list(range(1, n + 1))
        next_index[-1] = -1
        prev_index = list(range(-1, n - 1))

        # Heap entries: (rank, left position, left symbol, right symbol). Positions are original byte offsets, so
        # equal ranks pop leftmost first. An entry is stale once either symbol changed.
        heap: list[tuple[int, int, int, int]] = []
        byte_pair_ranks = self._byte_pair_ranks
        for i in range(n - 1):
            rank = byte_pair_ranks[data[i]][data[i + 1]]
            if rank != NOT_FOUND:
                heap.append((rank, i, symbols[i], symbols[i + 1]))
        heapq.heapify(heap)

        # MergeTable.find, inlined below: the call would cost more than the lookup itself.
        keys, ranks, starts, mask = self._merges.arrays()
        merged_by_rank = self._merges.merged
        key_base, heappop, heappush = KEY_BASE, heapq.heappop, heapq.heappush
        while heap:
            rank, left, left_symbol, right_symbol = heappop(heap)
            right = next_index[left]
            if right == -1 or symbols[left] != left_symbol or symbols[right] != right_symbol:
                continue
            merged = merged_by_rank[rank]
            symbols[left] = merged
            symbols[right] = _MERGED
            after = next_index[right]
            next_index[left] = after
            if after != -1:
                prev_index[after] = left
            before = prev_index[left]
            if before != -1:
                before_symbol = symbols[before]
                key = before_symbol * key_base + merged
                bucket = key & mask
                position, end = starts[bucket], starts[bucket + 1]
                while position < end:
                    if keys[position] == key:
                        heappush(heap, (ranks[position], before, before_symbol, merged))
                        break
                    position += 1
            if after != -1:
                after_symbol = symbols[after]
                key = merged * key_base + after_symbol
                bucket = key & mask
                position, end = starts[bucket], starts[bucket + 1]
                while position < end:
                    if keys[position] == key:
                        heappush(heap, (ranks[position], left, merged, after_symbol))
                        break
                    position += 1

        return [s for s in symbols if s != _MERGED]

    def _byte_token_id(self, byte_char: str) -> int:
        token_id = self._index.find(byte_char, self._word_level)
        if token_id is not None:
            return token_id
        if self._unknown_id is not None:
            return self._unknown_id
        raise TokenizerError(
            f"byte-level character {byte_char!r} has no token in this vocabulary and there is no unknown token"
        )
