"""Opening the database: pragmas, migrations, refusals, a damaged file moved aside, and the
environmental failures (read-only, locked, disk full) each turned into its own StoreError."""
import dataclasses
import os
import sqlite3
import time

import pytest

from bitnet_desktop.chats import schema
from bitnet_desktop.chats.database import translate_error
from bitnet_desktop.chats.errors import (DatabaseLockedError, DiskFullError, NewerSchemaError,
                                         ReadOnlyDatabaseError, StoreError)
from bitnet_desktop.chats.store import ConversationStore


@pytest.fixture
def path(tmp_path):
    return tmp_path / "chats.sqlite3"


def make_version_1_file(path):
    connection = sqlite3.connect(path)
    with connection:
        for statement in schema.VERSION_1_TABLES:
            connection.execute(statement)
        connection.execute("INSERT INTO conversations (title, created, updated, model, system_prompt, "
                           "sampling) VALUES ('Old chat', 100.0, 200.0, '/m/old.gguf', 'Be kind.', "
                           "'{\"seed\": 3}')")
        connection.executemany("INSERT INTO messages (conversation_id, role, text, created, model_file, "
                               "model_sha256) VALUES (1, ?, ?, ?, ?, ?)",
                               [("user", "What is a zebra?", 150.0, None, None),
                                ("assistant", "A striped horse.", 160.0, "/m/old.gguf", "cd" * 32)])
        connection.execute("PRAGMA user_version = 1")
    connection.close()


def make_version_2_file(path):
    connection = sqlite3.connect(path)
    with connection:
        for statement in schema.VERSION_2_TABLES:
            connection.execute(statement)
        connection.execute("INSERT INTO conversations (title, created, updated, pinned, model, system_prompt, "
                           "sampling) VALUES ('Pinned chat', 100.0, 200.0, 1, '/m/chat.gguf', '', '{}')")
        connection.execute("INSERT INTO messages (conversation_id, role, text, created, sampling, stats, complete) "
                           "VALUES (1, 'assistant', 'Half an ans', 150.0, '{\"seed\": 5}', NULL, 0)")
        connection.execute("PRAGMA user_version = 2")
    connection.close()


def columns(path):
    connection = sqlite3.connect(path)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        indexes = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")}
        return {"indexes": indexes} | {table: {row[1:] for row in connection.execute(f"PRAGMA table_info({table})")}
                                       for table in tables}
    finally:
        connection.close()


def test_fresh_database_is_wal_with_foreign_keys(path):
    with ConversationStore.open(path) as store:
        with store._db.reading() as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
            assert connection.execute("PRAGMA user_version").fetchone()[0] == schema.CURRENT_VERSION


def test_version_1_file_is_migrated_with_its_data(path, tmp_path):
    make_version_1_file(path)
    with ConversationStore.open(path) as store:
        assert store.schema_version == schema.CURRENT_VERSION == 3
        (conversation,) = store.conversations()
        assert (conversation.title, conversation.created, conversation.updated, conversation.model,
                conversation.system_prompt, conversation.sampling, conversation.pinned) == \
            ("Old chat", 100.0, 200.0, "/m/old.gguf", "Be kind.", {"seed": 3}, False)
        question, answer = store.messages(conversation.id)
        assert (question.role, question.text, question.created) == ("user", "What is a zebra?", 150.0)
        assert (answer.model_file, answer.model_sha256) == ("/m/old.gguf", "cd" * 32)
        assert (answer.sampling, answer.stats, answer.complete) == (None, None, True)
        assert [hit.message_id for hit in store.search("zebra")] == [question.id]
        store.set_pinned(conversation.id, True)  # the new columns work
    fresh = tmp_path / "fresh.sqlite3"
    ConversationStore.open(fresh).close()
    assert columns(path) == columns(fresh)


def test_version_2_file_gains_the_documents_table_and_keeps_its_data(path, tmp_path):
    make_version_2_file(path)
    with ConversationStore.open(path) as store:
        assert store.schema_version == 3
        (conversation,) = store.conversations()
        assert (conversation.title, conversation.pinned, conversation.model) == ("Pinned chat", True, "/m/chat.gguf")
        (message,) = store.messages(conversation.id)
        assert (message.text, message.sampling, message.complete) == ("Half an ans", {"seed": 5}, False)
        assert store.documents.documents() == []
        document = store.documents.create_document("Draft", "It was a dark")  # the new table works
    with ConversationStore.open(path) as store:
        assert store.documents.documents() == [document]
    fresh = tmp_path / "fresh.sqlite3"
    ConversationStore.open(fresh).close()
    assert columns(path) == columns(fresh)
    assert "documents" in columns(path) and "documents_by_activity" in columns(path)["indexes"]


