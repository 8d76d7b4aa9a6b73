"""Conversations out to Markdown (to read) or JSON (to keep or move), and JSON back in.

The JSON file:
    {"format": "bitnet-desktop-chats", "version": 1, "exported": ISO time,
     "conversations": [{conversation fields..., "messages": [{message fields..., "stats": {...}}]}]}
Fields are records.Conversation's and records.Message's, times in Unix seconds. On import, `id` and
`conversation_id` are ignored (new ids are given), `title`, `messages`, `role` and `text` are
required, anything else takes its default; an unknown field or a wrong type refuses the whole file.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import datetime, timezone
from typing import Any

from ..engine.sampling import SamplingParams
from .errors import ImportFormatError, StoreError
from .records import ROLES, SAMPLING_KEYS, AnswerStats, Conversation, Message, sampling_from_dict
from .store import ConversationStore

FORMAT = "bitnet-desktop-chats"
VERSION = 1

_ROLE_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant"}


def conversation_to_dict(conversation: Conversation, messages: Iterable[Message]) -> dict[str, Any]:
    return {**asdict(conversation), "messages": [asdict(message) for message in messages]}


def export_json(store: ConversationStore, conversation_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """The given conversations (all when None), in the given order."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "conversations": [conversation_to_dict(c, m) for c, m in _load(store, conversation_ids)],
    }


def export_markdown(store: ConversationStore, conversation_ids: Iterable[int] | None = None) -> str:
    return "\n---\n\n".join(_markdown(c, m) for c, m in _load(store, conversation_ids))


def _load(store: ConversationStore, conversation_ids: Iterable[int] | None):
    conversations = store.conversations() if conversation_ids is None else \
        [store.conversation(conversation_id) for conversation_id in conversation_ids]
    return [(conversation, store.messages(conversation.id)) for conversation in conversations]


def _markdown(conversation: Conversation, messages: list[Message]) -> str:
    about = [f"Created {_local_time(conversation.created)}",
             f"last active {_local_time(conversation.updated)}"]
    if conversation.model:
        about.append(f"model {os.path.basename(conversation.model)}")
    parts = [f"# {' '.join(conversation.title.split()) or 'Untitled'}", f"*{', '.join(about)}*"]
    if conversation.system_prompt:
        parts += ["## System prompt", conversation.system_prompt.strip()]
    for message in messages:
        heading = f"## {_ROLE_HEADINGS[message.role]}"
        if message.model_file:
            heading += f" ({os.path.basename(message.model_file)})"
        if not message.complete:
            heading += " [unfinished]"
        parts += [heading, message.text.strip() or "*(empty)*"]
    return "\n\n".join(parts) + "\n"


def _local_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def read_export_file(path: str | os.PathLike) -> Any:
    """The parsed JSON of an export file (not yet checked: import_json does that)."""
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                                f"column {exc.colno}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{path} is not UTF-8 text, so not an export file") from exc
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from exc


def import_json(store: ConversationStore, data: Any) -> list[int]:
    """Check `data` (an export_json document) and add its conversations, all or none; return their
    new ids. ImportFormatError names the first problem, e.g. `conversations[2].messages[5].role`."""
    items = _parse_document(data)
    return store.import_conversations(items)


# Checking an imported document. A kind is a JSON type name; an annotation like "float | None" maps
# to ("number", "null"), so the stats and sampling checks follow the dataclasses.

_REQUIRED = object()
_PYTHON_KINDS = {"int": "integer", "float": "number", "str": "string", "bool": "boolean", "None": "null"}


def _kinds_of(cls, names: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
    def kinds(annotation) -> tuple[str, ...]:
        text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
        return tuple(_PYTHON_KINDS[part.strip()] for part in text.split("|"))
    return {f.name: kinds(f.type) for f in fields(cls) if names is None or f.name in names}


_STATS_KINDS = _kinds_of(AnswerStats)
_SAMPLING_KINDS = _kinds_of(SamplingParams, SAMPLING_KEYS)


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, {"string": str, "boolean": bool, "null": type(None), "object": dict,
                              "array": list}[kind])


def _json_kind(value: Any) -> str:
    for kind in ("boolean", "integer", "number", "string", "null", "object", "array"):
        if _is_kind(value, kind):
            return kind
    return "a number that is not finite" if isinstance(value, float) else type(value).__name__


