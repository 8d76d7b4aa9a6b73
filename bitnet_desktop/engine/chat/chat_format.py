"""Picks the chat format for a loaded model, or none: a model without one is a base model.

Every format offers the same surface (ChatFormat): render_text, render_ids and stop_token_ids. A base model
(no chat template in its file and no format known from its vocabulary, e.g. Llama3-8B-1.58 and the 1bitLLM
models) has no chat format: its text is tokenized as written and the model continues it. Asking a base
model for a chat-only operation is a NoChatFormatError (docs/chat-formats.md#base-models).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Protocol

from bitnet_desktop.engine.chat.bitnet_format import EOT_TEXT, BitNetChatFormat, BitNetChatStyle
from bitnet_desktop.engine.chat.falcon3_format import Falcon3ChatFormat, is_falcon3_vocabulary
from bitnet_desktop.engine.chat.messages import MessageLike
from bitnet_desktop.engine.errors import ChatTemplateError
from bitnet_desktop.engine.tokenizer import Tokenizer

# Archs whose GGUF chat template is the broken "BITNETAssistant" placeholder: ignored
# (docs/chat-formats.md#bitnetcpps-rendering).
BITNET_2B4T_ARCHS = frozenset({"bitnet-b1.58", "bitnet-25"})
CHAT_TEMPLATE_KEY = "tokenizer.chat_template"


class ChatFormat(Protocol):
    name: str
    stop_token_ids: frozenset[int]

    def render_text(self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True) -> str: ...

    def render_ids(self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True) -> list[int]: ...


class NoChatFormatError(ChatTemplateError):
    """A chat-only operation was asked of a base model, which has no chat format."""


def chat_format_for_model(
    metadata: Mapping[str, Any], tokenizer: Tokenizer, *, bitnet_cpp_compat: bool = False
) -> ChatFormat | None:
    """The chat format to use with a model, from its GGUF metadata and vocabulary; None for a base model.

    1. bitnet-b1.58 / bitnet-25 with 2B-4T's vocabulary (<|eot_id|> and a BOS): BitNetChatFormat (the
       training format; bitnet.cpp's rendering when bitnet_cpp_compat=True). These archs' file template is
       never used (the placeholder), so such a file with another vocabulary (bitnet.cpp's newest converter
       labels the 1bitLLM base checkpoints bitnet-b1.58) is a base model.
    2. The file's `tokenizer.chat_template`, when it holds anything but whitespace: JinjaChatFormat, or a
       ChatTemplateError naming the key when it is not text or does not compile.
    3. A Falcon3 vocabulary (falcon3_format.is_falcon3_vocabulary): Falcon3ChatFormat.
    4. Otherwise None: a base model.
    """
    if metadata.get("general.architecture") in BITNET_2B4T_ARCHS:
        if tokenizer.token_id(EOT_TEXT) is None or tokenizer.bos_id is None:
            return None
        style = BitNetChatStyle.BITNET_CPP if bitnet_cpp_compat else BitNetChatStyle.TRAINING
        return BitNetChatFormat(tokenizer, style)
    template = metadata.get(CHAT_TEMPLATE_KEY)
    if template is not None and not (isinstance(template, str) and not template.strip()):
        # Imported here: Jinja costs ~9 MiB of resident memory, which a 2B-4T session never needs.
        from bitnet_desktop.engine.chat.jinja_format import JinjaChatFormat

        # Whatever the key holds goes to JinjaChatFormat, which names the key and the type when it is not text.
        return JinjaChatFormat(tokenizer, template, source_name=CHAT_TEMPLATE_KEY)
    if is_falcon3_vocabulary(tokenizer):
        return Falcon3ChatFormat(tokenizer)
    return None


def require_chat_format(chat_format: ChatFormat | None, what: str) -> ChatFormat:
    """`chat_format`, or NoChatFormatError saying that `what` (e.g. "answering a conversation") needs one."""
    if chat_format is None:
        raise NoChatFormatError(
            f"{what} needs a chat format, and this is a base model: its file has no chat template and its "
            "vocabulary is of no known chat format. A base model continues the text it is given as written "
            "(plain continuation)")
    return chat_format
