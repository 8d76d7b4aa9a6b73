"""Picks the chat format for a loaded model: BitNet's own format for the 2B-4T archs, else the GGUF template.

Every format offers the same surface (ChatFormat): render_text, render_ids and stop_token_ids.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Protocol

from bitnet_desktop.engine.chat.bitnet_format import BitNetChatFormat, BitNetChatStyle
from bitnet_desktop.engine.chat.messages import MessageLike
from bitnet_desktop.engine.tokenizer import Tokenizer

# Archs whose GGUF chat template is the broken "BITNETAssistant" placeholder (BITNET_SPEC 4.3): ignored.
BITNET_2B4T_ARCHS = frozenset({"bitnet-b1.58", "bitnet-25"})


class ChatFormat(Protocol):
    name: str
    stop_token_ids: frozenset[int]

    def render_text(self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True) -> str: ...

    def render_ids(self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True) -> list[int]: ...


def chat_format_for_model(
    metadata: Mapping[str, Any], tokenizer: Tokenizer, *, bitnet_cpp_compat: bool = False
) -> ChatFormat:
    """The chat format to use with a model, from its GGUF metadata.

    bitnet-b1.58 / bitnet-25: BitNetChatFormat (training format; bitnet.cpp's rendering when
    bitnet_cpp_compat=True). Anything else: the GGUF's `tokenizer.chat_template`, or ChatTemplateError when it
    is missing or does not compile.
    """
    if metadata.get("general.architecture") in BITNET_2B4T_ARCHS:
        style = BitNetChatStyle.BITNET_CPP if bitnet_cpp_compat else BitNetChatStyle.TRAINING
        return BitNetChatFormat(tokenizer, style)
    # Imported here: Jinja costs ~9 MiB of resident memory, which a 2B-4T session never needs.
    from bitnet_desktop.engine.chat.jinja_format import CHAT_TEMPLATE_KEY, JinjaChatFormat

    # Whatever the key holds goes to JinjaChatFormat, which names the key and the type when it is not text.
    return JinjaChatFormat(tokenizer, metadata.get(CHAT_TEMPLATE_KEY), source_name=CHAT_TEMPLATE_KEY)
