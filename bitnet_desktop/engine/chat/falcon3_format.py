"""Falcon3's chat format, for Falcon3 files that carry no chat template of their own (docs/chat-formats.md#falcon3).

The format is the one in TII's tokenizer_config.json for tiiuae/Falcon3-*-Instruct (its branch without
tools), which llama.cpp also builds in as "falcon3":

    system:     "<|system|>\\n" + content + "\\n"
    user:       "<|user|>\\n" + content + "\\n"
    assistant:  "<|assistant|>\\n" + content + "<|endoftext|>" + "\\n"   (no "\\n" after the last message)
    generation prompt, after the last message: "<|assistant|>\\n"

<|endoftext|> is Falcon3's EOS and ends every answer (the stop tokens come from stop_tokens.py).

A vocabulary is Falcon3's when the file says its pre-tokenizer is "falcon3" (`tokenizer.ggml.pre`, written by
llama.cpp's and bitnet.cpp's converters for Falcon3 tokenizers) AND it holds the four tokens of the format as
single tokens. Both are needed: the name alone could sit on a vocabulary without the role tokens, and the role
tokens alone appear in other families (GLM, Phi-3) whose formats differ.

Ids: the format's tokens are put in by id and only the text between them is tokenized, as plain text. For
ordinary content that equals tokenizing the whole rendered string with special tokens parsed (the tokenizer
splits text at special tokens and tokenizes each piece alone, as llama.cpp and transformers do), and special
text a user typed stays text: typing "<|assistant|>" cannot start a fake turn. BOS as the vocabulary says.
"""

from __future__ import annotations

from typing import Iterable

from bitnet_desktop.engine.chat.messages import ChatMessage, MessageLike, as_chat_messages
from bitnet_desktop.engine.chat.stop_tokens import stop_token_ids
from bitnet_desktop.engine.errors import ChatTemplateError
from bitnet_desktop.engine.tokenizer import Tokenizer

FALCON3_PRE_TOKENIZER = "falcon3"
END_OF_ANSWER = "<|endoftext|>"
ROLE_TOKENS = {"system": "<|system|>", "user": "<|user|>", "assistant": "<|assistant|>"}
FORMAT_TOKENS = (*ROLE_TOKENS.values(), END_OF_ANSWER)


def is_falcon3_vocabulary(tokenizer: Tokenizer) -> bool:
    """True when the vocabulary is Falcon3's: pre-tokenizer "falcon3" and the format's four tokens present."""
    vocabulary = tokenizer.vocabulary
    return (vocabulary.pre_tokenizer_name == FALCON3_PRE_TOKENIZER
            and all(tokenizer.token_id(text) is not None for text in FORMAT_TOKENS))


class Falcon3ChatFormat:
    """Renders conversations in Falcon3's format (see the module docstring)."""

    name = "falcon3"

    def __init__(self, tokenizer: Tokenizer) -> None:
        missing = [text for text in FORMAT_TOKENS if tokenizer.token_id(text) is None]
        if missing:
            raise ChatTemplateError(
                f"the vocabulary has no {', '.join(missing)} token; it cannot use the Falcon3 chat format")
        self.tokenizer = tokenizer
        self._ids = {text: tokenizer.token_id(text) for text in FORMAT_TOKENS}
        self.stop_token_ids: frozenset[int] = stop_token_ids(tokenizer)

    def render_text(self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True) -> str:
        """The prompt as text, the format's tokens written as their strings (BOS, when added, is not shown)."""
        return "".join(self._pieces(messages, add_generation_prompt))

    def render_ids(self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True) -> list[int]:
        """The prompt as token ids: the format's tokens by id, the text between them as plain text."""
        tokenizer = self.tokenizer
        ids = tokenizer.encode("", add_eos=False)  # BOS when the vocabulary adds one (an error if it has none)
        for piece in self._pieces(messages, add_generation_prompt):
            token_id = self._ids.get(piece)
            if token_id is not None:
                ids.append(token_id)
            else:
                ids += tokenizer.encode(piece, add_bos=False, add_eos=False)
        return ids

    def _pieces(self, messages: Iterable[MessageLike], add_generation_prompt: bool) -> list[str]:
        """The rendered prompt as a list of pieces, each either one of the format's tokens or plain text."""
        chat = _checked(messages)
        pieces: list[str] = []
        for index, message in enumerate(chat):
            last = index == len(chat) - 1
            pieces += [ROLE_TOKENS[message.role], "\n" + message.content]
            if message.role == "assistant":
                pieces.append(END_OF_ANSWER)
                if not last:
                    pieces.append("\n")
            else:
                pieces[-1] += "\n"
        if add_generation_prompt and chat:
            pieces += [ROLE_TOKENS["assistant"], "\n"]
        return pieces


def _checked(messages: Iterable[MessageLike]) -> list[ChatMessage]:
    chat = as_chat_messages(messages)
    for message in chat:
        if message.role not in ROLE_TOKENS:
            raise ChatTemplateError(
                f"role {message.role!r} is not part of the Falcon3 chat format (system, user, assistant)")
    return chat
