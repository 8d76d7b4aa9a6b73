"""MergeTable: (left, right) symbol ids -> rank and merged symbol, checked against a dict of merge strings."""

import random

import pytest

from bitnet_desktop.engine.errors import TokenizerError
from bitnet_desktop.engine.tokenizer.merge_table import NOT_FOUND, MergeTable


class Symbols(dict):
    """Symbol ids for strings: the known ones given, any other string numbered on first sight."""

    def __init__(self, known: list[str]):
        super().__init__((text, i) for i, text in enumerate(known))
        self.texts = list(known)

    def new(self, text: str) -> int:
        if text not in self:
            self[text] = len(self.texts)
            self.texts.append(text)
        return self[text]


def table_of(merges: list[str], known: list[str]) -> tuple[MergeTable, Symbols]:
    symbols = Symbols(known)
    return MergeTable(merges, dict(symbols), symbols.new), symbols


def lookup(table: MergeTable, symbols: Symbols, left: str, right: str):
    """(rank, merged string) of merging two strings, or None."""
    if left not in symbols or right not in symbols:
        return None
    rank = table.find(symbols[left], symbols[right])
    return None if rank == NOT_FOUND else (rank, symbols.texts[table.merged[rank]])


def test_rank_and_result_of_each_merge():
    table, symbols = table_of(["a b", "ab c", "b c", "a bc"], ["a", "b", "c", "ab", "bc", "abc"])
    assert lookup(table, symbols, "a", "b") == (0, "ab")
    assert lookup(table, symbols, "ab", "c") == (1, "abc")
    assert lookup(table, symbols, "a", "bc") == (3, "abc")
    assert lookup(table, symbols, "b", "a") is None and lookup(table, symbols, "c", "c") is None
    assert table.size == 4


def test_a_repeated_merge_keeps_its_first_rank():
    table, symbols = table_of(["x y", "a b", "x y", "a b"], ["a", "b", "x", "y"])
    assert lookup(table, symbols, "a", "b") == (1, "ab") and lookup(table, symbols, "x", "y") == (0, "xy")
    assert table.size == 2


def test_strings_that_are_not_tokens_get_their_own_symbols():
    # "U s", "Us e": "Us" is no token; merging still goes through it (llama.cpp works on strings).
    table, symbols = table_of(["U s", "Us e"], ["U", "s", "e", "Use"])
    assert lookup(table, symbols, "U", "s") == (0, "Us")
    assert lookup(table, symbols, "Us", "e") == (1, "Use")
    assert symbols["Us"] >= 4


def test_merges_that_can_never_apply_are_entered_harmlessly():
    # No space, an empty side, a second space: no pair of (space-free, non-empty) symbols matches them.
    table, symbols = table_of(["ab", " a", "a ", "a b c", "a  b"], ["a", "b", "c"])
    assert lookup(table, symbols, "a", "b") is None
    assert lookup(table, symbols, "a", "b c") == (3, "ab c")  # "b c" can never be a symbol


def test_a_big_random_table_matches_a_dict():
    rng = random.Random(3)
    known = [f"t{i}" for i in range(400)]
    merges = [f"{rng.choice(known)} {rng.choice(known)}" for _ in range(20_000)]
    table, symbols = table_of(merges, known)
    first_rank: dict[str, int] = {}
    for rank, merge in enumerate(merges):
        first_rank.setdefault(merge, rank)
    for _ in range(20_000):
        left, right = rng.choice(known), rng.choice(known)
        rank = first_rank.get(f"{left} {right}")
        assert lookup(table, symbols, left, right) == (None if rank is None else (rank, left + right))


def test_byte_pair_ranks_are_find_for_every_pair():
    rng = random.Random(4)
    known = [chr(0x100 + b) for b in range(256)] + [f"w{i}" for i in range(50)]
    merges = [f"{rng.choice(known)} {rng.choice(known)}" for _ in range(3000)]
    table, symbols = table_of(merges, known)
    byte_symbols = list(range(256))
    rows = table.byte_pair_ranks(byte_symbols)
    assert all(rows[a][b] == table.find(a, b) for a in range(256) for b in range(256))
    assert sum(rank != NOT_FOUND for row in rows for rank in row) > 1000
    empty, _ = table_of([], known)
    assert empty.byte_pair_ranks(byte_symbols)[7][9] == NOT_FOUND and empty.find(1, 2) == NOT_FOUND


@pytest.mark.parametrize("bad", [["a b", 7], ["a b", b"c d"], [None]])
def test_non_string_merges_are_refused(bad):
    with pytest.raises(TokenizerError, match="merges must be a list of 'left right' strings"):
        table_of(bad, ["a", "b"])
