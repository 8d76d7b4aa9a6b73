"""The ids that end generation, found in the vocabulary: EOS, the declared EOT and every end-of-turn token
named in it (as llama.cpp's end-of-generation detection), the same for every chat format and for base models."""

from __future__ import annotations

import pytest

from bitnet_desktop.engine.chat import END_OF_TURN_TOKEN_TEXTS, BitNetChatFormat, JinjaChatFormat, stop_token_ids
from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.chat.llama3_layout_vocabulary import llama3_layout_metadata

BOS, EOS, EOT = 128000, 128001, 128009
FIRST_FREE_SPECIAL = 128020   # <|reserved_special_token_15|> onwards: free to rename in a test


def _tokenizer_with(renamed: dict[int, str], **metadata) -> Tokenizer:
    base = llama3_layout_metadata()
    tokens = list(base["tokenizer.ggml.tokens"])
    for token_id, text in renamed.items():
        tokens[token_id] = text
    return Tokenizer.from_gguf_metadata({**base, "tokenizer.ggml.tokens": tokens, **metadata})


def test_bitnet_2b4t_stops_on_eot_and_end_of_text(llama3_tokenizer):
    # 2B-4T declares only EOS (<|end_of_text|>); <|eot_id|> is found by its text
    assert stop_token_ids(llama3_tokenizer) == frozenset({EOS, EOT})


def test_every_end_of_turn_token_the_vocabulary_names_is_a_stop_token():
    markers = {FIRST_FREE_SPECIAL + i: text for i, text in enumerate(END_OF_TURN_TOKEN_TEXTS) if text not in (
        "<|eot_id|>", "<|end_of_text|>")}
    assert set(markers.values()) == {"<|eom_id|>", "<|end|>", "<|im_end|>", "<end_of_turn>", "<|endoftext|>",
                                     "<EOT>"}
    tokenizer = _tokenizer_with(markers)
    assert stop_token_ids(tokenizer) == frozenset({EOS, EOT, *markers})


def test_only_exact_names_count():
    lookalikes = {FIRST_FREE_SPECIAL: "<|im_end|> ", FIRST_FREE_SPECIAL + 1: "<|END|>", FIRST_FREE_SPECIAL + 2: "EOT"}
    assert stop_token_ids(_tokenizer_with(lookalikes)) == frozenset({EOS, EOT})


def test_the_declared_eot_and_eos_count_whatever_their_text():
    tokenizer = _tokenizer_with({}, **{"tokenizer.ggml.eot_token_id": FIRST_FREE_SPECIAL,
                                       "tokenizer.ggml.eos_token_id": FIRST_FREE_SPECIAL + 1})
    assert stop_token_ids(tokenizer) == frozenset({FIRST_FREE_SPECIAL, FIRST_FREE_SPECIAL + 1, EOS, EOT})


def test_a_vocabulary_without_eos_stops_on_the_named_tokens_only():
    metadata = {k: v for k, v in llama3_layout_metadata().items()
                if k not in ("tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id")}
    assert stop_token_ids(Tokenizer.from_gguf_metadata(metadata)) == frozenset({EOS, EOT})
    tokens = list(metadata["tokenizer.ggml.tokens"])
    tokens[EOS] = "<|reserved_special_token_x|>"
    tokenizer = Tokenizer.from_gguf_metadata({**metadata, "tokenizer.ggml.tokens": tokens})
    assert tokenizer.eos_id is None and stop_token_ids(tokenizer) == frozenset({EOT})


@pytest.mark.parametrize("make_format", [
    BitNetChatFormat,
    lambda tokenizer: JinjaChatFormat(tokenizer, "{% for m in messages %}{{ m.content }}{% endfor %}"),
])
def test_chat_formats_report_the_vocabularys_stop_tokens(make_format):
    tokenizer = _tokenizer_with({FIRST_FREE_SPECIAL: "<|im_end|>"})
    assert make_format(tokenizer).stop_token_ids == stop_token_ids(tokenizer) == {EOS, EOT, FIRST_FREE_SPECIAL}
