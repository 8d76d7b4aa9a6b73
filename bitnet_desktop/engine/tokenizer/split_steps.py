"""The steps of a Hugging Face `tokenizers` pre-tokenizer, with its exact semantics, built from the JSON a
tokenizer.json stores under "pre_tokenizer".

Supported step types (what byte-level BPE models use):

* Split(pattern {"Regex"} or {"String"}, behavior, invert) - cut at the pattern's matches;
* Punctuation(behavior) - cut at punctuation characters: ASCII punctuation or Unicode category P*
  (Rust `char::is_ascii_punctuation || is_punctuation`), one character per match;
* Digits(individual_digits) - cut at numeric characters, Unicode categories Nd, Nl, No (Rust
  `char::is_numeric`), one character per match; Isolated when individual_digits, else Contiguous;
* ByteLevel(add_prefix_space=false, use_regex) - cut with GPT-2's regex when use_regex, then replace every
  byte by its byte-level character (byte_level.py);
* Sequence(pretokenizers) - the steps in order, each one cutting every piece the previous one produced.

How a cut works (tokenizers' `NormalizedString::split` and `Pattern::find_matches`): the piece becomes a list
of segments, each a match or a gap between matches; `invert` swaps the two; then the behavior decides:

    Isolated            every segment is a piece
    Removed             gaps are pieces, matches are dropped
    Contiguous          runs of neighbouring segments of the same kind (match / gap) join into one piece
    MergedWithPrevious  a match joins the piece before it, unless that piece ends with a match
    MergedWithNext      a match joins the piece after it, unless that piece starts with a match

and empty pieces are dropped (`PreTokenizedString::split`).

A step after ByteLevel sees the byte-level characters, not the text: Digits after ByteLevel cuts "½" (bytes
C2 BD, characters "Â½") between its two bytes, because "½" is also the byte-level character of byte BD.
Pieces that passed ByteLevel are therefore kept in the byte-level alphabet (`PieceAlphabet.BYTE_LEVEL`).

Patterns are compiled with the `regex` module, whose \\p{...} classes and lookarounds agree with the
Oniguruma engine `tokenizers` uses on the patterns used here (checked against `tokenizers` in the tests).
A pattern that can match the empty string is refused: the two engines step over empty matches differently.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import regex

from bitnet_desktop.engine.tokenizer.byte_level import text_to_byte_level

# GPT-2's pre-tokenizer regex, as `tokenizers`' ByteLevel uses it when use_regex is true.
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
# One character each: Punctuation's and Digits' character tests.
_PUNCTUATION_CHARACTER = r"[\p{P}!-/:-@\[-`{-~]"
_NUMERIC_CHARACTER = r"[\p{Nd}\p{Nl}\p{No}]"


class Behavior(enum.Enum):
    """tokenizers' SplitDelimiterBehavior, by the name tokenizer.json uses."""

    ISOLATED = "Isolated"
    REMOVED = "Removed"
    CONTIGUOUS = "Contiguous"
    MERGED_WITH_PREVIOUS = "MergedWithPrevious"
    MERGED_WITH_NEXT = "MergedWithNext"


class PieceAlphabet(enum.Enum):
    TEXT = "text"               # pieces are slices of the input text
    BYTE_LEVEL = "byte-level"   # pieces are byte-level strings: one character per UTF-8 byte


class PreTokenizerDefinitionError(ValueError):
    """A pre-tokenizer definition uses a step type or option this module does not implement."""


Segment = tuple[int, int, bool]  # (start, end, is_match) in characters of the piece being cut
SplitStep = Callable[[str], list[str]]


@dataclass(frozen=True)
class Cut:
    """One cutting step: a pattern, whether its matches are inverted, and what happens to them."""

    pattern: regex.Pattern
    behavior: Behavior
    invert: bool = False

    def __call__(self, piece: str) -> list[str]:
        if self.behavior is Behavior.ISOLATED:
            return _isolated(self.pattern, piece)   # every segment is a piece whatever `invert` says
        segments = _segments(self.pattern, piece)
        if self.invert:
            segments = [(start, end, not is_match) for start, end, is_match in segments]
        return [piece[start:end] for start, end in _apply_behavior(segments, self.behavior) if end > start]


def _isolated(pattern: regex.Pattern, piece: str) -> list[str]:
    """Matches and the stretches between them, in order (the common case, kept short for speed)."""
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(piece):
        start, end = match.span()
        if start > position:
            pieces.append(piece[position:start])
        pieces.append(piece[start:end])
        position = end
    if position < len(piece):
        pieces.append(piece[position:])
    return pieces


def _segments(pattern: regex.Pattern, piece: str) -> list[Segment]:
    segments: list[Segment] = []
    position = 0
    for match in pattern.finditer(piece):
        start, end = match.span()
        if start > position:
            segments.append((position, start, False))
        segments.append((start, end, True))
        position = end
    if position < len(piece):
        segments.append((position, len(piece), False))
    return segments


