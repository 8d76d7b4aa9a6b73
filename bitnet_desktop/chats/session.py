"""A conversation and a loaded model: the prompt in the model's chat format under the context
policy, the answer streamed into the store as it grows, and the stats of each answer recorded.

Threads: `add_user_message`, `drop_answer` and `replace_user_message` are short (a few SQLite
writes) and may run on the UI thread, so a failed write leaves the text where the user typed it;
they need no model (a session made with model=None can do just these). `answer`, `regenerate` and
`edit_and_resend` run the model: call them on the engine thread. A CancelToken, made per request
by the caller, stops one answer from any thread, also while it is still queued.

Nothing is lost on a crash: the assistant message is created before the first token and its
text written at least every `save_interval` seconds; a finished answer is written at once.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..engine.chat import require_chat_format
from ..engine.runtime.generation_events import FinishedEvent, FinishReason, PromptProgressEvent, TokenEvent
from ..engine.sampling import SamplingParams
from ..meters.energy import EnergyMeter
from .context_policy import ContextPolicy, PromptPlan, plan_prompt
from .errors import StoreError
from .live_answer import LiveAnswer
from .records import AnswerStats, Message, sampling_from_dict, sampling_to_dict
from .store import ConversationStore

DEFAULT_TITLE = "New chat"
TITLE_LENGTH = 48


class CancelToken:
    """Stops one answer; `cancel()` is safe from any thread, before or during the answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._generator = None

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            generator = self._generator
        if generator is not None:
            generator.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def _bind(self, generator) -> None:
        """Called once the generation exists: a cancel that came first reaches it now."""
        with self._lock:
            self._generator = generator
            cancelled = self._cancelled
        if cancelled:
            generator.cancel()


@dataclass(frozen=True)
class AnswerOutcome:
    message: Message           # the stored assistant message (final text, stats)
    finished: FinishedEvent
    plan: PromptPlan
    save_error: StoreError | None = None  # a streaming save failed; the final save succeeded


def title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


