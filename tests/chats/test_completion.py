"""The completion session on a real (synthetic) model and a real store: the continuation is what
the model generates from the document, appended to it and saved as it grows; cancel keeps the
partial text; a long document is read from its end; a base model (no chat template) continues too."""
import threading

import pytest

from bitnet_desktop.chats.completion import CompletionSession, EmptyDocumentError, prompt_window
from bitnet_desktop.chats.documents import DEFAULT_DOCUMENT_TITLE
from bitnet_desktop.chats.errors import DiskFullError
from bitnet_desktop.chats.live_answer import LiveAnswer
from bitnet_desktop.chats.records import sampling_from_dict
from bitnet_desktop.chats.session import CancelToken
from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.engine.gguf import ValueType
from bitnet_desktop.engine.runtime.loader import load_model
from bitnet_desktop.engine.runtime.model import LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams
from bitnet_desktop.meters.energy import EnergyMeter
from tests.engine.runtime.gguf_files import rewrite, synth

GREEDY = {"temperature": 0, "max_tokens": 12}
CONTEXT = 256


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    m = load_model(synth(tmp_path_factory.mktemp("completion"), shape="small", seed=21),
                   LoadOptions(threads=2, context_length=CONTEXT))
    yield m
    m.close()


@pytest.fixture(scope="module")
def base_model(tmp_path_factory):
    """A base model as 1bitLLM's and Llama3-8B-1.58's files are: SentencePiece vocabulary, no chat template."""
    m = load_model(synth(tmp_path_factory.mktemp("base"), shape="tiny", fmt="tq2_0", arch="bitnet",
                         tokenizer="llama", seed=5), LoadOptions(threads=2, context_length=CONTEXT))
    yield m
    m.close()


@pytest.fixture
def store(tmp_path):
    s = ConversationStore.open(tmp_path / "chats.sqlite3")
    yield s
    s.close()


