"""Hugging Face pre-tokenizer steps (split_steps.py) against `tokenizers` itself, built from the same JSON:
every Split behavior with and without invert, Punctuation, Digits, ByteLevel, and steps after ByteLevel."""

from __future__ import annotations

import itertools
import random

import pytest

from bitnet_desktop.engine.tokenizer.split_steps import (
    PieceAlphabet,
    PreTokenizerDefinitionError,
    build_step_chain,
)
from tests.engine.tokenizer.reference_vocabularies import hf_pre_tokenizer

BEHAVIORS = ["Isolated", "Removed", "Contiguous", "MergedWithPrevious", "MergedWithNext"]
PATTERNS = [{"String": "-"}, {"Regex": "-+"}, {"Regex": r"\s+"}, {"Regex": "[a-z]"}]
BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}


def texts() -> list[str]:
    rng = random.Random(3)
    pool = list("ab- ,.!?12\n") + ["--", "  ", "é", "😀", "٣", "½", "²", "…", "$", "+", "`"]
    return ["the-final--countdown", "-a-", "--", "", "x"] + [
        "".join(rng.choice(pool) for _ in range(rng.randint(1, 24))) for _ in range(150)
    ]


def assert_same_pieces(definition: dict) -> None:
    ours, reference = build_step_chain(definition), hf_pre_tokenizer(definition)
    for text in texts():
        assert ours.split(text) == [piece for piece, _ in reference.pre_tokenize_str(text)], (definition, text)


def test_the_split_behaviors_as_tokenizers_documents_them():
    split = build_step_chain({"type": "Split", "pattern": {"String": "-"}, "behavior": "Removed"}).split
    assert split("the-final--countdown") == ["the", "final", "countdown"]
    for behavior, expected in [("Isolated", ["the", "-", "final", "-", "-", "countdown"]),
                               ("MergedWithPrevious", ["the-", "final-", "-", "countdown"]),
                               ("MergedWithNext", ["the", "-final", "-", "-countdown"]),
                               ("Contiguous", ["the", "-", "final", "--", "countdown"])]:
        chain = build_step_chain({"type": "Split", "pattern": {"String": "-"}, "behavior": behavior})
        assert chain.split("the-final--countdown") == expected, behavior


@pytest.mark.parametrize("behavior, invert", list(itertools.product(BEHAVIORS, [False, True])))
def test_split_matches_tokenizers(behavior, invert):
    for pattern in PATTERNS:
        assert_same_pieces({"type": "Split", "pattern": pattern, "behavior": behavior, "invert": invert})


@pytest.mark.parametrize("behavior", BEHAVIORS)
def test_punctuation_matches_tokenizers(behavior):
    # ASCII punctuation includes $ + ` which are symbols, not Unicode punctuation.
    assert_same_pieces({"type": "Punctuation", "behavior": behavior})


@pytest.mark.parametrize("individual", [False, True])
def test_digits_match_tokenizers(individual):
    assert_same_pieces({"type": "Digits", "individual_digits": individual})


def test_steps_after_byte_level_cut_byte_level_characters():
    definition = {"type": "Sequence", "pretokenizers": [
        {"type": "Punctuation", "behavior": "Isolated"}, BYTE_LEVEL,
        {"type": "Digits", "individual_digits": True},
        {"type": "Split", "pattern": {"Regex": "Ġ"}, "behavior": "MergedWithNext", "invert": False}]}
    assert build_step_chain(definition).alphabet is PieceAlphabet.BYTE_LEVEL
    assert_same_pieces(definition)


def test_a_final_byte_level_leaves_text_pieces():
    chain = build_step_chain({"type": "Sequence", "pretokenizers": [{"type": "Digits"}, BYTE_LEVEL]})
    assert chain.alphabet is PieceAlphabet.TEXT
    assert chain.split("ab 12 c") == ["ab", " ", "12", " c"]


@pytest.mark.parametrize("definition, problem", [
    ({"type": "ByteLevel", "add_prefix_space": True, "use_regex": True}, "add_prefix_space"),
    ({"type": "Sequence", "pretokenizers": [{**BYTE_LEVEL}, {**BYTE_LEVEL}]}, "a second ByteLevel"),
    ({"type": "Metaspace", "replacement": "▁"}, "'Metaspace' is not implemented"),
    ({"type": "Split", "pattern": {"Regex": "a*"}, "behavior": "Isolated"}, "matches the empty string"),
    ({"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"}, "unknown behavior 'Sideways'"),
    ({"type": "Split", "behavior": "Isolated"}, "needs a Regex or String pattern"),
])
def test_definitions_that_are_not_implemented_are_refused(definition, problem):
    with pytest.raises(PreTokenizerDefinitionError, match=problem):
        build_step_chain(definition)
