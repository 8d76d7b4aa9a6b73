"""Chat formatting: conversations -> prompt text and token ids, plus the token ids that end generation.

    chat_format = chat_format_for_model(metadata, tokenizer)     # None: a base model
    prompt_ids = chat_format.render_ids([{"role": "user", "content": "Hi"}])
    stop_ids = stop_token_ids(tokenizer)                          # every model, chat or base

Files: messages.py (ChatMessage), bitnet_format.py (BitNet-b1.58-2B-4T format and bitnet.cpp's variant),
falcon3_format.py (Falcon3's format, for files without a template), jinja_format.py (GGUF templates),
stop_tokens.py (the ids that end generation), chat_format.py (the choice, and base models).
The sandbox GGUF templates run in: template_sandbox.py (the Jinja environment and its hooks),
template_limits.py (what a render may cost), template_growth.py (operations checked before they run),
template_filters.py (Jinja's filters and globals, bounded).
"""

from bitnet_desktop.engine.chat.bitnet_format import BitNetChatFormat, BitNetChatStyle
from bitnet_desktop.engine.chat.chat_format import (
    BITNET_2B4T_ARCHS,
    ChatFormat,
    NoChatFormatError,
    chat_format_for_model,
    require_chat_format,
)
from bitnet_desktop.engine.chat.falcon3_format import Falcon3ChatFormat, is_falcon3_vocabulary
from bitnet_desktop.engine.chat.messages import ChatMessage, as_chat_messages
from bitnet_desktop.engine.chat.stop_tokens import END_OF_TURN_TOKEN_TEXTS, stop_token_ids


def __getattr__(name: str):
    # JinjaChatFormat on first use only (see chat_format_for_model).
    if name == "JinjaChatFormat":
        from bitnet_desktop.engine.chat.jinja_format import JinjaChatFormat

        return JinjaChatFormat
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BITNET_2B4T_ARCHS",
    "BitNetChatFormat",
    "BitNetChatStyle",
    "ChatFormat",
    "ChatMessage",
    "END_OF_TURN_TOKEN_TEXTS",
    "Falcon3ChatFormat",
    "JinjaChatFormat",
    "NoChatFormatError",
    "as_chat_messages",
    "chat_format_for_model",
    "is_falcon3_vocabulary",
    "require_chat_format",
    "stop_token_ids",
]
