"""Which token ids end a generated turn, found by token text so they work for any vocabulary layout.

BitNet-b1.58-2B-4T stops on <|eot_id|> (128009) and <|end_of_text|> (128001) (BITNET_SPEC 4.1); the GGUF
declares only EOS = 128001, so looking <|eot_id|> up by text is what makes the model stop after its answer.
Other models: EOS, the declared EOT, and every token named like an end-of-turn marker (llama.cpp's list).
"""

from __future__ import annotations

from typing import Iterable

from bitnet_desktop.engine.tokenizer import Tokenizer

BITNET_STOP_TOKEN_TEXTS = ("<|eot_id|>", "<|end_of_text|>")

# llama.cpp's end-of-generation auto-detection by token text.
END_OF_TURN_TOKEN_TEXTS = (
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end|>",
    "<|im_end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<EOT>",
    "<|end_of_text|>",
)


def stop_token_ids(tokenizer: Tokenizer, texts: Iterable[str] = END_OF_TURN_TOKEN_TEXTS) -> frozenset[int]:
    """EOS, the declared EOT, and the ids of those of `texts` that exist in the vocabulary."""
    ids = {token_id for token_id in (tokenizer.eos_id, tokenizer.vocabulary.eot_id) if token_id is not None}
    for text in texts:
        token_id = tokenizer.token_id(text)
        if token_id is not None:
            ids.add(token_id)
    return frozenset(ids)