class Ticking:
    """A clock that moves one second per reading: every token is a save point."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def new_session(store, model, text, sampling=GREEDY, **kwargs):
    document = store.documents.create_document(text=text, sampling=dict(sampling))
    return CompletionSession(store.documents, document.id, model, **kwargs)


def direct_continuation(model, text, sampling=GREEDY):
    events = list(model.generator.generate(model.tokenizer.encode(text), sampling_from_dict(sampling)))
    return events[-1].text


def test_the_continuation_is_the_models_and_is_appended_to_the_document(store, model):
    text = "The lighthouse keeper climbed the stairs"
    expected = direct_continuation(model, text)
    session = new_session(store, model, text, energy=EnergyMeter(watts_per_core=10.0))
    live = LiveAnswer()
    outcome = session.continue_text(live=live)
    assert outcome.finished.text == expected != ""
    stored = store.documents.document(session.document_id)
    assert stored == outcome.document and stored.text == text + expected
    assert stored.model == str(model.path) and stored.title == text   # named after its first words
    snap = live.snapshot()
    assert snap.finished and snap.text == expected and snap.message_id == session.document_id
    assert snap.context_used == len(model.tokenizer.encode(text)) + snap.generated_tokens
    s = outcome.stats
    assert s.generated_tokens == len(outcome.finished.token_ids) and s.prompt_tokens_per_second > 0
    assert s.energy_joules is not None and s.finish_reason == outcome.finished.reason.value


def test_continuing_twice_reads_what_was_written_and_reuses_the_cache(store, model):
    session = new_session(store, model, "Once upon a time")
    first = session.continue_text()
    second = session.continue_text()
    assert store.documents.document(session.document_id).text == \
        "Once upon a time" + first.finished.text + second.finished.text
    assert second.stats.reused_tokens > 0


def test_the_sampling_settings_apply(store, model):
    session = new_session(store, model, "Count with me: one", {"temperature": 1.0, "seed": 3, "max_tokens": 5})
    outcome = session.continue_text()
    assert len(outcome.finished.token_ids) <= 5
    assert outcome.finished.text == direct_continuation(model, "Count with me: one",
                                                        {"temperature": 1.0, "seed": 3, "max_tokens": 5})


def test_the_document_is_saved_as_the_continuation_grows(store, model):
    session = new_session(store, model, "Dear diary,", clock=Ticking())
    saved = []
    original = store.documents.update_document

    def spy(document_id, **changes):
        if changes.get("text") is not None:
            saved.append(changes["text"])
        original(document_id, **changes)

    store.documents.update_document = spy
    outcome = session.continue_text()
    assert len(saved) >= len(outcome.finished.token_ids) - 1
    assert all(t.startswith("Dear diary,") and ("Dear diary," + outcome.finished.text).startswith(t) for t in saved)
    assert saved[-1] == "Dear diary," + outcome.finished.text


def test_a_failed_save_while_writing_keeps_going_and_the_final_save_lands(store, model):
    session = new_session(store, model, "Dear diary,", clock=Ticking())
    original = store.documents.update_document
    calls = []

    def full_disk_until_the_end(document_id, **changes):
        calls.append(changes)
        if changes.get("text") is not None and len(calls) < 4:
            raise DiskFullError("disk full (test)")
        original(document_id, **changes)

    store.documents.update_document = full_disk_until_the_end
    outcome = session.continue_text()
    assert isinstance(outcome.save_error, DiskFullError)
    assert store.documents.document(session.document_id).text == "Dear diary," + outcome.finished.text


def test_a_cancel_from_another_thread_keeps_the_partial_text(store, model):
    session = new_session(store, model, "Count to a thousand:", {"temperature": 0, "max_tokens": 200})
    token = CancelToken()

    class CancelOnThirdToken(LiveAnswer):
        def append_text(self, text, **changes):
            super().append_text(text, **changes)
            if changes.get("generated_tokens") == 3:
                stopper = threading.Thread(target=token.cancel)
                stopper.start()
                stopper.join()

    outcome = session.continue_text(cancel=token, live=CancelOnThirdToken())
    assert outcome.finished.reason == "cancelled" and 3 <= len(outcome.finished.token_ids) < 200
    assert store.documents.document(session.document_id).text == "Count to a thousand:" + outcome.finished.text


def test_an_empty_document_starts_from_bos(store, model):
    session = new_session(store, model, "")
    outcome = session.continue_text()
    assert outcome.prompt.ids == [model.tokenizer.bos_id]
    assert store.documents.document(session.document_id).text == outcome.finished.text
    assert store.documents.document(session.document_id).title == DEFAULT_DOCUMENT_TITLE


def test_an_empty_document_without_bos_is_refused_and_text_continues_without_it(store, tmp_path):
    """A vocabulary with no BOS token (and none added): an empty document has nothing to start from."""
    source = synth(tmp_path, "with-bos.gguf", shape="tiny", fmt="tq2_0", arch="bitnet", tokenizer="llama", seed=5)
    path = rewrite(source, tmp_path / "no-bos.gguf", drop_meta=("tokenizer.ggml.bos_token_id",),
                   meta={"tokenizer.ggml.add_bos_token": (ValueType.BOOL, False)})
    m = load_model(path, LoadOptions(threads=1, context_length=CONTEXT))
    try:
        assert m.tokenizer.bos_id is None
        with pytest.raises(EmptyDocumentError, match="write something first"):
            new_session(store, m, "").continue_text()
        session = new_session(store, m, "Hello there")
        outcome = session.continue_text()
        assert outcome.prompt.ids == m.tokenizer.encode("Hello there") and outcome.finished.reason != "error"
    finally:
        m.close()


def test_a_long_document_is_read_from_its_end(store, model):
    text = " ".join(f"line {i} of a long story about the sea." for i in range(120))
    ids = model.tokenizer.encode(text)
    assert len(ids) > CONTEXT
    window = prompt_window(model, text, SamplingParams(max_tokens=40))
    assert window.ids[0] == model.tokenizer.bos_id == ids[0] and window.ids[1:] == ids[-(len(window.ids) - 1):]
    assert len(window.ids) + 40 == CONTEXT and window.left_out_tokens == len(ids) - len(window.ids)
    session = new_session(store, model, text, {"temperature": 0, "max_tokens": 40})
    outcome = session.continue_text()
    assert outcome.finished.reason != "error" and outcome.prompt == window
    # Even a budget of the whole context keeps half of it for the document.
    assert len(prompt_window(model, text, SamplingParams(max_tokens=10_000)).ids) == CONTEXT // 2


def test_a_base_model_continues_a_document(store, base_model):
    assert base_model.chat_format is None and base_model.is_base_model
    text = "It was a dark and stormy night"
    session = new_session(store, base_model, text, {"temperature": 0, "max_tokens": 16})
    outcome = session.continue_text()
    assert outcome.finished.text == direct_continuation(base_model, text, {"temperature": 0, "max_tokens": 16})
    assert len(outcome.finished.token_ids) > 0
    assert store.documents.document(session.document_id).text == text + outcome.finished.text
