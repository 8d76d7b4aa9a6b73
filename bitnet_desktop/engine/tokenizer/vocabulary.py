"""The tokenizer part of GGUF metadata, parsed and checked once: token strings, types, scores, special ids.

Input is a plain mapping (GGUF key -> value) so this module does not depend on the GGUF reader. Arrays may be
Python lists or what the reader gives: read-only numpy arrays and lazily decoded string sequences viewing the
mapped file. Token strings and merges are kept as given, not copied; numbers become compact numpy arrays.
Each value is read through gguf.metadata_access, which checks its type and range: a bad one raises
TokenizerMetadataError naming the file and the key.
Keys read (all under `tokenizer.ggml.` unless noted):

    model             "gpt2" (byte-level BPE) or "llama" (SentencePiece)       required
    tokens            list[str], one per token id                             required
    token_type        list[int], TokenType values (others act as UNDEFINED); missing -> all NORMAL
    scores            list[float], no NaN; SentencePiece merge priorities; missing -> 0.0
    merges            list[str] "left right"; BPE only                        required for gpt2
    bos_token_id, eos_token_id, unknown_token_id, padding_token_id, eot_token_id   optional ints in 0..n-1
    seperator_token_id, cls_token_id, mask_token_id  (llama.cpp's spelling) checked like them, not used
    add_bos_token     bool; missing -> True for SentencePiece, False for BPE (llama.cpp's defaults)
    add_eos_token     bool; missing -> False
    add_space_prefix  bool; SentencePiece only; missing -> True
    pre               pre-tokenizer name (BPE; ignored for SentencePiece, as llama.cpp does); one of
                      pretokenizers.KNOWN_PRE_TOKENIZER_NAMES, anything else refused; missing -> Llama-3
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from bitnet_desktop.engine.errors import TokenizerMetadataError
from bitnet_desktop.engine.gguf.metadata_access import MetadataAccess
from bitnet_desktop.engine.tokenizer.pretokenizers import (
    KNOWN_PRE_TOKENIZER_NAMES,
    PRE_KEY,
    unknown_pre_tokenizer_problem,
)
from bitnet_desktop.engine.tokenizer.token_index import TokenIndex

# Special token ids read and range-checked; the last three are not used, but a file whose ids are bad is
# refused as a whole, as llama.cpp refuses a key of the wrong type.
SPECIAL_TOKEN_ID_KEYS = ("bos_token_id", "eos_token_id", "eot_token_id", "unknown_token_id", "padding_token_id",
                         "seperator_token_id", "cls_token_id", "mask_token_id")


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
        """Every value is type- and range-checked as it is read: a bad one raises TokenizerMetadataError
        naming the file (when `metadata` is a GGUF file's) and the key."""
        meta = MetadataAccess(metadata, error=TokenizerMetadataError)
        if not meta.has("tokenizer.ggml.model"):
            raise meta.fail("tokenizer.ggml.model", "is missing; this file carries no tokenizer")
        model_name = meta.string("tokenizer.ggml.model")
        try:
            kind = VocabularyKind(model_name)
        except ValueError:
            supported = ", ".join(repr(k.value) for k in VocabularyKind)
            raise meta.fail("tokenizer.ggml.model", f"= {model_name!r} is not supported (supported: {supported})") \
                from None

        tokens = meta.strings("tokenizer.ggml.tokens")
        n_tokens = len(tokens)
        if n_tokens == 0:
            raise meta.fail("tokenizer.ggml.tokens", "is empty")
        index = TokenIndex(tokens)

        token_types = _per_token(meta, "tokenizer.ggml.token_type", n_tokens, TokenType.NORMAL, np.int32)
        scores = _per_token(meta, "tokenizer.ggml.scores", n_tokens, 0.0, np.float32)

        if kind is VocabularyKind.BYTE_LEVEL_BPE and not meta.has("tokenizer.ggml.merges"):
            raise meta.fail("tokenizer.ggml.merges", "is missing; a byte-level BPE tokenizer needs it")
        merges = meta.strings("tokenizer.ggml.merges", ())  # the BPE encoder splits each into its pair

        pre_name = meta.string(PRE_KEY, None)
        if kind is VocabularyKind.BYTE_LEVEL_BPE and pre_name is not None and pre_name not in KNOWN_PRE_TOKENIZER_NAMES:
            raise meta.fail(PRE_KEY, unknown_pre_tokenizer_problem(pre_name))

        ids = {key: meta.integer(f"tokenizer.ggml.{key}", None, minimum=0, maximum=n_tokens - 1, what="a token id")
               for key in SPECIAL_TOKEN_ID_KEYS}
        is_spm = kind is VocabularyKind.SENTENCEPIECE
        return cls(
            kind=kind,
            tokens=tokens,
            token_types=token_types,
            scores=scores,
            merges=merges,
            bos_id=ids["bos_token_id"],
            eos_id=ids["eos_token_id"],
            eot_id=ids["eot_token_id"],
            unknown_id=_unknown_id(ids["unknown_token_id"], token_types),
            padding_id=ids["padding_token_id"],
            add_bos=meta.flag("tokenizer.ggml.add_bos_token", is_spm),
            add_eos=meta.flag("tokenizer.ggml.add_eos_token", False),
            add_space_prefix=meta.flag("tokenizer.ggml.add_space_prefix", True),
            pre_tokenizer_name=pre_name,
            index=index,
        )


def _per_token(meta: MetadataAccess, key: str, n_tokens: int, missing: float, dtype: type) -> np.ndarray:
    """One number per token, read-only: the reader's array viewed as it is (no copy), a list converted, or
    `missing` for every token (one value stored, broadcast) when the key is absent."""
    values = meta.numbers(key, None, integers=np.dtype(dtype).kind in "iu", count=n_tokens, per="token")
    if values is None:
        return np.broadcast_to(np.array(missing, dtype=dtype), (n_tokens,))
    return values


def _unknown_id(declared: int | None, token_types: np.ndarray) -> int | None:
    """The declared unknown-token id, else the first token typed UNKNOWN, else None."""
    if declared is not None:
        return declared
    unknown = np.flatnonzero(token_types == TokenType.UNKNOWN)
    return int(unknown[0]) if unknown.size else None
