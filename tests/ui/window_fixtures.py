"""A real main window on a fresh data folder, driving the real engine on synthetic models."""
from __future__ import annotations

import pytest

from bitnet_desktop.app_settings import AppSettings
from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.paths import database_path, settings_path
from bitnet_desktop.startup_check import run_startup_check
from bitnet_desktop.ui.main_window import MainWindow

LOAD_TIMEOUT_MS = 60_000
ANSWER_TIMEOUT_MS = 120_000


class WindowHarness:
    def __init__(self, qtbot, settings: AppSettings | None = None):
        self.qtbot = qtbot
        self.settings = settings or AppSettings.load(settings_path())
        self.store = ConversationStore.open(database_path())
        self.window = MainWindow(self.settings, self.store, run_startup_check(self.settings.kernel), settings_path())
        qtbot.addWidget(self.window)
        self.window.show()
        self.chat = self.window.chat

    def load(self, path) -> None:
        """Loads `path` in the window; a failed load fails at once with the window's message."""
        engine, outcome = self.window.engine, []
        engine.model_loaded.connect(outcome.append)
        engine.model_load_failed.connect(outcome.append)
        try:
            self.window.load_model(str(path))
            self.qtbot.waitUntil(lambda: bool(outcome), timeout=LOAD_TIMEOUT_MS)
        finally:
            engine.model_loaded.disconnect(outcome.append)
            engine.model_load_failed.disconnect(outcome.append)
        if isinstance(outcome[0], str):
            raise AssertionError(f"{path} did not load: {outcome[0]}")

    def send_and_wait(self, text: str):
        with self.qtbot.waitSignal(self.chat.answer_finished, timeout=ANSWER_TIMEOUT_MS) as blocker:
            self.chat.composer.set_text(text)
            self.chat.send(text)
        return blocker.args[0]

    def close(self) -> None:
        if self.window.isVisible():
            self.window.close()
        self.store.close()


@pytest.fixture
def harness(qtbot):
    made = []

    def make(settings: AppSettings | None = None) -> WindowHarness:
        h = WindowHarness(qtbot, settings)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()
