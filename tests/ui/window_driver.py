"""Drives the real window in a process of its own, for the tests that must kill it or show it on a
real X server (test_window_kill.py, test_screenshots.py). Not a test module itself.

    python -m tests.ui.window_driver kill --data-dir D --model M
    python -m tests.ui.window_driver reopen --data-dir D --conversation ID
    python -m tests.ui.window_driver screenshots --data-dir D --model M --out FOLDER
    python -m tests.ui.window_driver completion-screenshots --data-dir D --model BASE_MODEL --out FOLDER
    python -m tests.ui.window_driver completion-kill --data-dir D --model BASE_MODEL
    python -m tests.ui.window_driver completion-reopen --data-dir D

The app starts exactly as `bitnet-desktop --data-dir D` starts it (`bitnet_desktop.ui.app.main`); a
script scheduled before the event loop runs then finds the window and works it as a person would.
Each step is one line on stdout (flushed at once: the test reads them while the process runs):

    kill:        loaded, conversation <id>, first-finished <reason>, second-sent, streamed <chars>
                 (at every drain of the streaming answer), then nothing: the test kills the process
    reopen:      shown <json of what the chat view shows>, then the window closes normally
    screenshots: shot <json: name, path, width, height> per picture (first-run, chat-light,
                 chat-light-end, settings-dialog, chat-dark), then done
    completion-screenshots: loaded, then shot <json> per picture (completion, completion-continued),
                 then done
    completion-kill: loaded, document <id>, then streamed <chars> at every drain of the
                 continuation; the test kills the process
    completion-reopen: shown <json of the open document and what the editor shows>, then the window
                 closes normally

Failures are "error <text>" and a non-zero exit; an unexpected Qt warning makes the exit status 3.
A watchdog ends the process after WATCHDOG_S whatever happens, so a caller's wait is always bounded.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import traceback
from pathlib import Path

WATCHDOG_S = 240.0
# Qt notices that say nothing about the app (the same list as pyproject's qt_log_ignore, plus
# the X server's missing session folder).
QT_NOISE = ("does not support propagateSizeHints", "OpenType support missing", "QFont::fromString",
            "This plugin does not support", "XDG_RUNTIME_DIR")
POLL_MS = 50            # poll_until's period; its timeout is shorter than the tests' wait for a line

FIRST_SAMPLING = {"temperature": 1.0, "max_tokens": 24, "seed": 1}
SECOND_SAMPLING = {"temperature": 1.0, "max_tokens": 4000, "seed": 1}
# Seed 2 on the completion tests' base model writes thousands of tokens before it meets end-of-text.
CONTINUATION_SAMPLING = {"temperature": 1.0, "max_tokens": 4000, "seed": 2, "top_k": 0, "top_p": 1.0, "min_p": 0.0}
DOCUMENT_START = "A very long story:"
FIRST_MESSAGE = "Hello! Who are you?"
SECOND_MESSAGE = "Please tell me a very long story about a lighthouse keeper."

qt_warnings: list[str] = []


def say(line: str) -> None:
    print(line, flush=True)


def _watchdog() -> None:
    say(f"error watchdog: the driver ran past {WATCHDOG_S:.0f} s")
    sys.stderr.flush()
    os._exit(4)


def _on_qt_message(mode, context, message: str) -> None:
    from PySide6.QtCore import QtMsgType

    print(f"qt: {message}", file=sys.stderr, flush=True)
    if mode != QtMsgType.QtDebugMsg and mode != QtMsgType.QtInfoMsg and not any(n in message for n in QT_NOISE):
        qt_warnings.append(message)


def write_settings(data_dir: Path, **values) -> None:
    """The settings file the window reads at start (the data folder moves the config folder too)."""
    from bitnet_desktop.app_settings import AppSettings
    from bitnet_desktop.paths import settings_path

    settings = AppSettings.load(settings_path(data_dir))
    for name, value in values.items():
        setattr(settings, name, value)
    settings.save(settings_path(data_dir))


def find_window():
    from PySide6.QtWidgets import QApplication

    from bitnet_desktop.ui.main_window import MainWindow

    return next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))


def fail(message: str) -> None:
    from PySide6.QtWidgets import QApplication

    say(f"error {message}")
    QApplication.instance().exit(5)


def poll_until(condition, then, what: str, timeout_s: float = 60.0) -> None:
    """Calls `then()` once `condition()` holds, checking every POLL_MS from the event loop."""
    from PySide6.QtCore import QTimer

    tries = int(timeout_s * 1000 / POLL_MS)

    def check(left: int) -> None:
        try:
            if condition():
                then()
            elif left <= 0:
                fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
            else:
                QTimer.singleShot(POLL_MS, lambda: check(left - 1))
        except Exception:  # noqa: BLE001 - any failure of the script ends the run, visibly
            fail(traceback.format_exc().replace("\n", " | "))

    QTimer.singleShot(0, lambda: check(tries))


def guarded(fn):
    """A slot of the script: an exception ends the run with its traceback instead of being lost."""
    def run(*args):
        try:
            fn(*args)
        except Exception:  # noqa: BLE001
            fail(traceback.format_exc().replace("\n", " | "))
    return run


def load_model(window, model: str, then) -> None:
    def loaded(_info) -> None:
        window.chat.engine.model_loaded.disconnect(on_loaded)
        window.chat.engine.model_load_failed.disconnect(on_failed)
        say("loaded")
        then()

    on_loaded, on_failed = guarded(loaded), guarded(lambda message: fail(f"the model did not load: {message}"))
    window.chat.engine.model_loaded.connect(on_loaded)
    window.chat.engine.model_load_failed.connect(on_failed)
    window.load_model(model)


def type_and_send(window, text: str) -> None:
    composer = window.chat.composer
    composer.set_text(text)
    if not composer.button.isEnabled():
        raise RuntimeError(f"the Send button is disabled: {composer.reason.text()!r}")
    composer.button.click()


# ---- kill: two messages; the second answer streams until the test kills the process


def script_kill(args) -> None:
    window = find_window()
    chat = window.chat
    view = chat.view
    show_streaming = view.update_streaming

    def update_streaming(text: str) -> None:   # what the drain timer hands the view, as it streams
        show_streaming(text)
        say(f"streamed {len(text)}")

    view.update_streaming = update_streaming

    def send_first() -> None:
        conversation_id = chat.new_conversation()
        chat.store.update_conversation(conversation_id, sampling=FIRST_SAMPLING)
        say(f"conversation {conversation_id}")
        chat.answer_finished.connect(on_first_finished)
        type_and_send(window, FIRST_MESSAGE)

    def first_finished(outcome) -> None:
        chat.answer_finished.disconnect(on_first_finished)
        say(f"first-finished {outcome.finished.reason.value}")
        chat.answer_finished.connect(guarded(lambda o: say(f"second-finished {o.finished.reason.value}")))
        chat.store.update_conversation(chat.conversation_id, sampling=SECOND_SAMPLING)
        type_and_send(window, SECOND_MESSAGE)
        say("second-sent")

    on_first_finished = guarded(first_finished)
    load_model(window, args.model, guarded(send_first))


# ---- reopen: open the conversation the killed window was answering in, and show what it shows


def script_reopen(args) -> None:
    window = find_window()
    # The window loads the last model at start, as it does for a person; show once that is done.
    poll_until(lambda: not window.chat.engine.loading, guarded(lambda: show_conversation(window, args.conversation)),
               "the last model to load")


def show_conversation(window, conversation_id: int) -> None:
    from PySide6.QtWidgets import QApplication

    window.chat.open_conversation(conversation_id)
    view = window.chat.view
    shown = {"conversation_id": window.chat.conversation_id, "message_ids": view.message_ids(),
             "text": view.toPlainText(), "selected": window.chat.conversations.current_id()}
    say("shown " + json.dumps(shown))
    window.close()
    if window.isVisible():
        fail("the window did not close")
        return
    QApplication.instance().quit()


# ---- screenshots: the window on a real X server, light and dark


def save_window_picture(window, out: Path, name: str) -> None:
    """The window's pixels as the X server has them (dialogs over it included), as out/name.png."""
    window.repaint()
    image = window.screen().grabWindow(window.winId()).toImage()
    if image.isNull():
        raise RuntimeError(f"grabWindow gave no image for {name}")
    path = out / f"{name}.png"
    if not image.save(str(path)):
        raise RuntimeError(f"{path} could not be written")
    ratio = window.devicePixelRatio()
    say("shot " + json.dumps({"name": name, "path": str(path), "width": round(window.width() * ratio),
                              "height": round(window.height() * ratio)}))


