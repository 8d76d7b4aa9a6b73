"""Byte-level BPE: turns one pre-tokenized word into token ids by applying merges in rank order.

Algorithm (the same as llama.cpp's llm_tokenizer_bpe and Hugging Face `tokenizers` BPE):
1. map the word's UTF-8 bytes to the byte-level alphabet (byte_level.py);
2. if ignore_merges and the whole mapped word is a vocabulary entry, that is the answer;
3. otherwise start from one symbol per byte and repeatedly merge the adjacent pair with the lowest merge rank
   (the leftmost one among equal ranks) until no adjacent pair is in the merge table;
4. look each final symbol up in the vocabulary; a symbol that is not there (possible only with inconsistent
   merges) falls back to its single-byte tokens.

Results are cached per word: natural text repeats words, so a 2,000-token prompt costs a few milliseconds.
"""

from __future__ import annotations

import heapq
from typing import Sequence

from bitnet_desktop.engine.errors import TokenizerError
from bitnet_desktop.engine.tokenizer.byte_level import text_to_byte_level
from bitnet_desktop.engine.tokenizer.vocabulary import TokenType

# Token types a word may resolve to; specials are only ever produced by the special-token splitter.
_WORD_TOKEN_TYPES = frozenset({TokenType.UNDEFINED, TokenType.NORMAL, TokenType.USER_DEFINED, TokenType.BYTE})

_CACHE_LIMIT = 100_000  # words; cleared wholesale when full (the cache only ever saves time)


class BytePairEncoder:
    """Encodes words (already split by a PreTokenizer) with a byte-level BPE vocabulary."""

    def __init__(
        self,
        tokens: Sequence[str],
        token_types: Sequence[int],
        merges: Sequence[str],
        *,
        ignore_merges: bool,
        unknown_id: int | None = None,
    ) -> None:
        # merge "left right" -> rank. Byte-level token strings never contain a raw space (0x20 is "Ġ"), so the
        # GGUF merge string itself is an unambiguous key and we avoid splitting 280k strings at load time.
        self._merge_rank: dict[str, int] = {}
        for rank, merge in enumerate(merges):
            self._merge_rank.setdefault(merge, rank)
        self._word_to_id: dict[str, int] = {}
        for token_id, text in enumerate(tokens):
            if token_types[token_id] in _WORD_TOKEN_TYPES:
                self._word_to_id[text] = token_id
        self._ignore_merges = ignore_merges
        self._unknown_id = unknown_id
        self._cache: dict[str, tuple[int, ...]] = {}

    def encode_word(self, word: str) -> tuple[int, ...]:
        """Token ids for one pre-tokenized word (raw text, not yet byte-level mapped)."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids = self._encode_mapped(text_to_byte_level(word))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = ids
        return ids

    def _encode_mapped(self, mapped: str) -> tuple[int, ...]:
        if self._ignore_merges or len(mapped) == 1:
            whole = self._word_to_id.get(mapped)
            if whole is not None:
                return (whole,)
        ids: list[int] = []
        for symbol in self._merge(mapped):
            token_id = self._word_to_id.get(symbol)
            if token_id is not None:
                ids.append(token_id)
            else:
                # Only with inconsistent merges: a merged string that is not a token. Emit its bytes instead.
                ids.extend(self._byte_token_id(ch) for ch in symbol)
        return tuple(ids)

    def _merge(self, mapped: str) -> list[str]:
        """Apply merges to a byte-level string; returns the final symbols left to right."""
        rank_of = self._merge_rank
        symbols: list[str | None] = list(mapped)      # None = merged into its left neighbour
        n = len(symbols)
        next_index = list(range(1, n + 1))
        next_index[-1] = -1
        prev_index = list(range(-1, n - 1))

        # Heap entries: (rank, left position, left text, right text). Positions are original byte offsets, so
        # equal ranks pop leftmost first. An entry is stale once either symbol changed (texts only grow).
        heap: list[tuple[int, int, str, str]] = []
        for i in range(n - 1):
            rank = rank_of.get(f"{mapped[i]} {mapped[i + 1]}")
            if rank is not None:
                heap.append((rank, i, mapped[i], mapped[i + 1]))
        heapq.heapify(heap)

        while heap:
            _, left, left_text, right_text = heapq.heappop(heap)
            right = next_index[left]
            if right == -1 or symbols[left] != left_text or symbols[right] != right_text:
                continue
            merged = left_text + right_text
            symbols[left] = merged
            symbols[right] = None
            after = next_index[right]
            next_index[left] = after
            if after != -1:
                prev_index[after] = left
            before = prev_index[left]
            if before != -1:
                before_text = symbols[before]
                rank = rank_of.get(f"{before_text} {merged}")
                if rank is not None:
                    heapq.heappush(heap, (rank, before, before_text, merged))
            if after != -1:
                after_text = symbols[after]
                rank = rank_of.get(f"{merged} {after_text}")
                if rank is not None:
                    heapq.heappush(heap, (rank, left, merged, after_text))

        return [s for s in symbols if s is not None]

    def _byte_token_id(self, byte_char: str) -> int:
        token_id = self._word_to_id.get(byte_char)
        if token_id is not None:
            return token_id
        if self._unknown_id is not None:
            return self._unknown_id
        raise TokenizerError(
            f"byte-level character {byte_char!r} has no token in this vocabulary and there is no unknown token"
        )
