"""Finds special-token strings (e.g. "<|eot_id|>") inside text and cuts the text around them.

Which tokens count as special: types CONTROL, USER_DEFINED and UNKNOWN with non-empty text (llama.cpp's
`cache_special_tokens`). Matching is leftmost-longest, like Hugging Face `tokenizers` added tokens: at each
position the longest special string that starts there wins.

The tokenizer only uses this when the caller asks for it (`parse_special=True`); text a user typed is never
searched, so a user who types "<|eot_id|>" gets those characters, not an end-of-turn token.
"""

from __future__ import annotations

from typing import Iterable, Union

import regex

# A fragment is either plain text still to be tokenized or the id of a special token found in the text.
Fragment = Union[str, int]


class SpecialTokenMatcher:
    """Splits text into plain-text fragments and special-token ids."""

    def __init__(self, specials: Iterable[tuple[str, int]]) -> None:
        self._id_of: dict[str, int] = {}
        for text, token_id in specials:
            if text:
                self._id_of.setdefault(text, token_id)
        # Longest first, so the regex alternation (which takes the first alternative that matches) is
        # leftmost-longest.
        self._texts_longest_first = sorted(self._id_of, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._id_of)

    def split(self, text: str) -> list[Fragment]:
        """Fragments in order; the text fragments and special strings concatenate back to `text`."""
        # Build the alternation only from specials that occur at all: `in` is a fast C scan, and a 2,000-token
        # chat prompt contains a handful of the 256 Llama-3 specials.
        present = [t for t in self._texts_longest_first if t in text]
        if not present:
            return [text] if text else []
        pattern = regex.compile("|".join(regex.escape(t) for t in present))
        fragments: list[Fragment] = []
        position = 0
        for match in pattern.finditer(text):
            start, end = match.span()
            if start > position:
                fragments.append(text[position:start])
            fragments.append(self._id_of[match.group()])
            position = end
        if position < len(text):
            fragments.append(text[position:])
        return fragments
