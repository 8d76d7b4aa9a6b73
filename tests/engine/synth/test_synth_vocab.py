"""Synthetic vocabularies: Llama-3 style BPE (ids, specials, merges) and SentencePiece style."""

import time

import pytest

from bitnet_desktop.engine.synth import SHAPES, llama3_special_tokens, llama3_vocab, spm_vocab
from bitnet_desktop.engine.synth.bpe import bytes_to_unicode, pretokenize_bytelevel, train_bpe


def test_bytes_to_unicode_is_gpt2s_mapping():
    order, chars = bytes_to_unicode()
    assert sorted(order) == list(range(256))
    assert len(set(chars.values())) == 256
    assert chars[ord("A")] == "A" and chars[0x20] == "Ġ" and chars[0x0A] == "Ċ" and chars[0x00] == "Ā"
    assert order[0] == ord("!") and order[188] == 0 and order.index(0x20) == 220 and order.index(0x0A) == 198


def test_pretokenize_bytelevel():
    assert pretokenize_bytelevel("Hello world's 12345!") == ["Hello", "Ġworld", "'s", "Ġ", "123", "45", "!"]
    assert pretokenize_bytelevel("é") == ["Ã©"]


def test_train_bpe_small_example():
    # "ab" appears 5 times, then "abc" 3 times; ties go to the smallest pair.
    merges = train_bpe(["abc", "abc", "abc", "ab", "ab", "xy"])
    assert merges[:2] == [("a", "b"), ("ab", "c")]
    assert merges[2] == ("x", "y")
    assert len(merges) == 3  # every word is a single symbol now
    assert train_bpe(["abc", "abc", "abc", "ab", "ab", "xy"], max_merges=1) == [("a", "b")]
    assert train_bpe(["aaaa"]) == [("a", "a"), ("aa", "aa")]


def test_llama3_specials_names():
    names = llama3_special_tokens()
    assert len(names) == 256
    assert names[:10] == [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|reserved_special_token_2|>",
        "<|reserved_special_token_3|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|reserved_special_token_4|>",
        "<|eot_id|>",
    ]
    assert names[10] == "<|reserved_special_token_5|>" and names[-1] == "<|reserved_special_token_250|>"


def test_2b4t_vocab_ids_land_on_the_real_ones():
    v = llama3_vocab(128256, SHAPES["2b4t"].n_merges)
    assert len(v) == 128256
    assert (v.bos_id, v.eos_id, v.eot_id) == (128000, 128001, 128009)
    assert v.tokens[128000] == "<|begin_of_text|>" and v.tokens[128001] == "<|end_of_text|>"
    assert v.tokens[128009] == "<|eot_id|>" and v.tokens[128006] == "<|start_header_id|>"
    assert v.tokens[128255] == "<|reserved_special_token_250|>"
    assert v.token_types[:128000] == [1] * 128000 and v.token_types[128000:] == [3] * 256
    assert v.scores == [0.0] * 128256
    assert v.tokens[220] == "Ġ" and v.tokens[198] == "Ċ" and v.tokens[0] == "!"
    assert v.n_merges == len(v.merges) == 280_147  # as many as the real model has
    assert not any(t.startswith("<filler_") for t in v.tokens), "derived tokens fill the vocabulary"


def test_full_size_vocab_is_quick_to_make_and_deterministic():
    start = time.perf_counter()
    v = llama3_vocab(128256, 280_147)
    assert time.perf_counter() - start < 5
    assert llama3_vocab(128256, 280_147) == v


def test_corpus_merges_come_first_unchanged_in_a_full_size_vocab():
    corpus_only = llama3_vocab(128256, None)
    full = llama3_vocab(128256, 280_147)
    n = corpus_only.n_merges
    assert full.merges[:n] == corpus_only.merges
    assert full.tokens[: 256 + n] == corpus_only.tokens[: 256 + n]


@pytest.mark.parametrize(
    "n_vocab,n_merges",
    [(1024, 300), (2048, 800), (600, None), (128256, None), (128256, 280_147), (4096, 4000), (4096, 9000)],
)
def test_llama3_vocab_is_consistent(n_vocab, n_merges):
    v = llama3_vocab(n_vocab, n_merges)
    assert len(v.tokens) == len(v.token_types) == len(v.scores) == n_vocab
    assert len(set(v.tokens)) == n_vocab
    if n_merges == 9000:  # more than the derived tokens carry (about 2.4 each): as many as they do
        assert 5000 < len(v.merges) < n_merges and not any(t.startswith("<filler_") for t in v.tokens)
    elif n_merges is not None:
        assert len(v.merges) == n_merges
    assert len(set(v.merges)) == len(v.merges)
    ids = {t: i for i, t in enumerate(v.tokens)}
    for m in v.merges:
        a, b = m.split(" ")
        assert a in ids and b in ids and a + b in ids, m
        assert ids[a + b] < n_vocab - 256
        assert max(ids[a], ids[b]) < ids[a + b], "a merge uses only earlier tokens"
    assert v.bos_id == n_vocab - 256


def test_llama3_vocab_learned_common_merges_and_is_deterministic():
    v = llama3_vocab(1024, 300)
    for tok in ("Ġthe", "Ġand", "in", "Ġ=", "ing"):
        assert tok in v.tokens, tok
    assert llama3_vocab(1024, 300) == v


def test_llama3_vocab_too_small():
    with pytest.raises(ValueError, match="at least 512"):
        llama3_vocab(500, 10)


def test_spm_vocab():
    v = spm_vocab(1024, 300)
    assert v.model == "llama" and len(v.tokens) == 1024 and len(set(v.tokens)) == 1024
    assert v.tokens[:3] == ["<unk>", "<s>", "</s>"] and v.token_types[:3] == [2, 3, 3]
    assert v.tokens[3] == "<0x00>" and v.tokens[258] == "<0xFF>" and set(v.token_types[3:259]) == {6}
    assert set(v.token_types[259:]) == {1}
    assert (v.bos_id, v.eos_id, v.unk_id) == (1, 2, 0)
    assert "▁the" in v.tokens and "▁" in v.tokens and "e" in v.tokens and "\n" not in v.tokens
    scores = v.scores[259:]
    assert all(a > b for a, b in zip(scores, scores[1:])), "pieces have strictly descending scores"
    assert v.n_merges == 300
    # every learned piece can be built from two shorter vocabulary pieces
    pieces = set(v.tokens)
    for piece in v.tokens[259 : 259 + 300]:
        assert any(piece[:k] in pieces and piece[k:] in pieces for k in range(1, len(piece))), piece
