"""Streaming detokenizer: token ids in one at a time, complete UTF-8 text out.

Byte-level vocabularies split many characters over several tokens (an emoji is often 2-4 byte tokens; a ZWJ
sequence more). Decoding each token on its own would show "\ufffd" garbage and then the character. This
decoder keeps the undecided bytes and releases text only when it is final:

* a character split over several tokens comes out whole, once its last byte has arrived;
* bytes that can no longer become valid UTF-8 come out as U+FFFD immediately, never earlier;
* `finish()` flushes an incomplete sequence at end of stream as U+FFFD.

The concatenation of everything `feed()` and `finish()` return equals `Tokenizer.decode(ids)` for the same ids
(for SentencePiece apart from decode() dropping the added leading space; a stream continues a prompt, so its
first space is real).
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bitnet_desktop.engine.tokenizer.tokenizer import Tokenizer


class IncrementalDecoder:
    """Turns a stream of token ids into a stream of complete text pieces."""

    def __init__(self, tokenizer: "Tokenizer", *, skip_special: bool = True) -> None:
        self._tokenizer = tokenizer
        self._skip_special = skip_special
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, token_id: int) -> str:
        """Add one token; return the text that became final (often "", never a partial character)."""
        piece = self._tokenizer.token_bytes(token_id, skip_special=self._skip_special)
        if not piece:
            return ""
        return self._utf8.decode(piece, final=False)

    def finish(self) -> str:
        """End of stream: return what is left (U+FFFD for a truncated character) and reset."""
        return self._utf8.decode(b"", final=True)

    @property
    def pending_byte_count(self) -> int:
        """How many bytes are held back waiting for the rest of a character."""
        buffered, _ = self._utf8.getstate()
        return len(buffered)
