"""The Models panel's downloads: hub.pull's `Pull` run on the task pool, one at a time in the order asked,
with pause, resume, cancel and retry per download. Qt only for the signals and the progress timer.

A download's bytes, verification and install are `Pull.run()` (hub/pull.py), on a pool thread. Its progress
callback only stores the latest `DownloadProgress` on the item; a UI timer pulls it every PROGRESS_MS while a
download is resolving or running and stops when none is (nothing runs while idle). Every other change of
state arrives through the task's done or error callback, on the UI thread.

Phases of an item: queued -> resolving (the hub's metadata) -> running -> installed | paused | failed |
cancelled. Pause keeps the .part; resume queues the item again and the next `Pull` continues from it
(also after the app was restarted: the .part is found by its name). Cancel deletes the .part.
"""
from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..hub.catalog import Catalog, CatalogEntry, CatalogError
from ..hub.downloader import DownloadProgress
from ..hub.errors import DownloadCancelled, DownloadPaused, HubError
from ..hub.installed import InstalledModel, ModelLibrary
from ..hub.part_file import delete_partial, partial_bytes
from ..hub.pull import Pull, PullPlan, download_path, licence_accepted, plan_pull
from .tasks import TaskManager

_log = logging.getLogger(__name__)

PROGRESS_MS = 250
ACTIVE = ("resolving", "running")                 # a pool thread works for the item
SETTLED = ("installed", "paused", "failed", "cancelled")


@dataclass(frozen=True)
class _Where:
    """What download_path needs of a RemoteFile, for a .part whose plan is not made yet."""
    repo: str
    file: str


def partial_download_bytes(library: ModelLibrary, repo: str, file: str) -> int:
    """Bytes an unfinished download of repo/file left in the models folder (0 if none)."""
    return partial_bytes(download_path(library, _Where(repo, file)))


class DownloadItem:
    """One download as the panel shows it. Touched on the UI thread, except `progress` (written by the
    pool thread, read by the timer) and `pull` (guarded by the manager's lock)."""

    def __init__(self, item_id: str, repo: str, file: str | None, entry: CatalogEntry | None,
                 load_when_installed: bool):
        self.id = item_id
        self.repo = repo
        self.file = file
        self.entry = entry
        self.load_when_installed = load_when_installed
        self.phase = "queued"
        self.plan: PullPlan | None = None
        self.progress: DownloadProgress | None = None
        self.error: BaseException | None = None
        self.model: InstalledModel | None = None
        self.pull: Pull | None = None
        self.stop_asked: str | None = None    # "pause" or "cancel" asked before the Pull existed
        self.resume_asked = False             # resume() came while a pause was still stopping it

    @property
    def label(self) -> str:
        if self.entry is not None:
            return self.entry.name
        return f"{self.repo}/{self.file}" if self.file else self.repo

    @property
    def key(self) -> str:
        return f"{self.repo}/{self.file or ''}".lower()

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE


