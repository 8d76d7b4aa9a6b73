"""A llama.cpp context as the engine's forward model: the same calls and meanings as NativeModel's
(forward, prefill, truncate, kv_length, cancel, clear_cancel, max_context), so the engine's own
Generator drives it (runtime.generator.ForwardModel).

Tokens go to `llama_decode` in chunks of at most `max_batch` (llama.cpp's n_batch = n_ubatch, so a
chunk is one graph computation). The KV cache holds one sequence (id 0); `truncate` removes its
positions from n on. A recurrent model's state cannot be cut back (llama.cpp refuses the removal):
then the state is cleared and the kept tokens are fed again.

Cancelling: `cancel()` (any thread) sets a flag that is checked between chunks and, during a
chunk of several tokens, by llama.cpp itself between graph nodes through its abort callback, so a
long prompt chunk stops within milliseconds; llama.cpp then drops the positions of the chunk it
was computing, and `kv_length` says what survived. The callback is a Python function that takes
the GIL at every node, so it is installed only for multi-token chunks: a single-token step takes
milliseconds and is checked between steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Sequence

import numpy as np

from ..errors import CancelledError, KernelError
from ..runtime.native_model import ContextFullError, PositionError, TokenRangeError
from .library import LOG

SEQUENCE = 0
DECODE_OK, DECODE_NO_SLOT, DECODE_ABORTED = 0, 1, 2


@dataclass(frozen=True)
class LlamaCppForwardConfig:
    vocab: int
    max_context: int  # positions the caller may use (llama.cpp may allocate a few more)
    max_batch: int    # tokens per llama_decode call (the Generator's prompt chunk)
    threads: int
    allocated_bytes: int = 0  # the KV cache and buffers llama.cpp reported creating the context with


class LlamaCppForward:
    """The forward pass of one llama.cpp context; owns the context and its batch, not the model."""

    def __init__(self, lib: ModuleType, context, config: LlamaCppForwardConfig):
        self._lib = lib
        self._context = context
        self.config = config
        self._memory = lib.llama_get_memory(context)
        self._batch = lib.llama_batch_init(config.max_batch, 0, 1)
        self._history: list[int] = []  # the token ids whose state the context holds, in order
        self._cancelled = False
        self._abort = lib.ggml_abort_callback(lambda _data: self._cancelled)
        self._no_abort = lib.ggml_abort_callback()  # NULL: llama.cpp checks nothing between nodes

    # ---- running ----

    def forward(self, tokens: Sequence[int] | np.ndarray, pos: int | None = None,
                all_logits: bool = False) -> np.ndarray:
        """Runs tokens at positions pos, pos+1, ... (pos defaults to kv_length; a smaller pos drops
        the cached positions >= pos first). Returns float32 logits: [vocab] of the last token, or
        [n_tokens, vocab] with all_logits=True."""
        ids = self._checked(tokens, pos)
        out = np.empty((len(ids), self.config.vocab) if all_logits else (self.config.vocab,), np.float32)
        self._run(ids, out, all_logits)
        return out

    def prefill(self, tokens: Sequence[int] | np.ndarray, pos: int | None = None) -> None:
        """Like forward, but only fills the KV cache (no logits are computed)."""
        self._run(self._checked(tokens, pos), None, False)

    def truncate(self, n_tokens: int) -> None:
        """Keeps cached positions [0, n_tokens)."""
        n_tokens = int(n_tokens)
        if self._context is None:
            raise KernelError("the model was unloaded: its llama.cpp context is gone")
        if n_tokens < 0:
            raise PositionError(f"cannot truncate the KV cache to {n_tokens} positions")
        if n_tokens >= len(self._history):
            return
        if self._lib.llama_memory_seq_rm(self._memory, SEQUENCE, n_tokens, -1):
            del self._history[n_tokens:]
        else:
            self._rewind_by_replay(n_tokens)

    def _rewind_by_replay(self, n_tokens: int) -> None:
        """Clears the state and feeds the first n_tokens again (a recurrent model's way back)."""
        kept = self._history[:n_tokens]
        self._lib.llama_memory_clear(self._memory, True)
        self._history = []
        if kept:
            self._run(kept, None, False)

    def cancel(self) -> None:
        self._cancelled = True

    def clear_cancel(self) -> None:
        self._cancelled = False

    def close(self) -> None:
        """Frees the context and its batch; the object is unusable afterwards. Idempotent."""
        context, self._context = self._context, None
        if context is not None:
            self._lib.llama_batch_free(self._batch)
            self._lib.llama_free(context)

    # ---- facts ----

    @property
    def kv_length(self) -> int:
        return len(self._history)

    @property
    def max_context(self) -> int:
        return self.config.max_context

    @property
    def vocab(self) -> int:
        return self.config.vocab

    @property
    def allocated_bytes(self) -> int:
        """The KV cache, compute and output buffers llama.cpp allocated for the context (its output
        buffer grows later when every position's logits are asked for, as perplexity does)."""
        return self.config.allocated_bytes

    # ---- internals ----

    def _checked(self, tokens, pos: int | None) -> list[int]:
        if self._context is None:
            raise KernelError("the model was unloaded: its llama.cpp context is gone")
        ids = np.asarray(tokens)
        if ids.ndim != 1 or ids.size == 0:
            raise TokenRangeError(f"tokens must be a non-empty 1-D sequence, got shape {ids.shape}")
        if ids.dtype.kind not in "iu":
            raise TokenRangeError(f"token ids must be integers, got {ids.dtype}")
        bad = np.flatnonzero((ids < 0) | (ids >= self.config.vocab))
        if bad.size:
            raise TokenRangeError(f"token id {int(ids[bad[0]])} at index {int(bad[0])} is outside the "
                                  f"vocabulary [0, {self.config.vocab})")
        pos = len(self._history) if pos is None else int(pos)
        if not 0 <= pos <= len(self._history):
            raise PositionError(f"position {pos} is past the {len(self._history)} cached positions")
        if pos + ids.size > self.config.max_context:
            raise ContextFullError(f"{ids.size} token(s) at position {pos} run past the context of "
                                   f"{self.config.max_context} positions")
        self.truncate(pos)
        return ids.tolist()

    def _run(self, ids: list[int], out: np.ndarray | None, all_logits: bool) -> None:
        """Decodes ids after the cached positions, chunk by chunk, writing logits into out: every
        token's ([n, vocab]) with all_logits, else the last token's ([vocab]); none when out is None."""
        step = self.config.max_batch
        for at in range(0, len(ids), step):
            if self._cancelled:
                raise CancelledError("the forward pass was cancelled")
            chunk = ids[at:at + step]
            last_chunk = at + len(chunk) == len(ids)
            self._decode(chunk, outputs="all" if all_logits and out is not None else
                         "last" if last_chunk and out is not None else "none")
            if out is None:
                continue
            if all_logits:
                rows = self._lib.llama_get_logits(self._context)
                out[at:at + len(chunk)] = np.ctypeslib.as_array(rows, shape=(len(chunk), self.config.vocab))
            elif last_chunk:
                row = self._lib.llama_get_logits_ith(self._context, -1)
                out[:] = np.ctypeslib.as_array(row, shape=(self.config.vocab,))

    def _decode(self, chunk: list[int], outputs: str) -> None:
        batch, start = self._batch, len(self._history)
        for i, token in enumerate(chunk):
            batch.token[i] = token
            batch.pos[i] = start + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = SEQUENCE
            batch.logits[i] = outputs == "all"
        if outputs == "last":
            batch.logits[len(chunk) - 1] = True
        batch.n_tokens = len(chunk)
        watched = len(chunk) > 1
        if watched:
            self._lib.llama_set_abort_callback(self._context, self._abort, None)
        LOG.clear()
        try:
            status = self._lib.llama_decode(self._context, batch)
        finally:
            if watched:
                self._lib.llama_set_abort_callback(self._context, self._no_abort, None)
        if status == DECODE_OK:
            self._history.extend(chunk)
            return
        # llama.cpp removes the positions of a failed chunk again; make sure the cache holds what it held.
        if self._lib.llama_memory_seq_pos_max(self._memory, SEQUENCE) >= start:
            self._lib.llama_memory_seq_rm(self._memory, SEQUENCE, start, -1)
        if status == DECODE_ABORTED:
            raise CancelledError("the forward pass was cancelled")
        if status == DECODE_NO_SLOT:
            raise ContextFullError(f"llama.cpp found no room in its KV cache for {len(chunk)} token(s) at "
                                   f"position {start}")
        raise KernelError(f"llama.cpp failed to run {len(chunk)} token(s) at position {start} "
                          f"(status {status}){': ' + LOG.recent() if LOG.recent() else ''}", status)
