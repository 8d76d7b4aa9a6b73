"""The tokenizer part of GGUF metadata, parsed and checked once: token strings, types, scores, special ids.

Input is a plain mapping (GGUF key -> value) so this module does not depend on the GGUF reader. Arrays may be
Python lists or what the reader gives: read-only numpy arrays and lazily decoded string sequences viewing the
mapped file. Token strings and merges are kept as given, not copied; numbers become compact numpy arrays.
Keys read (all under `tokenizer.ggml.` unless noted):

    model             "gpt2" (byte-level BPE) or "llama" (SentencePiece)       required
    tokens            list[str], one per token id                             required
    token_type        list[int], TokenType values; missing -> all NORMAL
    scores            list[float]; SentencePiece merge priorities; missing -> 0.0
    merges            list[str] "left right"; BPE only                        required for gpt2
    bos_token_id, eos_token_id, unknown_token_id, padding_token_id, eot_token_id   optional ints
    add_bos_token     bool; missing -> True for SentencePiece, False for BPE (llama.cpp's defaults)
    add_eos_token     bool; missing -> False
    add_space_prefix  bool; SentencePiece only; missing -> True
    pre               pre-tokenizer name (BPE); missing -> treated as Llama-3 (see pretokenizers.py)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from bitnet_desktop.engine.errors import TokenizerError
from bitnet_desktop.engine.tokenizer.token_index import TokenIndex


class TokenType(enum.IntEnum):
    """llama.cpp / GGUF token types (`tokenizer.ggml.token_type`)."""

    UNDEFINED = 0
    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3
    USER_DEFINED = 4
    UNUSED = 5
    BYTE = 6


class VocabularyKind(enum.Enum):
    BYTE_LEVEL_BPE = "gpt2"
    SENTENCEPIECE = "llama"


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Everything the encoders and decoders need, read from GGUF metadata."""

    kind: VocabularyKind
    tokens: Sequence[str]                   # token id -> token string as stored in the GGUF
    token_types: np.ndarray                 # token id -> TokenType value (integers, read-only)
    scores: np.ndarray                      # token id -> SentencePiece score (0.0 for BPE files; read-only)
    merges: Sequence[str]                   # BPE merges "left right", rank = position; empty for SPM
    bos_id: int | None
    eos_id: int | None
    eot_id: int | None
    unknown_id: int | None
    padding_id: int | None
    add_bos: bool
    add_eos: bool
    add_space_prefix: bool                  # SentencePiece: prepend " " to the first text fragment
    pre_tokenizer_name: str | None          # `tokenizer.ggml.pre` as stored, None when absent
    index: TokenIndex = field(repr=False)   # token string -> id

    @property
    def size(self) -> int:
        return len(self.tokens)

    def token_type(self, token_id: int) -> TokenType:
        value = int(self.token_types[token_id])
        try:
            return TokenType(value)
        except ValueError:
            return TokenType.UNDEFINED

    def id_of(self, token_text: str) -> int | None:
        """The id of a token by its exact vocabulary string (the last one if it is there twice), or None."""
        return self.index.find(token_text)

    @classmethod
    def from_gguf_metadata(cls, metadata: Mapping[str, Any]) -> "Vocabulary":
        model_name = metadata.get("tokenizer.ggml.model")
        if model_name is None:
            raise TokenizerError("GGUF metadata has no tokenizer.ggml.model; this file carries no tokenizer")
        try:
            kind = VocabularyKind(model_name)
        except ValueError:
            supported = ", ".join(repr(k.value) for k in VocabularyKind)
            raise TokenizerError(
                f"tokenizer.ggml.model = {model_name!r} is not supported (supported: {supported})"
            ) from None

        tokens = metadata.get("tokenizer.ggml.tokens")
        if tokens is None or len(tokens) == 0:
            raise TokenizerError("GGUF metadata has no tokenizer.ggml.tokens")
        if isinstance(tokens, str):
            raise TokenizerError("tokenizer.ggml.tokens must be a list of strings")
        n_tokens = len(tokens)
        index = TokenIndex(tokens)  # also checks that every token is a string

        token_types = _numbers("tokenizer.ggml.token_type", metadata, n_tokens, np.int32, TokenType.NORMAL)
        scores = _numbers("tokenizer.ggml.scores", metadata, n_tokens, np.float32, 0.0)

        merges = metadata.get("tokenizer.ggml.merges")
        if kind is VocabularyKind.BYTE_LEVEL_BPE:
            if merges is None:
                raise TokenizerError("byte-level BPE tokenizer without tokenizer.ggml.merges")
            if isinstance(merges, str):  # the BPE encoder checks each element while it builds its table
                raise TokenizerError("tokenizer.ggml.merges must be a list of 'left right' strings")
        merges = merges if merges is not None else ()

        def optional_id(key: str) -> int | None:
            value = metadata.get(key)
            if value is None:
                return None
            value = int(value)
            if not 0 <= value < n_tokens:
                raise TokenizerError(f"{key} = {value} is outside the vocabulary (0..{n_tokens - 1})")
            return value

        def flag(key: str, default: bool) -> bool:
            value = metadata.get(key)
            return default if value is None else bool(value)

        is_spm = kind is VocabularyKind.SENTENCEPIECE
        return cls(
            kind=kind,
            tokens=tokens,
            token_types=token_types,
            scores=scores,
            merges=merges,
            bos_id=optional_id("tokenizer.ggml.bos_token_id"),
            eos_id=optional_id("tokenizer.ggml.eos_token_id"),
            eot_id=optional_id("tokenizer.ggml.eot_token_id"),
            unknown_id=_unknown_id(optional_id("tokenizer.ggml.unknown_token_id"), token_types),
            padding_id=optional_id("tokenizer.ggml.padding_token_id"),
            add_bos=flag("tokenizer.ggml.add_bos_token", default=is_spm),
            add_eos=flag("tokenizer.ggml.add_eos_token", default=False),
            add_space_prefix=flag("tokenizer.ggml.add_space_prefix", default=True),
            pre_tokenizer_name=metadata.get("tokenizer.ggml.pre"),
            index=index,
        )


def _numbers(key: str, metadata: Mapping[str, Any], n_tokens: int, dtype: type, missing: float) -> np.ndarray:
    """One number per token, read-only: the reader's array viewed as it is (no copy), a list converted, or
    `missing` for every token (one value stored, broadcast) when the key is absent."""
    values = metadata.get(key)
    if values is None:
        return np.broadcast_to(np.array(missing, dtype=dtype), (n_tokens,))
    try:
        array = np.asarray(values)
        if array.dtype.kind not in "iuf":
            array = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise TokenizerError(f"{key} must be a list of numbers") from None
    if array.ndim != 1:
        raise TokenizerError(f"{key} must be a list of numbers")
    if len(array) != n_tokens:
        raise TokenizerError(f"{key} has {len(array)} entries but there are {n_tokens} tokens")
    array = array.view()  # a read-only view, leaving a caller's own array writable
    array.flags.writeable = False
    return array


def _unknown_id(declared: int | None, token_types: np.ndarray) -> int | None:
    """The declared unknown-token id, else the first token typed UNKNOWN, else None."""
    if declared is not None:
        return declared
    unknown = np.flatnonzero(token_types == TokenType.UNKNOWN)
    return int(unknown[0]) if unknown.size else None
