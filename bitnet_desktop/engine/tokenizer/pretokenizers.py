"""Pre-tokenizers for byte-level BPE: the regexes that cut text into words before BPE merges run.

Two are implemented (BITNET_SPEC 4.1):

* LLAMA3 - the split regex BitNet-b1.58-2B-4T was trained with (gpu/tokenizer.py, identical to Llama-3),
  with "ignore merges" semantics: a word that is itself a vocabulary entry becomes that token directly.
  This is the default, also when the GGUF lacks `tokenizer.ggml.pre` (the official 2B-4T file does).
* LLAMA_CPP_DEFAULT - what llama.cpp (and so bitnet.cpp) falls back to when `tokenizer.ggml.pre` is missing:
  four regexes applied one after the other, each splitting the pieces the previous one produced (matches and
  the gaps between them are both kept), and no ignore-merges. Use it only for token-exact A/B runs against
  bitnet.cpp (`bitnet_cpp_compat=True`); it tokenizes some text differently from training.
  It follows llama.cpp's `unicode_regex_split` structure; it was not checked against a built bitnet.cpp.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
import regex

_log = logging.getLogger(__name__)

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# llama.cpp LLAMA_VOCAB_PRE_TYPE_DEFAULT, in application order.
LLAMA_CPP_DEFAULT_PATTERNS = (
    r"[\p{P}\$\+<=>\^~\|]+",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    r"\p{N}+",
    r"[0-9][0-9][0-9]",
)

# `tokenizer.ggml.pre` values that name the Llama-3 split.
_LLAMA3_NAMES = frozenset({"llama3", "llama-bpe", "llama-v3", "llama3-bpe"})


@dataclass(frozen=True)
class PreTokenizer:
    """A named word splitter plus the BPE rule that goes with it."""

    name: str
    patterns: tuple[regex.Pattern, ...]
    ignore_merges: bool   # a word that is a whole vocabulary entry maps to it without running merges

    def split(self, text: str) -> list[str]:
        """Cut text into words; the words concatenate back to `text` exactly."""
        if len(self.patterns) == 1:
            return _split_keeping_gaps(self.patterns[0], text)
        pieces = [text]
        for pattern in self.patterns:
            refined: list[str] = []
            for piece in pieces:
                refined.extend(_split_keeping_gaps(pattern, piece))
            pieces = refined
        return pieces


def _split_keeping_gaps(pattern: regex.Pattern, text: str) -> list[str]:
    """Matches of `pattern` and the unmatched stretches between them, in order (HF "Isolated" behaviour)."""
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        if start > position:
            pieces.append(text[position:start])
        if end > start:
            pieces.append(text[start:end])
        position = end
    if position < len(text):
        pieces.append(text[position:])
    return pieces


LLAMA3 = PreTokenizer("llama3", (regex.compile(LLAMA3_PATTERN),), ignore_merges=True)
LLAMA_CPP_DEFAULT = PreTokenizer(
    "llama.cpp-default", tuple(regex.compile(p) for p in LLAMA_CPP_DEFAULT_PATTERNS), ignore_merges=False
)


def pre_tokenizer_for(pre_name: str | None, *, bitnet_cpp_compat: bool = False) -> PreTokenizer:
    """Choose the pre-tokenizer for a GGUF `tokenizer.ggml.pre` value.

    A missing key means Llama-3 (the model's training split), or llama.cpp's default regexes when
    bitnet_cpp_compat=True (what bitnet.cpp does with the official file). An explicit "default" is honoured.
    Unknown names fall back to Llama-3 with a logged warning: every byte-level model we target uses the
    Llama-3 vocabulary.
    """
    if pre_name is None:
        return LLAMA_CPP_DEFAULT if bitnet_cpp_compat else LLAMA3
    if pre_name == "default":
        return LLAMA_CPP_DEFAULT
    if pre_name not in _LLAMA3_NAMES:
        _log.warning("pre-tokenizer %r is not implemented; using the Llama-3 split", pre_name)
    return LLAMA3

