"""Pre-tokenizer choice and splits: Llama-3 (training) vs llama.cpp's default regexes (bitnet.cpp compat)."""

from __future__ import annotations

import logging

from bitnet_desktop.engine.tokenizer import Tokenizer, pre_tokenizer_for
from bitnet_desktop.engine.tokenizer.byte_level import text_to_byte_level
from bitnet_desktop.engine.tokenizer.pretokenizers import LLAMA3, LLAMA_CPP_DEFAULT

TEXT = "Hello, world!! 12345 don't"


def test_llama3_split_worked_by_hand():
    assert LLAMA3.split(TEXT) == ["Hello", ",", " world", "!!", " ", "123", "45", " don", "'t"]
    assert LLAMA3.split("a\r\n\r\n  b\t\tc  ") == ["a", "\r\n\r\n", " ", " b", "\t", "\tc", "  "]


def test_llama_cpp_default_split_worked_by_hand():
    # punctuation runs first, then GPT-2's regex inside each piece, then digit runs, then groups of three.
    assert LLAMA_CPP_DEFAULT.split(TEXT) == ["Hello", ",", " world", "!!", " ", "123", "45", " don", "'", "t"]


def test_splits_always_reassemble_the_text():
    for text in [TEXT, "", " ", "😀 é\u0301 中文 \n\n x", "'''s''"]:
        assert "".join(LLAMA3.split(text)) == text
        assert "".join(LLAMA_CPP_DEFAULT.split(text)) == text


def test_choice_by_gguf_pre_name(caplog):
    assert pre_tokenizer_for(None) is LLAMA3                      # official 2B-4T file: key missing
    assert pre_tokenizer_for("llama3") is LLAMA3
    assert pre_tokenizer_for("llama-bpe") is LLAMA3
    assert pre_tokenizer_for(None, bitnet_cpp_compat=True) is LLAMA_CPP_DEFAULT
    assert pre_tokenizer_for("default") is LLAMA_CPP_DEFAULT
    assert pre_tokenizer_for("llama-bpe", bitnet_cpp_compat=True) is LLAMA3
    with caplog.at_level(logging.WARNING):
        assert pre_tokenizer_for("qwen2") is LLAMA3
    assert "qwen2" in caplog.text


def test_compat_mode_tokenizes_like_bitnet_cpp(trained_bpe_metadata):
    training = Tokenizer.from_gguf_metadata(trained_bpe_metadata)
    compat = Tokenizer.from_gguf_metadata(trained_bpe_metadata, bitnet_cpp_compat=True)
    assert compat.pre_tokenizer is LLAMA_CPP_DEFAULT
    # No ignore_merges in llama.cpp's default mode: the unreachable whole word is built from merges instead.
    whole = training.token_id(text_to_byte_level(" extraordinary"))
    assert training.encode(" extraordinary", add_bos=False) == [whole]
    assert whole not in compat.encode(" extraordinary", add_bos=False)
    # Contractions are split differently; both still decode to the same text.
    assert training.encode("don't", add_bos=False) != compat.encode("don't", add_bos=False)
    assert compat.decode(compat.encode(TEXT)) == TEXT
