"""The Chat place: conversations on the left; on the right the model bar, the conversation, the
input and the live stats.

An answer runs on the engine thread through a ChatSession; this page only pulls its LiveAnswer
on a 33 ms timer that runs while the answer streams and stops when it ends, and samples memory
and CPU once a second meanwhile. Nothing runs while idle.
"""
from __future__ import annotations

from concurrent.futures import Future

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QLabel, QMessageBox, QProgressBar, QSplitter, QStackedWidget, QVBoxLayout,
                               QWidget)

from ..app_settings import AppSettings
from ..chats.context_policy import ContextOverflowError, ContextPolicy
from ..chats.errors import StoreError
from ..chats.live_answer import AnswerSnapshot, LiveAnswer
from ..chats.session import DEFAULT_TITLE, AnswerOutcome, CancelToken, ChatSession
from ..chats.store import ConversationStore
from .chat_view import ChatView
from .composer import Composer
from .conversation_list import ConversationList
from .conversation_settings import ConversationSettingsDialog
from .engine_controller import EngineController, ModelInfo
from .first_run import FirstRunPage
from .live_stats import LiveStats
from .model_bar import ModelBar
from .stats_bar import StatsBar
from .tasks import TaskManager

# How often the streaming answer is pulled and re-rendered. Every millisecond the UI thread works
# while answering is taken from the engine's threads on a machine with as many engine threads as
# cores: at 33 ms (30 renders a second) the window generated at 0.88x the engine alone on 2B-4T
# with 2 threads on 2 cores (bench ui); 10 renders a second still reads as fluid streaming.
DRAIN_INTERVAL_MS = 100