def test_a_failing_migration_leaves_the_file_at_its_version(path, monkeypatch):
    make_version_1_file(path)
    before = columns(path)
    monkeypatch.setitem(schema.MIGRATIONS, 1, schema.MIGRATIONS[1] + ("SELECT * FROM no_such_table",))
    with pytest.raises(StoreError, match="no such table"):
        ConversationStore.open(path)
    assert columns(path) == before
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 1
    connection.close()


def test_a_failing_step_to_version_3_keeps_the_step_to_version_2(path, monkeypatch):
    """Each step is its own transaction: version 2 is reached and kept; the documents table is not half made."""
    make_version_1_file(path)
    monkeypatch.setitem(schema.MIGRATIONS, 2, schema.MIGRATIONS[2] + ("SELECT * FROM no_such_table",))
    with pytest.raises(StoreError, match="no such table"):
        ConversationStore.open(path)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 2
    assert connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'documents'").fetchone()[0] == 0
    connection.close()
    monkeypatch.undo()
    with ConversationStore.open(path) as store:
        assert store.schema_version == 3 and store.conversations()[0].title == "Old chat"


def test_newer_schema_is_refused_and_left_untouched(path):
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE conversations (id INTEGER PRIMARY KEY, future TEXT)")
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(NewerSchemaError) as caught:
        ConversationStore.open(path)
    assert str(path) in str(caught.value) and "newer version" in str(caught.value)
    assert "schema 99" in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_foreign_database_is_refused(path):
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    connection.close()
    with pytest.raises(StoreError, match="not a BitNet Desktop conversation database"):
        ConversationStore.open(path)


def test_corrupt_file_is_moved_aside_with_its_companions(path):
    garbage = os.urandom(8192)
    path.write_bytes(garbage)
    path.with_name(path.name + "-wal").write_bytes(b"wal garbage")
    path.with_name(path.name + "-shm").write_bytes(b"shm garbage")
    with ConversationStore.open(path) as store:
        moved = store.quarantined
        assert moved is not None and moved.parent == path.parent
        assert moved.name.startswith("chats.sqlite3.corrupt-")
        assert moved.read_bytes() == garbage
        assert moved.with_name(moved.name + "-wal").read_bytes() == b"wal garbage"
        # The -shm file is SQLite's rebuildable index of the -wal, written by any reader: it moves
        # along, but its bytes may have changed.
        assert moved.with_name(moved.name + "-shm").exists()
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or not wal.read_bytes().startswith(b"wal garbage")
        conversation = store.create_conversation("fresh start")
        store.add_message(conversation.id, "user", "hello again")
        assert [c.title for c in store.conversations()] == ["fresh start"]
    with ConversationStore.open(path) as store:
        assert store.quarantined is None
        assert [c.title for c in store.conversations()] == ["fresh start"]


def test_a_second_corrupt_file_in_the_same_second_gets_its_own_name(path):
    moved = []
    for _ in range(2):
        path.write_bytes(b"not a database" * 100)
        with ConversationStore.open(path) as store:
            moved.append(store.quarantined)
    assert moved[0] != moved[1] and all(p.exists() for p in moved)


def test_read_only_database_refuses_writes_and_keeps_its_data(path):
    """Tests run as root, and root writes through file permissions, so chmod cannot make a file
    read-only here. SQLite's read-only open (`mode=ro`, what `read_only=True` uses) is refused
    writes by SQLite itself with SQLITE_READONLY, the same code a file without write permission
    gives; the chmod case is the test below, which runs where the tests are not root."""
    with ConversationStore.open(path) as store:
        conversation = store.create_conversation("kept")
        store.add_message(conversation.id, "user", "still here")
    with ConversationStore.open(path, read_only=True) as store:
        assert [c.title for c in store.conversations()] == ["kept"]
        assert store.search("still")[0].message_id is not None
        with pytest.raises(ReadOnlyDatabaseError) as caught:
            store.add_message(conversation.id, "assistant", "lost?")
        assert str(path) in str(caught.value) and "read-only" in str(caught.value)
        with pytest.raises(ReadOnlyDatabaseError):
            store.rename_conversation(conversation.id, "renamed")
        assert [m.text for m in store.messages(conversation.id)] == ["still here"]


def test_read_only_open_does_not_migrate(path):
    make_version_1_file(path)
    with pytest.raises(ReadOnlyDatabaseError, match="needs upgrading"):
        ConversationStore.open(path, read_only=True)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes through file permissions")
