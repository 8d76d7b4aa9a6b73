"""Chat messages: a small dataclass, and the conversion from the {"role": ..., "content": ...} dicts callers use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Union

from bitnet_desktop.engine.errors import ChatTemplateError


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation. role is "system", "user" or "assistant" (Jinja templates may allow more)."""

    role: str
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


MessageLike = Union[ChatMessage, Mapping[str, Any]]


def as_chat_messages(messages: Iterable[MessageLike]) -> list[ChatMessage]:
    """Accept ChatMessage objects or {"role", "content"} mappings; reject anything else with ChatTemplateError."""
    result: list[ChatMessage] = []
    for index, message in enumerate(messages):
        if isinstance(message, ChatMessage):
            role, content = message.role, message.content
        elif isinstance(message, Mapping):
            role, content = message.get("role"), message.get("content")
        else:
            raise ChatTemplateError(f"message {index} is a {type(message).__name__}, not a chat message")
        if not isinstance(role, str) or not role:
            raise ChatTemplateError(f"message {index} has no role")
        if not isinstance(content, str):
            raise ChatTemplateError(f"message {index} ({role}) has no text content")
        result.append(ChatMessage(role, content))
    return result
