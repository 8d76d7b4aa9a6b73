"""The text-completion view, shown in place of the chat while a base model (no chat template) is
loaded: the documents on the left; on the right the model bar, the document, Continue / Stop and
the live stats. The user writes; Continue (Ctrl+Enter) has the model continue the text at its end.

The continuation runs on the engine thread through a CompletionSession, which saves the document
as it grows; this page pulls its LiveAnswer on a timer that runs only while the model writes, and
appends what is new to the editor, which is read-only meanwhile; Stop (Esc) ends it. What the user
types is saved at most SAVE_DELAY_MS after the first unsaved change (a one-shot timer), before
every continuation, when another document is opened and when the window closes.
"""
from __future__ import annotations

from concurrent.futures import Future

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)

from ..app_settings import AppSettings
from ..chats.completion import CompletionSession, ContinuationOutcome, new_title
from ..chats.documents import DEFAULT_DOCUMENT_TITLE
from ..chats.errors import StoreError
from ..chats.live_answer import AnswerSnapshot, LiveAnswer
from ..chats.session import CancelToken
from ..chats.store import ConversationStore
from .chat_page import DRAIN_INTERVAL_MS
from .conversation_settings import ConversationSettingsDialog
from .document_list import DocumentList
from .engine_controller import EngineController, ModelInfo
from .live_stats import LiveStats
from .model_bar import ModelBar
from .stats_bar import StatsBar
from .tasks import TaskManager

SAVE_DELAY_MS = 1000
CONTINUE_KEYS = ("Ctrl+Return", "Ctrl+Enter")
STOP_KEY = "Esc"
_LINE_BREAKS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n"})


def as_shown(text: str) -> str:
    """`text` as the editor gives it back: Qt's plain-text editor turns every line break (CR LF,
    CR, U+2028, U+2029) into LF. The store keeps what the model wrote until the user edits it."""
    return text.replace("\r\n", "\n").translate(_LINE_BREAKS)


