"""The tokenizer the engine uses: text <-> token ids for byte-level BPE and SentencePiece GGUF vocabularies.

Encoding contract
-----------------
`encode(text, parse_special=False, add_bos=None)`:
* parse_special=False (default) - the text is plain text, as a user typed it. "<|eot_id|>" inside it is
  tokenized as the characters "<", "|", "eot", ... never as the end-of-turn token. Use this for message content.
* parse_special=True - special-token strings in the text become their tokens. Use this only for text the
  application wrote itself (a rendered chat template), never for user input.
* add_bos=None follows the GGUF's `tokenizer.ggml.add_bos_token`; True / False force it. BOS is never
  doubled: when the encoded text already starts with BOS (the text began with "<|begin_of_text|>" and
  parse_special=True), no second BOS is added. Pass add_bos=False for text that continues a sequence.
* add_eos likewise follows `tokenizer.ggml.add_eos_token` (False in every BitNet file).

Decoding contract
-----------------
`decode(ids, skip_special=True)`: control and unknown tokens (BOS, EOS, <|eot_id|>, ...) produce no text
unless skip_special=False; user-defined tokens always produce their text. Invalid UTF-8 becomes U+FFFD.
For streaming use `incremental_decoder()` (incremental_decoder.py), which never splits a character.
For SentencePiece vocabularies `decode` drops the one space that add_space_prefix put in front of the text,
so decode(encode(text, add_bos=False)) == text.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import numpy as np

from bitnet_desktop.engine.errors import TextEncodingError, TokenizerError
from bitnet_desktop.engine.tokenizer.bpe import BytePairEncoder
from bitnet_desktop.engine.tokenizer.byte_level import byte_level_to_bytes
from bitnet_desktop.engine.tokenizer.incremental_decoder import IncrementalDecoder
from bitnet_desktop.engine.tokenizer.pretokenizers import PreTokenizer, pre_tokenizer_for
from bitnet_desktop.engine.tokenizer.split_steps import PieceAlphabet
from bitnet_desktop.engine.tokenizer.sentencepiece import SPACE_MARK, SentencePieceEncoder, escape_whitespace
from bitnet_desktop.engine.tokenizer.special_tokens import Fragment, SpecialTokenMatcher
from bitnet_desktop.engine.tokenizer.vocabulary import TokenType, Vocabulary, VocabularyKind

# Token types whose text is markup rather than content; hidden when decoding with skip_special=True.
_HIDDEN_WHEN_SKIPPING = frozenset({TokenType.CONTROL, TokenType.UNKNOWN})
# Token types matched in text when parse_special=True.
_PARSED_AS_SPECIAL = (TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.UNKNOWN)
_SURROGATE = re.compile("[\ud800-\udfff]")


class Tokenizer:
    """Text <-> token ids for one model's vocabulary. Thread-safe for concurrent encode/decode calls."""

    def __init__(self, vocabulary: Vocabulary, *, bitnet_cpp_compat: bool = False) -> None:
        self.vocabulary = vocabulary
        self.bitnet_cpp_compat = bitnet_cpp_compat
        special_ids = np.flatnonzero(np.isin(vocabulary.token_types, _PARSED_AS_SPECIAL)).tolist()
        self._special_matcher = SpecialTokenMatcher((vocabulary.tokens[i], i) for i in special_ids)
        self.pre_tokenizer: PreTokenizer | None = None
        self._bpe: BytePairEncoder | None = None
        self._spm: SentencePieceEncoder | None = None
        if vocabulary.kind is VocabularyKind.BYTE_LEVEL_BPE:
            self.pre_tokenizer = pre_tokenizer_for(vocabulary.pre_tokenizer_name, bitnet_cpp_compat=bitnet_cpp_compat)
            self._bpe = BytePairEncoder(
                vocabulary.tokens,
                vocabulary.token_types,
                vocabulary.merges,
                vocabulary.index,
                ignore_merges=self.pre_tokenizer.ignore_merges,
                unknown_id=vocabulary.unknown_id,
            )
        else:
            self._spm = SentencePieceEncoder(vocabulary.tokens, vocabulary.scores, unknown_id=vocabulary.unknown_id)
        # token id -> bytes it decodes to when it is shown, for the tokens shown so far
        self._piece_cache: dict[int, bytes] = {}

    @classmethod
    def from_gguf_metadata(cls, metadata: Mapping[str, Any], *, bitnet_cpp_compat: bool = False) -> "Tokenizer":
        """Build from GGUF key/value metadata. bitnet_cpp_compat: see pretokenizers.pre_tokenizer_for. An
        unknown `tokenizer.ggml.pre` raises TokenizerMetadataError naming the file, the value and the known
        names."""
        return cls(Vocabulary.from_gguf_metadata(metadata), bitnet_cpp_compat=bitnet_cpp_compat)

    # ---- vocabulary facts -------------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return self.vocabulary.size

    @property
    def bos_id(self) -> int | None:
        return self.vocabulary.bos_id

    @property
    def eos_id(self) -> int | None:
        return self.vocabulary.eos_id

    def token_id(self, token_text: str) -> int | None:
        """The id whose vocabulary string is exactly `token_text` (e.g. "<|eot_id|>"), or None."""
        return self.vocabulary.id_of(token_text)

    def token_text(self, token_id: int) -> str:
        """The vocabulary string of a token, as stored (byte-level or "▁" escaped, not decoded)."""
        self._check_id(token_id)
        return self.vocabulary.tokens[token_id]

    def is_special(self, token_id: int) -> bool:
        """True for control and unknown tokens: the ones decode hides unless skip_special=False."""
        self._check_id(token_id)
        return self.vocabulary.token_type(token_id) in _HIDDEN_WHEN_SKIPPING

    # ---- encoding ---------------------------------------------------------------------------------------

    def encode(
        self,
        text: str,
        *,
        parse_special: bool = False,
        add_bos: bool | None = None,
        add_eos: bool | None = None,
    ) -> list[int]:
        """Token ids for `text`; see the module docstring for the meaning of each flag. Text that is not
        valid Unicode (a lone surrogate) raises TextEncodingError."""
        _check_encodable(text)
        vocabulary = self.vocabulary
        if parse_special and self._special_matcher:
            fragments: list[Fragment] = self._special_matcher.split(text)
        else:
            fragments = [text] if text else []

        want_bos = vocabulary.add_bos if add_bos is None else add_bos
        ids: list[int] = []
        if self._bpe is not None:
            for fragment in fragments:
                if isinstance(fragment, int):
                    ids.append(fragment)
                else:
                    self._encode_bpe_text(fragment, ids)
        else:
            self._encode_spm_fragments(fragments, ids)

        if want_bos:
            if vocabulary.bos_id is None:
                raise TokenizerError("BOS requested but this vocabulary has no tokenizer.ggml.bos_token_id")
            if not ids or ids[0] != vocabulary.bos_id:
                ids.insert(0, vocabulary.bos_id)
        if vocabulary.add_eos if add_eos is None else add_eos:
            if vocabulary.eos_id is None:
                raise TokenizerError("EOS requested but this vocabulary has no tokenizer.ggml.eos_token_id")
            ids.append(vocabulary.eos_id)
        return ids

    def _encode_bpe_text(self, text: str, out: list[int]) -> None:
        assert self._bpe is not None and self.pre_tokenizer is not None
        if self.pre_tokenizer.alphabet is PieceAlphabet.BYTE_LEVEL:
            encode_word = self._bpe.encode_byte_level_word
        else:
            encode_word = self._bpe.encode_word
        for word in self.pre_tokenizer.split(text):
            out.extend(encode_word(word))

    def _encode_spm_fragments(self, fragments: list[Fragment], out: list[int]) -> None:
        # llama.cpp: a text fragment gets the space prefix when it is the first fragment or follows a special.
        assert self._spm is not None
        previous_was_special = True
        for fragment in fragments:
            if isinstance(fragment, int):
                out.append(fragment)
                previous_was_special = True
                continue
            if self.vocabulary.add_space_prefix and previous_was_special:
                fragment = " " + fragment
            out.extend(self._spm.encode_fragment(escape_whitespace(fragment)))
            previous_was_special = False

    # ---- decoding ---------------------------------------------------------------------------------------

    def token_bytes(self, token_id: int, *, skip_special: bool = True) -> bytes:
        """The bytes one token contributes to decoded text (may be part of a UTF-8 character)."""
        self._check_id(token_id)
        token_type = self.vocabulary.token_type(token_id)
        if token_type in _HIDDEN_WHEN_SKIPPING:
            return b"" if skip_special else self.vocabulary.tokens[token_id].encode("utf-8")
        piece = self._piece_cache.get(token_id)
        if piece is None:
            piece = self._piece_bytes(token_id, token_type)
            self._piece_cache[token_id] = piece
        return piece

    def _piece_bytes(self, token_id: int, token_type: TokenType) -> bytes:
        text = self.vocabulary.tokens[token_id]
        if token_type is TokenType.USER_DEFINED:
            return text.encode("utf-8")
        if token_type is TokenType.UNUSED:
            return b""
        if self.vocabulary.kind is VocabularyKind.BYTE_LEVEL_BPE:
            return byte_level_to_bytes(text)
        if token_type is TokenType.BYTE:
            return _byte_token_value(text)
        return text.replace(SPACE_MARK, " ").encode("utf-8")

    def decode_bytes(self, ids: Iterable[int], *, skip_special: bool = True) -> bytes:
        """The raw bytes of a token sequence (no UTF-8 validation)."""
        return b"".join(self.token_bytes(token_id, skip_special=skip_special) for token_id in ids)

    def decode(self, ids: Iterable[int], *, skip_special: bool = True) -> str:
        """Text of a token sequence; invalid UTF-8 becomes U+FFFD."""
        data = self.decode_bytes(ids, skip_special=skip_special)
        if self._spm is not None and self.vocabulary.add_space_prefix and data.startswith(b" "):
            data = data[1:]  # the space encode() prepended (add_space_prefix)
        return data.decode("utf-8", errors="replace")

    def incremental_decoder(self, *, skip_special: bool = True) -> IncrementalDecoder:
        """A streaming decoder for generated tokens (see incremental_decoder.py)."""
        return IncrementalDecoder(self, skip_special=skip_special)

    def _check_id(self, token_id: int) -> None:
        if not 0 <= token_id < self.vocabulary.size:
            raise TokenizerError(f"token id {token_id} is outside the vocabulary (0..{self.vocabulary.size - 1})")


def _check_encodable(text: str) -> None:
    """TextEncodingError naming the first lone surrogate: UTF-8 cannot encode one. Invalid UTF-8 bytes decoded
    with errors="surrogateescape" (how Python reads command-line arguments) become U+DC80..U+DCFF."""
    match = _SURROGATE.search(text)
    if match is not None:
        raise TextEncodingError(
            f"the text is not valid Unicode: it holds a lone surrogate, U+{ord(match.group()):04X} at character "
            f"{match.start()}, which cannot be encoded as UTF-8 (was the input invalid UTF-8?)",
            match.start(),
        )


def _byte_token_value(text: str) -> bytes:
    """b'\\x0a' for "<0x0A>"; a malformed byte token decodes as its own text."""
    if len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
        try:
            return bytes([int(text[3:5], 16)])
        except ValueError:
            pass
    return text.encode("utf-8")
