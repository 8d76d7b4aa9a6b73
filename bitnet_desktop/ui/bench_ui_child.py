"""The child processes of `bench ui`: the app started through its real entry point
(`bitnet-desktop` with no command), watched from outside by an application event filter, so the
app's code has no benchmark hooks.

    python -m bitnet_desktop.ui.bench_ui_child startup
        prints {"shown_at": unix time of the window's first frame, "rss_bytes": after it settled}
    python -m bitnet_desktop.ui.bench_ui_child conversation MESSAGES IDLE_SECONDS
        fills the store with one MESSAGES-message conversation first, then prints
        {"open_seconds": open_conversation until the view has painted it,
         "idle_cpu_seconds": process CPU time during IDLE_SECONDS with it open}

The data folder is $BITNET_DESKTOP_DATA_DIR (the parent makes a fresh one). One JSON line on stdout.
"""
from __future__ import annotations

import json
import sys
import time

import psutil
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

SETTLE_MS = 500        # after the first frame, before memory is read (the startup timer has run)
IDLE_SETTLE_MS = 1000  # after opening the conversation, before idle CPU time is counted


class _FirstFrame(QObject):
    """Calls `then(window)` once, right after the main window's first exposure was handled
    (the expose handler paints the first frame)."""

    def __init__(self, then):
        super().__init__()
        self._then = then
        self._done = False

    def eventFilter(self, obj, event) -> bool:
        if not self._done and event.type() == QEvent.Type.Expose and obj.isWindowType() and obj.isExposed():
            self._done = True
            QTimer.singleShot(0, self._shown)
        return False

    def _shown(self) -> None:
        from .main_window import MainWindow

        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        self._then(window)


def _fill_store(messages: int) -> int:
    from ..chats.records import Conversation, Message
    from ..chats.store import ConversationStore
    from ..paths import database_path

    now = time.time()
    code = "```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```\n"
    items = [Message(0, 0, "user" if i % 2 == 0 else "assistant",
                     f"Question {i}: how does this work?" if i % 2 == 0 else
                     f"Answer {i}. **Bold**, *italic* and `code`:\n\n- one point\n- another point\n\n"
                     + (code if i % 10 == 1 else "A longer paragraph of plain text. " * 4), now + i)
             for i in range(messages)]
    database_path().parent.mkdir(parents=True, exist_ok=True)
    with ConversationStore.open(database_path()) as store:
        [conversation_id] = store.import_conversations([(Conversation(0, "A long chat", now, now), items)])
    return conversation_id


def _startup(result: dict):
    def shown(window) -> None:
        result["shown_at"] = time.time()

        def measured() -> None:
            result["rss_bytes"] = psutil.Process().memory_info().rss
            window.close()

        QTimer.singleShot(SETTLE_MS, measured)
    return shown


def _conversation(result: dict, conversation_id: int, idle_seconds: float):
    def shown(window) -> None:
        t0 = time.perf_counter()
        window.chat.open_conversation(conversation_id)
        window.chat.view.viewport().repaint()  # synchronous: the view as the user first sees it
        result["open_seconds"] = time.perf_counter() - t0
        QTimer.singleShot(IDLE_SETTLE_MS, lambda: idle(window))

    def idle(window) -> None:
        before = _cpu_seconds()

        def done() -> None:
            result["idle_cpu_seconds"] = _cpu_seconds() - before
            window.close()

        QTimer.singleShot(round(idle_seconds * 1000), done)
    return shown


def _cpu_seconds() -> float:
    return time.process_time()  # all threads, in ns (psutil's cpu_times counts 10 ms ticks)


def main(argv: list[str]) -> int:
    result: dict = {}
    app = QApplication([sys.argv[0]])  # what the app's main() would create; created here to watch it
    if argv[0] == "startup":
        watcher = _FirstFrame(_startup(result))
    elif argv[0] == "conversation":
        watcher = _FirstFrame(_conversation(result, _fill_store(int(argv[1])), float(argv[2])))
    else:
        raise SystemExit(f"unknown mode {argv[0]!r}")
    app.installEventFilter(watcher)
    from ..cli.main import main as app_main

    code = app_main([])
    app.removeEventFilter(watcher)
    print(json.dumps(result), flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
