"""The chat format BitNet-b1.58-2B-4T was trained with, and bitnet.cpp's variant
(docs/chat-formats.md#2b-4t-training-format, docs/chat-formats.md#bitnetcpps-rendering).

Training format, from the GPU reference (microsoft/BitNet gpu/tokenizer.py, ChatFormat):

    [BOS]
    for each message:  enc(Role + ": ") + enc(content.strip()) + [<|eot_id|>]     Role: System/User/Assistant
    generation prompt: enc("Assistant: ")

    string form: "<|begin_of_text|>System: {sys}<|eot_id|>User: {u}<|eot_id|>Assistant: "

Three ways to turn it into ids (BitNetChatStyle):

* TRAINING (default) - the GPU reference's ids: header and content are tokenized separately, so "User: " ends
  in its own space token and the content starts fresh ("Hey" rather than " Hey"). This is the sequence the
  model saw in fine-tuning, and it keeps user text away from special-token parsing for free: the content is
  encoded with parse_special=False, so a user typing "<|eot_id|>" cannot end their own turn.
* HF_TEMPLATE - what transformers' apply_chat_template produces: the string form tokenized as one piece
  (": " + "Hey" becomes ":" + " Hey"). Offered for A/B comparison with HF; specials typed in message content
  ARE parsed as specials in this style, as in HF.
* BITNET_CPP - the fork's built-in "bitnet" formatter that llama-cli -cnv uses (the GGUF's own template is a
  broken "BITNETAssistant" placeholder it never renders): system -> "System: {c}" with no terminator,
  user -> "User: {c}<|eot_id|>Assistant: ", assistant -> "{c}"; contents unstripped; the generation prompt is
  always present (it is part of each user turn). Tokenized as one string with specials parsed, like llama-cli.
  For token-exact parity also build the tokenizer with bitnet_cpp_compat=True.

Stop tokens: those stop_tokens.py finds in the vocabulary; on 2B-4T's, <|eot_id|> and <|end_of_text|> (EOS).
"""

from __future__ import annotations

import enum
from typing import Iterable

from bitnet_desktop.engine.chat.messages import ChatMessage, MessageLike, as_chat_messages
from bitnet_desktop.engine.chat.stop_tokens import stop_token_ids
from bitnet_desktop.engine.errors import ChatTemplateError
from bitnet_desktop.engine.tokenizer import Tokenizer

EOT_TEXT = "<|eot_id|>"
GENERATION_HEADER = "Assistant: "
_ROLE_HEADERS = {"system": "System: ", "user": "User: ", "assistant": "Assistant: "}


class BitNetChatStyle(enum.Enum):
    TRAINING = "training"
    HF_TEMPLATE = "hf-template"
    BITNET_CPP = "bitnet-cpp"


class BitNetChatFormat:
    """Renders conversations for BitNet-b1.58-2B-4T (arch bitnet-b1.58 / bitnet-25)."""

    def __init__(self, tokenizer: Tokenizer, style: BitNetChatStyle = BitNetChatStyle.TRAINING) -> None:
        self.tokenizer = tokenizer
        self.style = style
        self.name = f"bitnet-{style.value}"
        eot_id = tokenizer.token_id(EOT_TEXT)
        if eot_id is None:
            raise ChatTemplateError(f"the vocabulary has no {EOT_TEXT} token; it cannot use the BitNet chat format")
        if tokenizer.bos_id is None:
            raise ChatTemplateError("the vocabulary declares no BOS token; it cannot use the BitNet chat format")
        self._eot_id = eot_id
        self._bos_text = tokenizer.token_text(tokenizer.bos_id)
        self.stop_token_ids: frozenset[int] = stop_token_ids(tokenizer)

    def render_text(self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True) -> str:
        """The prompt as text, with BOS and <|eot_id|> written as their token strings."""
        chat = _checked(messages)
        if self.style is BitNetChatStyle.BITNET_CPP:
            return self._bos_text + "".join(_bitnet_cpp_turn(m) for m in chat)
        parts = [self._bos_text]
        for message in chat:
            parts.append(_ROLE_HEADERS[message.role] + message.content.strip() + EOT_TEXT)
        if add_generation_prompt:
            parts.append(GENERATION_HEADER)
        return "".join(parts)

    def render_ids(self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True) -> list[int]:
        """The prompt as token ids, BOS exactly once at the start."""
        if self.style is not BitNetChatStyle.TRAINING:
            text = self.render_text(messages, add_generation_prompt=add_generation_prompt)
            return self.tokenizer.encode(text, parse_special=True, add_bos=True)
        encode = self.tokenizer.encode
        ids = [self.tokenizer.bos_id]
        for message in _checked(messages):
            ids += encode(_ROLE_HEADERS[message.role], add_bos=False, add_eos=False)
            ids += encode(message.content.strip(), add_bos=False, add_eos=False)
            ids.append(self._eot_id)
        if add_generation_prompt:
            ids += encode(GENERATION_HEADER, add_bos=False, add_eos=False)
        return ids


def _checked(messages: Iterable[MessageLike]) -> list[ChatMessage]:
    chat = as_chat_messages(messages)
    for message in chat:
        if message.role not in _ROLE_HEADERS:
            raise ChatTemplateError(
                f"role {message.role!r} is not part of the BitNet chat format (system, user, assistant)"
            )
    return chat


def _bitnet_cpp_turn(message: ChatMessage) -> str:
    if message.role == "system":
        return "System: " + message.content
    if message.role == "user":
        return "User: " + message.content + EOT_TEXT + GENERATION_HEADER
    return message.content
