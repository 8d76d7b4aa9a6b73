"""Opening the conversation database: pragmas, schema version, migrations, a damaged file moved
aside; then one connection shared by the UI and engine threads behind a lock, with every SQLite
error turned into a StoreError that names the file.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..paths import aside_path
from . import schema
from .errors import (DatabaseLockedError, DiskFullError, NewerSchemaError, ReadOnlyDatabaseError,
                     StoreError)

DEFAULT_BUSY_TIMEOUT = 5.0  # seconds another process may hold the write lock before we give up

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26

# Python 3.10 gives no error codes; SQLite's own messages then stand in for them.
_MESSAGE_CODES = (
    ("database is locked", SQLITE_BUSY), ("table is locked", SQLITE_LOCKED),
    ("readonly database", SQLITE_READONLY), ("disk is full", SQLITE_FULL),
    ("malformed", SQLITE_CORRUPT), ("not a database", SQLITE_NOTADB),
    ("disk i/o error", SQLITE_IOERR), ("unable to open", SQLITE_CANTOPEN),
)


def primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    text = str(exc).lower()
    return next((code for phrase, code in _MESSAGE_CODES if phrase in text), None)


def translate_error(exc: sqlite3.Error, path: Path, busy_timeout: float) -> StoreError:
    """The StoreError a user can act on for a SQLite error met while using `path`."""
    code = primary_code(exc)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return DatabaseLockedError(
            f"the conversation database {path} is in use by another program (still locked after "
            f"{busy_timeout:g} s); close the other BitNet Desktop window or command and try again")
    if code == SQLITE_FULL:
        return DiskFullError(f"the disk holding {path} is full: nothing was saved; free some space "
                             f"and try again")
    if code == SQLITE_READONLY or (code == SQLITE_CANTOPEN and not _writable(path)):
        return ReadOnlyDatabaseError(
            f"cannot write the conversation database {path}: the file or its folder is read-only; "
            f"check its permissions, or choose another folder with --data-dir")
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        # Found at open, a damaged file is moved aside (open_database); found later, it is the
        # user's to move: a page deep inside may be damaged while the rest still reads.
        return StoreError(f"the conversation database {path} is damaged ({exc}); quit BitNet Desktop "
                          f"and move the file aside to start a fresh one")
    if code == SQLITE_IOERR:
        return StoreError(f"could not read or write {path} ({name}: {exc}); check the disk")
    if code == SQLITE_CANTOPEN:
        return StoreError(f"cannot open the conversation database {path}; check that its folder "
                          f"exists and can be written")
    return StoreError(f"unexpected error from the conversation database {path} ({name}: {exc}); "
                      f"this is a bug, please report it")


def _writable(path: Path) -> bool:
    target = path if path.exists() else path.parent
    return os.access(target, os.W_OK)


class Database:
    """One connection, safe to share between threads: every use holds the lock."""

    def __init__(self, connection: sqlite3.Connection, path: Path, busy_timeout: float):
        self._connection = connection
        self._lock = threading.RLock()
        self.path = path
        self.busy_timeout = busy_timeout
        self.schema_version = 0
        self.quarantined: Path | None = None

    def error(self, exc: sqlite3.Error) -> StoreError:
        return translate_error(exc, self.path, self.busy_timeout)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._connection
            except sqlite3.Error as exc:
                raise self.error(exc) from exc

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises. Nested uses
        join the outer transaction."""
        with self._lock:
            connection = self._connection
            if connection.in_transaction:
                yield connection
                return
            try:
                # IMMEDIATE takes the write lock up front (waiting up to the busy timeout); a
                # deferred transaction that reads first could fail at its first write in WAL mode.
                connection.execute("BEGIN IMMEDIATE")
                yield connection
                connection.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise self.error(exc) from exc
                raise

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some errors (SQLITE_FULL among them).
        if self._connection.in_transaction:
            try:
                self._connection.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def open_database(path: str | os.PathLike, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                  read_only: bool = False) -> Database:
    """Open (creating if needed) and migrate the database at `path`.

    A file SQLite cannot read as a database is moved aside with its -wal and -shm files to
    `<name>.corrupt-<timestamp>` and a fresh database takes its place; `Database.quarantined` says
    where it went. A file written by a newer version raises NewerSchemaError and is left as it was.
    `read_only` opens the file through SQLite's read-only mode: nothing is created or migrated.
    """
    path = Path(path)
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReadOnlyDatabaseError(f"cannot create the folder {path.parent} for the conversation "
                                        f"database ({exc.strerror}); choose another folder with "
                                        f"--data-dir") from exc
    quarantined = None
    if read_only or path.exists():
        try:
            _check_existing(path, busy_timeout)
        except StoreError as exc:
            if read_only or not _is_damage(exc):
                raise
            quarantined = _quarantine(path)
    db = _connect(path, busy_timeout, read_only)
    db.quarantined = quarantined
    try:
        _configure(db, read_only)
        db.schema_version = _migrate(db, read_only)
    except BaseException:
        db.close()
        raise
    return db