def _apply_behavior(segments: list[Segment], behavior: Behavior) -> list[tuple[int, int]]:
    """The (start, end) of each piece, before empty ones are dropped (tokenizers' folds, step for step)."""
    if behavior is Behavior.REMOVED:
        return [(start, end) for start, end, is_match in segments if not is_match]
    if behavior is Behavior.MERGED_WITH_NEXT:
        # tokenizers folds from the end; the same fold as MergedWithPrevious on the mirrored segments
        mirrored = [(-end, -start, is_match) for start, end, is_match in reversed(segments)]
        return [(-end, -start) for start, end in reversed(_apply_behavior(mirrored, Behavior.MERGED_WITH_PREVIOUS))]
    pieces: list[list[int]] = []
    previous_match = False
    for start, end, is_match in segments:
        if behavior is Behavior.CONTIGUOUS:
            joins = is_match == previous_match
        else:  # MERGED_WITH_PREVIOUS
            joins = is_match and not previous_match
        if joins and pieces:
            pieces[-1][1] = end
        else:
            pieces.append([start, end])
        previous_match = is_match
    return [(start, end) for start, end in pieces]


def _to_byte_level(piece: str) -> list[str]:
    return [text_to_byte_level(piece)]


@dataclass(frozen=True)
class StepChain:
    """The steps of one pre-tokenizer definition and the alphabet of the pieces they produce."""

    steps: tuple[SplitStep, ...]
    alphabet: PieceAlphabet

    def split(self, text: str) -> list[str]:
        pieces = [text] if text else []
        for step in self.steps:
            if len(pieces) == 1:
                pieces = step(pieces[0])
            else:
                pieces = [part for piece in pieces for part in step(piece)]
        return pieces


def build_step_chain(definition: Mapping[str, Any]) -> StepChain:
    """The steps of a tokenizer.json "pre_tokenizer" value (a JSON object as a dict). Raises
    PreTokenizerDefinitionError naming the step for a type or option that is not implemented."""
    steps: list[SplitStep] = []
    alphabet = PieceAlphabet.TEXT
    for step in _flatten(definition):
        kind = step.get("type")
        if kind == "ByteLevel":
            if step.get("add_prefix_space", True):
                raise PreTokenizerDefinitionError(f"ByteLevel with add_prefix_space is not implemented: {_show(step)}")
            if alphabet is PieceAlphabet.BYTE_LEVEL:
                raise PreTokenizerDefinitionError(f"a second ByteLevel step is not implemented: {_show(step)}")
            if step.get("use_regex", True):
                steps.append(Cut(_compile(GPT2_PATTERN, step), Behavior.ISOLATED))
            steps.append(_to_byte_level)
            alphabet = PieceAlphabet.BYTE_LEVEL
        elif kind == "Split":
            steps.append(Cut(_compile(_split_pattern(step), step), _behavior(step), bool(step.get("invert", False))))
        elif kind == "Punctuation":
            steps.append(Cut(_compile(_PUNCTUATION_CHARACTER, step), _behavior(step, default="Isolated")))
        elif kind == "Digits":
            behavior = Behavior.ISOLATED if step.get("individual_digits", False) else Behavior.CONTIGUOUS
            steps.append(Cut(_compile(_NUMERIC_CHARACTER, step), behavior))
        else:
            raise PreTokenizerDefinitionError(f"pre-tokenizer step type {kind!r} is not implemented: {_show(step)}")
    # After a final ByteLevel nothing cuts any more: the pieces are text slices, mapped by the BPE encoder.
    if steps and steps[-1] is _to_byte_level:
        steps.pop()
        alphabet = PieceAlphabet.TEXT
    return StepChain(tuple(steps), alphabet)


def _flatten(definition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if definition.get("type") == "Sequence":
        return [leaf for step in definition.get("pretokenizers", ()) for leaf in _flatten(step)]
    return [definition]


def _split_pattern(step: Mapping[str, Any]) -> str:
    pattern = step.get("pattern") or {}
    if "Regex" in pattern:
        return pattern["Regex"]
    if "String" in pattern:
        return regex.escape(pattern["String"])
    raise PreTokenizerDefinitionError(f"Split needs a Regex or String pattern: {_show(step)}")


def _compile(pattern: str, step: Mapping[str, Any]) -> regex.Pattern:
    compiled = regex.compile(pattern)
    if compiled.fullmatch(""):
        raise PreTokenizerDefinitionError(f"a pattern that matches the empty string is not supported: {_show(step)}")
    return compiled


def _behavior(step: Mapping[str, Any], default: str | None = None) -> Behavior:
    name = step.get("behavior", default)
    try:
        return Behavior(name)
    except ValueError:
        known = ", ".join(b.value for b in Behavior)
        raise PreTokenizerDefinitionError(f"unknown behavior {name!r} (known: {known}): {_show(step)}") from None


def _show(step: Mapping[str, Any]) -> str:
    return json.dumps(step, ensure_ascii=False)

