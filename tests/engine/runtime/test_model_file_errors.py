"""Hostile model files at load time: hyperparameters of the wrong type or range, a missing or mismatched
embedding table, and paths that are not regular files. Each is refused while loading with one of the
engine's errors naming the file and the key or tensor; nothing blocks."""

import math
import os
import socket
import threading
from pathlib import Path

import pytest

from bitnet_desktop.engine.errors import ModelFormatError, ModelMetadataError, TokenizerMetadataError
from bitnet_desktop.engine.gguf import GGUFArray, ValueType, open_gguf
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from tests.engine.runtime.gguf_files import rewrite, synth

V = ValueType
ARCH = "bitnet-b1.58"  # the synthetic i2_s file's arch, the prefix of its hyperparameter keys


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return synth(tmp_path_factory.mktemp("model"), shape="tiny", fmt="i2_s")


def load(path) -> None:
    BitNetModel.load(path, LoadOptions(threads=1, context_length=64)).close()


def load_fails(path, error=ModelFormatError) -> str:
    with pytest.raises(error) as e:
        load(path)
    message = str(e.value)
    assert message.startswith(f"{path}: "), message
    return message


# ---- hyperparameters -------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, vtype, value, found", [
    ("context_length", V.STRING, "x", "the string 'x'"),
    ("context_length", V.UINT32, 0, "got 0"),
    ("context_length", V.UINT64, 2**40, f"got {2**40}"),
    ("embedding_length", V.FLOAT32, 256.0, "the float 256.0"),
    ("embedding_length", V.UINT64, 2**63, f"got {2**63}"),
    ("block_count", V.INT32, -2, "got -2"),
    ("block_count", V.BOOL, True, "the bool True"),
    ("feed_forward_length", V.UINT32, 0, "got 0"),
    ("attention.head_count", V.UINT32, 0, "got 0"),
    ("attention.head_count_kv", V.ARRAY, GGUFArray(V.UINT32, [2, 2]), "an array of 2 integers"),
    ("rope.dimension_count", V.STRING, "64", "the string '64'"),
    ("vocab_size", V.STRING, "1024", "the string '1024'"),
    ("vocab_size", V.FLOAT32, math.nan, "the float nan"),
    # within 2^24 but past the native model's limits: named here, not "status 2" from the library
    ("block_count", V.UINT32, 2000, "in 1..1024, got 2000"),
    ("embedding_length", V.UINT32, 131072, "in 1..65536, got 131072"),
    ("feed_forward_length", V.UINT32, 70000, "in 1..65536, got 70000"),
])
def test_a_bad_integer_hyperparameter_is_refused(model_file, tmp_path, key, vtype, value, found):
    path = rewrite(model_file, tmp_path / "bad.gguf", meta={f"{ARCH}.{key}": (vtype, value)})
    message = load_fails(path, ModelMetadataError)
    assert message.startswith(f"{path}: metadata key '{ARCH}.{key}' must be"), message
    assert found in message, message


@pytest.mark.parametrize("key, vtype, value, found", [
    ("rope.freq_base", V.FLOAT32, math.inf, "got inf"),
    ("rope.freq_base", V.FLOAT32, math.nan, "got nan"),
    ("rope.freq_base", V.FLOAT32, 0.0, "got 0.0"),
    ("rope.freq_base", V.FLOAT64, -1.0, "got -1.0"),
    ("rope.freq_base", V.STRING, "1e4", "the string '1e4'"),
    ("attention.layer_norm_rms_epsilon", V.FLOAT32, math.nan, "got nan"),
    ("attention.layer_norm_rms_epsilon", V.FLOAT32, -math.inf, "got -inf"),
    ("attention.layer_norm_rms_epsilon", V.FLOAT32, 0.0, "got 0.0"),
    ("attention.layer_norm_rms_epsilon", V.FLOAT32, 2.0, "got 2.0"),
    ("attention.layer_norm_rms_epsilon", V.BOOL, False, "the bool False"),
    # finite as doubles, but inf or 0 as the native float32
    ("rope.freq_base", V.FLOAT64, 1e308, "got 1e+308"),
    ("attention.layer_norm_rms_epsilon", V.FLOAT64, 1e-300, "got 1e-300"),
])
def test_a_bad_float_hyperparameter_is_refused(model_file, tmp_path, key, vtype, value, found):
    path = rewrite(model_file, tmp_path / "bad.gguf", meta={f"{ARCH}.{key}": (vtype, value)})
    message = load_fails(path, ModelMetadataError)
    assert message.startswith(f"{path}: metadata key '{ARCH}.{key}' must be a finite number > "), message
    assert found in message, message


@pytest.mark.parametrize("key, vtype, value", [
    ("general.architecture", V.ARRAY, GGUFArray(V.STRING, [ARCH])),
    ("general.architecture", V.UINT32, 1),
    ("general.name", V.ARRAY, GGUFArray(V.UINT8, [1])),
])
def test_names_that_are_not_strings_are_refused(model_file, tmp_path, key, vtype, value):
    path = rewrite(model_file, tmp_path / "bad.gguf", meta={key: (vtype, value)})
    message = load_fails(path, ModelMetadataError)
    assert message.startswith(f"{path}: metadata key '{key}' must be a string"), message


