"""Hostile tokenizer metadata in a GGUF file: each bad value is a TokenizerMetadataError naming the file and the
key and what was expected, raised while the vocabulary is read, never a generic Python error or a failure
later during generation."""

import math

import pytest

from bitnet_desktop.engine.errors import ModelFormatError, TokenizerError, TokenizerMetadataError
from bitnet_desktop.engine.gguf import GGUFArray, ValueType, open_gguf
from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.runtime.gguf_files import rewrite, synth

V = ValueType
N_TOKENS = 1024  # the tiny synthetic vocabulary
SPECIAL_ID_KEYS = ["bos_token_id", "eos_token_id", "eot_token_id", "unknown_token_id", "padding_token_id",
                   "seperator_token_id"]


@pytest.fixture(scope="module")
def bpe_file(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("bpe"), shape="tiny", fmt="i2_s")


@pytest.fixture(scope="module")
def spm_file(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("spm"), shape="tiny", fmt="tq2_0", arch="bitnet", tokenizer="llama")


def refused(base, tmp_path, key: str, vtype: ValueType, value, *fragments: str) -> str:
    path = rewrite(base, tmp_path / "bad.gguf", meta={key: (vtype, value)})
    with open_gguf(path) as g, pytest.raises(TokenizerMetadataError) as e:
        Tokenizer.from_gguf_metadata(g.metadata)
    message = str(e.value)
    assert message.startswith(f"{path}: metadata key '{key}' "), message
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(e.value, TokenizerError) and isinstance(e.value, ModelFormatError)
    return message


def floats(*values) -> GGUFArray:
    return GGUFArray(V.FLOAT32, list(values))


# ---- special token ids -----------------------------------------------------------------------------------

@pytest.mark.parametrize("vtype, value, found", [
    (V.STRING, "1", "the string '1'"),
    (V.ARRAY, GGUFArray(V.UINT32, [1, 2]), "an array of 2 integers"),
    (V.FLOAT32, math.nan, "the float nan"),
    (V.FLOAT32, math.inf, "the float inf"),
    (V.FLOAT64, 1.0, "the float 1.0"),
    (V.BOOL, True, "the bool True"),
    (V.INT32, -1, "got -1"),
    (V.UINT32, N_TOKENS, f"got {N_TOKENS}"),
    (V.UINT64, 2**64 - 1, f"got {2**64 - 1}"),
])
def test_a_bad_bos_token_id_is_refused(bpe_file, tmp_path, vtype, value, found):
    refused(bpe_file, tmp_path, "tokenizer.ggml.bos_token_id", vtype, value,
            f"must be a token id (an integer in 0..{N_TOKENS - 1})", found)


@pytest.mark.parametrize("name", SPECIAL_ID_KEYS)
def test_every_special_token_id_is_checked(bpe_file, tmp_path, name):
    refused(bpe_file, tmp_path, f"tokenizer.ggml.{name}", V.STRING, "x", "must be a token id", "the string 'x'")
    refused(bpe_file, tmp_path, f"tokenizer.ggml.{name}", V.UINT32, 5000, "must be a token id", "got 5000")


def test_special_ids_of_a_sentencepiece_vocabulary_are_checked(spm_file, tmp_path):
    refused(spm_file, tmp_path, "tokenizer.ggml.unknown_token_id", V.FLOAT32, math.nan, "the float nan")


# ---- tokens, token types, scores, merges -----------------------------------------------------------------

@pytest.mark.parametrize("vtype, value, found", [
    (V.UINT32, 5, "the integer 5"),
    (V.STRING, "hello", "the string 'hello'"),
    (V.ARRAY, GGUFArray(V.UINT32, list(range(N_TOKENS))), f"an array of {N_TOKENS} integers"),
    (V.ARRAY, GGUFArray(V.ARRAY, [GGUFArray(V.STRING, ["a"])] * 4), "an array of 4 arrays"),
])
def test_tokens_that_are_not_an_array_of_strings_are_refused(bpe_file, tmp_path, vtype, value, found):
    refused(bpe_file, tmp_path, "tokenizer.ggml.tokens", vtype, value, "must be an array of strings", found)


def test_an_empty_token_array_is_refused(bpe_file, tmp_path):
    refused(bpe_file, tmp_path, "tokenizer.ggml.tokens", V.ARRAY, GGUFArray(V.STRING, []), "is empty")