def script_screenshots(args) -> None:
    from PySide6.QtWidgets import QApplication, QLabel

    from bitnet_desktop.ui.theme import apply_theme
    from tests.ui import screenshot_chat

    app = QApplication.instance()
    window = find_window()
    chat = window.chat
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def shown(widget) -> bool:
        handle = widget.window().windowHandle()
        return widget.isVisible() and handle is not None and handle.isExposed()

    def shoot(name: str, then) -> None:
        save_window_picture(window, out, name)
        then()

    def first_run() -> None:
        if chat.stack.currentWidget() is not chat.first_run:
            raise RuntimeError("a fresh window does not show the first-run page")
        shoot("first-run", lambda: load_model(window, args.model, guarded(fill)))

    ids: dict[str, int] = {}

    def fill() -> None:
        ids.update(screenshot_chat.fill_store(chat.store, args.model))
        chat.conversations.refresh()
        chat.open_conversation(ids["open"])
        view = chat.view
        view.scroll_to_message(ids["question"])    # the question and the start of the answer
        context = chat.stats.findChild(QLabel, "stats_context")   # counted on the engine thread
        poll_until(lambda: shown(view) and context.text() != "",
                   guarded(lambda: shoot("chat-light", guarded(show_end))), "the chat and its context use to show")

    def show_end() -> None:
        bar = chat.view.verticalScrollBar()
        bar.setValue(bar.maximum())    # the end of the answer, as the conversation opens
        shoot("chat-light-end", guarded(open_settings))

    def open_settings() -> None:
        window.edit_settings()
        dialog = window.settings_dialog
        poll_until(lambda: shown(dialog), guarded(lambda: shoot("settings-dialog", guarded(lambda: go_dark(dialog)))),
                   "the settings dialog to show")

    def go_dark(dialog) -> None:
        dialog.reject()
        dark = apply_theme(app, "dark", window.settings.font_size)
        if not dark:
            raise RuntimeError("apply_theme('dark') did not report a dark theme")
        chat.view.set_dark(True)
        chat.view.scroll_to_message(ids["question"])
        poll_until(lambda: not dialog.isVisible(), guarded(lambda: shoot("chat-dark", finish)),
                   "the settings dialog to close")

    def finish() -> None:
        say("done")
        window.close()
        app.quit()

    poll_until(lambda: shown(window) and shown(chat.first_run), guarded(first_run), "the window to show")


