"""The tokenizer part of GGUF metadata, parsed and checked once: token strings, types, scores, special ids.

Input is a plain dict (GGUF key -> value, arrays as Python lists) so this module does not depend on the GGUF
reader. Keys read (all under `tokenizer.ggml.` unless noted):

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
from typing import Any, Mapping

from bitnet_desktop.engine.errors import TokenizerError


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


@dataclass(frozen=True)
class Vocabulary:
    """Everything the encoders and decoders need, read from GGUF metadata."""

    kind: VocabularyKind
    tokens: tuple[str, ...]                 # token id -> token string as stored in the GGUF
    token_types: tuple[int, ...]            # token id -> TokenType value
    scores: tuple[float, ...]               # token id -> SentencePiece score (0.0 for BPE files)
    merges: tuple[str, ...]                 # BPE merges "left right", rank = position; empty for SPM
    bos_id: int | None
    eos_id: int | None
    eot_id: int | None
    unknown_id: int | None
    padding_id: int | None
    add_bos: bool
    add_eos: bool
    add_space_prefix: bool                  # SentencePiece: prepend " " to the first text fragment
    pre_tokenizer_name: str | None          # `tokenizer.ggml.pre` as stored, None when absent
    token_to_id: dict[str, int] = field(repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.tokens)

    def token_type(self, token_id: int) -> TokenType:
        value = self.token_types[token_id]
        try:
            return TokenType(value)
        except ValueError:
            return TokenType.UNDEFINED

    def id_of(self, token_text: str) -> int | None:
        """The id of a token by its exact vocabulary string, or None."""
        return self.token_to_id.get(token_text)

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
        if not all(isinstance(t, str) for t in tokens):
            raise TokenizerError("tokenizer.ggml.tokens must be a list of strings")
        n_tokens = len(tokens)

        token_types = metadata.get("tokenizer.ggml.token_type")
        if token_types is None:
            token_types = [int(TokenType.NORMAL)] * n_tokens
        if len(token_types) != n_tokens:
            raise TokenizerError(
                f"tokenizer.ggml.token_type has {len(token_types)} entries but there are {n_tokens} tokens"
            )

        scores = metadata.get("tokenizer.ggml.scores")
        if scores is None:
            scores = [0.0] * n_tokens
        if len(scores) != n_tokens:
            raise TokenizerError(f"tokenizer.ggml.scores has {len(scores)} entries but there are {n_tokens} tokens")

        merges = metadata.get("tokenizer.ggml.merges")
        if kind is VocabularyKind.BYTE_LEVEL_BPE:
            if merges is None:
                raise TokenizerError("byte-level BPE tokenizer without tokenizer.ggml.merges")
            if not all(isinstance(m, str) for m in merges):
                raise TokenizerError("tokenizer.ggml.merges must be a list of 'left right' strings")
        merges = tuple(merges or ())

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

        token_to_id: dict[str, int] = {}
        for token_id, text in enumerate(tokens):
            token_to_id[text] = token_id  # a later duplicate wins, as in llama.cpp

        is_spm = kind is VocabularyKind.SENTENCEPIECE
        return cls(
            kind=kind,
            tokens=tuple(tokens),
            token_types=tuple(int(t) for t in token_types),
            scores=tuple(float(s) for s in scores),
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
            token_to_id=token_to_id,
        )


def _unknown_id(declared: int | None, token_types: Any) -> int | None:
    """The declared unknown-token id, else the first token typed UNKNOWN, else None."""
    if declared is not None:
        return declared
    for token_id, token_type in enumerate(token_types):
        if int(token_type) == TokenType.UNKNOWN:
            return token_id
    return None
