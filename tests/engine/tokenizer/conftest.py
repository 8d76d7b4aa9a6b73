"""Fixtures for the tokenizer tests: a trained byte-level BPE vocabulary, our tokenizer and the HF reference.

Needs the test dependency `tokenizers` (Hugging Face); without it these tests fail rather than skip, because
the independent reference is the point of them.
"""

from __future__ import annotations

import pytest

from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.tokenizer.reference_vocabularies import hf_reference_for, trained_bpe_metadata_with_unreachable_words


@pytest.fixture(scope="session")
def trained_bpe_metadata() -> dict:
    return trained_bpe_metadata_with_unreachable_words()


@pytest.fixture(scope="session")
def bpe_tokenizer(trained_bpe_metadata) -> Tokenizer:
    return Tokenizer.from_gguf_metadata(trained_bpe_metadata)


@pytest.fixture(scope="session")
def hf_reference(trained_bpe_metadata):
    return hf_reference_for(trained_bpe_metadata)
