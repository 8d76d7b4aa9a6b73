"""The symbol-id BPE (bpe.py) against its reference: llama.cpp's algorithm over strings, written plainly here.

Random vocabularies include what real files should not have but may: merges whose result is no token, merges
listed twice, merges with no or two spaces, tokens listed twice, byte characters missing from the vocabulary and
special-typed tokens; every word must encode exactly as the string algorithm encodes it.
"""

from __future__ import annotations

import heapq
import random

import numpy as np
import pytest

from bitnet_desktop.engine.errors import TokenizerError
from bitnet_desktop.engine.tokenizer.bpe import BytePairEncoder
from bitnet_desktop.engine.tokenizer.byte_level import BYTE_TO_UNICODE, text_to_byte_level
from bitnet_desktop.engine.tokenizer.token_index import TokenIndex

WORD_TYPES = {0, 1, 4, 6}  # undefined, normal, user-defined, byte


def reference_encode(word: str, tokens, types, merges, *, ignore_merges: bool, unknown_id) -> tuple[int, ...]:
    rank_of: dict[str, int] = {}
    for rank, merge in enumerate(merges):
        rank_of.setdefault(merge, rank)
    word_to_id = {text: i for i, text in enumerate(tokens) if types[i] in WORD_TYPES}
    mapped = text_to_byte_level(word)
    if (ignore_merges or len(mapped) == 1) and mapped in word_to_id:
        return (word_to_id[mapped],)
    symbols = list(mapped)
    while True:  # merge the lowest-ranked adjacent pair, the leftmost among equals, until none is left
        pairs = [f"{a} {b}" for a, b in zip(symbols, symbols[1:])]
        ranked = [(rank_of[pair], i) for i, pair in enumerate(pairs) if pair in rank_of]
        if not ranked:
            break
        _, i = min(ranked)
        symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
    ids = []
    for symbol in symbols:
        if symbol in word_to_id:
            ids.append(word_to_id[symbol])
        else:
            for ch in symbol:
                if ch in word_to_id:
                    ids.append(word_to_id[ch])
                elif unknown_id is not None:
                    ids.append(unknown_id)
                else:
                    raise TokenizerError(ch)
    return tuple(ids)


def random_vocabulary(rng: random.Random):
    alphabet = [BYTE_TO_UNICODE[b] for b in b"abcde \xc3\xa9"]  # includes "Ġ" and the two bytes of "é"
    tokens = [ch for ch in alphabet if rng.random() < 0.9]  # sometimes a byte has no token
    merges = []
    for _ in range(rng.randint(5, 60)):
        if rng.random() < 0.8 and len(tokens) > 1:
            left, right = rng.choice(tokens), rng.choice(tokens)
        else:  # parts that need not be tokens
            left = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3)))
            right = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3)))
        merges.append(rng.choice([f"{left} {right}"] * 8 + [f"{left}{right}", f"{left}  {right}", f" {left}"]))
        if rng.random() < 0.7:
            tokens.append(left + right)  # else the merge result is no token
        if rng.random() < 0.1:
            merges.append(rng.choice(merges))
    tokens += [rng.choice(tokens) for _ in range(3)]  # duplicates
    types = [rng.choice([1, 1, 1, 1, 3, 4, 5, 6]) for _ in tokens]
    return tokens, types, merges, alphabet


@pytest.mark.parametrize("seed", range(40))
def test_symbol_ids_give_the_string_algorithms_result(seed):
    rng = random.Random(seed)
    tokens, types, merges, alphabet = random_vocabulary(rng)
    unknown_id = rng.choice([None, 0])
    ignore_merges = rng.random() < 0.5
    encoder = BytePairEncoder(
        tokens, np.array(types), merges, TokenIndex(tokens), ignore_merges=ignore_merges, unknown_id=unknown_id
    )
    raw = "abcde é"
    for _ in range(60):
        word = "".join(rng.choice(raw) for _ in range(rng.randint(1, 12)))
        try:
            expected = reference_encode(word, tokens, types, merges, ignore_merges=ignore_merges, unknown_id=unknown_id)
        except TokenizerError:
            with pytest.raises(TokenizerError, match="has no token in this vocabulary"):
                encoder.encode_word(word)
            continue
        assert encoder.encode_word(word) == expected, (word, tokens, merges)
