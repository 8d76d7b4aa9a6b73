"""Errors of the conversation store. Each message names the file and says what the user can do."""
from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the conversation store raises on purpose."""

    # KeyError.__str__ would wrap the message of the *NotFoundError classes in quotes.
    __str__ = Exception.__str__


class NewerSchemaError(StoreError):
    """The database was written by a newer version of the app; it was refused and left untouched."""


class DatabaseLockedError(StoreError):
    """Another process held the database longer than the busy timeout."""


class ReadOnlyDatabaseError(StoreError):
    """The database (or its folder) cannot be written."""


class DiskFullError(StoreError):
    """The disk filled up during a write; the write was rolled back."""


class ConversationNotFoundError(StoreError, KeyError):
    """No conversation has this id."""


class MessageNotFoundError(StoreError, KeyError):
    """No message has this id."""


class ImportFormatError(StoreError):
    """An imported file is not a valid export; the message names where, e.g.
    `conversations[2].messages[5].role`."""
