"""DocumentStore: the text-completion documents in, the same out, most recent first."""
import pytest

from bitnet_desktop.chats import documents as documents_module
from bitnet_desktop.chats.documents import DEFAULT_DOCUMENT_TITLE, DocumentNotFoundError
from bitnet_desktop.chats.errors import StoreError
from bitnet_desktop.chats.store import ConversationStore


@pytest.fixture
def store(tmp_path):
    with ConversationStore.open(tmp_path / "chats.sqlite3") as store:
        yield store


@pytest.fixture
def clock(monkeypatch):
    now = [1_700_000_000.0]

    class Clock:
        @staticmethod
        def time():
            return now[0]

        @staticmethod
        def tick(seconds=1.0):
            now[0] += seconds
            return now[0]

    monkeypatch.setattr(documents_module, "time", Clock)
    return Clock


def test_create_and_read_back(store, clock):
    d = store.documents.create_document("Ballad", "Once upon a time", model="/m/base.gguf",
                                        sampling={"temperature": 0.5, "seed": 4})
    assert store.documents.document(d.id) == d
    assert (d.title, d.text, d.model, d.sampling) == ("Ballad", "Once upon a time", "/m/base.gguf",
                                                      {"temperature": 0.5, "seed": 4})
    assert d.created == d.updated == clock.time()
    blank = store.documents.create_document()
    assert (blank.title, blank.text, blank.model, blank.sampling) == (DEFAULT_DOCUMENT_TITLE, "", None, {})


def test_documents_most_recently_changed_first(store, clock):
    a = store.documents.create_document("a")
    clock.tick()
    b = store.documents.create_document("b")
    assert [d.id for d in store.documents.documents()] == [b.id, a.id]
    clock.tick()
    store.documents.update_document(a.id, text="new words")
    assert [d.id for d in store.documents.documents()] == [a.id, b.id]


def test_text_and_title_are_activity_settings_are_not(store, clock):
    d = store.documents.create_document("t", "x")
    clock.tick()
    store.documents.update_document(d.id, model="/m/other.gguf", sampling={"max_tokens": 9})
    after = store.documents.document(d.id)
    assert (after.model, after.sampling, after.updated, after.text) == ("/m/other.gguf", {"max_tokens": 9},
                                                                        d.updated, "x")
    clock.tick()
    store.documents.update_document(d.id, title="Renamed")
    assert store.documents.document(d.id).updated == clock.time()


def test_sampling_is_checked(store):
    with pytest.raises(ValueError, match="unknown sampling settings colour"):
        store.documents.create_document(sampling={"colour": "red"})
    d = store.documents.create_document()
    with pytest.raises(ValueError, match="max_tokens"):
        store.documents.update_document(d.id, sampling={"max_tokens": 0})
    assert store.documents.document(d.id).sampling == {}


def test_unknown_ids_raise_a_key_error_with_a_plain_message(store):
    for call in (lambda: store.documents.document(7), lambda: store.documents.update_document(7, text="x"),
                 lambda: store.documents.delete_document(7)):
        with pytest.raises(DocumentNotFoundError) as caught:
            call()
        assert isinstance(caught.value, KeyError) and isinstance(caught.value, StoreError)
        assert str(caught.value) == "no document with id 7"


def test_delete_returns_the_document_and_leaves_conversations_alone(store):
    c = store.create_conversation("chat")
    d = store.documents.create_document("doc", "text")
    assert store.documents.delete_document(d.id) == d
    assert store.documents.documents() == [] and [x.id for x in store.conversations()] == [c.id]


def test_documents_survive_reopening(tmp_path):
    path = tmp_path / "chats.sqlite3"
    with ConversationStore.open(path) as store:
        d = store.documents.create_document("kept", "every word\nof it")
    with ConversationStore.open(path) as store:
        assert store.documents.documents() == [d]
