"""Chat formatting: conversations -> prompt text and token ids, plus the token ids that end a turn.

    chat_format = chat_format_for_model(metadata, tokenizer)
    prompt_ids = chat_format.render_ids([{"role": "user", "content": "Hi"}])
    stop_ids = chat_format.stop_token_ids

Files: messages.py (ChatMessage), bitnet_format.py (BitNet-b1.58-2B-4T format and bitnet.cpp's variant),
jinja_format.py (GGUF templates), stop_tokens.py (end-of-turn ids), chat_format.py (the choice).
The sandbox GGUF templates run in: template_sandbox.py (the Jinja environment and its hooks),
template_limits.py (what a render may cost), template_growth.py (operations checked before they run),
template_filters.py (Jinja's filters and globals, bounded).
"""

from bitnet_desktop.engine.chat.bitnet_format import BitNetChatFormat, BitNetChatStyle
from bitnet_desktop.engine.chat.chat_format import BITNET_2B4T_ARCHS, ChatFormat, chat_format_for_model
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
    "JinjaChatFormat",
    "as_chat_messages",
    "chat_format_for_model",
    "stop_token_ids",
]
