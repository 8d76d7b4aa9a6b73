"""Which token ids end generation, found in the vocabulary itself, for every model (chat or base).

As llama.cpp (and so bitnet.cpp) decides when it loads a vocabulary: EOS, the declared EOT, and every token
whose text is one of the end-of-turn markers below (llama_vocab's end-of-generation auto-detection). By text,
because files rarely declare them: BitNet-b1.58-2B-4T declares only EOS = <|end_of_text|> (128001) while its
answers end on <|eot_id|> (128009); Falcon3 ends its turns on <|endoftext|>. A base model
stops on the same tokens: a continuation that reaches the end of a document ends there
(docs/chat-formats.md#stop-tokens).
"""

from __future__ import annotations

from bitnet_desktop.engine.tokenizer import Tokenizer

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


def stop_token_ids(tokenizer: Tokenizer) -> frozenset[int]:
    """EOS, the declared EOT, and the ids of the END_OF_TURN_TOKEN_TEXTS the vocabulary holds."""
    ids = {token_id for token_id in (tokenizer.eos_id, tokenizer.vocabulary.eot_id) if token_id is not None}
    for text in END_OF_TURN_TOKEN_TEXTS:
        token_id = tokenizer.token_id(text)
        if token_id is not None:
            ids.add(token_id)
    return frozenset(ids)
