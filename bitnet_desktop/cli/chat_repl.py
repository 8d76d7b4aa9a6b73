"""The read-answer loop of `bitnet-desktop chat`: commands, and each answer run by ChatSession on
an engine thread (printed as it arrives by chat_output.TerminalAnswer), its stats line after it.

The answer runs off the main thread so that Ctrl-C (always delivered to the main thread) only
cancels it through a CancelToken: the session then saves the partial answer, marked incomplete.
A KeyboardInterrupt raised inside the session's loop would instead leave the answer unfinished
in the store, its last second lost."""
from __future__ import annotations

import sys
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from ..chats.context_policy import ContextOverflowError, ContextPolicy, answer_reserve
from ..chats.errors import StoreError
from ..chats.session import DEFAULT_TITLE, AnswerOutcome, CancelToken, ChatSession
from ..engine.runtime.generation_events import FinishReason
from .chat_output import TerminalAnswer, brief, stats_line

HELP = ("commands: /system TEXT (this conversation's system prompt), /reset (new conversation), "
        "/retry (answer the last message again), /policy stop_and_ask|drop_oldest, "
        "/tokens (context used), /exit")
TRANSCRIPT_MESSAGES = 10   # of a resumed conversation, the newest shown


def err(*parts) -> None:
    print(*parts, file=sys.stderr)


def result_of(future: Future):
    # A timed wait: an untimed one cannot be interrupted by Ctrl-C on Windows.
    while True:
        try:
            return future.result(timeout=0.1)
        except futures.TimeoutError:  # the builtin TimeoutError only from Python 3.11
            continue


class ChatRepl:
    def __init__(self, session: ChatSession, *, saved: bool, resumed: bool):
        self.session = session
        self.store = session.store
        self.saved = saved
        self.resumed = resumed
        self._created = set() if resumed else {session.conversation_id}  # dropped again if left empty

    def run(self) -> int:
        self._announce()
        if self.resumed:
            self._print_transcript()
        err(HELP)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine") as engine:
            while True:
                try:
                    line = input("you> ").strip()
                except (EOFError, KeyboardInterrupt):
                    print()
                    break
                if not line:
                    continue
                if not line.startswith("/"):
                    self._send(line, engine)
                elif not self._command(line, engine):
                    break
        self._forget_if_empty()
        return 0

    # ---- commands; False ends the chat ----

    def _command(self, line: str, engine: ThreadPoolExecutor) -> bool:
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        conversation_id = self.session.conversation_id
        if name in ("/exit", "/quit"):
            return False
        if name == "/system" and rest:
            self.store.update_conversation(conversation_id, system_prompt=rest)
            err("(system prompt set for this conversation)")
        elif name == "/system":
            err(f"system prompt: {self.store.conversation(conversation_id).system_prompt or '(none)'}")
        elif name == "/reset":
            self._new_conversation()
        elif name == "/retry":
            if any(m.role == "user" for m in self.store.messages(conversation_id)):
                self._answer(engine, self.session.regenerate)
            else:
                err("(nothing to answer yet)")
        elif name == "/policy" and rest in {p.value for p in ContextPolicy}:
            self.session.policy = ContextPolicy(rest)
            err(f"(context policy: {rest})")
        elif name == "/policy":
            err(f"usage: /policy stop_and_ask|drop_oldest (now {self.session.policy})")
        elif name == "/tokens":
            size = self.session.model.native.max_context
            reserve = answer_reserve(self.session.sampling_params().max_tokens, size)
            err(f"(the conversation takes {self.session.context_tokens()} of {size} context tokens; "
                f"{reserve} are kept for the answer; policy {self.session.policy})")
        else:
            err(f"unknown command {name}; {HELP}")
        return True

    def _new_conversation(self) -> None:
        old = self.store.conversation(self.session.conversation_id)
        self._forget_if_empty()
        new = self.store.create_conversation(DEFAULT_TITLE, system_prompt=old.system_prompt, sampling=old.sampling)
        self.session.conversation_id = new.id
        self._created.add(new.id)
        self._announce()

    # ---- answering ----

    def _send(self, text: str, engine: ThreadPoolExecutor) -> None:
        try:
            self.session.add_user_message(text)
        except StoreError as exc:
            err(f"bitnet-desktop: error: your message was not saved, so it was not sent: {exc}")
            return
        self._answer(engine, self.session.answer)

    def _answer(self, engine: ThreadPoolExecutor, start: Callable[..., AnswerOutcome]) -> None:
        cancel, live = CancelToken(), TerminalAnswer()
        future = engine.submit(start, cancel, live)
        try:
            try:
                outcome = result_of(future)
            except KeyboardInterrupt:
                cancel.cancel()
                outcome = result_of(future)
        except ContextOverflowError as exc:
            err(f"bitnet-desktop: {exc}")
            if self.session.policy is ContextPolicy.STOP_AND_ASK:
                err("(your message is saved: /policy drop_oldest then /retry answers it; /reset starts over)")
            else:
                err("(your message is saved but does not fit; /reset, or restart with a larger --ctx)")
            return
        except StoreError as exc:  # the answer was printed; saving it failed
            if live.started:
                print()
            err(f"bitnet-desktop: error: {exc}")
            return
        print()
        self._report(outcome)

    def _report(self, outcome: AnswerOutcome) -> None:
        finished = outcome.finished
        if outcome.plan.dropped_messages:
            err(f"({outcome.plan.dropped_messages} oldest messages were left out of the prompt to fit the context)")
        if outcome.save_error is not None:
            err(f"bitnet-desktop: warning: saving the answer as it grew failed ({outcome.save_error}); "
                "the final save worked")
        if finished.reason is FinishReason.CANCELLED:
            err("(stopped; the partial answer is saved, marked incomplete)")
            return
        if finished.reason is FinishReason.ERROR:
            err(f"bitnet-desktop: error: the answer failed: {finished.error} (the text so far is saved)")
        elif finished.reason is FinishReason.CONTEXT_FULL:
            err("(the context is full: the answer was cut off)")
        err(stats_line(outcome))

    # ---- around the conversation ----

    def _announce(self) -> None:
        conversation_id = self.session.conversation_id
        if self.saved:
            err(f"conversation {conversation_id} (resume with --resume {conversation_id})")
        else:
            err("conversation not saved (--no-save)")

    def _print_transcript(self) -> None:
        messages = [m for m in self.store.messages(self.session.conversation_id) if m.role != "system"]
        if len(messages) > TRANSCRIPT_MESSAGES:
            err(f"  ({len(messages) - TRANSCRIPT_MESSAGES} earlier messages)")
        for message in messages[-TRANSCRIPT_MESSAGES:]:
            err(brief(message))

    def _forget_if_empty(self) -> None:
        """A conversation this chat made and never used is not worth a line in the window's list."""
        conversation_id = self.session.conversation_id
        if conversation_id in self._created and self.store.message_count(conversation_id) == 0:
            self.store.delete_conversation(conversation_id)
            if self.saved:
                err(f"(conversation {conversation_id} had no messages; not kept)")
