"""The read-continue loop `bitnet-desktop chat` offers for a base model (no chat format): plain
continuation. The text is a completion document in the window's database (chats.documents), the kind
the window's completion view opens; each line typed is appended to it exactly as typed, and the model
continues the whole text through chats.completion.CompletionSession. As for a chat, the model runs on
an engine thread, so Ctrl-C stops a continuation and keeps what was written."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..chats.completion import CompletionSession, ContinuationOutcome, EmptyDocumentError, max_context
from ..chats.errors import StoreError
from ..chats.session import CancelToken
from ..engine.runtime.generation_events import FinishReason
from .chat_output import TerminalAnswer, generation_stats_line
from .chat_repl import err, result_of

HELP = ("plain continuation: what you type is appended to the text exactly as typed (begin with a space "
        "to start a new word), then the model continues the text; an empty line lets it continue further. "
        "commands: /text (show the whole text), /retry (write the last continuation again), "
        "/reset (a new text), /tokens (context used), /exit")
TAIL_CHARS = 400   # of a resumed text, the end shown
LABEL = "model> "


class ContinuationRepl:
    def __init__(self, session: CompletionSession, *, saved: bool, resumed: bool):
        self.session = session
        self.documents = session.documents
        self.saved = saved
        self._created = set() if resumed else {session.document_id}  # dropped again if left empty
        self._resumed = resumed
        self._text_before_last: str | None = None  # the text the last continuation started from

    def run(self) -> int:
        self._announce()
        if self._resumed:
            self._print_tail()
        err(HELP)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine") as engine:
            while True:
                try:
                    line = input("you> ")
                except (EOFError, KeyboardInterrupt):
                    print()
                    break
                if not line.startswith("/"):
                    self._append_and_continue(line, engine)
                elif not self._command(line.strip(), engine):
                    break
        self._forget_if_empty()
        return 0

    # ---- commands; False ends the loop ----

    def _command(self, line: str, engine: ThreadPoolExecutor) -> bool:
        name = line.split(" ", 1)[0]
        if name in ("/exit", "/quit"):
            return False
        if name == "/text":
            print(self._text())
        elif name == "/retry":
            if self._text_before_last is None:
                err("(nothing to write again yet)")
            else:
                self.documents.update_document(self.session.document_id, text=self._text_before_last)
                self._continue(engine)
        elif name == "/reset":
            sampling = self.documents.document(self.session.document_id).sampling
            self._forget_if_empty()
            self.session.document_id = self.documents.create_document(sampling=sampling).id
            self._created.add(self.session.document_id)
            self._text_before_last = None
            self._announce()
        elif name == "/tokens":
            err(f"(the text takes {self.session.context_tokens()} of {max_context(self.session.model)} "
                "context tokens; a longer text is read from its end)")
        else:
            err(f"unknown command {name}; {HELP}")
        return True

    # ---- continuing ----

    def _append_and_continue(self, typed: str, engine: ThreadPoolExecutor) -> None:
        if typed:
            try:
                self.documents.update_document(self.session.document_id, text=self._text() + typed)
            except StoreError as exc:
                err(f"bitnet-desktop: error: your text was not saved, so it was not continued: {exc}")
                return
        self._continue(engine)

    def _continue(self, engine: ThreadPoolExecutor) -> None:
        self._text_before_last = self._text()
        cancel, live = CancelToken(), TerminalAnswer(LABEL)
        future = engine.submit(self.session.continue_text, cancel, live)
        try:
            try:
                outcome = result_of(future)
            except KeyboardInterrupt:
                cancel.cancel()
                outcome = result_of(future)
        except EmptyDocumentError as exc:
            err(f"bitnet-desktop: {exc}")
            return
        except StoreError as exc:  # the continuation was printed; saving it failed
            if live.started:
                print()
            err(f"bitnet-desktop: error: {exc}")
            return
        print()
        self._report(outcome)

    def _report(self, outcome: ContinuationOutcome) -> None:
        finished = outcome.finished
        if outcome.prompt.left_out_tokens:
            err(f"(the text's first {outcome.prompt.left_out_tokens} tokens were left out to fit the context)")
        if outcome.save_error is not None:
            err(f"bitnet-desktop: warning: saving the text as it grew failed ({outcome.save_error}); "
                "the final save worked")
        if finished.reason is FinishReason.CANCELLED:
            err("(stopped; what was written is kept)")
            return
        if finished.reason is FinishReason.ERROR:
            err(f"bitnet-desktop: error: the continuation failed: {finished.error} (the text so far is saved)")
        elif finished.reason is FinishReason.CONTEXT_FULL:
            err("(the context is full: the continuation was cut off)")
        elif finished.reason is FinishReason.EOS:
            err("(the model ended the text)")
        err(generation_stats_line(finished, outcome.stats))

    # ---- around the text ----

    def _text(self) -> str:
        return self.documents.document(self.session.document_id).text

    def _announce(self) -> None:
        document_id = self.session.document_id
        if self.saved:
            err(f"document {document_id} (resume with --resume {document_id})")
        else:
            err("text not saved (--no-save)")

    def _print_tail(self) -> None:
        text = self._text()
        if len(text) > TAIL_CHARS:
            err(f"  (… {len(text) - TAIL_CHARS:,} earlier characters)")
            text = text[-TAIL_CHARS:]
        err(text)

    def _forget_if_empty(self) -> None:
        """A text this session made and never wrote in is not worth a line in the window's list."""
        document_id = self.session.document_id
        if document_id in self._created and not self._text():
            self.documents.delete_document(document_id)
            if self.saved:
                err(f"(document {document_id} is empty; not kept)")
