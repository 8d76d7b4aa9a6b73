"""TokenIndex: token string -> id without a dict, checked against a dict built the llama.cpp way."""

import random

import pytest

from bitnet_desktop.engine.errors import TokenizerError
from bitnet_desktop.engine.tokenizer.token_index import TokenIndex


def dict_index(tokens, allowed=None) -> dict:
    """The reference: a later duplicate overwrites an earlier one (llama.cpp's token_to_id)."""
    return {text: i for i, text in enumerate(tokens) if allowed is None or allowed[i]}


def random_tokens(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcĠĊé中😀 "
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 100, 5000])
def test_finds_what_a_dict_finds(n):
    tokens = random_tokens(n, seed=n)  # short strings from a small alphabet: many duplicates
    index, reference = TokenIndex(tokens), dict_index(tokens)
    for text in set(tokens) | {"zzz", "a" * 9, "Ġ"}:
        assert index.find(text) == reference.get(text), text


def test_the_last_duplicate_wins_among_the_allowed():
    tokens = ["a", "b", "a", "c", "a", "b"]
    index = TokenIndex(tokens)
    assert index.find("a") == 4 and index.find("b") == 5 and index.find("c") == 3
    allowed = bytes([1, 1, 1, 1, 0, 0])
    assert index.find("a", allowed) == 2 and index.find("b", allowed) == 1
    assert index.find("c", bytes(6)) is None


def test_allowed_matches_a_filtered_dict():
    tokens = random_tokens(3000, seed=7)
    allowed = bytes(random.Random(8).choice((0, 1)) for _ in tokens)
    index, reference = TokenIndex(tokens), dict_index(tokens, allowed)
    for text in set(tokens):
        assert index.find(text, allowed) == reference.get(text)


def test_non_strings_are_refused():
    with pytest.raises(TokenizerError, match="tokenizer.ggml.tokens must be a list of strings"):
        TokenIndex(["a", 7, "b"])
    with pytest.raises(TokenizerError, match="list of strings"):
        TokenIndex(["a", b"b"])
