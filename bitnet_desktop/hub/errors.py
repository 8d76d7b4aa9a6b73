"""What can go wrong between the Hugging Face Hub and a model file on disk.

Every error is a `HubError` whose message is written for the person using the app: it names the file and
says what to do. `label` is the file as people know it ("org/repo/file.gguf"); other attributes carry the
numbers a UI may want to lay out itself.
"""
from __future__ import annotations


class HubError(Exception):
    """Base class: a download or hub request failed for a reason the user can read."""

    def __init__(self, message: str, *, label: str = "") -> None:
        super().__init__(message)
        self.label = label


class NetworkError(HubError):
    """No network, the name did not resolve, the connection was refused or kept dropping."""


class OfflineModeError(HubError):
    """HF_HUB_OFFLINE is set: nothing is requested."""


class AuthenticationRequiredError(HubError):
    """401: the repo is gated or private and no (valid) token was sent."""


class AccessDeniedError(HubError):
    """403: the token has no access (the licence is not accepted or access was not granted yet)."""

    def __init__(self, message: str, *, label: str = "", repo_url: str = "") -> None:
        super().__init__(message, label=label)
        self.repo_url = repo_url


class RemoteNotFoundError(HubError):
    """404: the repo, revision or file does not exist."""


class ServerError(HubError):
    """5xx (or 429) that kept coming after every retry."""

    def __init__(self, message: str, *, label: str = "", status: int = 0) -> None:
        super().__init__(message, label=label)
        self.status = status


class UnexpectedResponseError(HubError):
    """Any other HTTP status, or a response that contradicts itself (a Content-Range for other bytes)."""

    def __init__(self, message: str, *, label: str = "", status: int = 0) -> None:
        super().__init__(message, label=label)
        self.status = status


class RemoteFileChangedError(HubError):
    """The file on the server is not the one expected (or changed again on every restart)."""


class InsufficientDiskSpaceError(HubError):
    """Checked before starting: not enough free space for the rest of the file."""

    def __init__(self, message: str, *, label: str = "", needed: int = 0, free: int = 0) -> None:
        super().__init__(message, label=label)
        self.needed = needed
        self.free = free


class DiskWriteError(HubError):
    """Writing the file failed (the disk filled up while downloading, an I/O error). The partial file is
    kept where possible so the download resumes once the cause is fixed."""


class PermissionDeniedError(DiskWriteError):
    """The destination folder cannot be written (permissions, a read-only file system)."""


class ChecksumMismatchError(HubError):
    """The finished file's sha256 (or size) is not the hub's: the file was deleted."""

    def __init__(self, message: str, *, label: str = "", expected: str = "", actual: str = "") -> None:
        super().__init__(message, label=label)
        self.expected = expected
        self.actual = actual


class AlreadyDownloadingError(HubError):
    """Another downloader (another window or app instance) holds this file's .part."""


class DownloadPaused(HubError):
    """pause() was called: the partial file is kept and a later run resumes from it."""


class DownloadCancelled(HubError):
    """cancel() was called: the partial file and its state were deleted."""