class DownloadManager(QObject):
    item_added = Signal(str)          # item id
    item_changed = Signal(str)        # phase, progress or error changed
    item_removed = Signal(str)
    model_installed = Signal(object, bool)   # InstalledModel, whether it should be loaded now
    download_failed = Signal(str, object)    # item id, the error (a HubError, or a bug)

    def __init__(self, tasks: TaskManager, library: ModelLibrary, config_dir: Path, parent: QObject | None = None,
                 *, download_options: dict | None = None, stall_timeout: float = 30.0):
        super().__init__(parent)
        self.tasks = tasks
        self.library = library
        self.config_dir = config_dir
        self.download_options = dict(download_options or {})
        self.stall_timeout = stall_timeout
        self.catalog: Catalog | None = None          # what plan_pull matches repos against (None: load it)
        self._items: dict[str, DownloadItem] = {}     # in the order asked: the queue order
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._shown: dict[str, DownloadProgress | None] = {}
        self._closing = False
        self.timer = QTimer(self)
        self.timer.setInterval(PROGRESS_MS)
        self.timer.timeout.connect(self._on_timer_timeout)

    # ---- reading

    def items(self) -> list[DownloadItem]:
        return list(self._items.values())

    def item(self, item_id: str) -> DownloadItem:
        return self._items[item_id]

    def find(self, repo: str, file: str | None) -> DownloadItem | None:
        """The item for repo/file that is not cancelled or installed, if any."""
        key = f"{repo}/{file or ''}".lower()
        for item in self._items.values():
            if item.key == key and item.phase not in ("cancelled", "installed"):
                return item
        return None

    # ---- asking

    def add(self, repo: str, file: str | None = None, entry: CatalogEntry | None = None,
            load_when_installed: bool = False) -> str:
        """Queues repo/file (a catalog entry's, or any hub repo's); returns the item's id. The same file
        asked again is the same item (a paused or failed one is resumed)."""
        existing = self.find(repo, file)
        if existing is not None:
            existing.load_when_installed = existing.load_when_installed or load_when_installed
            if existing.phase in ("paused", "failed"):
                self.resume(existing.id)
            return existing.id
        item = DownloadItem(f"download-{next(self._ids)}", repo, file, entry, load_when_installed)
        self._items[item.id] = item
        self.item_added.emit(item.id)
        self._start_next()
        return item.id

    def pause(self, item_id: str) -> None:
        item = self._items[item_id]
        if item.phase == "queued":
            self._set_phase(item, "paused")
        elif item.active:
            item.resume_asked = False
            self._stop(item, "pause")

    def resume(self, item_id: str) -> None:
        """Queues a paused or failed download again; it continues from its partial file."""
        item = self._items[item_id]
        if item.active:
            item.resume_asked = True      # a pause is still stopping it: queue it once it has stopped
            return
        if item.phase not in ("paused", "failed"):
            return
        item.error = None
        item.stop_asked = None
        self._set_phase(item, "queued")
        self._start_next()

    def cancel(self, item_id: str) -> None:
        """Stops the download and deletes its partial file."""
        item = self._items[item_id]
        if item.active:
            item.resume_asked = False
            self._stop(item, "cancel")
            return
        if item.phase in ("installed", "cancelled"):
            return
        self._delete_partial(item)
        self._set_phase(item, "cancelled")

    def dismiss(self, item_id: str) -> None:
        """Forgets a finished, failed or cancelled item (a paused one keeps its partial file)."""
        item = self._items.get(item_id)
        if item is None or item.active or item.phase == "queued":
            return
        del self._items[item_id]
        self._shown.pop(item_id, None)
        self.item_removed.emit(item_id)

    def shutdown(self) -> None:
        """The window is closing: running downloads pause (their .part stays for the next start) and
        nothing new starts; the pool's shutdown then waits for them to stop."""
        self._closing = True
        self.timer.stop()
        for item in self._items.values():
            if item.active:
                self._stop(item, "pause")

    # ---- running

    def _start_next(self) -> None:
        if self._closing or any(i.active for i in self._items.values()):
            self._update_timer()
            return
        item = next((i for i in self._items.values() if i.phase == "queued"), None)
        if item is not None:
            self._run(item)
        self._update_timer()

    def _run(self, item: DownloadItem) -> None:
        item.phase = "resolving" if item.plan is None else "running"
        item.progress = None
        item.error = None
        with self._lock:
            item.pull = None
            item.stop_asked = None
        library, config, options, stall = self.library, self.config_dir, self.download_options, self.stall_timeout
        catalog = self.catalog

        def on_progress(progress: DownloadProgress) -> None:   # the pool thread: only stored, pulled by the timer
            item.progress = progress

        def work() -> tuple[InstalledModel, bool]:
            from ..hub.catalog import load_catalog
            from ..hub.remote import HubClient

            client = HubClient(config_dir=config)          # reads the token stored now (a retry after login)
            plan = item.plan
            if plan is None:
                plan = plan_pull(item.repo, item.file, client=client,
                                 catalog=catalog if catalog is not None else load_catalog(config_dir=config))
                item.plan = plan
            accepted = plan.entry is None or licence_accepted(plan.entry, config)
            pull = Pull(plan, library, client, on_progress=on_progress, licence_accepted=accepted,
                        stall_timeout=stall, download_options=options)
            with self._lock:
                item.pull = pull
                stop = item.stop_asked
            if stop is not None:
                getattr(pull, stop)()
            return pull.run(), pull.already_installed

        self.item_changed.emit(item.id)
        self.tasks.run_in_background(work, lambda result: self._on_pull_done(item, result),
                                     lambda error: self._on_pull_failed(item, error))

    def _stop(self, item: DownloadItem, how: str) -> None:
        with self._lock:
            pull = item.pull
            item.stop_asked = how
        if pull is not None:
            getattr(pull, how)()

    def _on_pull_done(self, item: DownloadItem, result: tuple[InstalledModel, bool]) -> None:
        model, _already = result
        item.model = model
        item.file = item.file or model.file
        with self._lock:
            item.pull = None
        self._set_phase(item, "installed")
        self.model_installed.emit(model, item.load_when_installed)
        self._start_next()

    def _on_pull_failed(self, item: DownloadItem, error: BaseException) -> None:
        with self._lock:
            item.pull = None
            stop = item.stop_asked
        if isinstance(error, DownloadCancelled) or (stop == "cancel" and not isinstance(error, DownloadPaused)):
            self._delete_partial(item)
            self._set_phase(item, "cancelled")
        elif isinstance(error, DownloadPaused) or stop == "pause":
            if item.resume_asked and not self._closing:
                item.resume_asked = False
                self._set_phase(item, "queued")
            else:
                self._set_phase(item, "paused")
        else:
            if not isinstance(error, (HubError, CatalogError)):   # anything else is a bug: logged, and shown
                _log.error("download of %s failed unexpectedly", item.label, exc_info=error)
            item.error = error
            self._set_phase(item, "failed")
            self.download_failed.emit(item.id, error)
        self._start_next()

    def _delete_partial(self, item: DownloadItem) -> None:
        if item.plan is not None:
            delete_partial(download_path(self.library, item.plan.remote))
        elif item.file:
            delete_partial(download_path(self.library, _Where(item.repo, item.file)))

    def _set_phase(self, item: DownloadItem, phase: str) -> None:
        item.phase = phase
        self._shown[item.id] = item.progress
        self.item_changed.emit(item.id)
        self._update_timer()

    # ---- the progress timer: on only while a pool thread works for a download

    def _update_timer(self) -> None:
        active = not self._closing and any(i.active for i in self._items.values())
        if active and not self.timer.isActive():
            self.timer.start()
        elif not active and self.timer.isActive():
            self.timer.stop()

    def _on_timer_timeout(self) -> None:
        for item in self._items.values():
            if item.active and self._shown.get(item.id) is not item.progress:
                self._shown[item.id] = item.progress
                if item.phase == "resolving":     # the hub answered: bytes are moving
                    item.phase = "running"
                self.item_changed.emit(item.id)
        self._update_timer()