@pytest.mark.parametrize("vtype, value, found", [
    (V.ARRAY, floats(*[math.nan] * N_TOKENS), f"an array of {N_TOKENS} floats"),
    (V.ARRAY, floats(*[1.0] * N_TOKENS), f"an array of {N_TOKENS} floats"),
    (V.ARRAY, GGUFArray(V.BOOL, [True] * N_TOKENS), f"an array of {N_TOKENS} bools"),
    (V.ARRAY, GGUFArray(V.STRING, ["1"] * N_TOKENS), f"an array of {N_TOKENS} strings"),
    (V.UINT32, 1, "the integer 1"),
])
def test_token_types_that_are_not_integers_are_refused(bpe_file, tmp_path, vtype, value, found):
    refused(bpe_file, tmp_path, "tokenizer.ggml.token_type", vtype, value, "must be an array of integers", found)


def test_token_types_of_the_wrong_length_are_refused(bpe_file, tmp_path):
    refused(bpe_file, tmp_path, "tokenizer.ggml.token_type", V.ARRAY, GGUFArray(V.INT32, [1] * 3),
            f"has 3 entries, but there are {N_TOKENS} tokens")


@pytest.mark.parametrize("vtype, value, found", [
    (V.STRING, "0.5", "the string '0.5'"),
    (V.ARRAY, GGUFArray(V.STRING, ["0"] * N_TOKENS), f"an array of {N_TOKENS} strings"),
    (V.FLOAT32, 0.0, "the float 0.0"),
])
def test_scores_that_are_not_numbers_are_refused(spm_file, tmp_path, vtype, value, found):
    refused(spm_file, tmp_path, "tokenizer.ggml.scores", vtype, value, "must be an array of numbers", found)


def test_nan_scores_are_refused(spm_file, tmp_path):
    scores = floats(*([0.0] * 7 + [math.nan] + [0.0] * (N_TOKENS - 8)))
    refused(spm_file, tmp_path, "tokenizer.ggml.scores", V.ARRAY, scores, "element 7 is NaN")


@pytest.mark.parametrize("vtype, value, found", [
    (V.UINT32, 5, "the integer 5"),
    (V.STRING, "a b", "the string 'a b'"),
    (V.ARRAY, GGUFArray(V.UINT32, [1, 2]), "an array of 2 integers"),
])
def test_merges_that_are_not_an_array_of_strings_are_refused(bpe_file, tmp_path, vtype, value, found):
    refused(bpe_file, tmp_path, "tokenizer.ggml.merges", vtype, value, "must be an array of strings", found)


# ---- names and flags ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["tokenizer.ggml.model", "tokenizer.ggml.pre"])
def test_names_that_are_not_strings_are_refused(bpe_file, tmp_path, key):
    refused(bpe_file, tmp_path, key, V.UINT32, 3, "must be a string, got the integer 3")


def test_an_unknown_tokenizer_model_names_the_file(bpe_file, tmp_path):
    refused(bpe_file, tmp_path, "tokenizer.ggml.model", V.STRING, "bert", "'bert' is not supported")


@pytest.mark.parametrize("name", ["qwen2", "gpt-4o", "falcon-h1"])
def test_an_unknown_pre_tokenizer_names_the_file_the_value_and_the_known_ones(bpe_file, tmp_path, name):
    refused(bpe_file, tmp_path, "tokenizer.ggml.pre", V.STRING, name,
            f"= {name!r} names a pre-tokenizer this engine does not implement", "'falcon3', 'falcon_e'")


def test_a_sentencepiece_file_keeps_ignoring_the_pre_tokenizer(spm_file, tmp_path):
    path = rewrite(spm_file, tmp_path / "spm.gguf", meta={"tokenizer.ggml.pre": (V.STRING, "qwen2")})
    with open_gguf(path) as g:
        assert Tokenizer.from_gguf_metadata(g.metadata).pre_tokenizer is None


@pytest.mark.parametrize("key", ["tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
                                 "tokenizer.ggml.add_space_prefix"])
def test_flags_that_are_not_bools_are_refused(spm_file, tmp_path, key):
    refused(spm_file, tmp_path, key, V.STRING, "no", "must be a bool, got the string 'no'")
