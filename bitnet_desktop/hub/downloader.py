"""Our own HTTP Range downloader for model files (docs/downloads.md#why-our-own-downloader: huggingface_hub neither
resumes nor checks the content hash).

A `Download` moves one file into `<dest>.part`, with its state in `<dest>.part.json` (see part_file.py), and
renames it to `dest` only after its size and sha256 match. It resumes from the .part after a dropped
connection, a stall (no bytes for `stall_timeout` seconds), a pause, or the app being killed; a server that
ignores Range, answers 416 or now serves a different file (ETag / X-Linked-Etag) makes it start over from
zero, and says so in the progress message. Every failure is a `HubError` naming the file (errors.py).

HTTP is the standard library's http.client, one connection per request: `pause()` and `cancel()` shut the
socket down from the caller's thread so a blocked read returns at once, and redirects are followed by hand
so the Authorization header never leaves the origin it was meant for (the hub redirects LFS files to a
CDN). (httpx is not importable here: huggingface_hub 2.x ships it as "httpx2", a name 1.x did not use.)
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urljoin, urlsplit

from bitnet_desktop.hub.errors import (
    AccessDeniedError, AlreadyDownloadingError, AuthenticationRequiredError, ChecksumMismatchError,
    DiskWriteError, DownloadCancelled, DownloadPaused, HubError, InsufficientDiskSpaceError, NetworkError,
    OfflineModeError, PermissionDeniedError, RemoteFileChangedError, RemoteNotFoundError, ServerError,
    UnexpectedResponseError,
)
from bitnet_desktop.hub.http_connection import (
    NotDownloadableURL, connection_for, int_or_none, is_sha256, network_reason, normal_etag, origin,
    parse_content_range, repo_url,
)
from bitnet_desktop.hub.part_file import (
    PartState, delete_partial, fsync_dir, load_state, part_path, save_state, sidecar_path,
)
from bitnet_desktop.meters.display import format_bytes

FREE_SPACE_MARGIN = 32 * 1024 * 1024   # bytes left free beyond the rest of the file
CHECKPOINT_BYTES = 8 * 1024 * 1024     # fsync the .part and rewrite the sidecar at least this often...
CHECKPOINT_SECONDS = 1.0               # ...and at least this often while bytes arrive
MAX_BACKOFF = 60.0
MAX_REDIRECTS = 10
MAX_FILE_CHANGES = 3                   # restarts because the file changed before RemoteFileChangedError
SPEED_WINDOW = 5.0                     # seconds the speed is averaged over
PROGRESS_INTERVAL = 0.1                # at most this many seconds between progress callbacks
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
_USER_AGENT = "bitnet-desktop"
_TRUE = {"1", "ON", "YES", "TRUE"}     # huggingface_hub's reading of HF_HUB_OFFLINE
_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}   # no EDQUOT on Windows
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


def offline_mode() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) as huggingface_hub reads it, but read now, not at import."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.upper() in _TRUE


@dataclass(frozen=True)
class DownloadRequest:
    url: str                                  # the resolve URL; redirects are followed
    dest: Path                                # final path; bytes in dest.part, state in dest.part.json
    expected_size: int | None = None
    expected_sha256: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)   # may hold a token: not in repr
    label: str = ""                           # "org/repo/file.gguf", for messages

    def __post_init__(self) -> None:
        object.__setattr__(self, "dest", Path(self.dest))
        object.__setattr__(self, "headers", dict(self.headers))
        if self.expected_sha256 is not None:
            object.__setattr__(self, "expected_sha256", self.expected_sha256.lower())
        if not self.label:
            object.__setattr__(self, "label", self.dest.name)


@dataclass(frozen=True)
class DownloadProgress:
    done: int                  # bytes in the .part (while verifying: bytes re-hashed so far)
    total: int | None
    speed: float | None        # bytes/s over the last ~5 s
    eta: float | None          # seconds
    state: str                 # starting downloading retrying paused verifying done failed cancelled
    message: str = ""


class _Retry(Exception):
    """A transient failure: try again after a backoff."""

    def __init__(self, reason: str, final: type[HubError] = NetworkError, status: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final = final
        self.status = status


class _Restart(Exception):
    """The bytes so far cannot be continued: start from zero."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Hops:
    """What the redirect chain said about the file (the hub's 302 carries it, the CDN does not)."""
    linked_etag: str | None = None
    linked_size: int | None = None
    commit: str | None = None


