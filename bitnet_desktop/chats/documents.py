"""DocumentStore: the text-completion documents, in the conversation database's `documents` table.

Shares the conversation store's connection (same lock, same file), so it is safe from the UI
thread and the engine thread at once, and every failure is a StoreError naming the file.
"""
from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from .database import Database
from .errors import StoreError
from .records import CompletionDocument, dump_sampling

DEFAULT_DOCUMENT_TITLE = "Untitled document"


class DocumentNotFoundError(StoreError, KeyError):
    """No document has this id."""


class DocumentStore:
    def __init__(self, db: Database):
        self._db = db

    def create_document(self, title: str = DEFAULT_DOCUMENT_TITLE, text: str = "", *, model: str | None = None,
                        sampling: dict | None = None) -> CompletionDocument:
        now = time.time()
        row = {"title": title, "text": text, "created": now, "updated": now, "model": model,
               "sampling": dump_sampling(sampling or {})}
        with self._db.writing() as connection:
            document_id = connection.execute(
                "INSERT INTO documents (title, text, created, updated, model, sampling) "
                "VALUES (:title, :text, :created, :updated, :model, :sampling)", row).lastrowid
            return self._document(connection, document_id)

    def document(self, document_id: int) -> CompletionDocument:
        with self._db.reading() as connection:
            return self._document(connection, document_id)

    def documents(self) -> list[CompletionDocument]:
        """The most recently changed first."""
        with self._db.reading() as connection:
            rows = connection.execute("SELECT * FROM documents ORDER BY updated DESC, id DESC").fetchall()
        return [_document_from_row(row) for row in rows]

    def update_document(self, document_id: int, *, text: str | None = None, title: str | None = None,
                        model: str | None = None, sampling: dict | None = None) -> None:
        """Changes only the fields given (None: unchanged). A new text or title is activity
        (`updated` moves); the model and the sampling settings are not."""
        changes: dict[str, Any] = {}
        if text is not None:
            changes["text"] = text
        if title is not None:
            changes["title"] = title
        if changes:
            changes["updated"] = time.time()
        if model is not None:
            changes["model"] = model
        if sampling is not None:
            changes["sampling"] = dump_sampling(sampling)
        with self._db.writing() as connection:
            self._document(connection, document_id)
            if changes:
                assignments = ", ".join(f"{column} = :{column}" for column in changes)
                connection.execute(f"UPDATE documents SET {assignments} WHERE id = :id",
                                   {**changes, "id": document_id})

    def delete_document(self, document_id: int) -> CompletionDocument:
        """Removes the document; returns it as it was."""
        with self._db.writing() as connection:
            document = self._document(connection, document_id)
            connection.execute("DELETE FROM documents WHERE id = :id", {"id": document_id})
        return document

    @staticmethod
    def _document(connection: sqlite3.Connection, document_id: int) -> CompletionDocument:
        row = connection.execute("SELECT * FROM documents WHERE id = :id", {"id": document_id}).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document with id {document_id}")
        return _document_from_row(row)


def _document_from_row(row: sqlite3.Row) -> CompletionDocument:
    return CompletionDocument(id=row["id"], title=row["title"], text=row["text"], created=row["created"],
                              updated=row["updated"], model=row["model"], sampling=json.loads(row["sampling"]))