class ChatPage(QWidget):
    open_model_requested = Signal()
    error_shown = Signal(str)          # every error message shown to the user (tests listen)
    answer_finished = Signal(object)   # AnswerOutcome, after the view and store are up to date

    def __init__(self, store: ConversationStore, tasks: TaskManager, engine: EngineController,
                 settings: AppSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.store, self.tasks, self.engine, self.settings = store, tasks, engine, settings
        self.conversation_id: int | None = None
        self._live: LiveAnswer | None = None
        self._cancel: CancelToken | None = None
        self._answer: Future | None = None
        self._streaming_id: int | None = None
        self._seen_version = -1
        self._shown_text: str | None = None
        self.overflow_box: QMessageBox | None = None

        self.conversations = ConversationList(store, tasks, self)
        self.model_bar = ModelBar(self)
        self.first_run = FirstRunPage(self)
        self.view = ChatView(self)
        self.view.setObjectName("chat_view")
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.first_run)
        self.stack.addWidget(self.view)
        self.prompt_progress = QProgressBar(self)
        self.prompt_progress.setFormat("Reading the prompt: %v / %m tokens")
        self.prompt_progress.hide()
        self.notice = QLabel(self)
        self.notice.setObjectName("chat_notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.composer = Composer(self)
        self.stats = StatsBar(self)
        self.live_stats = LiveStats(self.stats, engine, settings.watts_per_core)
        right = QWidget(self)
        column = QVBoxLayout(right)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self.model_bar)
        column.addWidget(self.stack, 1)
        column.addWidget(self.notice)
        column.addWidget(self.prompt_progress)
        column.addWidget(self.composer)
        column.addWidget(self.stats)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.conversations)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.conversations.setMinimumWidth(200)
        self.splitter.setSizes([260, 840])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(DRAIN_INTERVAL_MS)
        self._drain_timer.timeout.connect(self._on_drain_timer_timeout)

        self.conversations.conversation_selected.connect(self.open_conversation)
        self.conversations.search_hit_activated.connect(self._on_conversations_search_hit)
        self.conversations.new_requested.connect(self.new_conversation)
        self.conversations.error_occurred.connect(self.show_error)
        self.conversations.conversation_deleted.connect(self._on_conversations_deleted)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.view.edit_requested.connect(self._on_view_edit_requested)
        self.view.regenerate_requested.connect(self._on_view_regenerate_requested)
        self.model_bar.open_requested.connect(self.open_model_requested)
        self.first_run.open_requested.connect(self.open_model_requested)
        self.model_bar.unload_requested.connect(self._on_model_bar_unload)
        self.model_bar.cancel_load_requested.connect(engine.cancel_load)
        self.model_bar.settings_requested.connect(self.edit_conversation_settings)
        engine.load_progressed.connect(self._on_engine_load_progressed)
        engine.model_loaded.connect(self._on_engine_model_loaded)
        engine.model_load_failed.connect(self._on_engine_model_load_failed)
        engine.model_unloaded.connect(self._on_engine_model_unloaded)
        self.conversations.refresh()
        self._update_composer()

    # ---- state

    @property
    def generating(self) -> bool:
        return self._answer is not None

    def answer_snapshot(self) -> AnswerSnapshot | None:
        """The answer being generated as the engine thread last reported it, or None."""
        live = self._live
        return live.snapshot() if live is not None else None

    def _update_composer(self) -> None:
        if self.engine.loading:
            reason = "Loading the model…"
        elif self.engine.info is None:
            reason = "Open a model to chat (Open model… above, or the Models tab)."
        elif self.engine.info.base_model:
            reason = "This is a base model: it has no chat template, so it continues text instead of chatting."
        else:
            reason = None
        self.composer.set_state(generating=self.generating, blocked_reason=reason)
        known = self.engine.info is not None or self.engine.loading or bool(self.settings.recent_models)
        self.stack.setCurrentWidget(self.view if known or self.conversation_id else self.first_run)

    def show_error(self, message: str) -> None:
        self.notice.setText(message)
        self.notice.setStyleSheet("color: #c92a2a;")
        self.notice.show()
        self.error_shown.emit(message)

    def show_info(self, message: str) -> None:
        self.notice.setText(message)
        self.notice.setStyleSheet("")
        self.notice.show()

    # ---- conversations

    def open_conversation(self, conversation_id: int | None) -> None:
        if self.generating:
            self.stop()
        self.conversation_id = conversation_id
        self.composer.end_editing()
        self.notice.hide()
        if conversation_id is None:
            self.view.set_messages([])
        else:
            try:
                messages = self.store.messages(conversation_id)
            except StoreError as exc:
                self.show_error(str(exc))
                return
            self.view.set_messages(messages)
            self.conversations.select(conversation_id)
            self.live_stats.show_conversation_energy(messages)
        self.settings.open_conversation = conversation_id
        self._update_composer()
        self._show_context_use()

    def new_conversation(self) -> int | None:
        try:
            conversation = self.store.create_conversation(
                DEFAULT_TITLE, system_prompt=self.settings.default_system_prompt,
                sampling=dict(self.settings.default_sampling))
        except StoreError as exc:
            self.show_error(str(exc))
            return None
        self.conversations.refresh()
        self.open_conversation(conversation.id)
        return conversation.id

    def edit_conversation_settings(self) -> None:
        if self.conversation_id is None and self.new_conversation() is None:
            return
        conversation = self.store.conversation(self.conversation_id)
        dialog = ConversationSettingsDialog(conversation.system_prompt, conversation.sampling,
                                            self.settings.presets, self,
                                            default_sampling=self.settings.default_sampling)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._on_settings_dialog_accepted(dialog))
        dialog.open()
        self.settings_dialog = dialog

    def _on_settings_dialog_accepted(self, dialog: ConversationSettingsDialog) -> None:
        try:
            self.store.update_conversation(self.conversation_id, system_prompt=dialog.result_system_prompt(),
                                           sampling=dialog.result_sampling())
        except StoreError as exc:
            self.show_error(str(exc))
        self.settings.presets = dialog.result_presets()
        self._show_context_use()

    def _on_conversations_search_hit(self, conversation_id: int, message_id: int) -> None:
        if conversation_id != self.conversation_id:
            self.open_conversation(conversation_id)
        self.view.scroll_to_message(message_id)

    def _on_conversations_deleted(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            if self.generating:
                self.stop()
            self.conversation_id = None
            self.view.set_messages([])

    # ---- sending and answering

    def send(self, text: str) -> None:
        if not self.composer.can_send:
            return
        if self.conversation_id is None and self.new_conversation() is None:
            return
        editing = self.composer.editing_message_id
        session = ChatSession(self.store, self.conversation_id, None)  # changes the conversation only
        try:
            if editing is not None:
                message = session.replace_user_message(editing, text)
                self.view.remove_messages_from(editing)
            else:
                message = session.add_user_message(text)
        except StoreError as exc:
            self.show_error(f"Your message was not saved, so it stays in the input box: {exc}")
            return
        self.composer.end_editing()
        self.composer.clear()
        self.view.append_message(message)
        self.conversations.refresh()
        self.start_answer()

    def start_answer(self, policy: ContextPolicy | None = None) -> None:
        if not self._can_chat or self.conversation_id is None or self.generating:
            return
        self.notice.hide()
        live, cancel = LiveAnswer(), CancelToken()
        conversation_id, policy = self.conversation_id, policy or ContextPolicy(self.settings.context_policy)
        store, default_sampling, energy = self.store, dict(self.settings.default_sampling), self.live_stats.energy

        def answer(model) -> AnswerOutcome:
            session = ChatSession(store, conversation_id, model, policy=policy,
                                  default_sampling=default_sampling, energy=energy)
            return session.answer(cancel, live)

        self._live, self._cancel, self._streaming_id, self._seen_version = live, cancel, None, -1
        self.live_stats.answer_started()
        self._answer = self.engine.run(answer, self._on_answer_done, self._on_answer_failed)
        self._drain_timer.start()
        self._update_composer()

    def stop(self) -> None:
        """Stops the answer; what was written so far is kept (and saved)."""
        if self._cancel is not None:
            self._cancel.cancel()

    def wait_for_answer(self, timeout: float = 30.0) -> None:
        """Blocks until the running answer's engine work ends (closing the app)."""
        if self._answer is not None:
            try:
                self._answer.result(timeout=timeout)
            except Exception:  # noqa: BLE001 - reported by the callback; here we only wait
                pass

    def _on_view_regenerate_requested(self, message_id: int) -> None:
        if self.generating or not self._can_chat:
            return
        try:
            ChatSession(self.store, self.conversation_id, None).drop_answer()
        except (StoreError, ValueError) as exc:
            self.show_error(str(exc))
            return
        self.view.remove_messages_from(message_id)
        self.start_answer()

    def _on_view_edit_requested(self, message_id: int) -> None:
        if self.generating:
            return
        self.composer.begin_editing(message_id, self.store.message(message_id).text)

    def _on_drain_timer_timeout(self) -> None:
        live = self._live
        if live is None:
            return
        snap = live.snapshot()
        if snap.version == self._seen_version:
            return
        self._seen_version = snap.version
        if snap.message_id is not None and self._streaming_id != snap.message_id:
            self._streaming_id = snap.message_id
            self._shown_text = None
            self.view.begin_streaming(self.store.message(snap.message_id))
        if self._streaming_id is not None and snap.text != self._shown_text:
            self._shown_text = snap.text
            self.view.update_streaming(snap.text)
        reading_prompt = snap.generated_tokens == 0 and snap.prompt_total > 0 and not snap.finished
        self.prompt_progress.setVisible(reading_prompt and snap.prompt_total > 64)
        if reading_prompt:
            self.prompt_progress.setRange(0, snap.prompt_total)
            self.prompt_progress.setValue(snap.prompt_done)
        self.live_stats.show_snapshot(snap)
        if snap.dropped_messages:
            self.show_info(f"The oldest {snap.dropped_messages} messages were left out of the prompt to fit "
                           "the context (they stay in the conversation).")

    def _end_answer(self) -> None:
        self._on_drain_timer_timeout()
        self._drain_timer.stop()
        self._answer = self._live = self._cancel = None
        self.prompt_progress.hide()
        self._update_composer()

    def _on_answer_done(self, outcome: AnswerOutcome) -> None:
        self._end_answer()
        self.view.end_streaming(outcome.message)
        self._streaming_id = None
        s = outcome.message.stats
        self.live_stats.sample()
        if outcome.message.conversation_id == self.conversation_id:
            self.live_stats.show_conversation_energy(self.store.messages(self.conversation_id))
        if s is not None and s.error:
            self.show_error(f"The answer stopped because of an error: {s.error}")
        elif outcome.save_error is not None:
            self.show_error(f"Saving the answer while it streamed failed once ({outcome.save_error}); "
                            "the finished answer was saved.")
        self.conversations.refresh()
        self.answer_finished.emit(outcome)

    def _on_answer_failed(self, error: BaseException) -> None:
        streaming = self._streaming_id
        self._end_answer()
        if streaming is not None:
            try:
                self.view.end_streaming(self.store.message(streaming))
            except StoreError:
                pass
        self._streaming_id = None
        if isinstance(error, ContextOverflowError):
            self._ask_about_overflow(error)
        else:
            self.show_error(str(error) or type(error).__name__)

    def _ask_about_overflow(self, error: ContextOverflowError) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "The conversation does not fit",
                          f"{error}.\n\nLeave the oldest turns out of the prompt for this answer? "
                          "(They stay in the conversation.)", QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("overflow_box")
        drop = box.addButton("Drop the oldest turns", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button) -> None:
            self.overflow_box = None
            if button is drop:
                self.start_answer(ContextPolicy.DROP_OLDEST)
            else:
                self.show_error(str(error))

        box.buttonClicked.connect(answered)
        self.overflow_box = box
        box.open()

    # ---- stats

    @property
    def _can_chat(self) -> bool:
        """A model is loaded and it has a chat format (a base model continues text instead)."""
        return self.engine.info is not None and not self.engine.info.base_model

    def _show_context_use(self) -> None:
        if not self._can_chat or self.conversation_id is None:
            return
        conversation_id, store = self.conversation_id, self.store

        def count(model) -> int:
            return ChatSession(store, conversation_id, model).context_tokens()

        self.engine.run(count, lambda used: self.live_stats.show_context(used)
                        if conversation_id == self.conversation_id else None)

    # ---- the model

    def _on_engine_load_progressed(self, stage: str, fraction: float) -> None:
        self.model_bar.show_loading(stage, fraction)
        self._update_composer()

    def _on_engine_model_loaded(self, info: ModelInfo) -> None:
        self.model_bar.show_loaded(info)
        self._update_composer()
        self.live_stats.sample()
        self._show_context_use()

    def _on_engine_model_load_failed(self, message: str) -> None:
        self.model_bar.show_unloaded(message)
        self.show_error(message)
        self._update_composer()

    def _on_engine_model_unloaded(self) -> None:
        self.model_bar.show_unloaded()
        self._update_composer()
        self.live_stats.sample()

    def _on_model_bar_unload(self) -> None:
        self.stop()
        self.engine.unload()
        self._update_composer()
