"""A completion document and a loaded model: the model continues the document's text, and the
continuation is written into the document as it grows. What base models (no chat template) do.

Threads: `continue_text` runs the model: call it on the engine thread. A CancelToken (session.py),
made per request by the caller, stops it from any thread; what was written so far stays.

Nothing is lost on a crash: the document's text (what the user wrote plus the continuation so far)
is written at least every `save_interval` seconds while the model writes, and at once at the end.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from ..engine.runtime.generation_events import FinishedEvent, PromptProgressEvent, TokenEvent
from ..engine.sampling import SamplingParams
from ..meters.energy import EnergyMeter
from .documents import DEFAULT_DOCUMENT_TITLE, DocumentStore
from .errors import StoreError
from .live_answer import LiveAnswer
from .records import AnswerStats, CompletionDocument, sampling_from_dict
from .session import CancelToken, title_from


class EmptyDocumentError(ValueError):
    """The document is empty and the model has no beginning-of-text token to start from."""


@dataclass(frozen=True)
class PromptWindow:
    ids: list[int]           # what the model reads: the document's tokens, or its end when it is long
    document_tokens: int     # tokens of the whole document
    left_out_tokens: int     # from the document's start, so that the continuation fits the context


@dataclass(frozen=True)
class ContinuationOutcome:
    document: CompletionDocument   # as stored after the continuation (final text)
    finished: FinishedEvent
    prompt: PromptWindow
    stats: AnswerStats
    save_error: StoreError | None = None  # a save while writing failed; the final save succeeded


def new_title(title: str, text: str) -> str | None:
    """A document still under the default title is named after its first words once it has some."""
    return title_from(text) if title == DEFAULT_DOCUMENT_TITLE and text.strip() else None


def max_context(model) -> int:
    """Positions the loaded model's context holds (the native model's, or an engine's own)."""
    native = getattr(model, "native", None)
    size = getattr(native, "max_context", None) if native is not None else None
    return int(size if size is not None else model.max_context)


def prompt_window(model, text: str, params: SamplingParams) -> PromptWindow:
    """The document as the model reads it. Room for the continuation is kept: at most half the
    context, else max_tokens; a longer document is read from its end (after BOS, when the model
    starts with one), as a writer rereads the last pages, not the first."""
    tokenizer = model.tokenizer
    ids = tokenizer.encode(text)
    bos = tokenizer.bos_id
    if not ids:
        if bos is None:
            raise EmptyDocumentError("write something first: this model has no beginning-of-text token to "
                                     "start an empty document from")
        ids = [bos]
    context = max_context(model)
    budget = context - min(params.max_tokens, context // 2)
    if len(ids) <= budget:
        return PromptWindow(ids, len(ids), 0)
    head = [ids[0]] if bos is not None and ids[0] == bos else []
    kept = head + ids[len(ids) - (budget - len(head)):]
    return PromptWindow(kept, len(ids), len(ids) - len(kept))


class CompletionSession:
    def __init__(self, documents: DocumentStore, document_id: int, model, *,
                 default_sampling: dict[str, Any] | None = None, energy: EnergyMeter | None = None,
                 save_interval: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.documents = documents
        self.document_id = document_id
        self.model = model
        self.default_sampling = dict(default_sampling or {})
        self.energy = energy
        self.save_interval = save_interval
        self._clock = clock

    def sampling_params(self) -> SamplingParams:
        document = self.documents.document(self.document_id)
        return sampling_from_dict({**self.default_sampling, **(document.sampling or {})})

    def context_tokens(self) -> int:
        """Context positions the next continuation's prompt takes."""
        text = self.documents.document(self.document_id).text
        try:
            return len(prompt_window(self.model, text, self.sampling_params()).ids)
        except EmptyDocumentError:
            return 0

    def continue_text(self, cancel: CancelToken | None = None, live: LiveAnswer | None = None) -> ContinuationOutcome:
        """Generates the continuation of the document as stored and appends it to the document,
        saving as it grows. `live.text` is the continuation alone; `live.message_id` the document."""
        live = live or LiveAnswer()
        params = self.sampling_params()
        document = self.documents.document(self.document_id)
        start = document.text
        window = prompt_window(self.model, start, params)
        self.documents.update_document(self.document_id, model=str(self.model.path),
                                       title=new_title(document.title, start))
        live.update(message_id=self.document_id, text="", prompt_total=len(window.ids),
                    context_used=len(window.ids), finished=False)
        reading = self.energy.start() if self.energy is not None else None
        events = self.model.generator.generate(window.ids, params)
        if cancel is not None:
            cancel._bind(self.model.generator)
        written, last_save, save_error, finished = "", self._clock(), None, None
        for event in events:
            if isinstance(event, TokenEvent):
                written += event.text
                live.append_text(event.text, generated_tokens=event.index + 1,
                                 context_used=len(window.ids) + event.index + 1,
                                 time_to_first_token=event.seconds - event.since_first_token,
                                 generation_tokens_per_second=(event.index / event.since_first_token
                                                               if event.since_first_token > 0 else None))
                if self._clock() - last_save >= self.save_interval:
                    save_error = self._save_partial(start + written) or save_error
                    if self.energy is not None:
                        self.energy.sample()
                    last_save = self._clock()
            elif isinstance(event, PromptProgressEvent):
                live.update(prompt_done=event.done, prompt_total=event.total,
                            prompt_tokens_per_second=(event.done / event.seconds if event.seconds > 0 else None))
            elif isinstance(event, FinishedEvent):
                finished = event
        self.documents.update_document(self.document_id, text=start + finished.text)
        s = finished.stats
        live.update(text=finished.text, finished=True,
                    prompt_tokens_per_second=s.prompt_tokens_per_second or None,
                    generation_tokens_per_second=s.generation_tokens_per_second or None,
                    time_to_first_token=s.time_to_first_token or None)
        return ContinuationOutcome(self.documents.document(self.document_id), finished, window,
                                   self._stats(finished, reading), save_error)

    def _save_partial(self, text: str) -> StoreError | None:
        try:
            self.documents.update_document(self.document_id, text=text)
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