class Download:
    """One file, one `run()`. Resume = a new Download of the same request: it finds the .part."""

    def __init__(self, request: DownloadRequest, *, on_progress: Callable[[DownloadProgress], None] | None = None,
                 stall_timeout: float = 30.0, max_retries: int = 8, backoff: float = 1.0,
                 chunk_size: int = 1 << 20) -> None:
        self.request = request
        self._on_progress = on_progress
        self._stall_timeout = stall_timeout
        self._max_retries = max_retries
        self._backoff = backoff
        self._chunk_size = chunk_size
        self._paused = threading.Event()
        self._cancelled = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._started = False
        self._locked = False            # this run holds the .part (another run's is never deleted)
        # run() state
        self._file = None
        self._hasher = hashlib.sha256()
        self._done = 0
        self._total: int | None = request.expected_size
        self._space_checked_for: int | None = None
        self._state: PartState | None = None
        self._last_checkpoint = (0, 0.0)
        self._samples: deque[tuple[float, int]] = deque()
        self._last_emit = (0.0, "")
        self._message = ""

    # ---- control, from any thread ---------------------------------------------------------------
    def pause(self) -> None:
        """run() stops soon and raises DownloadPaused; the .part and sidecar stay for a resume."""
        self._paused.set()
        self._interrupt()

    def cancel(self) -> None:
        """run() stops soon and raises DownloadCancelled; the .part and sidecar are deleted."""
        self._cancelled.set()
        self._interrupt()

    def _interrupt(self) -> None:
        self._wake.set()
        with self._lock:
            conn = self._conn
            sock = conn.sock if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)   # a blocked recv() returns now
            except OSError:
                pass

    # ---- the download ---------------------------------------------------------------------------
    def run(self) -> Path:
        """Download, verify and rename into place; returns dest. Blocks; raises a HubError."""
        req = self.request
        if self._started:
            raise RuntimeError("a Download runs once; resume with a new Download of the same request")
        self._started = True
        try:
            if offline_mode():         # before any socket is opened
                raise OfflineModeError(f"{req.label} was not downloaded: offline mode is on (HF_HUB_OFFLINE is "
                                       "set). Turn it off to download models.", label=req.label)
            self._check_control()
            self._emit("starting", force=True)
            self._open_part()
            self._download()
            return self._finish()
        except DownloadCancelled:
            self._close_part()
            delete_partial(req.dest)
            self._emit("cancelled", "cancelled; the partial file was deleted", force=True)
            raise
        except DownloadPaused:
            self._close_part()
            self._emit("paused", f"paused at {format_bytes(self._done)}", force=True)
            raise
        except HubError as exc:
            self._close_part()
            if self._locked and self._done == 0:
                delete_partial(req.dest)     # nothing worth keeping: leave no empty .part behind
            self._emit("failed", str(exc), force=True)
            raise
        finally:
            self._close_part()

    def _download(self) -> None:
        failures = 0
        changes = 0
        best = self._done
        while self._total is None or self._done < self._total:
            self._check_control()
            try:
                self._attempt()
            except _Retry as r:
                if self._done > best:
                    best = self._done
                    failures = 0
                failures += 1
                if failures > self._max_retries:
                    raise self._give_up(r) from None
                delay = min(self._backoff * 2 ** (failures - 1), MAX_BACKOFF)
                self._message = ""
                self._emit("retrying", f"{r.reason}, retrying in {delay:.3g} s "
                                       f"(retry {failures} of {self._max_retries})", force=True)
                self._sleep(delay)
            except _Restart as r:
                changes += 1
                if changes > MAX_FILE_CHANGES:
                    raise RemoteFileChangedError(
                        f"{self.request.label} changed on the server {changes} times while downloading. "
                        "Try again later.", label=self.request.label) from None
                self._restart_from_zero(f"{r.reason}; starting again from zero")
                best = 0
                failures = 0

    def _attempt(self) -> None:
        """One request, streamed into the .part until the file is complete or the request fails."""
        req = self.request
        headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity", **req.headers}
        asked_from = self._done
        if asked_from > 0:
            headers["Range"] = f"bytes={asked_from}-"
        conn, resp, hops = self._open(req.url, headers, asked_from)
        try:
            self._check_control()
            status = resp.status
            if status in (401, 403, 404):
                raise self._status_error(status, "Authorization" in {k.title() for k in req.headers})
            if status == 416:
                if asked_from == 0:
                    raise UnexpectedResponseError(f"The server refused to send {req.label} (HTTP 416).",
                                                  label=req.label, status=416)
                raise _Restart("the server no longer has the bytes asked for (HTTP 416)")
            if status in _RETRY_STATUSES or 500 <= status < 600:
                raise _Retry(f"the server answered HTTP {status}", ServerError, status)
            if status not in (200, 206):
                raise UnexpectedResponseError(f"Unexpected answer from the server for {req.label}: HTTP {status}.",
                                              label=req.label, status=status)
            etag = hops.linked_etag or normal_etag(resp.getheader("ETag"))
            self._check_identity(etag, asked_from)
            total = self._response_total(resp, status, asked_from, hops)
            if status == 200 and asked_from > 0:
                self._restart_from_zero("the server cannot resume (it ignored the Range request); "
                                        "downloading again from the start")
            if self._state.etag != etag or self._state.commit != hops.commit or self._total != total:
                self._state = replace(self._state, etag=etag, commit=hops.commit or self._state.commit)
                self._total = total
                self._check_space()
                self._checkpoint()
            self._emit("downloading", force=True)
            self._stream(resp)
        finally:
            resp.close()
            self._drop_connection(conn)

    def _check_identity(self, etag: str | None, asked_from: int) -> None:
        req = self.request
        if (req.expected_sha256 and etag and is_sha256(etag) and etag != req.expected_sha256):
            raise RemoteFileChangedError(
                f"{req.label} on the server is not the expected file (its sha256 is {etag}, the hub's listing "
                f"said {req.expected_sha256}): it changed since the listing was read. Refresh and try again.",
                label=req.label)
        if asked_from > 0 and etag and self._state.etag and etag != self._state.etag:
            raise _Restart("the file changed on the server")

    def _response_total(self, resp: http.client.HTTPResponse, status: int, asked_from: int,
                        hops: _Hops) -> int | None:
        req = self.request
        length = int_or_none(resp.getheader("Content-Length"))
        if status == 206:
            start, total = parse_content_range(resp.getheader("Content-Range"))
            if start != asked_from:
                raise UnexpectedResponseError(
                    f"The server sent other bytes of {req.label} than asked for "
                    f"({resp.getheader('Content-Range')!r} for bytes={asked_from}-).", label=req.label, status=206)
            if total is None and length is not None:
                total = asked_from + length
        else:
            total = length
        if total is None:
            total = hops.linked_size if hops.linked_size is not None else req.expected_size
        if req.expected_size is not None and total is not None and total != req.expected_size:
            raise RemoteFileChangedError(
                f"The server has {format_bytes(total)} ({total} bytes) for {req.label}, the hub's listing said "
                f"{req.expected_size} bytes: the file changed since the listing was read. Refresh and try again.",
                label=req.label)
        return total

    def _stream(self, resp: http.client.HTTPResponse) -> None:
        while self._total is None or self._done < self._total:
            want = self._chunk_size if self._total is None else min(self._chunk_size, self._total - self._done)
            try:
                data = resp.read1(want)
            except socket.timeout:
                self._check_control()
                raise _Retry(f"no data for {self._stall_timeout:g} s (stalled)") from None
            except (OSError, http.client.HTTPException):
                self._check_control()
                raise _Retry("the connection dropped") from None
            if not data:
                self._check_control()
                if self._total is None:
                    self._total = self._done   # no length was given: the end of the body is the end
                    return
                raise _Retry("the connection dropped")
            self._write(data)
            self._check_control()

    # ---- the .part ------------------------------------------------------------------------------
    def _open_part(self) -> None:
        """Find what a resume can keep, check the free space for the rest, then open (or create) the .part."""
        req = self.request
        dest = req.dest
        part = part_path(dest)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            state = load_state(dest)
            size_on_disk = part.stat().st_size if part.exists() else -1
            if state is None or size_on_disk < 0 or not state.matches(req.url, req.expected_size,
                                                                     req.expected_sha256):
                delete_partial(dest)
                state = PartState(url=req.url, size=req.expected_size, sha256=req.expected_sha256,
                                  etag=None, commit=None, done=0)
                size_on_disk = 0
            done = min(state.done, size_on_disk)
        except OSError as exc:
            raise self._disk_error(exc) from None
        self._done = done
        self._check_space()                 # before anything is created for a new download
        try:
            fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o644)
            self._file = open(fd, "r+b", buffering=0)
            _lock_file(self._file, req.label)
            self._locked = True
            self._file.truncate(done)       # bytes past the last checkpoint are not trusted
            self._file.seek(done)
        except OSError as exc:
            raise self._disk_error(exc) from None
        self._state = replace(state, done=done)
        if done > 0:
            self._rehash(done)
        self._checkpoint()
        self._samples.clear()

    def _rehash(self, done: int) -> None:
        """sha256 objects cannot be saved: a resume re-reads the bytes already there."""
        self._file.seek(0)
        hashed = 0
        message = f"checking the {format_bytes(done)} already downloaded"
        try:
            while hashed < done:
                self._check_control()
                block = self._file.read(min(self._chunk_size, done - hashed))
                if not block:
                    break
                self._hasher.update(block)
                hashed += len(block)
                self._emit("verifying", message, done=hashed)
            if hashed != done:       # the file shrank under us: trust what was hashed
                self._done = hashed
                self._file.truncate(hashed)
            self._file.seek(self._done)
        except OSError as exc:
            raise self._disk_error(exc) from None

    def _write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                n = self._file.write(view)
                view = view[n:]
        except OSError as exc:
            self._try_checkpoint()
            raise self._disk_error(exc) from None
        self._hasher.update(data)
        self._done += len(data)
        now = time.monotonic()
        last_bytes, last_time = self._last_checkpoint
        if self._done - last_bytes >= CHECKPOINT_BYTES or now - last_time >= CHECKPOINT_SECONDS:
            self._checkpoint()
        self._emit("downloading")

    def _checkpoint(self) -> None:
        """fsync the bytes, then record them in the sidecar (in that order: see part_file.py)."""
        try:
            os.fsync(self._file.fileno())
            self._state = replace(self._state, done=self._done)
            save_state(self.request.dest, self._state)
        except OSError as exc:
            raise self._disk_error(exc) from None
        self._last_checkpoint = (self._done, time.monotonic())

    def _try_checkpoint(self) -> None:
        try:
            self._checkpoint()
        except HubError:
            pass   # the disk is full: the last sidecar that made it counts, the rest is cut on resume

    def _restart_from_zero(self, message: str) -> None:
        try:
            self._file.truncate(0)
            self._file.seek(0)
        except OSError as exc:
            raise self._disk_error(exc) from None
        self._hasher = hashlib.sha256()
        self._done = 0
        self._samples.clear()
        self._state = replace(self._state, etag=None, commit=None)
        self._checkpoint()
        self._message = message
        self._emit("downloading", message, force=True)

    def _close_part(self) -> None:
        if self._file is not None:
            f, self._file = self._file, None
            f.close()

    def _finish(self) -> Path:
        req = self.request
        self._emit("verifying", "checking the size and sha256", force=True)
        try:
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise self._disk_error(exc) from None
        actual_sha = self._hasher.hexdigest()
        problem = None
        if req.expected_size is not None and self._done != req.expected_size:
            problem = (f"{req.label} has {self._done} bytes after downloading, the hub says {req.expected_size}",
                       str(req.expected_size), str(self._done))
        elif req.expected_sha256 is not None and actual_sha != req.expected_sha256:
            problem = (f"{req.label} arrived damaged: its sha256 is {actual_sha}, the hub says "
                       f"{req.expected_sha256}", req.expected_sha256, actual_sha)
        self._close_part()
        if problem is not None:
            delete_partial(req.dest)
            raise ChecksumMismatchError(f"{problem[0]}. The downloaded file was deleted; download it again.",
                                        label=req.label, expected=problem[1], actual=problem[2])
        try:
            os.replace(part_path(req.dest), req.dest)
            fsync_dir(req.dest.parent)
            sidecar_path(req.dest).unlink(missing_ok=True)
        except OSError as exc:
            raise self._disk_error(exc) from None
        self._emit("done", "downloaded and verified" if req.expected_sha256 else "downloaded", force=True)
        return req.dest

    # ---- HTTP -----------------------------------------------------------------------------------
    def _open(self, url: str, headers: dict[str, str], asked_from: int):
        """GET `url`, following redirects; the Authorization header goes only to the first origin. A redirect
        that names a different file (X-Linked-Etag) is not followed."""
        hops = _Hops()
        for _ in range(MAX_REDIRECTS + 1):
            try:
                conn, target = connection_for(url, self._stall_timeout)
            except NotDownloadableURL as exc:
                raise UnexpectedResponseError(f"Cannot download {self.request.label}: {exc}.",
                                              label=self.request.label) from None
            with self._lock:
                self._conn = conn
            try:
                self._check_control()
                conn.connect()
                conn.sock.settimeout(self._stall_timeout)
                self._check_control()
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
            except (DownloadPaused, DownloadCancelled):
                self._drop_connection(conn)
                raise
            except ssl.SSLCertVerificationError as exc:
                self._drop_connection(conn)
                raise NetworkError(f"Could not download {self.request.label}: the secure connection to "
                                   f"{urlsplit(url).hostname} failed ({exc.verify_message}).",
                                   label=self.request.label) from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection(conn)
                self._check_control()
                raise _Retry(network_reason(exc, url)) from None
            hops.linked_etag = hops.linked_etag or normal_etag(resp.getheader("X-Linked-Etag"))
            hops.linked_size = hops.linked_size or int_or_none(resp.getheader("X-Linked-Size"))
            hops.commit = hops.commit or resp.getheader("X-Repo-Commit")
            location = resp.getheader("Location")
            if resp.status in (301, 302, 303, 307, 308) and location:
                try:
                    resp.read(64 * 1024)
                except (OSError, http.client.HTTPException):
                    pass
                resp.close()
                self._drop_connection(conn)
                self._check_identity(hops.linked_etag, asked_from)
                new_url = urljoin(url, location)
                if origin(new_url) != origin(url):
                    headers = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
                url = new_url
                continue
            return conn, resp, hops
        raise UnexpectedResponseError(f"Too many redirects while downloading {self.request.label}.",
                                      label=self.request.label)

    def _drop_connection(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if self._conn is conn:
                self._conn = None
        conn.close()

    def _status_error(self, status: int, sent_token: bool) -> HubError:
        req = self.request
        if status == 401:
            why = ("the token was not accepted" if sent_token
                   else "the repository is gated or private and no token was given")
            return AuthenticationRequiredError(
                f"{req.label} needs a Hugging Face access token: {why}. Enter a token with read access "
                "and try again.", label=req.label)
        if status == 403:
            page = repo_url(req.url)
            return AccessDeniedError(
                f"Access to {req.label} was refused: the repository is gated and this account has not accepted "
                f"its licence or been granted access yet. Open {page}, accept the terms, then try again.",
                label=req.label, repo_url=page)
        return RemoteNotFoundError(
            f"{req.label} was not found on the hub (HTTP 404): the repository, revision or file name is wrong, "
            "or the file was removed.", label=req.label)

    def _give_up(self, r: _Retry) -> HubError:
        req = self.request
        kept = (f" The {format_bytes(self._done)} downloaded so far are kept; trying again resumes from there."
                if self._done else "")
        if r.final is ServerError:
            return ServerError(f"The server kept failing to send {req.label} ({r.reason} after "
                               f"{self._max_retries} retries). Try again later.{kept}",
                               label=req.label, status=r.status)
        return NetworkError(f"Could not download {req.label}: {r.reason} (after {self._max_retries} retries). "
                            f"Check the internet connection.{kept}", label=req.label)

    # ---- helpers --------------------------------------------------------------------------------
    def _check_control(self) -> None:
        if self._cancelled.is_set():
            raise DownloadCancelled(f"Download of {self.request.label} cancelled.", label=self.request.label)
        if self._paused.is_set():
            self._try_checkpoint_if_open()
            raise DownloadPaused(f"Download of {self.request.label} paused.", label=self.request.label)

    def _try_checkpoint_if_open(self) -> None:
        if self._file is not None and self._state is not None:
            self._try_checkpoint()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._check_control()

    def _check_space(self) -> None:
        if self._total is None or self._space_checked_for == self._total:
            return
        self._space_checked_for = self._total
        req = self.request
        rest = max(0, self._total - self._done)
        need = rest + FREE_SPACE_MARGIN
        free = shutil.disk_usage(req.dest.parent).free
        if free < need:
            raise InsufficientDiskSpaceError(
                f"Not enough free disk space for {req.label}: it needs {format_bytes(need)} "
                f"({format_bytes(rest)} still to download plus {format_bytes(FREE_SPACE_MARGIN)} to spare) and "
                f"{req.dest.parent} has {format_bytes(free)} free.", label=req.label, needed=need, free=free)

    def _disk_error(self, exc: OSError) -> HubError:
        req = self.request
        folder = req.dest.parent
        if exc.errno in _DISK_FULL:
            kept = f" The {format_bytes(self._done)} downloaded so far are kept" if self._done else ""
            return DiskWriteError(f"The disk is full: {req.label} could not be written to {folder}.{kept}; "
                                  "free some space and resume.", label=req.label)
        if exc.errno in _NO_PERMISSION:
            why = "the file system is read-only" if exc.errno == errno.EROFS else "permission denied"
            return PermissionDeniedError(f"Cannot write {req.label} to {folder}: {why}. Choose another models "
                                         "folder or fix its permissions.", label=req.label)
        return DiskWriteError(f"Could not write {req.label} to {folder}: {exc.strerror or exc}.", label=req.label)

    def _emit(self, state: str, message: str | None = None, *, force: bool = False, done: int | None = None) -> None:
        if self._on_progress is None:
            return
        now = time.monotonic()
        last_time, last_state = self._last_emit
        if not force and state == last_state and now - last_time < PROGRESS_INTERVAL:
            return
        self._last_emit = (now, state)
        done = self._done if done is None else done
        speed = eta = None
        if state == "downloading":
            self._samples.append((now, done))
            while len(self._samples) > 2 and now - self._samples[1][0] >= SPEED_WINDOW:
                self._samples.popleft()
            t0, d0 = self._samples[0]
            if now - t0 >= 0.2:
                speed = (done - d0) / (now - t0)
                if speed > 0 and self._total is not None:
                    eta = (self._total - done) / speed
        if message is None:
            message = self._message if state == "downloading" else ""
        self._on_progress(DownloadProgress(done=done, total=self._total, speed=speed, eta=eta, state=state,
                                           message=message))


def _lock_file(f, label: str) -> None:
    """Refuse a second downloader of the same file (another window, another app instance)."""
    try:
        import fcntl
    except ImportError:   # Windows: one process writes a file at a time by convention only
        return
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise AlreadyDownloadingError(f"{label} is already being downloaded (by another window or program).",
                                      label=label) from None
