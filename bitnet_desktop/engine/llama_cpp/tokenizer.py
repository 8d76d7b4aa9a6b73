"""llama.cpp's own tokenizer for a model it runs, behind the engine Tokenizer's surface (encode,
decode, incremental_decoder, token_bytes, bos_id, eos_id, token_id, token_text, is_special,
vocabulary.add_bos / add_eos / eot_id) and with its contracts (see tokenizer/tokenizer.py):

* encode(text, parse_special=False): special-token text typed by a user stays plain text;
  add_bos / add_eos None follow the vocabulary; BOS is never doubled.
* decode(ids, skip_special=True): control and unknown tokens give no text unless skip_special=False;
  user-defined tokens always give their text; SentencePiece's added leading space is dropped.

Why llama.cpp's and not ours: an ordinary GGUF may carry any vocabulary llama.cpp knows
(SentencePiece, byte-level BPE with any of its dozens of pre-tokenizers, WordPiece, Unigram, RWKV),
and llama.cpp's ids are the ones its own tools feed that model.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from types import ModuleType
from typing import Iterable

from ..errors import TokenizerError
from ..tokenizer.incremental_decoder import IncrementalDecoder
from ..tokenizer.tokenizer import _check_encodable

# llama_token_attr bits
_UNKNOWN, _CONTROL = 1 << 0, 1 << 3
_NO_TOKEN = -1  # LLAMA_TOKEN_NULL


@dataclass(frozen=True)
class LlamaCppVocabulary:
    """The vocabulary facts callers read (the engine Vocabulary's names)."""
    size: int
    bos_id: int | None
    eos_id: int | None
    eot_id: int | None
    add_bos: bool
    add_eos: bool
    pre_tokenizer_name: str | None  # the file's tokenizer.ggml.pre (byte-level BPE vocabularies)
    add_space_prefix: bool          # encoding puts a space before the text (SentencePiece vocabularies)


def _token_or_none(token: int) -> int | None:
    return None if token == _NO_TOKEN else int(token)


class LlamaCppTokenizer:
    """Text <-> token ids through a loaded llama.cpp model's vocabulary. Once the model is closed,
    calls that need llama.cpp raise TokenizerError instead of reading freed memory."""

    def __init__(self, lib: ModuleType, vocab, pre_tokenizer_name: str | None = None,
                 add_space_prefix: bool = False):
        self._lib = lib
        self._vocab = vocab
        self.vocabulary = LlamaCppVocabulary(
            size=int(lib.llama_vocab_n_tokens(vocab)),
            bos_id=_token_or_none(lib.llama_vocab_bos(vocab)),
            eos_id=_token_or_none(lib.llama_vocab_eos(vocab)),
            eot_id=_token_or_none(lib.llama_vocab_eot(vocab)),
            add_bos=bool(lib.llama_vocab_get_add_bos(vocab)),
            add_eos=bool(lib.llama_vocab_get_add_eos(vocab)),
            pre_tokenizer_name=pre_tokenizer_name,
            add_space_prefix=add_space_prefix,
        )
        self._index: dict[str, int] | None = None  # token text -> id, built on the first token_id()
        self._piece_cache: dict[tuple[int, bool], bytes] = {}

    def close(self) -> None:
        """The model is being freed: nothing may reach its vocabulary any more."""
        self._vocab = None

    def _live_vocab(self):
        if self._vocab is None:
            raise TokenizerError("the model was unloaded: its llama.cpp tokenizer is gone")
        return self._vocab

    # ---- vocabulary facts ----

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
        if self._index is None:
            vocab = self._live_vocab()
            texts = (self._lib.llama_vocab_get_text(vocab, i) for i in range(self.vocabulary.size))
            index: dict[str, int] = {}
            for i, text in enumerate(texts):
                index.setdefault(text.decode("utf-8", "replace"), i)
            self._index = index
        return self._index.get(token_text)

    def token_text(self, token_id: int) -> str:
        """The vocabulary string of a token, as stored (byte-level or "▁" escaped, not decoded)."""
        self._check_id(token_id)
        return self._lib.llama_vocab_get_text(self._live_vocab(), token_id).decode("utf-8", "replace")

    def is_special(self, token_id: int) -> bool:
        """True for control and unknown tokens: the ones decode hides unless skip_special=False."""
        self._check_id(token_id)
        return bool(self._lib.llama_vocab_get_attr(self._live_vocab(), token_id) & (_UNKNOWN | _CONTROL))

    # ---- encoding ----

    def encode(self, text: str, *, parse_special: bool = False, add_bos: bool | None = None,
               add_eos: bool | None = None) -> list[int]:
        """Token ids for `text` (see the module docstring); a lone surrogate raises TextEncodingError."""
        _check_encodable(text)
        data = text.encode("utf-8")
        ids = self._tokenize(data, parse_special) if data else []
        vocabulary = self.vocabulary
        if vocabulary.add_bos if add_bos is None else add_bos:
            if vocabulary.bos_id is None:
                raise TokenizerError("BOS requested but this vocabulary has no BOS token")
            if not ids or ids[0] != vocabulary.bos_id:
                ids.insert(0, vocabulary.bos_id)
        if vocabulary.add_eos if add_eos is None else add_eos:
            if vocabulary.eos_id is None:
                raise TokenizerError("EOS requested but this vocabulary has no EOS token")
            ids.append(vocabulary.eos_id)
        return ids

    def _tokenize(self, data: bytes, parse_special: bool) -> list[int]:
        # BOS / EOS are added by encode() (add_special=False), so that BOS is never doubled.
        capacity = len(data) + 8
        for _ in range(2):
            out = (self._lib.llama_token * capacity)()
            n = self._lib.llama_tokenize(self._live_vocab(), data, len(data), out, capacity, False, parse_special)
            if n >= 0:
                return list(out[:n])
            capacity = -n
        raise TokenizerError(f"llama.cpp could not tokenize a text of {len(data):,} bytes")

    # ---- decoding ----

    def token_bytes(self, token_id: int, *, skip_special: bool = True) -> bytes:
        """The bytes one token contributes to decoded text (may be part of a UTF-8 character)."""
        key = (token_id, skip_special)
        piece = self._piece_cache.get(key)
        if piece is None:
            self._check_id(token_id)
            piece = self._piece(token_id, not skip_special)
            self._piece_cache[key] = piece
        return piece

    def _piece(self, token_id: int, special: bool) -> bytes:
        vocab = self._live_vocab()
        buf = ctypes.create_string_buffer(64)
        n = self._lib.llama_token_to_piece(vocab, token_id, buf, len(buf), 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._lib.llama_token_to_piece(vocab, token_id, buf, len(buf), 0, special)
        return buf.raw[:max(n, 0)]

    def decode_bytes(self, ids: Iterable[int], *, skip_special: bool = True) -> bytes:
        """The raw bytes of a token sequence (no UTF-8 validation)."""
        return b"".join(self.token_bytes(token_id, skip_special=skip_special) for token_id in ids)

    def decode(self, ids: Iterable[int], *, skip_special: bool = True) -> str:
        """Text of a token sequence; invalid UTF-8 becomes U+FFFD."""
        data = self.decode_bytes([int(i) for i in ids], skip_special=skip_special)
        if self.vocabulary.add_space_prefix and data.startswith(b" "):
            data = data[1:]  # the space encoding added (llama.cpp's own detokenizer keeps it after a BOS)
        return data.decode("utf-8", errors="replace")

    def incremental_decoder(self, *, skip_special: bool = True) -> IncrementalDecoder:
        """A streaming decoder for generated tokens (tokenizer/incremental_decoder.py)."""
        return IncrementalDecoder(self, skip_special=skip_special)

    def _check_id(self, token_id: int) -> None:
        if not 0 <= token_id < self.vocabulary.size:
            raise TokenizerError(f"token id {token_id} is outside the vocabulary (0..{self.vocabulary.size - 1})")
