"""A vocabulary the size of BitNet-b1.58-2B-4T's (128,256 tokens, 280,147 merges), read from a GGUF file.

The synthetic 2b4t vocabulary (synth/derived.py) is checked against Hugging Face `tokenizers`, and the GGUF
metadata and the tokenizer must not keep Python objects per token or merge alive (as lists and dicts they cost
about 75 MiB).
"""

from __future__ import annotations

import gc
import random
import sys

import pytest

from bitnet_desktop.engine.gguf import open_gguf, write_gguf
from bitnet_desktop.engine.synth import SyntheticModel
from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.tokenizer.reference_vocabularies import hf_reference_for
from tests.engine.tokenizer.test_byte_level_bpe import CORPUS

SMALL_OBJECTS_LIMIT = 10_000  # 2,000 today


@pytest.fixture(scope="module")
def model() -> SyntheticModel:
    return SyntheticModel("2b4t", "tq2_0")  # llama.cpp's layout: no scores, tokenizer.ggml.pre = "llama-bpe"


@pytest.fixture(scope="module")
def gguf_path(model, tmp_path_factory):
    return write_gguf(tmp_path_factory.mktemp("vocab") / "2b4t-metadata.gguf", model.metadata())


def test_the_file_has_the_real_models_counts(gguf_path):
    with open_gguf(gguf_path) as g:
        assert len(g.metadata["tokenizer.ggml.tokens"]) == 128_256
        assert len(g.metadata["tokenizer.ggml.merges"]) == 280_147
        assert "tokenizer.ggml.scores" not in g.metadata


def test_encoding_matches_hugging_face(gguf_path, model):
    v = model.vocab
    metadata = {"tokenizer.ggml.tokens": v.tokens, "tokenizer.ggml.token_type": v.token_types}
    hf = hf_reference_for({**metadata, "tokenizer.ggml.merges": v.merges})
    hf.encode_special_tokens = True  # our encode() leaves special-token text as text unless asked
    rng = random.Random(11)
    words = " ".join(v.tokens[3000:3400]).replace("Ġ", " ")  # derived tokens, so long merges are exercised
    texts = CORPUS + [words] + ["".join(rng.choice(words) for _ in range(200)) for _ in range(20)]
    with open_gguf(gguf_path) as g:
        tokenizer = Tokenizer.from_gguf_metadata(g.metadata)
        for text in texts:
            ids = tokenizer.encode(text, add_bos=False)
            assert ids == hf.encode(text, add_special_tokens=False).ids, repr(text)
            assert tokenizer.decode(ids) == text


def test_no_python_object_is_kept_per_token_or_merge(gguf_path):
    # Lists and dicts of str and int kept about 944,000 small objects (75 MiB) alive; numpy arrays do not count
    # here (they are a few large blocks), so this catches a per-item structure creeping back in.
    gc.collect()
    before = sys.getallocatedblocks()
    with open_gguf(gguf_path) as g:
        tokenizer = Tokenizer.from_gguf_metadata(g.metadata)
        assert tokenizer.encode("Hello world", add_bos=False)
        gc.collect()
        assert sys.getallocatedblocks() - before < SMALL_OBJECTS_LIMIT