# ---- completion-screenshots: a base model's text-completion view, before and after Continue


def script_completion_screenshots(args) -> None:
    from PySide6.QtWidgets import QApplication, QLabel

    from tests.ui import screenshot_completion

    app = QApplication.instance()
    window = find_window()
    page = window.completion
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def shoot(name: str, then) -> None:
        save_window_picture(window, out, name)
        then()

    def fill() -> None:
        if not window.showing_completion:
            raise RuntimeError("the base model did not open the completion view")
        document_id = screenshot_completion.fill_store(window.store, args.model)
        page.open_document(document_id)
        context = page.stats.findChild(QLabel, "stats_context")   # counted on the engine thread
        handle = window.windowHandle()
        poll_until(lambda: page.editor.isVisible() and handle is not None and handle.isExposed()
                   and context.text() != "", guarded(lambda: shoot("completion", guarded(continue_text))),
                   "the document and its context use to show")

    def continue_text() -> None:
        page.continuation_finished.connect(guarded(lambda _outcome: shoot("completion-continued", finish)))
        page.continue_text()

    def finish() -> None:
        say("done")
        window.close()
        app.quit()

    load_model(window, args.model, guarded(fill))


# ---- completion-kill / completion-reopen: a base model's continuation killed while it streams


def script_completion_kill(args) -> None:
    window = find_window()
    page = window.completion
    show_continuation = page._show_continuation

    def streamed(text: str) -> None:   # what the drain timer hands the editor, as it streams
        show_continuation(text)
        say(f"streamed {len(text)}")

    page._show_continuation = streamed

    def start() -> None:
        document_id = page.new_document()
        page.documents.update_document(document_id, sampling=CONTINUATION_SAMPLING)
        page.editor.setPlainText(DOCUMENT_START)
        say(f"document {document_id}")
        if not page.can_continue:
            raise RuntimeError(f"Continue is not possible: {page.reason.text()!r}")
        page.button.click()

    load_model(window, args.model, guarded(start))


