"""Pre-tokenizer choice by `tokenizer.ggml.pre` and the splits themselves, worked by hand: Llama-3 (training),
llama.cpp's default regexes (bitnet.cpp compat), Falcon3 / Falcon-E; unknown names refused, a missing name."""

from __future__ import annotations

import pytest

from bitnet_desktop.engine.errors import ModelFormatError, TokenizerError, TokenizerMetadataError
from bitnet_desktop.engine.tokenizer import KNOWN_PRE_TOKENIZER_NAMES, Tokenizer, pre_tokenizer_for
from bitnet_desktop.engine.tokenizer.byte_level import byte_level_to_bytes, text_to_byte_level
from bitnet_desktop.engine.tokenizer.pretokenizers import FALCON3, FALCON_E, LLAMA3, LLAMA_CPP_DEFAULT
from bitnet_desktop.engine.tokenizer.split_steps import PieceAlphabet
from tests.engine.tokenizer.reference_vocabularies import sentencepiece_metadata

TEXT = "Hello, world!! 12345 don't"
UNUSUAL_TEXTS = [TEXT, "", " ", "😀 é\u0301 中文 \n\n x", "'''s''", "x½ ²³ ٣4", "a  1\t\t22..."]


def test_llama3_split_worked_by_hand():
    assert LLAMA3.split(TEXT) == ["Hello", ",", " world", "!!", " ", "123", "45", " don", "'t"]
    assert LLAMA3.split("a\r\n\r\n  b\t\tc  ") == ["a", "\r\n\r\n", " ", " b", "\t", "\tc", "  "]


def test_llama_cpp_default_split_worked_by_hand():
    # punctuation runs first, then GPT-2's regex inside each piece, then digit runs, then groups of three.
    assert LLAMA_CPP_DEFAULT.split(TEXT) == ["Hello", ",", " world", "!!", " ", "123", "45", " don", "'", "t"]


def test_falcon_split_worked_by_hand():
    # Punctuation runs are cut out of the text first (so "'t" is no contraction any more), GPT-2's regex cuts
    # the rest (" 12345" is one match), the bytes become byte-level characters ("Ġ" for the space), and
    # then every digit is cut out on its own.
    assert FALCON3.split(TEXT) == ["Hello", ",", "Ġworld", "!!", "Ġ", "1", "2", "3", "4", "5", "Ġdon", "'", "t"]
    # Digits runs after ByteLevel: "½" is the bytes C2 BD, i.e. "Â½", and "½" is also the byte-level character
    # of byte BD, a numeric character, so the cut falls inside the UTF-8 character.
    assert FALCON3.split("x½") == ["x", "Â", "½"]
    assert FALCON_E.split(TEXT) == FALCON3.split(TEXT)


def test_splits_always_reassemble_the_text():
    for text in UNUSUAL_TEXTS:
        assert "".join(LLAMA3.split(text)) == text
        assert "".join(LLAMA_CPP_DEFAULT.split(text)) == text
        assert "".join(FALCON3.split(text)) == text_to_byte_level(text)
        assert byte_level_to_bytes("".join(FALCON3.split(text))) == text.encode()


def test_alphabet_of_the_words():
    assert LLAMA3.alphabet is PieceAlphabet.TEXT and LLAMA_CPP_DEFAULT.alphabet is PieceAlphabet.TEXT
    assert FALCON3.alphabet is PieceAlphabet.BYTE_LEVEL and FALCON_E.alphabet is PieceAlphabet.BYTE_LEVEL


@pytest.mark.parametrize("name", ["llama3", "llama-v3", "llama-bpe", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"])
def test_names_llama_cpp_gives_the_llama3_split(name):
    assert pre_tokenizer_for(name) is LLAMA3
    assert pre_tokenizer_for(name, bitnet_cpp_compat=True) is LLAMA3


def test_falcon_and_default_names():
    assert pre_tokenizer_for("falcon3") is FALCON3 and FALCON3.ignore_merges is False
    assert pre_tokenizer_for("falcon_e") is FALCON_E and FALCON_E.ignore_merges is False
    assert pre_tokenizer_for("default") is LLAMA_CPP_DEFAULT
    assert set(KNOWN_PRE_TOKENIZER_NAMES) == {"llama3", "llama-v3", "llama-bpe", "pixtral", "midm-2.0", "lfm2",
                                              "jina-v5-nano", "falcon3", "falcon_e", "default"}


def test_a_missing_name_means_llama3_unless_compat():
    # The official 2B-4T file has no tokenizer.ggml.pre; its vocabulary is Llama-3's, trained with that split.
    assert pre_tokenizer_for(None) is LLAMA3
    # bitnet.cpp (llama.cpp) uses its default regexes for a missing key.
    assert pre_tokenizer_for(None, bitnet_cpp_compat=True) is LLAMA_CPP_DEFAULT


@pytest.mark.parametrize("name", ["qwen2", "gpt-4o", "falcon", "falcon-h1", "llama3-bpe", "Llama3", "", "falcon3 "])
def test_unknown_names_are_refused_with_the_known_ones(name):
    with pytest.raises(TokenizerMetadataError) as error:
        pre_tokenizer_for(name)
    message = str(error.value)
    assert message.startswith("GGUF metadata: metadata key 'tokenizer.ggml.pre' = ") and repr(name) in message
    assert "'falcon3', 'falcon_e'" in message and "'llama-bpe'" in message and "'default'" in message
    assert error.value.key == "tokenizer.ggml.pre"


def test_a_vocabulary_with_an_unknown_name_is_refused(trained_bpe_metadata):
    with pytest.raises(TokenizerMetadataError, match="'tokenizer.ggml.pre' = 'qwen2' names a pre-tokenizer") as e:
        Tokenizer.from_gguf_metadata({**trained_bpe_metadata, "tokenizer.ggml.pre": "qwen2"})
    assert isinstance(e.value, TokenizerError) and isinstance(e.value, ModelFormatError)


def test_sentencepiece_vocabularies_ignore_the_name():
    # llama.cpp reads pre-tokenizers for BPE vocabularies only; a SentencePiece file's value is not used.
    tokenizer = Tokenizer.from_gguf_metadata({**sentencepiece_metadata(), "tokenizer.ggml.pre": "qwen2"})
    assert tokenizer.pre_tokenizer is None
    assert tokenizer.decode(tokenizer.encode("hello world")) == "hello world"


def test_compat_mode_tokenizes_like_bitnet_cpp(trained_bpe_metadata):
    training = Tokenizer.from_gguf_metadata(trained_bpe_metadata)
    compat = Tokenizer.from_gguf_metadata(trained_bpe_metadata, bitnet_cpp_compat=True)
    assert training.pre_tokenizer is LLAMA3
    assert compat.pre_tokenizer is LLAMA_CPP_DEFAULT
    # No ignore_merges in llama.cpp's default mode: the unreachable whole word is built from merges instead.
    whole = training.token_id(text_to_byte_level(" extraordinary"))
    assert training.encode(" extraordinary", add_bos=False) == [whole]
    assert whole not in compat.encode(" extraordinary", add_bos=False)
    # Contractions are split differently; both still decode to the same text.
    assert training.encode("don't", add_bos=False) != compat.encode("don't", add_bos=False)
    assert compat.decode(compat.encode(TEXT)) == TEXT
