"""Search across conversation titles and message text.

With FTS5 (bundled with CPython's SQLite on the three OSes, but not guaranteed), two
external-content indexes follow the `conversations` and `messages` tables through triggers. Without
it, a LIKE scan over case-folded text gives the same answers for whole words and word prefixes
(it also matches inside words, and does not fold accents as FTS5 does).

The index is derived data, outside the schema version: `prepare_index` builds it when FTS5 is there
and its triggers are missing, and drops the triggers when FTS5 is not (a file written with FTS5
must stay writable by a SQLite without it). Triggers present means the index is in sync.

User text never reaches FTS5's query syntax: it is cut into words, each quoted (`"word"*`, a prefix
match), so `"`, `*`, `NEAR(`, `AND`, `-` are plain text.
"""
from __future__ import annotations

import re
import sqlite3

from .database import Database
from .records import SearchHit

SNIPPET_CHARS = 80

_FTS_TOKENIZER = "unicode61 remove_diacritics 2"
_INDEXES = (  # (index, table, column)
    ("conversation_fts", "conversations", "title"),
    ("message_fts", "messages", "text"),
)
_TRIGGER_NAMES = tuple(f"{index}_{event}" for index, _, _ in _INDEXES
                       for event in ("insert", "delete", "update"))

# FTS5's unicode61 tokenizer keeps letters and digits together and splits on everything else.
_WORD = re.compile(r"[^\W_]+")


def fts5_available(connection: sqlite3.Connection) -> bool:
    """Whether this SQLite can make an FTS5 table (compiled in or loaded as an extension)."""
    try:
        connection.execute(f"CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(x, tokenize='{_FTS_TOKENIZER}')")
        connection.execute("DROP TABLE temp.fts5_probe")
    except sqlite3.OperationalError:
        return False
    return True


def prepare_index(db: Database, *, read_only: bool = False) -> bool:
    """Bring the full-text index in line with this SQLite; True when searches use it."""
    with db.reading() as connection:
        connection.create_function("casefold", 1, _casefold, deterministic=True)
        available = fts5_available(connection)
        triggers = connection.execute(
            f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
            f"AND name IN ({', '.join('?' * len(_TRIGGER_NAMES))})", _TRIGGER_NAMES).fetchone()[0]
    in_sync = triggers == len(_TRIGGER_NAMES)
    if read_only or available == in_sync:
        return available and in_sync
    with db.writing() as connection:
        for name in _TRIGGER_NAMES:
            connection.execute(f"DROP TRIGGER IF EXISTS {name}")
        if available:
            for index, table, column in _INDEXES:
                _build_index(connection, index, table, column)
    return available


def _build_index(connection: sqlite3.Connection, index: str, table: str, column: str) -> None:
    connection.execute(f"DROP TABLE IF EXISTS {index}")
    connection.execute(f"CREATE VIRTUAL TABLE {index} USING fts5({column}, content='{table}', "
                       f"content_rowid='id', tokenize='{_FTS_TOKENIZER}')")
    connection.execute(f"INSERT INTO {index} ({index}) VALUES ('rebuild')")
    delete = f"INSERT INTO {index} ({index}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    insert = f"INSERT INTO {index} (rowid, {column}) VALUES (new.id, new.{column});"
    connection.execute(f"CREATE TRIGGER {index}_insert AFTER INSERT ON {table} BEGIN {insert} END")
    connection.execute(f"CREATE TRIGGER {index}_delete AFTER DELETE ON {table} BEGIN {delete} END")
    connection.execute(f"CREATE TRIGGER {index}_update AFTER UPDATE OF {column} ON {table} "
                       f"BEGIN {delete} {insert} END")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def fts_query(text: str) -> str:
    """An FTS5 query matching rows that hold every word of `text` (each as a word prefix)."""
    return " ".join(f'"{word}"*' for word in words(text))


def search(db: Database, text: str, limit: int, *, full_text: bool) -> list[SearchHit]:
    """Title matches first, then message matches; each group newest first."""
    terms = words(text)
    if not terms or limit <= 0:
        return []
    if full_text:
        title_rows, message_rows = _fts_rows(db, fts_query(text), limit)
    else:
        title_rows, message_rows = _like_rows(db, terms, limit)
    hits = [SearchHit(row["id"], row["title"], None, _snippet(row["title"], terms)) for row in title_rows]
    hits += [SearchHit(row["conversation_id"], row["title"], row["id"], _snippet(row["text"], terms))
             for row in message_rows]
    return hits[:limit]


def _fts_rows(db: Database, query: str, limit: int):
    with db.reading() as connection:
        titles = connection.execute(
            "SELECT c.id, c.title FROM conversation_fts JOIN conversations AS c "
            "ON c.id = conversation_fts.rowid WHERE conversation_fts MATCH :query "
            "ORDER BY c.updated DESC, c.id DESC LIMIT :limit",
            {"query": query, "limit": limit}).fetchall()
        messages = connection.execute(
            "SELECT m.id, m.conversation_id, m.text, c.title FROM message_fts "
            "JOIN messages AS m ON m.id = message_fts.rowid "
            "JOIN conversations AS c ON c.id = m.conversation_id "
            "WHERE message_fts MATCH :query ORDER BY m.id DESC LIMIT :limit",
            {"query": query, "limit": limit}).fetchall()
    return titles, messages


def _like_rows(db: Database, terms: list[str], limit: int):
    params: dict[str, object] = {f"w{i}": f"%{_escape_like(term.casefold())}%"
                                 for i, term in enumerate(terms)}
    params["limit"] = limit

    def where(column: str) -> str:
        return " AND ".join(f"casefold({column}) LIKE :w{i} ESCAPE '\\'" for i in range(len(terms)))

    with db.reading() as connection:
        titles = connection.execute(
            f"SELECT c.id, c.title FROM conversations AS c WHERE {where('c.title')} "
            f"ORDER BY c.updated DESC, c.id DESC LIMIT :limit", params).fetchall()
        messages = connection.execute(
            f"SELECT m.id, m.conversation_id, m.text, c.title FROM messages AS m "
            f"JOIN conversations AS c ON c.id = m.conversation_id WHERE {where('m.text')} "
            f"ORDER BY m.id DESC LIMIT :limit", params).fetchall()
    return titles, messages


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _casefold(text):
    # SQLite's own lower() and LIKE fold ASCII only.
    return text.casefold() if isinstance(text, str) else text


def _snippet(text: str, terms: list[str]) -> str:
    """About SNIPPET_CHARS of `text` (whitespace collapsed) around the first matching word."""
    flat = " ".join(text.split())
    if len(flat) <= SNIPPET_CHARS:
        return flat
    found = re.search("|".join(re.escape(term) for term in terms), flat, re.IGNORECASE)
    start = max(0, (found.start() if found else 0) - SNIPPET_CHARS // 3)
    start = min(start, len(flat) - SNIPPET_CHARS)
    if start > 0:  # begin at a word
        space = flat.find(" ", start, start + 15)
        start = space + 1 if space != -1 else start
    end = start + SNIPPET_CHARS
    if end < len(flat):
        space = flat.rfind(" ", end - 15, end)
        end = space if space != -1 else end
    return ("…" if start > 0 else "") + flat[start:end] + ("…" if end < len(flat) else "")
