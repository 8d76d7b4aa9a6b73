"""SentencePiece (`tokenizer.ggml.model = "llama"`) encoding, following llama.cpp's llm_tokenizer_spm.

Used by the older `bitnet` arch models (1bitLLM, LLaMA-2 vocabulary). For one text fragment:
1. the caller has already replaced " " by "▁" (U+2581) and prepended "▁" where add_space_prefix applies;
2. start with one symbol per character;
3. every adjacent pair whose concatenation is a vocabulary entry is a candidate; repeatedly merge the candidate
   whose resulting token has the highest score (the leftmost one among equal scores);
4. each final symbol is emitted as its token. Merges only ever produce vocabulary entries, so a final symbol that
   is not a token is a single character; it becomes its UTF-8 bytes as <0xXX> byte tokens (byte fallback), or
   <unk> where the vocabulary lacks them. (llama.cpp's `resegment` recursion never fires for that reason.)
"""

from __future__ import annotations

import heapq
from typing import Sequence

import numpy as np

from bitnet_desktop.engine.errors import TokenizerError

SPACE_MARK = "\u2581"  # "▁", SentencePiece's visible space


class SentencePieceEncoder:
    """Score-driven bigram merging over characters, with byte fallback."""

    def __init__(self, tokens: Sequence[str], scores: np.ndarray, *, unknown_id: int | None) -> None:
        # A dict, unlike byte-level BPE's compact tables: the hot loop looks up every candidate pair's text, and
        # SentencePiece vocabularies (32,000 pieces for Llama-2) cost a few MiB this way.
        self._token_to_id: dict[str, int] = {}
        for token_id, text in enumerate(tokens):
            self._token_to_id[text] = token_id
        self._scores = memoryview(np.ascontiguousarray(scores, dtype=np.float64))  # indexing gives Python floats, fast
        self._unknown_id = unknown_id
        # byte value -> id of its "<0xXX>" token (None where the vocabulary has no such token)
        self._byte_ids: list[int | None] = [self._token_to_id.get(f"<0x{b:02X}>") for b in range(256)]

    def encode_fragment(self, text: str) -> list[int]:
        """Token ids for one already-escaped text fragment (no special tokens inside)."""
        if not text:
            return []
        token_to_id = self._token_to_id
        symbols: list[str | None] = list(text)          # None = merged into its left neighbour
        n = len(symbols)
        next_index = list(range(1, n + 1))
        next_index[-1] = -1
        prev_index = list(range(-1, n - 1))
        # Python's heapq is a min-heap: store -score so the highest score pops first, then the lower position.
        heap: list[tuple[float, int, str, str]] = []

        def push_candidate(left: int, right: int) -> None:
            if left == -1 or right == -1:
                return
            left_text, right_text = symbols[left], symbols[right]
            token_id = token_to_id.get(left_text + right_text)
            if token_id is None:
                return
            heapq.heappush(heap, (-self._scores[token_id], left, left_text, right_text))

        for i in range(n - 1):
            push_candidate(i, i + 1)

        while heap:
            _, left, left_text, right_text = heapq.heappop(heap)
            right = next_index[left]
            if right == -1 or symbols[left] != left_text or symbols[right] != right_text:
                continue  # stale: one side changed since this candidate was queued
            merged = left_text + right_text
            symbols[left] = merged
            symbols[right] = None
            after = next_index[right]
            next_index[left] = after
            if after != -1:
                prev_index[after] = left
            push_candidate(prev_index[left], left)
            push_candidate(left, after)

        output: list[int] = []
        index = 0
        while index != -1:
            piece = symbols[index]
            token_id = token_to_id.get(piece)
            if token_id is not None:
                output.append(token_id)
            else:
                self._emit_bytes(piece, output)
            index = next_index[index]
        return output

    def _emit_bytes(self, piece: str, output: list[int]) -> None:
        for byte in piece.encode("utf-8"):
            token_id = self._byte_ids[byte]
            if token_id is None:
                token_id = self._token_to_id.get(chr(byte)) if byte < 0x80 else None
            if token_id is None:
                token_id = self._unknown_id
            if token_id is None:
                raise TokenizerError(
                    f"cannot encode byte 0x{byte:02X}: no <0x{byte:02X}> token and no unknown token"
                )
            output.append(token_id)


def escape_whitespace(text: str) -> str:
    """SentencePiece's view of spaces: every " " becomes "▁" (llama_escape_whitespace)."""
    return text.replace(" ", SPACE_MARK)
