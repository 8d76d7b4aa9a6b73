"""The conversation database's tables, one version at a time, and the migrations between them.

The version lives in `PRAGMA user_version`. A fresh file gets CURRENT_TABLES directly; an older file
runs MIGRATIONS[v] for each v up to CURRENT_VERSION, each in its own transaction (database.py).
Never edit a released version's statements: add a migration instead.

The full-text index is not part of the schema: search.py builds it (and its triggers) when the
running SQLite has FTS5, so the same file works with and without it.

Statements are tuples, one statement each, because `executescript` would commit the transaction.
"""
from __future__ import annotations

CURRENT_VERSION = 3

# Version 2 as released, and the base of the current tables. AUTOINCREMENT: an id is never reused,
# so undoing a delete can put the rows back under their ids even after new conversations were
# created meanwhile.
VERSION_2_TABLES = (
    """CREATE TABLE conversations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
        model TEXT,
        system_prompt TEXT NOT NULL DEFAULT '',
        sampling TEXT NOT NULL DEFAULT '{}'
    )""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        text TEXT NOT NULL,
        created REAL NOT NULL,
        model_file TEXT,
        model_sha256 TEXT,
        sampling TEXT,
        stats TEXT,
        complete INTEGER NOT NULL DEFAULT 1 CHECK (complete IN (0, 1))
    )""",
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
    "CREATE INDEX conversations_by_activity ON conversations (pinned DESC, updated DESC)",
)

# A text-completion document (a base model continues what the user wrote): one text that the
# user and the model both write, so it is a row of its own rather than a conversation of messages.
DOCUMENTS_TABLE = """CREATE TABLE documents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        model TEXT,
        sampling TEXT NOT NULL DEFAULT '{}'
    )"""
DOCUMENTS_INDEX = "CREATE INDEX documents_by_activity ON documents (updated DESC)"

CURRENT_TABLES = VERSION_2_TABLES + (DOCUMENTS_TABLE, DOCUMENTS_INDEX)

# History: version 1 as released (no pinning; messages without sampling, stats, complete). Kept so
# the migration test builds a real version-1 file.
VERSION_1_TABLES = (
    """CREATE TABLE conversations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        model TEXT,
        system_prompt TEXT NOT NULL DEFAULT '',
        sampling TEXT NOT NULL DEFAULT '{}'
    )""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        text TEXT NOT NULL,
        created REAL NOT NULL,
        model_file TEXT,
        model_sha256 TEXT
    )""",
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
)

# MIGRATIONS[v]: the statements that turn version v into version v + 1.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1))",
        "ALTER TABLE messages ADD COLUMN sampling TEXT",
        "ALTER TABLE messages ADD COLUMN stats TEXT",
        "ALTER TABLE messages ADD COLUMN complete INTEGER NOT NULL DEFAULT 1 CHECK (complete IN (0, 1))",
        "CREATE INDEX conversations_by_activity ON conversations (pinned DESC, updated DESC)",
    ),
    2: (DOCUMENTS_TABLE, DOCUMENTS_INDEX),
}

assert sorted(MIGRATIONS) == list(range(1, CURRENT_VERSION)), "one migration per version step"
