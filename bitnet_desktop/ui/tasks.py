"""Where work runs: one engine thread for the loaded model, a small pool for disk work, and
`run_on_main` to come back to the UI thread.

The engine thread is a one-worker executor: the model and its KV cache are not re-entrant, so
loading, prompt processing and generation queue up there one request at a time. Callbacks
(`on_done`, `on_error`) always run on the UI thread. Closures posted from other threads are kept
in a locked list and drained by one queued signal, so any number of posts costs one event.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot


class TaskManager(QObject):
    _closures_posted = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._engine = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bitnet-engine")
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bitnet-io")
        self._lock = threading.Lock()
        self._closures: list[Callable[[], None]] = []
        self._closures_posted.connect(self._on_closures_posted, Qt.ConnectionType.QueuedConnection)

    def run_on_main(self, closure: Callable[[], None]) -> None:
        """Runs `closure` on the UI thread soon (safe from any thread)."""
        with self._lock:
            self._closures.append(closure)
            first = len(self._closures) == 1
        if first:
            self._closures_posted.emit()

    def run_on_engine(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None) -> Future:
        """Runs `fn` on the engine thread, after any request already queued there."""
        return self._submit(self._engine, fn, on_done, on_error)

    def run_in_background(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
                          on_error: Callable[[BaseException], None] | None = None) -> Future:
        """Runs `fn` on the disk/network pool."""
        return self._submit(self._pool, fn, on_done, on_error)

    def shutdown(self, wait: bool = True) -> None:
        self._engine.shutdown(wait=wait, cancel_futures=True)
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _submit(self, executor, fn, on_done, on_error) -> Future:
        future = executor.submit(fn)

        def finished(f: Future) -> None:
            if f.cancelled():
                return
            error = f.exception()
            if error is not None:
                if on_error is not None:
                    self.run_on_main(lambda: on_error(error))
            elif on_done is not None:
                self.run_on_main(lambda: on_done(f.result()))

        future.add_done_callback(finished)
        return future

    @Slot()
    def _on_closures_posted(self) -> None:
        with self._lock:
            closures, self._closures = self._closures, []
        for closure in closures:
            closure()
