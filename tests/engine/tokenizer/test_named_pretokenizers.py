"""Each `tokenizer.ggml.pre` the engine knows gives the ids of Hugging Face `tokenizers` built with that
pre-tokenizer's tokenizer.json definition and BPE ignore_merges flag (pretokenizers.py), on the mixed corpus of
test_byte_level_bpe.py and random strings; and GGUF files carrying those names load through
Tokenizer.from_gguf_metadata.

Two vocabularies: one trained with Llama-3's split (it has multi-digit and multi-punctuation tokens, so a wrong
split shows up as different ids) and one trained with the Falcon split (what a Falcon vocabulary looks like).
"""

from __future__ import annotations

import random
import time

import pytest

from bitnet_desktop.engine.errors import TokenizerMetadataError
from bitnet_desktop.engine.gguf import GGUFArray, ValueType, open_gguf, write_gguf
from bitnet_desktop.engine.synth import write_synthetic_model
from bitnet_desktop.engine.tokenizer import Tokenizer
from bitnet_desktop.engine.tokenizer.pretokenizers import FALCON_DEFINITION, pre_tokenizer_for
from tests.engine.tokenizer.reference_vocabularies import hf_reference_for, trained_bpe_metadata_with_unreachable_words
from tests.engine.tokenizer.test_byte_level_bpe import CORPUS

V = ValueType
NAMES = ["llama-bpe", "falcon3", "falcon_e", "default"]
RANDOM_POOL = (
    list("abcXYZ019 '\t\n\r.,;!?-_()[]{}<>|/\\\"$+=^~`")
    + list("éñüßÅçœ中文日本語한국")
    + ["😀", "👍", "🏽", "\u200d", "❤", "\ufe0f", "\u0301", "\u00a0", "\u3000", "\x85", "٣", "½", "²", "³"]
    + ["'s", "'LL", "  ", "\r\n", "123456", "...", "!!", " -1.5e3"]
)


@pytest.fixture(scope="module")
def falcon_trained_metadata() -> dict:
    return trained_bpe_metadata_with_unreachable_words(FALCON_DEFINITION)


@pytest.fixture(scope="module", params=["llama3-trained", "falcon-trained"])
def vocabulary(request, trained_bpe_metadata, falcon_trained_metadata) -> dict:
    return trained_bpe_metadata if request.param == "llama3-trained" else falcon_trained_metadata


def ours_and_reference(metadata: dict, name: str):
    pre_tokenizer = pre_tokenizer_for(name)
    metadata = {**metadata, "tokenizer.ggml.pre": name}
    reference = hf_reference_for(metadata, ignore_merges=pre_tokenizer.ignore_merges,
                                 definition=pre_tokenizer.definition)
    reference.encode_special_tokens = True  # our encode() leaves special-token text as text unless asked
    return Tokenizer.from_gguf_metadata(metadata), reference


def random_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(RANDOM_POOL) for _ in range(rng.randint(1, 40))) for _ in range(count)]


@pytest.mark.parametrize("name", NAMES)
def test_ids_match_hugging_face(vocabulary, name):
    ours, reference = ours_and_reference(vocabulary, name)
    assert ours.pre_tokenizer is pre_tokenizer_for(name)
    for text in CORPUS + random_texts(seed=len(name), count=250):
        ids = ours.encode(text, add_bos=False)
        assert ids == reference.encode(text, add_special_tokens=False).ids, (name, text)
        assert ours.decode(ids) == text


@pytest.mark.parametrize("name", NAMES)
def test_ids_match_hugging_face_with_special_tokens_parsed(trained_bpe_metadata, name):
    ours, reference = ours_and_reference(trained_bpe_metadata, name)
    reference.encode_special_tokens = False
    text = "<|begin_of_text|>User: 1234 don't!!<|eot_id|>Assistant: <tool_call>x½</tool_call><|eot_id|><|eot_id"
    assert ours.encode(text, parse_special=True, add_bos=False) == reference.encode(text, add_special_tokens=False).ids


def test_the_falcon_and_llama3_splits_give_different_ids(trained_bpe_metadata):
    # So the comparison above can tell the definitions apart: digit groups, punctuation runs and contractions.
    llama3, _ = ours_and_reference(trained_bpe_metadata, "llama-bpe")
    falcon3, _ = ours_and_reference(trained_bpe_metadata, "falcon3")
    for text in ["12345", "didn't", " 1,000,000."]:
        assert llama3.encode(text, add_bos=False) != falcon3.encode(text, add_bos=False), text
        assert falcon3.decode(falcon3.encode(text)) == text