def _fail(where: str, problem: str):
    raise ImportFormatError(f"{where or 'the top level'}: {problem}")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _check_fields(obj: Any, where: str, allowed: Iterable[str]) -> None:
    if not isinstance(obj, dict):
        _fail(where, f"must be an object, not {_json_kind(obj)}")
    for key in obj:
        if key not in allowed:
            _fail(_join(where, str(key)), "unknown field")


def _field(obj: dict, key: str, where: str, *kinds: str, default: Any = _REQUIRED) -> Any:
    if key not in obj:
        if default is _REQUIRED:
            _fail(_join(where, key), "missing")
        return default
    value = obj[key]
    if not any(_is_kind(value, kind) for kind in kinds):
        _fail(_join(where, key), f"must be {' or '.join(kinds)}, not {_json_kind(value)}")
    return value


def _typed_object(obj: dict, where: str, kinds_by_key: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    _check_fields(obj, where, kinds_by_key)
    return {key: _field(obj, key, where, *kinds_by_key[key]) for key in obj}


def _parse_document(data: Any) -> list[tuple[Conversation, list[Message]]]:
    _check_fields(data, "", ("format", "version", "exported", "conversations"))
    if _field(data, "format", "", "string") != FORMAT:
        _fail("format", f"must be {FORMAT!r}: this is not a BitNet Desktop chats export")
    version = _field(data, "version", "", "integer")
    if version > VERSION:
        _fail("version", f"{version} is from a newer version of BitNet Desktop (this one reads {VERSION}); "
                         f"update the app")
    if version < 1:
        _fail("version", f"must be 1, not {version}")
    _field(data, "exported", "", "string", default=None)
    conversations = _field(data, "conversations", "", "array")
    return [_parse_conversation(item, f"conversations[{i}]") for i, item in enumerate(conversations)]


_CONVERSATION_FIELDS = ("id", "title", "created", "updated", "pinned", "model", "system_prompt", "sampling",
                        "messages")
_MESSAGE_FIELDS = ("id", "conversation_id", "role", "text", "created", "model_file", "model_sha256",
                   "sampling", "stats", "complete")


def _parse_conversation(obj: Any, where: str) -> tuple[Conversation, list[Message]]:
    _check_fields(obj, where, _CONVERSATION_FIELDS)
    _field(obj, "id", where, "integer", default=None)
    created = _field(obj, "created", where, "number", default=time.time())
    sampling = _field(obj, "sampling", where, "object", default={})
    conversation = Conversation(
        id=0, title=_field(obj, "title", where, "string"), created=created,
        updated=_field(obj, "updated", where, "number", default=created),
        pinned=_field(obj, "pinned", where, "boolean", default=False),
        model=_field(obj, "model", where, "string", "null", default=None),
        system_prompt=_field(obj, "system_prompt", where, "string", default=""),
        sampling=_parse_sampling(sampling, _join(where, "sampling")))
    messages = _field(obj, "messages", where, "array")
    return conversation, [_parse_message(item, f"{where}.messages[{i}]", created)
                          for i, item in enumerate(messages)]


def _parse_message(obj: Any, where: str, default_created: float) -> Message:
    _check_fields(obj, where, _MESSAGE_FIELDS)
    _field(obj, "id", where, "integer", default=None)
    _field(obj, "conversation_id", where, "integer", default=None)
    role = _field(obj, "role", where, "string")
    if role not in ROLES:
        _fail(_join(where, "role"), f"must be one of {', '.join(ROLES)}, not {role!r}")
    sampling = _field(obj, "sampling", where, "object", "null", default=None)
    stats = _field(obj, "stats", where, "object", "null", default=None)
    return Message(
        id=0, conversation_id=0, role=role, text=_field(obj, "text", where, "string"),
        created=_field(obj, "created", where, "number", default=default_created),
        model_file=_field(obj, "model_file", where, "string", "null", default=None),
        model_sha256=_field(obj, "model_sha256", where, "string", "null", default=None),
        sampling=None if sampling is None else _parse_sampling(sampling, _join(where, "sampling")),
        stats=None if stats is None else
        AnswerStats(**_typed_object(stats, _join(where, "stats"), _STATS_KINDS)),
        complete=_field(obj, "complete", where, "boolean", default=True))


def _parse_sampling(obj: dict, where: str) -> dict[str, Any]:
    values = _typed_object(obj, where, _SAMPLING_KINDS)
    try:
        sampling_from_dict(values)
    except ValueError as exc:
        _fail(where, str(exc))
    return values
