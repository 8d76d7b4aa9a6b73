"""Downloads one at a time, in the order added, on the queue's own thread (no Qt).

    queue = DownloadQueue(listener=lambda item_id, progress: ...)
    item_id = queue.add(request)
    queue.pause(item_id); queue.resume(item_id); queue.cancel(item_id)
    queue.shutdown()          # pauses the running download: its .part stays for the next start

The listener gets `(item_id, DownloadProgress)` from the queue's thread (or from the caller's thread for a
change made to an item that is not running): every progress report of the running download, and "queued",
"paused" and "cancelled" for items that are waiting. A UI posts these to its own thread and throttles them.

States: queued -> starting -> downloading / retrying / verifying -> done | failed | cancelled, and paused
(from queued or running). resume() puts a paused or failed item back in the queue, in its old place. After
an app restart, a new queue given the same request finds the .part and resumes from it.

The worker thread starts with the first add() and sleeps on a condition while nothing is queued.
"""
from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from bitnet_desktop.hub.downloader import Download, DownloadProgress, DownloadRequest
from bitnet_desktop.hub.errors import DownloadCancelled, DownloadPaused, HubError
from bitnet_desktop.hub.part_file import delete_partial, partial_bytes

_log = logging.getLogger(__name__)

Listener = Callable[[str, DownloadProgress], None]
SETTLED = frozenset({"done", "failed", "cancelled", "paused"})   # states a download stays in until told


@dataclass(frozen=True)
class QueueItem:
    """A snapshot of one download in the queue."""
    id: str
    request: DownloadRequest
    state: str
    progress: DownloadProgress
    error: BaseException | None = None    # a HubError when failed (anything else is a bug, logged)


class _Entry:
    def __init__(self, item_id: str, request: DownloadRequest) -> None:
        self.id = item_id
        self.request = request
        self.state = "queued"
        self.progress = DownloadProgress(done=partial_bytes(request.dest), total=request.expected_size,
                                         speed=None, eta=None, state="queued")
        self.error: BaseException | None = None
        self.download: Download | None = None   # while the worker runs it
        self.resume_asked = False               # resume() came while a pause was still stopping it

    def snapshot(self) -> QueueItem:
        return QueueItem(self.id, self.request, self.state, self.progress, self.error)