@pytest.mark.parametrize("folder_read_only", [False, True])
def test_read_only_permissions(path, folder_read_only):
    """Without write permission the open is refused (a read-only folder: no -shm file can be made)
    or every write is; either way with ReadOnlyDatabaseError, and the data stays."""
    with ConversationStore.open(path) as store:
        store.create_conversation("kept")
    path.chmod(0o444)
    if folder_read_only:
        path.parent.chmod(0o555)
    try:
        try:
            store = ConversationStore.open(path)
        except ReadOnlyDatabaseError as exc:
            assert str(path) in str(exc)
            return
        with store:
            with pytest.raises(ReadOnlyDatabaseError):
                store.create_conversation("lost")
            assert [c.title for c in store.conversations()] == ["kept"]
    finally:
        path.parent.chmod(0o755)
        path.chmod(0o644)


def test_locked_database(path):
    """Another process's exclusive transaction: writes wait for the busy timeout, then fail with a
    message; reads go on (WAL); once the lock is gone, writes work again."""
    with ConversationStore.open(path, busy_timeout=0.2) as store:
        store.create_conversation("before")
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            with pytest.raises(DatabaseLockedError) as caught:
                store.create_conversation("during")
            assert time.monotonic() - started >= 0.15
            assert str(path) in str(caught.value) and "in use by another program" in str(caught.value)
            assert [c.title for c in store.conversations()] == ["before"]
            other.execute("ROLLBACK")
        finally:
            other.close()
        store.create_conversation("after")
        assert [c.title for c in store.conversations()] == ["after", "before"]


def test_opening_a_locked_fresh_database_fails_cleanly(path):
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseLockedError, match="in use by another program"):
            ConversationStore.open(path, busy_timeout=0.1)
        other.execute("ROLLBACK")
    finally:
        other.close()


def limit_file_to_its_current_size(store):
    """SQLite's own page limit: past it, a write fails with a genuine SQLITE_FULL, as on a full disk."""
    with store._db.reading() as connection:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")


def test_disk_full_rolls_back_and_says_so(path):
    with ConversationStore.open(path) as store:
        conversation = store.create_conversation("full")
        first = store.add_message(conversation.id, "user", "small")
        before = (store.conversation(conversation.id), store.messages(conversation.id))
        limit_file_to_its_current_size(store)
        with pytest.raises(DiskFullError) as caught:
            store.add_message(conversation.id, "assistant", "x" * 1_000_000)
        assert str(path) in str(caught.value) and "full" in str(caught.value)
        with pytest.raises(DiskFullError):
            store.update_message(first.id, "y" * 1_000_000)
        big = dataclasses.replace(first, text="z" * 1_000_000)
        with pytest.raises(DiskFullError):  # the 50 small ones before the big one go too
            store.import_conversations([(before[0], [first])] * 50 + [(before[0], [big])])
        assert (store.conversation(conversation.id), store.messages(conversation.id)) == before
        assert len(store.conversations()) == 1
        assert store.search("small")[0].message_id == first.id  # the index was rolled back too
        with store._db.reading() as connection:
            connection.execute("PRAGMA max_page_count = 1073741823")
        store.add_message(conversation.id, "assistant", "x" * 1_000_000)
        assert store.message_count(conversation.id) == 2


def sqlite_error(message, code=None, cls=sqlite3.OperationalError):
    error = cls(message)
    if code is not None:
        error.sqlite_errorcode = code
        error.sqlite_errorname = "SQLITE_TEST"
    return error


@pytest.mark.parametrize("code, message, expected", [
    (5, "database is locked", DatabaseLockedError),
    (6 | (1 << 8), "database table is locked", DatabaseLockedError),     # SQLITE_LOCKED_SHAREDCACHE
    (13, "database or disk is full", DiskFullError),
    (8 | (3 << 8), "attempt to write a readonly database", ReadOnlyDatabaseError),  # READONLY_ROLLBACK
    (11, "database disk image is malformed", StoreError),
    (26, "file is not a database", StoreError),
    (10 | (3 << 8), "disk I/O error", StoreError),                       # SQLITE_IOERR_WRITE
    (1, "no such table: x", StoreError),
])
@pytest.mark.parametrize("with_code", [True, False], ids=["error code", "message only (Python 3.10)"])
def test_sqlite_errors_become_store_errors(path, code, message, expected, with_code):
    error = translate_error(sqlite_error(message, code if with_code else None), path, 5.0)
    assert type(error) is expected
    assert str(path) in str(error)


def test_damage_found_after_open_tells_what_to_do(path):
    damaged = sqlite_error("database disk image is malformed", 11, sqlite3.DatabaseError)
    error = translate_error(damaged, path, 5)
    assert "is damaged" in str(error) and "move the file aside" in str(error)
