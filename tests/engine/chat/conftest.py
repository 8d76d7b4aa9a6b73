"""Fixtures for the chat tests: a tokenizer with the real Llama-3 special-token ids (see llama3_layout_vocabulary)."""

from __future__ import annotations

import pytest

from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.chat.llama3_layout_vocabulary import llama3_layout_metadata


@pytest.fixture(scope="session")
def bitnet_metadata() -> dict:
    return llama3_layout_metadata()


@pytest.fixture(scope="session")
def llama3_tokenizer(bitnet_metadata) -> Tokenizer:
    return Tokenizer.from_gguf_metadata(bitnet_metadata)