def _check_existing(path: Path, busy_timeout: float) -> None:
    """Raise if `path` is damaged, another app's database, or from a newer version.

    Looked at through a read-only connection: closing a read-write one would delete the -wal and
    -shm files of a damaged file (they belong in quarantine with it) and could checkpoint a newer
    version's -wal into its database (which must stay untouched).
    """
    db = _connect(path, busy_timeout, read_only=True)
    try:
        with db.reading() as connection:
            # Reading the schema makes SQLite parse the header and the schema pages: a file that is
            # not a database, or whose schema is damaged, fails here.
            tables = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()
    if version == 0 and tables:
        raise StoreError(f"{path} is not a BitNet Desktop conversation database (it holds other "
                         f"tables); choose another folder with --data-dir")
    if version > schema.CURRENT_VERSION:
        raise _newer_schema(path, version)


def _newer_schema(path: Path, version: int) -> NewerSchemaError:
    return NewerSchemaError(
        f"the conversation database {path} was written by a newer version of BitNet Desktop (schema "
        f"{version}; this version knows up to {schema.CURRENT_VERSION}); it was left untouched: update "
        f"the app, or choose another folder with --data-dir")


def _is_damage(exc: StoreError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, sqlite3.Error) and primary_code(cause) in (SQLITE_CORRUPT, SQLITE_NOTADB)


def _connect(path: Path, busy_timeout: float, read_only: bool) -> Database:
    # as_uri() percent-encodes the path, so a `?` or `#` in a folder name stays part of it.
    target, uri = (path.absolute().as_uri() + "?mode=ro", True) if read_only else (str(path), False)
    try:
        # isolation_level=None: no implicit transactions; Database.writing() issues BEGIN itself.
        # `timeout` is SQLite's busy timeout.
        connection = sqlite3.connect(target, uri=uri, timeout=busy_timeout, isolation_level=None,
                                     check_same_thread=False)
    except sqlite3.Error as exc:
        raise translate_error(exc, path, busy_timeout) from exc
    connection.row_factory = sqlite3.Row
    return Database(connection, path, busy_timeout)


def _configure(db: Database, read_only: bool) -> None:
    with db.reading() as connection:
        connection.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            # WAL: readers never block the writer (the UI reads while the engine thread saves the
            # streaming answer). synchronous=NORMAL with WAL loses no committed transaction when
            # the app crashes, only possibly the last ones on a power loss, and saves an fsync per
            # commit (the streaming answer commits about once a second).
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")


def _migrate(db: Database, read_only: bool) -> int:
    with db.reading() as connection:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > schema.CURRENT_VERSION:  # written meanwhile by a newer version running beside us
        raise _newer_schema(db.path, version)
    if version == schema.CURRENT_VERSION:
        return version
    if read_only:
        raise ReadOnlyDatabaseError(f"the conversation database {db.path} needs upgrading to schema "
                                    f"{schema.CURRENT_VERSION} but was opened read-only")
    while True:
        with db.writing() as connection:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                statements, version = schema.CURRENT_TABLES, schema.CURRENT_VERSION
            elif version < schema.CURRENT_VERSION:
                statements, version = schema.MIGRATIONS[version], version + 1
            else:
                return version
            for statement in statements:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version:d}")


def _quarantine(path: Path) -> Path:
    """Move a damaged database and its -wal / -shm files aside; return the database's new path."""
    target = aside_path(path)
    try:
        # Companions first: if we stop halfway, the damaged file is still in place and is moved
        # aside at the next start, rather than a stray -wal meeting a fresh database.
        for suffix in ("-wal", "-shm"):
            companion = path.with_name(path.name + suffix)
            if companion.exists():
                os.replace(companion, target.with_name(target.name + suffix))
        os.replace(path, target)
    except OSError as exc:
        raise StoreError(f"the conversation database {path} is damaged and could not be moved aside "
                         f"({exc.strerror}); move it away by hand and start again") from exc
    return target