def script_completion_reopen(args) -> None:
    from PySide6.QtWidgets import QApplication

    window = find_window()

    def show() -> None:
        page = window.completion
        say("shown " + json.dumps({"document_id": page.document_id, "text": page.editor.toPlainText(),
                                   "showing_completion": window.showing_completion,
                                   "listed": page.document_list.document_ids()}))
        window.close()
        if window.isVisible():
            fail("the window did not close")
            return
        QApplication.instance().quit()

    # The window loads the last model (the base model) at start; show once that is done.
    poll_until(lambda: not window.engine.loading and window.engine.info is not None, guarded(show),
               "the last model to load")


SCRIPTS = {"kill": script_kill, "reopen": script_reopen, "screenshots": script_screenshots,
           "completion-screenshots": script_completion_screenshots, "completion-kill": script_completion_kill,
           "completion-reopen": script_completion_reopen}


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="window_driver")
    p.add_argument("mode", choices=sorted(SCRIPTS))
    p.add_argument("--data-dir", required=True)
    p.add_argument("--model")
    p.add_argument("--conversation", type=int)
    p.add_argument("--out")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    watchdog = threading.Timer(WATCHDOG_S, _watchdog)
    watchdog.daemon = True
    watchdog.start()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    data_dir = Path(args.data_dir).resolve()
    # One thread and a large context: the small model then answers for seconds, not a fraction of one,
    # and the run leaves the other core to whatever else the machine is doing.
    settings = {"threads": 1, "context_length": 8192}
    if args.mode in ("screenshots", "completion-screenshots"):
        settings["theme"] = "light"
    if args.mode not in ("reopen", "completion-reopen"):
        write_settings(data_dir, **settings)

    from PySide6.QtCore import QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from bitnet_desktop.ui.app import main as app_main

    qInstallMessageHandler(_on_qt_message)
    # main() takes the application that exists; the script runs once its event loop is going.
    app = QApplication.instance() or QApplication([sys.argv[0]])
    # Twice queued: the script starts after the window's own start-up step (main() queues it next).
    QTimer.singleShot(0, lambda: QTimer.singleShot(0, guarded(lambda: SCRIPTS[args.mode](args))))
    status = app_main(["--data-dir", str(data_dir)])
    if status == 0 and qt_warnings:
        say("error unexpected Qt warnings: " + " | ".join(qt_warnings))
        status = 3
    sys.stdout.flush()
    sys.stderr.flush()
    # Exit without tearing the widgets down in interpreter shutdown (PySide6 sometimes aborts there).
    os._exit(status)


if __name__ == "__main__":
    main()