class ChatSession:
    def __init__(self, store: ConversationStore, conversation_id: int, model, *,
                 policy: ContextPolicy | str = ContextPolicy.STOP_AND_ASK,
                 default_sampling: dict[str, Any] | None = None, model_sha256: str | None = None,
                 energy: EnergyMeter | None = None, save_interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.conversation_id = conversation_id
        self.model = model
        self.policy = ContextPolicy(policy)
        self.default_sampling = dict(default_sampling or {})
        self.model_sha256 = model_sha256
        self.energy = energy
        self.save_interval = save_interval
        self._clock = clock

    # ---- what goes into the prompt ----

    def sampling_params(self) -> SamplingParams:
        conversation = self.store.conversation(self.conversation_id)
        return sampling_from_dict({**self.default_sampling, **(conversation.sampling or {})})

    def prompt_messages(self) -> list[dict[str, str]]:
        conversation = self.store.conversation(self.conversation_id)
        messages = [{"role": "system", "content": conversation.system_prompt}] if conversation.system_prompt else []
        messages += [{"role": m.role, "content": m.text} for m in self.store.messages(self.conversation_id)
                     if m.role != "system"]
        return messages

    def context_tokens(self) -> int:
        """Tokens the conversation takes now (as the next prompt would, before any is dropped)."""
        messages = self.prompt_messages()
        return len(self._chat_format().render_ids(messages, add_generation_prompt=True)) if messages else 0

    def plan(self, params: SamplingParams | None = None) -> PromptPlan:
        params = params or self.sampling_params()
        return plan_prompt(self._chat_format(), self.prompt_messages(), self.model.native.max_context,
                           params.max_tokens, self.policy)

    def _chat_format(self):
        """The model's chat format; NoChatFormatError for a base model (completion.CompletionSession
        is what continues text with one)."""
        return require_chat_format(self.model.chat_format, "answering a conversation")

    # ---- changing the conversation ----

    def add_user_message(self, text: str) -> Message:
        conversation = self.store.conversation(self.conversation_id)
        first = conversation.title == DEFAULT_TITLE and self.store.message_count(self.conversation_id) == 0
        message = self.store.add_message(self.conversation_id, "user", text)
        if first and text.strip():
            self.store.rename_conversation(self.conversation_id, title_from(text))
        return message

    def drop_answer(self) -> Message:
        """Removes everything after the last user message (the answer to be regenerated); returns
        that user message."""
        messages = self.store.messages(self.conversation_id)
        last_user = next((m for m in reversed(messages) if m.role == "user"), None)
        if last_user is None:
            raise ValueError("there is no user message to answer")
        self.store.delete_messages_after(self.conversation_id, last_user.id)
        return last_user

    def replace_user_message(self, message_id: int, text: str) -> Message:
        """Changes a user message and removes every later message; returns the changed message."""
        message = self.store.message(message_id)
        if message.conversation_id != self.conversation_id or message.role != "user":
            raise ValueError(f"message {message_id} is not a user message of this conversation")
        self.store.update_message(message_id, text)
        self.store.delete_messages_after(self.conversation_id, message_id)
        return self.store.message(message_id)

    def regenerate(self, cancel: CancelToken | None = None, live: LiveAnswer | None = None) -> AnswerOutcome:
        """Replaces the answer to the last user message."""
        self.drop_answer()
        return self.answer(cancel, live)

    def edit_and_resend(self, message_id: int, text: str, cancel: CancelToken | None = None,
                        live: LiveAnswer | None = None) -> AnswerOutcome:
        """Changes a user message, drops every later message, and answers it."""
        self.replace_user_message(message_id, text)
        return self.answer(cancel, live)

    # ---- answering ----

    def answer(self, cancel: CancelToken | None = None, live: LiveAnswer | None = None) -> AnswerOutcome:
        """Generates the answer to the conversation as stored, writing it into the store as it
        grows. ContextOverflowError (nothing written) when the conversation does not fit."""
        live = live or LiveAnswer()
        params = self.sampling_params()
        plan = self.plan(params)
        self.store.update_conversation(self.conversation_id, model=str(self.model.path))
        message = self.store.add_message(
            self.conversation_id, "assistant", "", model_file=str(self.model.path),
            model_sha256=self.model_sha256, sampling=sampling_to_dict(params), complete=False)
        live.update(message_id=message.id, text="", prompt_total=len(plan.ids), context_used=plan.tokens,
                    dropped_messages=plan.dropped_messages, finished=False)
        reading = self.energy.start() if self.energy is not None else None
        events = self.model.generator.generate(plan.ids, params)
        if cancel is not None:
            cancel._bind(self.model.generator)
        text, last_save, save_error = "", self._clock(), None
        finished = None
        for event in events:
            if isinstance(event, TokenEvent):
                text += event.text
                live.append_text(event.text, generated_tokens=event.index + 1,
                                 context_used=plan.tokens + event.index + 1,
                                 time_to_first_token=event.seconds - event.since_first_token,
                                 generation_tokens_per_second=(event.index / event.since_first_token
                                                               if event.since_first_token > 0 else None))
                if self._clock() - last_save >= self.save_interval:
                    save_error = self._save_partial(message.id, text) or save_error
                    if self.energy is not None:
                        self.energy.sample()
                    last_save = self._clock()
            elif isinstance(event, PromptProgressEvent):
                live.update(prompt_done=event.done, prompt_total=event.total,
                            prompt_tokens_per_second=(event.done / event.seconds if event.seconds > 0 else None))
            elif isinstance(event, FinishedEvent):
                finished = event
        stats = self._stats(finished, reading)
        self.store.update_message(message.id, finished.text, complete=finished.reason is not FinishReason.CANCELLED,
                                  stats=stats)
        s = finished.stats
        live.update(text=finished.text, finished=True,
                    prompt_tokens_per_second=s.prompt_tokens_per_second or None,
                    generation_tokens_per_second=s.generation_tokens_per_second or None,
                    time_to_first_token=s.time_to_first_token or None)
        return AnswerOutcome(self.store.message(message.id), finished, plan, save_error)

    def _save_partial(self, message_id: int, text: str) -> StoreError | None:
        try:
            self.store.update_message(message_id, text)
        except StoreError as exc:  # the text stays in memory; the final save tries again
            return exc
        return None

    def _stats(self, finished: FinishedEvent, reading) -> AnswerStats:
        s = finished.stats
        energy = self.energy.stop(reading) if self.energy is not None else None
        return AnswerStats(
            prompt_tokens=s.prompt_tokens, reused_tokens=s.reused_tokens, generated_tokens=s.generated_tokens,
            prompt_tokens_per_second=s.prompt_tokens_per_second,
            generation_tokens_per_second=s.generation_tokens_per_second,
            time_to_first_token=s.time_to_first_token,
            energy_joules=energy.joules if energy is not None else None,
            energy_source=energy.source if energy is not None else None,
            finish_reason=finished.reason.value,
            error=str(finished.error) if finished.error is not None else None)