class DownloadQueue:
    def __init__(self, listener: Listener | None = None, *, download_options: Mapping[str, Any] | None = None) -> None:
        """`download_options` go to each Download (stall_timeout, max_retries, backoff, chunk_size)."""
        self._listener = listener
        self._options = dict(download_options or {})
        self._entries: dict[str, _Entry] = {}     # in the order added: the queue order
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    # ---- the public API, from any thread -------------------------------------------------------
    def add(self, request: DownloadRequest) -> str:
        """Queue a download; returns its id. The same destination twice is refused (ValueError)."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("the download queue was shut down")
            for e in self._entries.values():
                if e.request.dest == request.dest and e.state not in ("done", "failed", "cancelled"):
                    raise ValueError(f"{request.label} is already in the download queue")
            entry = _Entry(f"dl-{next(self._ids)}", request)
            self._entries[entry.id] = entry
            progress = entry.progress
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="bitnet-downloads", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        self._notify(entry.id, progress)
        return entry.id

    def pause(self, item_id: str) -> None:
        """Stop a running download (its .part stays) or hold a queued one. Nothing for a settled one."""
        with self._cond:
            entry = self._entry(item_id)
            if entry.download is not None:
                entry.resume_asked = False
                entry.download.pause()          # the worker records "paused" when run() returns
                return
            if entry.state != "queued":
                return
            progress = self._set(entry, "paused", "paused")
        self._notify(item_id, progress)

    def resume(self, item_id: str) -> None:
        """Queue a paused or failed download again (in its old place); it resumes from its .part."""
        with self._cond:
            entry = self._entry(item_id)
            if entry.download is not None:
                entry.resume_asked = True       # if it is being paused, it is queued again once stopped
                return
            if entry.state not in ("paused", "failed"):
                return
            entry.error = None
            progress = self._set(entry, "queued", "", done=partial_bytes(entry.request.dest))
            self._cond.notify_all()
        self._notify(item_id, progress)

    def cancel(self, item_id: str) -> None:
        """Stop and forget a download: its .part and sidecar are deleted. Nothing for a finished one."""
        with self._cond:
            entry = self._entry(item_id)
            if entry.download is not None:
                entry.download.cancel()         # run() deletes the .part and the worker records it
                return
            if entry.state in ("done", "cancelled"):
                return
            progress = self._set(entry, "cancelled", "cancelled; the partial file was deleted", done=0)
        delete_partial(entry.request.dest)
        self._notify(item_id, progress)

    def items(self) -> list[QueueItem]:
        with self._cond:
            return [e.snapshot() for e in self._entries.values()]

    def item(self, item_id: str) -> QueueItem:
        with self._cond:
            return self._entry(item_id).snapshot()

    def clear_finished(self) -> None:
        """Forget done, failed and cancelled items (their files stay as they are)."""
        with self._cond:
            for item_id in [i for i, e in self._entries.items() if e.state in ("done", "failed", "cancelled")]:
                del self._entries[item_id]

    def wait(self, item_id: str, timeout: float | None = None) -> QueueItem:
        """Block until the item is done, failed, cancelled or paused (or `timeout` passes); its snapshot."""
        with self._cond:
            self._cond.wait_for(lambda: self._entry(item_id).state in SETTLED, timeout)
            return self._entry(item_id).snapshot()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Pause the running download (its .part stays for the next start) and stop the thread."""
        with self._cond:
            self._stopping = True
            for e in self._entries.values():
                if e.download is not None:
                    e.download.pause()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"the download thread did not stop within {timeout} s")

    # ---- the worker ----------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                entry = None
                while not self._stopping:
                    entry = next((e for e in self._entries.values() if e.state == "queued"), None)
                    if entry is not None:
                        break
                    self._cond.wait()
                if self._stopping:
                    return
                entry.state = "starting"
                entry.download = Download(entry.request, on_progress=lambda p, i=entry.id: self._on_progress(i, p),
                                          **self._options)
                download = entry.download
            error: BaseException | None = None
            try:
                download.run()
            except (DownloadPaused, DownloadCancelled):
                pass
            except HubError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - a bug must not stop the queue; it is logged and shown
                _log.exception("download of %s failed unexpectedly", entry.request.label)
                error = exc
            with self._cond:
                entry.download = None
                entry.error = error
                report = None
                if entry.progress.state not in SETTLED:      # run() ended without saying how: a bug
                    report = self._set(entry, "failed", f"{entry.request.label}: unexpected error: {error!r}")
                elif entry.progress.state == "paused" and entry.resume_asked:
                    report = self._set(entry, "queued", "")
                else:
                    entry.state = entry.progress.state
                entry.resume_asked = False
                self._cond.notify_all()
            if report is not None:
                self._notify(entry.id, report)

    def _on_progress(self, item_id: str, progress: DownloadProgress) -> None:
        with self._cond:
            entry = self._entries.get(item_id)
            if entry is None:
                return
            entry.progress = progress
            if progress.state not in SETTLED:   # settled states are recorded when run() has returned
                entry.state = progress.state
        self._notify(item_id, progress)

    # ---- helpers -------------------------------------------------------------------------------
    def _entry(self, item_id: str) -> _Entry:
        try:
            return self._entries[item_id]
        except KeyError:
            raise KeyError(f"no download {item_id!r} in the queue") from None

    @staticmethod
    def _set(entry: _Entry, state: str, message: str, *, done: int | None = None) -> DownloadProgress:
        """Record a state the queue decides (not a Download); returns the progress to report. Lock held."""
        p = entry.progress
        entry.state = state
        entry.progress = DownloadProgress(done=p.done if done is None else done, total=p.total, speed=None,
                                          eta=None, state=state, message=message)
        return entry.progress

    def _notify(self, item_id: str, progress: DownloadProgress) -> None:
        if self._listener is None:
            return
        try:
            self._listener(item_id, progress)
        except Exception:  # noqa: BLE001 - a listener's bug must not stop the downloads
            _log.exception("download listener failed for %s", item_id)
