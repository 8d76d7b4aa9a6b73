"""ConversationStore: the app's conversations and messages in one SQLite file (and, through
`documents`, the text-completion documents).

Safe to use from the UI thread and the engine thread at once (one connection behind a lock; each
call is one short transaction). Every failure is a StoreError (errors.py) naming the file; a failed
write changes nothing.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import search as search_module
from .database import DEFAULT_BUSY_TIMEOUT, Database, open_database
from .documents import DocumentStore
from .errors import ConversationNotFoundError, MessageNotFoundError
from .records import ROLES, AnswerStats, Conversation, Message, SearchHit, dump_json, dump_sampling


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()  # update_conversation(): leave this field as it is


@dataclass(frozen=True)
class DeletedConversation:
    """What delete_conversation removed, enough for restore_conversation to put it back."""
    conversation: Conversation
    messages: tuple[Message, ...]


class ConversationStore:
    def __init__(self, db: Database, full_text_search: bool):
        self._db = db
        self.full_text_search = full_text_search
        self.documents = DocumentStore(db)   # the text-completion documents, in the same file

    @classmethod
    def open(cls, path: str | os.PathLike, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
             read_only: bool = False) -> "ConversationStore":
        """Open or create the database at `path` (see database.open_database for what happens to a
        damaged file or one from a newer version). `read_only` opens it without writing anything."""
        db = open_database(path, busy_timeout=busy_timeout, read_only=read_only)
        try:
            full_text = search_module.prepare_index(db, read_only=read_only)
        except BaseException:
            db.close()
            raise
        return cls(db, full_text)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def quarantined(self) -> Path | None:
        return self._db.quarantined

    @property
    def schema_version(self) -> int:
        return self._db.schema_version

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ConversationStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # Conversations

    def create_conversation(self, title: str = "New chat", *, model: str | None = None,
                            system_prompt: str = "", sampling: dict | None = None) -> Conversation:
        now = time.time()
        row = {"title": title, "created": now, "updated": now, "pinned": 0, "model": model,
               "system_prompt": system_prompt, "sampling": dump_sampling(sampling or {})}
        with self._db.writing() as connection:
            conversation_id = connection.execute(
                "INSERT INTO conversations (title, created, updated, pinned, model, system_prompt, sampling) "
                "VALUES (:title, :created, :updated, :pinned, :model, :system_prompt, :sampling)",
                row).lastrowid
            return self._conversation(connection, conversation_id)

    def conversation(self, conversation_id: int) -> Conversation:
        with self._db.reading() as connection:
            return self._conversation(connection, conversation_id)

    def conversations(self) -> list[Conversation]:
        """Pinned first, then the most recent activity first."""
        with self._db.reading() as connection:
            rows = connection.execute(
                "SELECT * FROM conversations ORDER BY pinned DESC, updated DESC, id DESC").fetchall()
        return [_conversation_from_row(row) for row in rows]

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        self._update_conversation(conversation_id, {"title": title, "updated": time.time()})

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._update_conversation(conversation_id, {"pinned": int(bool(pinned))})

    def update_conversation(self, conversation_id: int, *, model: Any = UNCHANGED,
                            system_prompt: Any = UNCHANGED, sampling: Any = UNCHANGED) -> None:
        """Change only the fields given. Settings are not activity: `updated` stays."""
        changes: dict[str, Any] = {}
        if model is not UNCHANGED:
            changes["model"] = model
        if system_prompt is not UNCHANGED:
            changes["system_prompt"] = system_prompt
        if sampling is not UNCHANGED:
            changes["sampling"] = dump_sampling(sampling or {})
        if changes:
            self._update_conversation(conversation_id, changes)
        else:
            self.conversation(conversation_id)  # an unknown id still raises

    def delete_conversation(self, conversation_id: int) -> DeletedConversation:
        with self._db.writing() as connection:
            deleted = DeletedConversation(self._conversation(connection, conversation_id),
                                          tuple(self._messages(connection, conversation_id)))
            connection.execute("DELETE FROM conversations WHERE id = :id", {"id": conversation_id})
        return deleted

    def restore_conversation(self, deleted: DeletedConversation) -> Conversation:
        """Put back what delete_conversation removed, under the same ids."""
        with self._db.writing() as connection:
            conversation_id = self._insert(connection, deleted.conversation, deleted.messages, keep_ids=True)
            return self._conversation(connection, conversation_id)

    def import_conversations(self, items: Iterable[tuple[Conversation, Sequence[Message]]]) -> list[int]:
        """Add conversations with their messages, all or none, under new ids (the records' own ids
        and conversation_ids are ignored); everything else, timestamps included, is kept."""
        with self._db.writing() as connection:
            return [self._insert(connection, conversation, messages, keep_ids=False)
                    for conversation, messages in items]

    # Messages

    def add_message(self, conversation_id: int, role: str, text: str, *, model_file: str | None = None,
                    model_sha256: str | None = None, sampling: dict | None = None,
                    stats: AnswerStats | None = None, complete: bool = True) -> Message:
        _check_role(role)
        now = time.time()
        row = {"conversation_id": conversation_id, "role": role, "text": text, "created": now,
               "model_file": model_file, "model_sha256": model_sha256,
               "sampling": None if sampling is None else dump_sampling(sampling),
               "stats": None if stats is None else dump_json(stats.to_dict()), "complete": int(bool(complete))}
        with self._db.writing() as connection:
            self._conversation(connection, conversation_id)
            message_id = connection.execute(
                "INSERT INTO messages (conversation_id, role, text, created, model_file, model_sha256, "
                "sampling, stats, complete) VALUES (:conversation_id, :role, :text, :created, :model_file, "
                ":model_sha256, :sampling, :stats, :complete)", row).lastrowid
            self._touch(connection, conversation_id, now)
            return self._message(connection, message_id)

    def message(self, message_id: int) -> Message:
        with self._db.reading() as connection:
            return self._message(connection, message_id)

    def messages(self, conversation_id: int) -> list[Message]:
        """Oldest first."""
        with self._db.reading() as connection:
            self._conversation(connection, conversation_id)
            return self._messages(connection, conversation_id)

    def message_count(self, conversation_id: int) -> int:
        with self._db.reading() as connection:
            self._conversation(connection, conversation_id)
            return connection.execute("SELECT count(*) FROM messages WHERE conversation_id = :id",
                                      {"id": conversation_id}).fetchone()[0]

    def update_message(self, message_id: int, text: str, *, complete: bool | None = None,
                       stats: AnswerStats | None = None) -> None:
        """Replace a message's text (the streaming answer's periodic saves and its final one);
        `complete` and `stats` change only when given."""
        changes: dict[str, Any] = {"text": text}
        if complete is not None:
            changes["complete"] = int(bool(complete))
        if stats is not None:
            changes["stats"] = dump_json(stats.to_dict())
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        with self._db.writing() as connection:
            message = self._message(connection, message_id)
            connection.execute(f"UPDATE messages SET {assignments} WHERE id = :id",
                               {**changes, "id": message_id})
            self._touch(connection, message.conversation_id, time.time())

    def delete_messages_after(self, conversation_id: int, message_id: int) -> int:
        """Delete the messages that came strictly after `message_id`; return how many."""
        with self._db.writing() as connection:
            self._conversation(connection, conversation_id)
            if self._message(connection, message_id).conversation_id != conversation_id:
                raise MessageNotFoundError(f"message {message_id} is not in conversation {conversation_id}")
            count = connection.execute(
                "DELETE FROM messages WHERE conversation_id = :conversation_id AND id > :message_id",
                {"conversation_id": conversation_id, "message_id": message_id}).rowcount
            if count:
                self._touch(connection, conversation_id, time.time())
            return count

    def delete_message(self, message_id: int) -> None:
        with self._db.writing() as connection:
            message = self._message(connection, message_id)
            connection.execute("DELETE FROM messages WHERE id = :id", {"id": message_id})
            self._touch(connection, message.conversation_id, time.time())

    def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Titles and message text holding every word of `text` (any user text is safe)."""
        return search_module.search(self._db, text, limit, full_text=self.full_text_search)

    # Helpers; `connection` is the locked one from reading() / writing().

    @staticmethod
    def _conversation(connection: sqlite3.Connection, conversation_id: int) -> Conversation:
        row = connection.execute("SELECT * FROM conversations WHERE id = :id",
                                 {"id": conversation_id}).fetchone()
        if row is None:
            raise ConversationNotFoundError(f"no conversation with id {conversation_id}")
        return _conversation_from_row(row)

    @staticmethod
    def _message(connection: sqlite3.Connection, message_id: int) -> Message:
        row = connection.execute("SELECT * FROM messages WHERE id = :id", {"id": message_id}).fetchone()
        if row is None:
            raise MessageNotFoundError(f"no message with id {message_id}")
        return _message_from_row(row)

    @staticmethod
    def _messages(connection: sqlite3.Connection, conversation_id: int) -> list[Message]:
        rows = connection.execute("SELECT * FROM messages WHERE conversation_id = :id ORDER BY id",
                                  {"id": conversation_id}).fetchall()
        return [_message_from_row(row) for row in rows]

    def _update_conversation(self, conversation_id: int, changes: dict[str, Any]) -> None:
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        with self._db.writing() as connection:
            self._conversation(connection, conversation_id)
            connection.execute(f"UPDATE conversations SET {assignments} WHERE id = :id",
                               {**changes, "id": conversation_id})

    @staticmethod
    def _touch(connection: sqlite3.Connection, conversation_id: int, when: float) -> None:
        connection.execute("UPDATE conversations SET updated = :updated WHERE id = :id",
                           {"updated": when, "id": conversation_id})

    @staticmethod
    def _insert(connection: sqlite3.Connection, conversation: Conversation, messages: Sequence[Message],
                *, keep_ids: bool) -> int:
        row = {"id": conversation.id if keep_ids else None, "title": conversation.title,
               "created": conversation.created, "updated": conversation.updated,
               "pinned": int(bool(conversation.pinned)), "model": conversation.model,
               "system_prompt": conversation.system_prompt,
               "sampling": dump_sampling(conversation.sampling or {})}
        conversation_id = connection.execute(
            "INSERT INTO conversations (id, title, created, updated, pinned, model, system_prompt, sampling) "
            "VALUES (:id, :title, :created, :updated, :pinned, :model, :system_prompt, :sampling)",
            row).lastrowid
        for message in messages:
            _check_role(message.role)
            connection.execute(
                "INSERT INTO messages (id, conversation_id, role, text, created, model_file, model_sha256, "
                "sampling, stats, complete) VALUES (:id, :conversation_id, :role, :text, :created, "
                ":model_file, :model_sha256, :sampling, :stats, :complete)",
                {"id": message.id if keep_ids else None, "conversation_id": conversation_id,
                 "role": message.role, "text": message.text, "created": message.created,
                 "model_file": message.model_file, "model_sha256": message.model_sha256,
                 "sampling": None if message.sampling is None else dump_sampling(message.sampling),
                 "stats": None if message.stats is None else dump_json(message.stats.to_dict()),
                 "complete": int(bool(message.complete))})
        return conversation_id


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")


def _conversation_from_row(row: sqlite3.Row) -> Conversation:
    return Conversation(id=row["id"], title=row["title"], created=row["created"], updated=row["updated"],
                        pinned=bool(row["pinned"]), model=row["model"], system_prompt=row["system_prompt"],
                        sampling=json.loads(row["sampling"]))


def _message_from_row(row: sqlite3.Row) -> Message:
    return Message(id=row["id"], conversation_id=row["conversation_id"], role=row["role"], text=row["text"],
                   created=row["created"], model_file=row["model_file"], model_sha256=row["model_sha256"],
                   sampling=None if row["sampling"] is None else json.loads(row["sampling"]),
                   stats=AnswerStats.from_dict(None if row["stats"] is None else json.loads(row["stats"])),
                   complete=bool(row["complete"]))
