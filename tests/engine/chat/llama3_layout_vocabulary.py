"""A byte-level vocabulary with the real Llama-3 / BitNet-b1.58-2B-4T layout, small enough to write by hand.

ids 0..255 are the 256 byte tokens in byte order (so a byte's id is its value), then a handful of merged words,
then filler up to 128000, then the 256 specials at their real ids (128000 <|begin_of_text|>,
128001 <|end_of_text|>, 128009 <|eot_id|>, ... as gpu/tokenizer.py orders them).
"""

from __future__ import annotations

from bitnet_desktop.engine.tokenizer.byte_level import BYTE_TO_UNICODE

WORDS = ["User", "System", "Assistant", "Hey", "ĠHey"]  # byte-level strings; "Ġ" is a space

SPECIAL_NAMES = [
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
] + [f"<|reserved_special_token_{i}|>" for i in range(5, 256 - 5)]

BROKEN_BITNET_TEMPLATE = (
    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + eos_token }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
)


def _merges_building(word: str) -> list[str]:
    """Left-to-right merges that build `word` from its characters: "U s", "Us e", "Use r"."""
    return [f"{word[:i]} {word[i]}" for i in range(1, len(word))]


def llama3_layout_metadata(architecture: str = "bitnet-b1.58", chat_template: str | None = None) -> dict:
    tokens = list(BYTE_TO_UNICODE)
    merges: list[str] = []
    for word in WORDS:
        for merge in _merges_building(word):
            left, right = merge.split(" ")
            if left + right not in tokens:
                tokens.append(left + right)
            merges.append(merge)
    tokens += [f"<filler_{i}>" for i in range(128000 - len(tokens))]
    tokens += SPECIAL_NAMES
    assert len(tokens) == 128256
    metadata = {
        "general.architecture": architecture,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [1] * 128000 + [3] * 256,
        "tokenizer.ggml.scores": [0.0] * 128256,
        "tokenizer.ggml.merges": merges,
        "tokenizer.ggml.bos_token_id": 128000,
        "tokenizer.ggml.eos_token_id": 128001,
        "tokenizer.ggml.padding_token_id": 128001,
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.chat_template": BROKEN_BITNET_TEMPLATE if chat_template is None else chat_template,
    }
    return metadata