def test_falcon_encoding_of_a_2000_token_prompt_is_fast(falcon_trained_metadata):
    rng = random.Random(5)
    words = [w for line in CORPUS for w in line.split()] + ["the", "a", "of", "and", "2025,", "3.14"] * 50
    text = " ".join(rng.choice(words) for _ in range(1400))
    tokenizer = Tokenizer.from_gguf_metadata({**falcon_trained_metadata, "tokenizer.ggml.pre": "falcon3"})
    start = time.perf_counter()
    ids = tokenizer.encode(text)  # cold word cache
    elapsed = time.perf_counter() - start
    assert len(ids) >= 2000
    assert elapsed < 0.1, f"{len(ids)} tokens took {elapsed * 1000:.1f} ms"


# ---- GGUF files -----------------------------------------------------------------------------------------

def write_vocabulary_file(path, metadata: dict, pre: str | None):
    entries = [
        ("general.architecture", V.STRING, "llama"),
        ("tokenizer.ggml.model", V.STRING, "gpt2"),
        ("tokenizer.ggml.tokens", V.ARRAY, GGUFArray(V.STRING, metadata["tokenizer.ggml.tokens"])),
        ("tokenizer.ggml.token_type", V.ARRAY, GGUFArray(V.INT32, metadata["tokenizer.ggml.token_type"])),
        ("tokenizer.ggml.merges", V.ARRAY, GGUFArray(V.STRING, metadata["tokenizer.ggml.merges"])),
        ("tokenizer.ggml.bos_token_id", V.UINT32, metadata["tokenizer.ggml.bos_token_id"]),
        ("tokenizer.ggml.eos_token_id", V.UINT32, metadata["tokenizer.ggml.eos_token_id"]),
        ("tokenizer.ggml.add_bos_token", V.BOOL, False),
    ]
    if pre is not None:
        entries.insert(2, ("tokenizer.ggml.pre", V.STRING, pre))
    return write_gguf(path, entries)


@pytest.mark.parametrize("name", ["falcon3", "falcon_e", "llama-bpe", None])
def test_a_gguf_file_with_the_name_builds_its_tokenizer(falcon_trained_metadata, tmp_path, name):
    path = write_vocabulary_file(tmp_path / "vocab.gguf", falcon_trained_metadata, name)
    _, reference = ours_and_reference(falcon_trained_metadata, name or "llama-bpe")
    with open_gguf(path) as g:
        tokenizer = Tokenizer.from_gguf_metadata(g.metadata)
        assert tokenizer.pre_tokenizer is pre_tokenizer_for(name)
        for text in CORPUS:
            assert tokenizer.encode(text) == reference.encode(text, add_special_tokens=False).ids, text


def test_a_gguf_file_with_an_unknown_name_is_refused_naming_the_file(falcon_trained_metadata, tmp_path):
    path = write_vocabulary_file(tmp_path / "qwen.gguf", falcon_trained_metadata, "qwen2")
    with open_gguf(path) as g, pytest.raises(TokenizerMetadataError) as error:
        Tokenizer.from_gguf_metadata(g.metadata)
    assert str(error.value).startswith(f"{path}: metadata key 'tokenizer.ggml.pre' = 'qwen2' names a pre-tokenizer")
    assert error.value.source == str(path) and error.value.key == "tokenizer.ggml.pre"


@pytest.mark.parametrize("name", ["falcon3", "falcon_e", "llama-bpe"])
def test_a_synthetic_llama_file_with_the_name_tokenizes_as_hugging_face(tmp_path, name):
    # The synth's arch-llama writer, as for the Falcon3 / Falcon-E / Llama3-8B twins, on its test-size shape.
    path = write_synthetic_model(tmp_path / "model.gguf", "tiny-llama", "i2_s", pre=name)
    with open_gguf(path) as g:
        assert g.metadata["tokenizer.ggml.pre"] == name
        tokenizer = Tokenizer.from_gguf_metadata(g.metadata)
        vocabulary = {key: list(g.metadata[key]) for key in
                      ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges")}
    pre_tokenizer = pre_tokenizer_for(name)
    assert tokenizer.pre_tokenizer is pre_tokenizer
    reference = hf_reference_for(vocabulary, ignore_merges=pre_tokenizer.ignore_merges,
                                 definition=pre_tokenizer.definition)
    reference.encode_special_tokens = True
    for text in CORPUS:
        assert tokenizer.encode(text, add_bos=False) == reference.encode(text, add_special_tokens=False).ids, text
