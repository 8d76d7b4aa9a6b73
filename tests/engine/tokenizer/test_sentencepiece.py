"""SentencePiece ("llama") encoding: llama.cpp's algorithm, checked two ways.

1. Hand-worked cases on a tiny vocabulary, each following llama.cpp's llm_tokenizer_spm step by step
   (highest-scoring pair first, leftmost among equals, byte fallback, space prefix after specials).
2. A trained vocabulary compared with HF `tokenizers` set up like LlamaTokenizerFast (see
   reference_vocabularies.hf_sentencepiece_reference_for for when the two algorithms coincide).
"""

from __future__ import annotations

import random

import pytest

from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.tokenizer.reference_vocabularies import hf_sentencepiece_reference_for, sentencepiece_metadata

BYTE0 = 3  # id of <0x00> in the hand-made vocabulary


def _hand_made_vocabulary(**overrides) -> Tokenizer:
    pieces = [  # (text, score)
        ("\u2581", -1.0),   # 259
        ("a", -2.0),        # 260
        ("b", -3.0),        # 261
        ("c", -4.0),        # 262
        ("ab", -10.0),      # 263
        ("bc", -5.0),       # 264  scores higher than "ab"
        ("\u2581a", -20.0), # 265
        ("abc", -30.0),     # 266
        ("bb", -6.0),       # 267
    ]
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + [p for p, _ in pieces]
    metadata = {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [2, 3, 3] + [6] * 256 + [1] * len(pieces),
        "tokenizer.ggml.scores": [0.0] * 259 + [s for _, s in pieces],
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        **overrides,
    }
    return Tokenizer.from_gguf_metadata(metadata)


def test_highest_score_pair_merges_first():
    # "▁abc": candidates ▁a(-20) ab(-10) bc(-5). bc wins, then ▁a; a+bc="abc" is stale once ▁a formed.
    assert _hand_made_vocabulary().encode("abc", add_bos=False) == [265, 264]


def test_equal_scores_merge_leftmost_first():
    # "▁bbb": (b,b) at 1 and at 2 score the same; the left one merges, leaving ▁ bb b.
    assert _hand_made_vocabulary().encode("bbb", add_bos=False) == [259, 267, 261]


def test_unknown_character_falls_back_to_byte_tokens():
    euro = "€".encode("utf-8")  # E2 82 AC, not in the vocabulary
    assert _hand_made_vocabulary().encode("a€", add_bos=False) == [265] + [BYTE0 + b for b in euro]


def test_spaces_become_space_marks():
    assert _hand_made_vocabulary().encode("a b", add_bos=False) == [265, 259, 261]


def test_space_prefix_is_added_after_special_tokens_and_bos_is_not_doubled():
    tokenizer = _hand_made_vocabulary()
    ids = tokenizer.encode("<s>ab</s>c", parse_special=True)
    assert ids == [1, 259, 263, 2, 259, 262]


def test_add_space_prefix_false_is_honoured():
    tokenizer = _hand_made_vocabulary(**{"tokenizer.ggml.add_space_prefix": False})
    assert tokenizer.encode("abc", add_bos=False) == [266]
    assert tokenizer.decode([266]) == "abc"


def test_bos_follows_metadata_default_for_sentencepiece():
    assert _hand_made_vocabulary().encode("abc")[0] == 1  # add_bos_token absent -> True for SPM
    tokenizer = _hand_made_vocabulary(**{"tokenizer.ggml.add_bos_token": False})
    assert tokenizer.encode("abc")[0] != 1


def test_decode_drops_the_added_space_and_joins_byte_tokens():
    tokenizer = _hand_made_vocabulary()
    euro_ids = [BYTE0 + b for b in "€".encode("utf-8")]
    assert tokenizer.decode([1, 265, 264] + euro_ids + [2]) == "abc€"
    assert tokenizer.decode([1, 265, 2], skip_special=False) == "<s> a</s>"


@pytest.fixture(scope="module")
def spm_pair():
    metadata = sentencepiece_metadata()
    return Tokenizer.from_gguf_metadata(metadata), hf_sentencepiece_reference_for(metadata)


SPM_CORPUS = [
    "hello world",
    "the quick brown fox jumps over the lazy dog",
    "  two leading spaces and trailing  ",
    "to be or not to be",
    "café naïve 中文 日本語",
    "unseen characters: € 😀 👨‍👩‍👧 Ω",
    "numbers 1 12 123 1234 12345",
    "well, well, well... hello? HELLO!",
    "tabs\tand\nnewlines",
]


@pytest.mark.parametrize("text", SPM_CORPUS, ids=range(len(SPM_CORPUS)))
def test_ids_match_hugging_face_llama_setup(spm_pair, text):
    ours, reference = spm_pair
    assert ours.encode(text, add_bos=False) == reference.encode(text, add_special_tokens=False).ids
    assert ours.decode(ours.encode(text)) == text


def test_random_strings_match_hugging_face_llama_setup(spm_pair):
    ours, reference = spm_pair
    pool = list("thequickbrownfxjmpsvlazydg ,.!?") + ["hello", "well", " ", "  ", "é", "中", "😀", "€", "\n"]
    rng = random.Random(11)
    for _ in range(300):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 30)))
        ids = ours.encode(text, add_bos=False)
        assert ids == reference.encode(text, add_special_tokens=False).ids, repr(text)
        assert ours.decode(ids) == text
