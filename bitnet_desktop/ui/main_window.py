"""The main window: Chat, Models, Benchmark and Settings places; menus; the window's size,
splitter and open conversation restored on start and saved on close; a clean shutdown that
stops an answer (keeping what was written) before the model is closed.

The first place shows the chat, or, while a base model (no chat template) is loaded, the
text-completion view in its stead; loading a chat model brings the chat back."""
from __future__ import annotations

import base64
import os

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QStackedWidget, QTabWidget, QWidget

from ..app_settings import AppSettings
from ..chats.store import ConversationStore
from .chat_page import ChatPage
from .completion_page import CompletionPage
from .engine_controller import EngineController, ModelInfo
from .models_panel import ModelsPanel
from .places import SettingsPage, SystemPage
from .settings_dialog import AppSettingsDialog
from ..startup_check import StartupCheck
from .tasks import TaskManager
from .theme import apply_theme

MODEL_FILTER = "GGUF models (*.gguf);;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, store: ConversationStore, check: StartupCheck,
                 settings_path=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("BitNet Desktop")
        self.settings, self.store, self.check = settings, store, check
        self.settings_path = settings_path
        self._closing_despite_unsaved_text = False   # a close was refused once because a save failed
        self.tasks = TaskManager(self)
        self.engine = EngineController(self.tasks, self)
        self.chat = ChatPage(store, self.tasks, self.engine, settings, self)
        self.completion = CompletionPage(store, self.tasks, self.engine, settings, self)
        self.writing = QStackedWidget(self)   # the chat, or the completion view for a base model
        self.writing.addWidget(self.chat)
        self.writing.addWidget(self.completion)
        self.models = ModelsPanel(settings, self.tasks, self.engine, self)
        self.system = SystemPage(check.facts, check.library_problem, self)
        self.settings_page = SettingsPage(settings, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.writing, "Chat")
        self.tabs.addTab(self.models, "Models")
        self.tabs.addTab(self.system, "Benchmark")
        self.tabs.addTab(self.settings_page, "Settings")
        self.setCentralWidget(self.tabs)
        self._build_menus()
        self.chat.open_model_requested.connect(self.choose_model_file)
        self.completion.open_model_requested.connect(self.choose_model_file)
        self.engine.model_loaded.connect(self._on_engine_model_loaded)
        self.models.open_file_requested.connect(self.choose_model_file)
        self.models.model_chosen.connect(self.load_model)
        self.chat.first_run.download_requested.connect(self._on_first_run_download_requested)
        self.chat.answer_finished.connect(self.models.record_answer)
        self.completion.continuation_finished.connect(self.models.record_answer)
        offer = self.models.first_run_offer()
        self.chat.first_run.offer_download(*(offer or (None, None)))
        self.settings_page.change_requested.connect(self.edit_settings)
        self.resize(1100, 760)
        self._restore_state()
        for problem in check.problems:
            self.chat.show_error(problem)
        if settings.load_problem:
            self.chat.show_error(f"Settings: {settings.load_problem}")
        if store.quarantined is not None:
            self.chat.show_error(f"The conversation database was damaged and was moved aside to "
                                 f"{store.quarantined}; a new one was started.")

    # ---- menus

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open model file…", self.choose_model_file, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &recent model")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.new_action = self._action(file_menu, "&New chat", self._new_writing, QKeySequence.StandardKey.New)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit_menu = self.menuBar().addMenu("&Settings")
        self._action(edit_menu, "App &settings…", self.edit_settings, QKeySequence.StandardKey.Preferences)
        self._action(edit_menu, "&Chat settings…", self.chat.edit_conversation_settings)

    def _action(self, menu: QMenu, text: str, slot, shortcut=None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(shortcut)
        return action

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_models:
            action = self.recent_menu.addAction(path)
            action.setEnabled(os.path.exists(path))
            action.triggered.connect(lambda _=False, p=path: self.load_model(p))
        if not self.settings.recent_models:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    # ---- models

    def choose_model_file(self) -> None:
        start = os.path.dirname(self.settings.recent_models[0]) if self.settings.recent_models else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a BitNet model", start, MODEL_FILTER)
        if path:
            self.load_model(path)

    def load_model(self, path: str) -> None:
        if not self.check.library_ok:
            self.chat.show_error(f"Models cannot be loaded: {self.check.library_problem}")
            return
        self.chat.stop()
        self.completion.stop()
        self.completion.save_now()
        self.settings.add_recent_model(path)
        self.settings.last_model = path
        self._save_settings()
        self.models.refresh()
        options = self.settings.load_options()
        if self.check.kernel_fallback:
            options = type(options)(**{**options.__dict__, "kernel": "ref"})
        self.engine.load(path, options)
        self.chat.model_bar.show_loading("queued", 0.0)
        self.completion.model_bar.show_loading("queued", 0.0)
        self.tabs.setCurrentWidget(self.writing)

    @property
    def showing_completion(self) -> bool:
        return self.writing.currentWidget() is self.completion

    def _on_engine_model_loaded(self, info: ModelInfo) -> None:
        page = self.completion if info.base_model else self.chat
        self.writing.setCurrentWidget(page)
        self.tabs.setTabText(self.tabs.indexOf(self.writing), "Completion" if info.base_model else "Chat")
        self.new_action.setText("&New document" if info.base_model else "&New chat")

    def _new_writing(self) -> None:
        if self.showing_completion:
            self.completion.new_document()
        else:
            self.chat.new_conversation()

    def _on_first_run_download_requested(self) -> None:
        self.models.download_first_run_model()
        self.tabs.setCurrentWidget(self.models)

    # ---- settings

    def edit_settings(self) -> None:
        dialog = AppSettingsDialog(self.settings, self.check.supported_kernels, self.check.kernel_reasons, self)
        dialog.accepted.connect(lambda: self._on_settings_dialog_accepted(dialog))
        dialog.open()
        self.settings_dialog = dialog

    def _on_settings_dialog_accepted(self, dialog: AppSettingsDialog) -> None:
        chosen = dialog.result_settings()
        for name in ("threads", "kernel", "head", "context_length", "context_policy", "theme", "font_size",
                     "watts_per_core"):
            setattr(self.settings, name, getattr(chosen, name))
        from PySide6.QtWidgets import QApplication
        dark = apply_theme(QApplication.instance(), self.settings.theme, self.settings.font_size)
        self.chat.view.set_dark(dark)
        self.chat.view.set_font_point_size(self.settings.font_size)
        self.settings_page.refresh()
        self.models.refresh()
        self._save_settings()

    def _save_settings(self) -> None:
        try:
            self.settings.save(self.settings_path)
        except (OSError, ValueError) as exc:
            self.chat.show_error(f"The settings could not be saved: {exc}")

    def _restore_state(self) -> None:
        s = self.settings
        if s.window_geometry:
            self.restoreGeometry(QByteArray(base64.b64decode(s.window_geometry)))
        if s.splitter_state:
            self.chat.splitter.restoreState(QByteArray(base64.b64decode(s.splitter_state)))
        if s.open_conversation is not None:
            try:
                self.store.conversation(s.open_conversation)
            except KeyError:
                s.open_conversation = None
            else:
                self.chat.open_conversation(s.open_conversation)

    def start(self) -> None:
        """After the window is shown: load the default model, else the last one, if there is one."""
        last = self.models.default_model_path() or self.settings.last_model
        if last and os.path.exists(last) and self.check.library_ok:
            self.load_model(last)

    # ---- closing

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.completion.save_now() and not self._closing_despite_unsaved_text:
            # The completion page shows why; the typed text is still in its editor.
            self._closing_despite_unsaved_text = True
            self.completion.show_error(f"{self.completion.notice.text()}\nClose the window again to quit "
                                       "without it (copy the text elsewhere first).")
            self.writing.setCurrentWidget(self.completion)
            self.tabs.setCurrentWidget(self.writing)
            event.ignore()
            return
        self.chat.stop()
        self.completion.stop()
        self.chat.wait_for_answer()
        self.completion.wait_for_continuation()   # it saves its own text on the engine thread
        self.settings.window_geometry = base64.b64encode(bytes(self.saveGeometry())).decode()
        self.settings.splitter_state = base64.b64encode(bytes(self.chat.splitter.saveState())).decode()
        self.settings.open_conversation = self.chat.conversation_id
        self._save_settings()
        self.models.shutdown()
        self.engine.shutdown()
        self.tasks.shutdown()
        super().closeEvent(event)