class CompletionPage(QWidget):
    open_model_requested = Signal()
    error_shown = Signal(str)                 # every error message shown to the user (tests listen)
    continuation_finished = Signal(object)    # ContinuationOutcome, after the editor and store are up to date

    def __init__(self, store: ConversationStore, tasks: TaskManager, engine: EngineController,
                 settings: AppSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.documents, self.tasks, self.engine, self.settings = store.documents, tasks, engine, settings
        self.document_id: int | None = None
        self._live: LiveAnswer | None = None
        self._cancel: CancelToken | None = None
        self._run: Future | None = None
        self._start_text = ""           # the document when the continuation started
        self._shown = ""                # the part of the continuation the editor shows
        self._seen_version = -1
        self._unsaved = False
        self._writing_editor = False    # the page changes the editor itself: not the user typing

        self.document_list = DocumentList(self)
        self.model_bar = ModelBar(self)
        self.model_bar.settings_button.setText("Completion settings…")
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("completion_editor")
        self.editor.setPlaceholderText("Write the beginning of a text; the model continues it (Ctrl+Enter).")
        self.notice = QLabel(self)
        self.notice.setObjectName("completion_notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.prompt_progress = QProgressBar(self)
        self.prompt_progress.setFormat("Reading the document: %v / %m tokens")
        self.prompt_progress.hide()
        self.reason = QLabel(self)
        self.reason.setObjectName("completion_reason")
        self.reason.setWordWrap(True)
        self.button = QPushButton("Continue", self)
        self.button.setObjectName("continue_button")
        self.button.setToolTip("The model continues the text at its end (Ctrl+Enter)")
        self.stats = StatsBar(self)
        self.live_stats = LiveStats(self.stats, engine, settings.watts_per_core)

        controls = QHBoxLayout()
        controls.addWidget(self.reason, 1)
        controls.addWidget(self.button)
        right = QWidget(self)
        column = QVBoxLayout(right)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self.model_bar)
        column.addWidget(self.editor, 1)
        column.addWidget(self.notice)
        column.addWidget(self.prompt_progress)
        column.addLayout(controls)
        column.addWidget(self.stats)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.document_list)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.document_list.setMinimumWidth(200)
        self.splitter.setSizes([260, 840])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(DRAIN_INTERVAL_MS)
        self._drain_timer.timeout.connect(self._on_drain_timer_timeout)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_now)
        for keys, slot in [(k, self.continue_text) for k in CONTINUE_KEYS] + [(STOP_KEY, self.stop)]:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.button.clicked.connect(self._on_button_clicked)
        self.document_list.document_selected.connect(self.open_document)
        self.document_list.new_requested.connect(self.new_document)
        self.document_list.delete_confirmed.connect(self._on_document_list_delete_confirmed)
        self.model_bar.open_requested.connect(self.open_model_requested)
        self.model_bar.unload_requested.connect(self._on_model_bar_unload)
        self.model_bar.cancel_load_requested.connect(engine.cancel_load)
        self.model_bar.settings_requested.connect(self.edit_settings)
        engine.load_progressed.connect(self._on_engine_load_progressed)
        engine.model_loaded.connect(self._on_engine_model_loaded)
        engine.model_load_failed.connect(self._on_engine_model_load_failed)
        engine.model_unloaded.connect(self._on_engine_model_unloaded)
        self._open_latest()
        self._update_controls()

    # ---- state

    @property
    def generating(self) -> bool:
        return self._run is not None

    @property
    def can_continue(self) -> bool:
        return self._blocked_reason() is None and not self.generating

    def snapshot(self) -> AnswerSnapshot | None:
        """The continuation being written as the engine thread last reported it, or None."""
        live = self._live
        return live.snapshot() if live is not None else None

    def _blocked_reason(self) -> str | None:
        if self.engine.loading:
            return "Loading the model…"
        if self.engine.info is None:
            return "Open a model to continue the text (Open model… above, or the Models tab)."
        return None

    def _update_controls(self) -> None:
        reason = "Writing… (Stop or Esc keeps what was written so far)" if self.generating else self._blocked_reason()
        self.button.setText("Stop" if self.generating else "Continue")
        self.button.setEnabled(self.generating or reason is None)
        self.reason.setText(reason or "Ctrl+Enter continues the text at its end.")
        self.editor.setReadOnly(self.generating)
        self.document_list.setEnabled(not self.generating)

    def show_error(self, message: str) -> None:
        self.notice.setText(message)
        self.notice.setStyleSheet("color: #c92a2a;")
        self.notice.show()
        self.error_shown.emit(message)

    def show_info(self, message: str) -> None:
        self.notice.setText(message)
        self.notice.setStyleSheet("")
        self.notice.show()

    # ---- documents

    def _refresh_list(self) -> None:
        try:
            documents = self.documents.documents()
        except StoreError as exc:
            self.show_error(str(exc))
            return
        self.document_list.show_documents(documents, self.document_id)

    def _open_latest(self) -> None:
        """The most recently changed document, as the window opens (nothing typed is lost on a restart)."""
        try:
            latest = next(iter(self.documents.documents()), None)
        except StoreError as exc:
            self.show_error(str(exc))
            return
        if latest is not None:
            self.open_document(latest.id)

    def open_document(self, document_id: int | None) -> None:
        if self.generating or (document_id == self.document_id and document_id is not None):
            return
        if not self.save_now():
            return
        text = ""
        if document_id is not None:
            try:
                text = self.documents.document(document_id).text
            except StoreError as exc:
                self.show_error(str(exc))
                return
        self.document_id = document_id
        self._set_editor_text(text)
        self.notice.hide()
        self._refresh_list()
        self._show_context_use()

    def new_document(self) -> int | None:
        if self.generating or not self.save_now():
            return None
        try:
            document = self.documents.create_document(sampling=dict(self.settings.default_sampling))
        except StoreError as exc:
            self.show_error(str(exc))
            return None
        self.open_document(document.id)
        self.editor.setFocus()
        return document.id

    def save_now(self) -> bool:
        """Writes what the user typed, if anything is unsaved; False (with the error shown, the text
        kept in the editor) when the store refused it."""
        self._save_timer.stop()
        if not self._unsaved or self.generating:
            return True
        text = self.editor.toPlainText()
        try:
            if self.document_id is None:
                self.document_id = self.documents.create_document(
                    new_title(DEFAULT_DOCUMENT_TITLE, text) or DEFAULT_DOCUMENT_TITLE, text,
                    sampling=dict(self.settings.default_sampling)).id
            else:
                title = self.documents.document(self.document_id).title
                self.documents.update_document(self.document_id, text=text, title=new_title(title, text))
        except StoreError as exc:
            self.show_error(f"Your text was not saved (it stays in the editor; saving is tried again): {exc}")
            return False
        self._unsaved = False
        self._refresh_list()
        return True

    def _set_editor_text(self, text: str) -> None:
        self._writing_editor = True
        try:
            self.editor.setPlainText(text)
        finally:
            self._writing_editor = False
        self._unsaved = False
        self._save_timer.stop()

    def _on_editor_text_changed(self) -> None:
        if self._writing_editor or self.generating:
            return
        self._unsaved = True
        if not self._save_timer.isActive():
            self._save_timer.start()

    def _on_document_list_delete_confirmed(self, document_id: int) -> None:
        if self.generating:
            return
        try:
            self.documents.delete_document(document_id)
        except StoreError as exc:
            self.show_error(str(exc))
            return
        if document_id == self.document_id:
            self.document_id = None
            self._set_editor_text("")
            self._open_latest()
        self._refresh_list()

    def edit_settings(self) -> None:
        if self.document_id is None and (self.new_document() is None):
            return
        document = self.documents.document(self.document_id)
        dialog = ConversationSettingsDialog("", document.sampling, self.settings.presets, self,
                                            default_sampling=self.settings.default_sampling,
                                            title="Completion settings", with_system_prompt=False)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._on_settings_dialog_accepted(dialog, document.id))
        dialog.open()
        self.settings_dialog = dialog

    def _on_settings_dialog_accepted(self, dialog: ConversationSettingsDialog, document_id: int) -> None:
        try:
            self.documents.update_document(document_id, sampling=dialog.result_sampling())
        except StoreError as exc:
            self.show_error(str(exc))
        self.settings.presets = dialog.result_presets()
        self._show_context_use()

    # ---- continuing

    def _on_button_clicked(self) -> None:
        if self.generating:
            self.stop()
        else:
            self.continue_text()

    def continue_text(self) -> None:
        if not self.can_continue or not self.save_now():
            return
        if self.document_id is None and self.new_document() is None:
            return
        self.notice.hide()
        live, cancel = LiveAnswer(), CancelToken()
        documents, document_id = self.documents, self.document_id
        default_sampling, energy = dict(self.settings.default_sampling), self.live_stats.energy

        def work(model) -> ContinuationOutcome:
            session = CompletionSession(documents, document_id, model, default_sampling=default_sampling,
                                        energy=energy)
            return session.continue_text(cancel, live)

        self._live, self._cancel, self._seen_version = live, cancel, -1
        self._start_text, self._shown = self.editor.toPlainText(), ""
        self.editor.moveCursor(QTextCursor.MoveOperation.End)   # the view follows the text as it grows
        self.editor.ensureCursorVisible()
        self.live_stats.answer_started()
        self._run = self.engine.run(work, self._on_continuation_done, self._on_continuation_failed)
        self._drain_timer.start()
        self._update_controls()

    def stop(self) -> None:
        """Stops the continuation; what was written so far is kept (and saved)."""
        if self._cancel is not None:
            self._cancel.cancel()

    def wait_for_continuation(self, timeout: float = 30.0) -> None:
        """Blocks until the running continuation's engine work ends (closing the app)."""
        if self._run is not None:
            try:
                self._run.result(timeout=timeout)
            except Exception:  # noqa: BLE001 - reported by the callback; here we only wait
                pass

    def _on_drain_timer_timeout(self) -> None:
        live = self._live
        if live is None:
            return
        snap = live.snapshot()
        if snap.version == self._seen_version:
            return
        self._seen_version = snap.version
        self._show_continuation(snap.text)
        reading = snap.generated_tokens == 0 and snap.prompt_total > 0 and not snap.finished
        self.prompt_progress.setVisible(reading and snap.prompt_total > 64)
        if reading:
            self.prompt_progress.setRange(0, snap.prompt_total)
            self.prompt_progress.setValue(snap.prompt_done)
        self.live_stats.show_snapshot(snap)

    def _show_continuation(self, text: str) -> None:
        """Appends what is new at the end of the editor, keeping the view at the end if it was there."""
        if text == self._shown:
            return
        bar = self.editor.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 2
        self._writing_editor = True
        try:
            if text.startswith(self._shown):
                cursor = QTextCursor(self.editor.document())
                cursor.movePosition(QTextCursor.MoveOperation.End)
                cursor.insertText(text[len(self._shown):])
            else:
                self.editor.setPlainText(self._start_text + text)
        finally:
            self._writing_editor = False
        self._shown = text
        if following:
            bar.setValue(bar.maximum())

    def _end_continuation(self) -> None:
        self._on_drain_timer_timeout()
        self._drain_timer.stop()
        self._run = self._live = self._cancel = None
        self.prompt_progress.hide()
        self._update_controls()

    def _on_continuation_done(self, outcome: ContinuationOutcome) -> None:
        self._end_continuation()
        if self.editor.toPlainText() != as_shown(outcome.document.text):
            self._set_editor_text(outcome.document.text)
        self._unsaved = False
        s = outcome.stats
        self.live_stats.sample()
        self.live_stats.show_context(len(outcome.prompt.ids) + s.generated_tokens)
        if s.energy_joules is not None and s.generated_tokens:
            self.stats.show_energy(s.energy_joules / s.generated_tokens, None, s.energy_source,
                                   bool(s.energy_source and s.energy_source.startswith("measured")))
        if s.error:
            self.show_error(f"The model stopped because of an error: {s.error}")
        elif outcome.save_error is not None:
            self.show_error(f"Saving the text while the model wrote failed once ({outcome.save_error}); "
                            "the finished text was saved.")
        elif outcome.prompt.left_out_tokens:
            self.show_info(f"The document is longer than the context: the model read its last "
                           f"{len(outcome.prompt.ids):,} tokens (the first {outcome.prompt.left_out_tokens:,} "
                           "were left out; they stay in the document).")
        self._refresh_list()
        self.continuation_finished.emit(outcome)

    def _on_continuation_failed(self, error: BaseException) -> None:
        self._end_continuation()
        try:
            self._set_editor_text(self.documents.document(self.document_id).text)
        except StoreError:
            pass  # the editor keeps what it shows; the error below says what went wrong
        self.show_error(str(error) or type(error).__name__)

    # ---- stats

    def _show_context_use(self) -> None:
        if self.engine.info is None or self.document_id is None:
            return
        documents, document_id = self.documents, self.document_id
        default_sampling = dict(self.settings.default_sampling)

        def count(model) -> int:
            return CompletionSession(documents, document_id, model, default_sampling=default_sampling).context_tokens()

        self.engine.run(count, lambda used: self.live_stats.show_context(used)
                        if document_id == self.document_id else None)

    # ---- the model

    def _on_engine_load_progressed(self, stage: str, fraction: float) -> None:
        self.model_bar.show_loading(stage, fraction)
        self._update_controls()

    def _on_engine_model_loaded(self, info: ModelInfo) -> None:
        self.model_bar.show_loaded(info)
        self._update_controls()
        if info.base_model:
            self.live_stats.sample()
            self._show_context_use()

    def _on_engine_model_load_failed(self, message: str) -> None:
        self.model_bar.show_unloaded(message)
        self._update_controls()

    def _on_engine_model_unloaded(self) -> None:
        self.model_bar.show_unloaded()
        self._update_controls()

    def _on_model_bar_unload(self) -> None:
        self.stop()
        self.engine.unload()
        self._update_controls()