def test_heads_that_do_not_divide_the_width_name_both_keys(model_file, tmp_path):
    path = rewrite(model_file, tmp_path / "bad.gguf", meta={f"{ARCH}.attention.head_count": (V.UINT32, 3)})
    message = load_fails(path, ModelMetadataError)
    assert f"'{ARCH}.embedding_length' = 256 is not a multiple of '{ARCH}.attention.head_count' = 3" in message


# ---- the embedding table and the vocabulary --------------------------------------------------------------

def test_no_embedding_and_no_vocab_size_is_refused(model_file, tmp_path):
    path = rewrite(model_file, tmp_path / "bad.gguf", drop={"token_embd.weight"}, drop_meta={f"{ARCH}.vocab_size"})
    assert "tensor 'token_embd.weight'" in load_fails(path)


def test_no_embedding_is_refused_by_its_name(model_file, tmp_path):
    path = rewrite(model_file, tmp_path / "bad.gguf", drop={"token_embd.weight"})
    message = load_fails(path)
    assert "has no 2-D tensor 'token_embd.weight'" in message, message


def test_a_one_dimensional_embedding_is_refused(model_file, tmp_path):
    path = rewrite(model_file, tmp_path / "bad.gguf", reshape={"token_embd.weight": (256 * 1024,)})
    assert "has no 2-D tensor 'token_embd.weight'" in load_fails(path)


@pytest.mark.parametrize("n_tokens", [1000, 1030])
def test_a_vocabulary_that_does_not_match_the_embedding_is_refused(model_file, tmp_path, n_tokens):
    with open_gguf(model_file) as g:
        tokens = list(g.metadata["tokenizer.ggml.tokens"])
        types = list(g.metadata["tokenizer.ggml.token_type"])
    tokens += [f"<extra {i}>" for i in range(n_tokens - len(tokens))]
    types += [1] * (n_tokens - len(types))
    path = rewrite(model_file, tmp_path / "bad.gguf", meta={
        "tokenizer.ggml.tokens": (V.ARRAY, GGUFArray(V.STRING, tokens[:n_tokens])),
        "tokenizer.ggml.token_type": (V.ARRAY, GGUFArray(V.INT32, types[:n_tokens])),
        "tokenizer.ggml.scores": (V.ARRAY, GGUFArray(V.FLOAT32, [0.0] * n_tokens)),
    })
    message = load_fails(path, ModelMetadataError)
    assert (f"metadata key 'tokenizer.ggml.tokens' holds {n_tokens} tokens, "
            f"but tensor 'token_embd.weight' has 1024 rows") in message, message


def test_a_bad_special_token_id_is_refused_at_load_naming_the_file(model_file, tmp_path):
    path = rewrite(model_file, tmp_path / "bad.gguf", meta={"tokenizer.ggml.eos_token_id": (V.FLOAT32, math.inf)})
    message = load_fails(path, TokenizerMetadataError)
    assert "metadata key 'tokenizer.ggml.eos_token_id' must be a token id" in message, message


def test_the_valid_file_still_loads(model_file):
    load(model_file)


# ---- paths that are not regular files --------------------------------------------------------------------

def not_a_regular_file(path, kind: str) -> None:
    for opener in (open_gguf, load):
        with pytest.raises(ModelFormatError) as e:
            opener(path)
        assert str(e.value) == f"{path}: is {kind}, not a regular file; a model must be a .gguf file", str(e.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    done = threading.Event()
    outcome: list = []

    def try_both():
        try:
            not_a_regular_file(fifo, "a FIFO (named pipe)")
        except BaseException as e:  # handed to the test's thread
            outcome.append(e)
        done.set()

    threading.Thread(target=try_both, daemon=True).start()
    if not done.wait(10):
        while not done.is_set():  # let each blocked open() go: a writer appears and leaves
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass  # between two opens nobody reads
            done.wait(0.5)
        pytest.fail("opening a FIFO as a model blocked")
    if outcome:
        raise outcome[0]


def test_a_directory_is_refused(tmp_path):
    folder = tmp_path / "model.gguf"
    folder.mkdir()
    not_a_regular_file(folder, "a directory")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this platform")
def test_a_device_is_refused():
    not_a_regular_file(Path("/dev/zero"), "a character device")


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets on this platform")
def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "model.gguf"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        not_a_regular_file(path, "a socket")


def test_a_missing_file_is_still_reported_as_missing(tmp_path):
    with pytest.raises(ModelFormatError, match="cannot open the model file: No such file"):
        load(tmp_path / "absent.gguf")


def test_a_path_with_a_nul_byte_is_refused(tmp_path):
    with pytest.raises(ModelFormatError, match="cannot open the model file: embedded null byte"):
        load(f"{tmp_path}/a\0b.gguf")
