"""ConversationStore: conversations and messages in, the same out, in the promised order."""
import dataclasses
import threading

import pytest

from bitnet_desktop.chats import store as store_module
from bitnet_desktop.chats.errors import ConversationNotFoundError, MessageNotFoundError, StoreError
from bitnet_desktop.chats.records import AnswerStats
from bitnet_desktop.chats.store import UNCHANGED, ConversationStore, DeletedConversation


@pytest.fixture
def store(tmp_path):
    with ConversationStore.open(tmp_path / "data" / "chats.sqlite3") as store:
        yield store


@pytest.fixture
def clock(monkeypatch):
    """time.time() as seen by the store, advanced by hand, so ordering never rests on a tie."""
    now = [1_700_000_000.0]

    class Clock:
        @staticmethod
        def time():
            return now[0]

        @staticmethod
        def tick(seconds=1.0):
            now[0] += seconds
            return now[0]

    monkeypatch.setattr(store_module, "time", Clock)  # the store's `time` module only
    return Clock


def test_open_creates_the_folder_and_reports_itself(tmp_path):
    path = tmp_path / "a" / "b" / "chats.sqlite3"
    with ConversationStore.open(path) as store:
        assert store.path == path and path.exists()
        assert store.schema_version == 3
        assert store.quarantined is None


def test_create_and_read_back_a_conversation(store, clock):
    created = store.create_conversation("Trip", model="/models/m.gguf", system_prompt="Be brief.",
                                        sampling={"temperature": 0.2, "seed": 7})
    assert created == store.conversation(created.id)
    assert (created.title, created.model, created.system_prompt) == ("Trip", "/models/m.gguf", "Be brief.")
    assert created.sampling == {"temperature": 0.2, "seed": 7}
    assert created.created == created.updated == 1_700_000_000.0
    assert created.pinned is False


def test_defaults(store):
    conversation = store.create_conversation()
    assert (conversation.title, conversation.model, conversation.system_prompt, conversation.sampling) == \
        ("New chat", None, "", {})


def test_messages_round_trip_every_field(store):
    conversation = store.create_conversation()
    stats = AnswerStats(prompt_tokens=12, reused_tokens=4, generated_tokens=30,
                        prompt_tokens_per_second=250.5, generation_tokens_per_second=21.25,
                        time_to_first_token=0.4, energy_joules=3.5, energy_source="estimated: CPU time",
                        finish_reason="eos")
    user = store.add_message(conversation.id, "user", "Hi *there*")
    answer = store.add_message(conversation.id, "assistant", "Hello!", model_file="/m/a.gguf",
                               model_sha256="ab" * 32, sampling={"temperature": 0.7, "top_k": 40},
                               stats=stats, complete=False)
    assert store.messages(conversation.id) == [user, answer]
    assert store.message(answer.id) == answer
    assert answer.stats == stats and answer.sampling == {"temperature": 0.7, "top_k": 40}
    assert (answer.model_file, answer.model_sha256, answer.complete) == ("/m/a.gguf", "ab" * 32, False)
    assert (user.stats, user.sampling, user.complete) == (None, None, True)
    assert store.message_count(conversation.id) == 2


def test_role_is_checked(store):
    conversation = store.create_conversation()
    with pytest.raises(ValueError, match="role must be one of system, user, assistant"):
        store.add_message(conversation.id, "bot", "hi")
    assert store.messages(conversation.id) == []


def test_sampling_is_checked(store):
    with pytest.raises(ValueError, match="unknown sampling settings colour"):
        store.create_conversation(sampling={"colour": 1})
    with pytest.raises(ValueError, match="top_p"):
        store.create_conversation(sampling={"top_p": -1})
    assert store.conversations() == []


def test_conversations_pinned_first_then_most_recent_activity(store, clock):
    old = store.create_conversation("old")
    clock.tick()
    middle = store.create_conversation("middle")
    clock.tick()
    new = store.create_conversation("new")
    assert [c.title for c in store.conversations()] == ["new", "middle", "old"]
    clock.tick()
    store.add_message(old.id, "user", "back to this one")
    assert [c.title for c in store.conversations()] == ["old", "new", "middle"]
    store.set_pinned(middle.id, True)
    assert [c.title for c in store.conversations()] == ["middle", "old", "new"]
    assert store.conversation(middle.id).pinned is True
    store.set_pinned(middle.id, False)
    assert [c.title for c in store.conversations()] == ["old", "new", "middle"]
    assert new.id > middle.id > old.id


def test_pinning_is_not_activity_but_renaming_is(store, clock):
    conversation = store.create_conversation("a")
    clock.tick()
    store.set_pinned(conversation.id, True)
    assert store.conversation(conversation.id).updated == conversation.updated
    later = clock.tick()
    store.rename_conversation(conversation.id, "b")
    assert store.conversation(conversation.id).title == "b"
    assert store.conversation(conversation.id).updated == later


def test_update_conversation_changes_only_what_is_given(store, clock):
    conversation = store.create_conversation("t", model="a.gguf", system_prompt="s", sampling={"seed": 1})
    clock.tick()
    store.update_conversation(conversation.id, model="b.gguf")
    assert store.conversation(conversation.id) == dataclasses.replace(conversation, model="b.gguf")
    store.update_conversation(conversation.id, system_prompt="", sampling={"temperature": 0.0})
    got = store.conversation(conversation.id)
    assert (got.model, got.system_prompt, got.sampling) == ("b.gguf", "", {"temperature": 0.0})
    store.update_conversation(conversation.id, model=None, sampling=None)
    got = store.conversation(conversation.id)
    assert (got.model, got.sampling, got.updated) == (None, {}, conversation.updated)
    store.update_conversation(conversation.id)  # nothing to change is fine
    assert repr(UNCHANGED) == "UNCHANGED"


def test_streaming_updates_then_the_final_save(store, clock):
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "Tell me a story")
    answer = store.add_message(conversation.id, "assistant", "", complete=False)
    text = ""
    for piece in ("Once", " upon", " a time"):
        text += piece
        when = clock.tick()
        store.update_message(answer.id, text)
        saved = store.message(answer.id)
        assert (saved.text, saved.complete, saved.stats) == (text, False, None)
        assert store.conversation(conversation.id).updated == when
    stats = AnswerStats(generated_tokens=3, finish_reason="eos")
    store.update_message(answer.id, text + ".", complete=True, stats=stats)
    saved = store.message(answer.id)
    assert (saved.text, saved.complete, saved.stats) == ("Once upon a time.", True, stats)
    assert saved.created == answer.created
    # A later save without stats keeps them.
    store.update_message(answer.id, "edited")
    assert store.message(answer.id).stats == stats


def test_delete_messages_after(store, clock):
    conversation = store.create_conversation()
    other = store.create_conversation()
    ids = [store.add_message(conversation.id, role, str(i)).id
           for i, role in enumerate(["user", "assistant", "user", "assistant"])]
    keep = store.add_message(other.id, "user", "elsewhere")
    when = clock.tick()
    assert store.delete_messages_after(conversation.id, ids[1]) == 2
    assert [m.id for m in store.messages(conversation.id)] == ids[:2]
    assert store.conversation(conversation.id).updated == when
    assert store.delete_messages_after(conversation.id, ids[1]) == 0
    assert store.messages(other.id) == [keep]
    elsewhere = f"message {keep.id} is not in conversation {conversation.id}"
    with pytest.raises(MessageNotFoundError, match=elsewhere):
        store.delete_messages_after(conversation.id, keep.id)


def test_delete_message(store, clock):
    conversation = store.create_conversation()
    first = store.add_message(conversation.id, "user", "a")
    second = store.add_message(conversation.id, "assistant", "b")
    when = clock.tick()
    store.delete_message(first.id)
    assert store.messages(conversation.id) == [second]
    assert store.conversation(conversation.id).updated == when
    with pytest.raises(MessageNotFoundError):
        store.message(first.id)


def test_delete_and_restore_keep_ids_and_messages(store, clock):
    conversation = store.create_conversation("Keep me", sampling={"top_k": 5})
    messages = [store.add_message(conversation.id, "user", "question"),
                store.add_message(conversation.id, "assistant", "answer",
                                  stats=AnswerStats(generated_tokens=1))]
    conversation = store.conversation(conversation.id)
    deleted = store.delete_conversation(conversation.id)
    assert deleted == DeletedConversation(conversation, tuple(messages))
    assert store.conversations() == []
    with pytest.raises(ConversationNotFoundError):
        store.messages(conversation.id)
    newer = store.create_conversation("made meanwhile")  # ids are never reused
    assert newer.id != conversation.id
    assert store.restore_conversation(deleted) == conversation
    assert store.messages(conversation.id) == messages
    assert [c.id for c in store.conversations()] == [newer.id, conversation.id]
    with pytest.raises(StoreError):
        store.restore_conversation(deleted)  # already there
    assert store.messages(conversation.id) == messages


def test_unknown_ids_raise_key_errors_with_plain_messages(store):
    with pytest.raises(ConversationNotFoundError) as caught:
        store.conversation(42)
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, StoreError)
    assert str(caught.value) == "no conversation with id 42"
    for call in (lambda: store.messages(42), lambda: store.message_count(42),
                 lambda: store.rename_conversation(42, "x"), lambda: store.set_pinned(42, True),
                 lambda: store.update_conversation(42, model="m"),
                 lambda: store.update_conversation(42), lambda: store.delete_conversation(42),
                 lambda: store.add_message(42, "user", "x"), lambda: store.delete_messages_after(42, 1)):
        with pytest.raises(ConversationNotFoundError):
            call()
    for call in (lambda: store.message(7), lambda: store.update_message(7, "x"),
                 lambda: store.delete_message(7)):
        with pytest.raises(MessageNotFoundError, match="^no message with id 7$"):
            call()


def test_import_conversations_is_all_or_nothing(store):
    source = store.create_conversation("source")
    message = store.add_message(source.id, "user", "hello")
    bad = store.add_message(source.id, "user", "bye")
    bad = dataclasses.replace(bad, role="bot")
    with pytest.raises(ValueError):
        store.import_conversations([(source, [message]), (source, [bad])])
    assert [c.id for c in store.conversations()] == [source.id]
    (new_id,) = store.import_conversations([(source, [message])])
    assert new_id != source.id
    copied = store.messages(new_id)[0]
    assert (copied.text, copied.created, copied.conversation_id) == ("hello", message.created, new_id)


def test_closed_store_raises_a_store_error(tmp_path):
    store = ConversationStore.open(tmp_path / "chats.sqlite3")
    store.close()
    with pytest.raises(StoreError, match="chats.sqlite3"):
        store.conversations()


def test_two_threads_share_the_store(store):
    """The engine thread streams an answer while the UI thread adds, reads and searches."""
    streamed = store.create_conversation("streamed")
    answer = store.add_message(streamed.id, "assistant", "", complete=False)
    typed = store.create_conversation("typed")
    errors = []

    def engine():
        try:
            for i in range(200):
                store.update_message(answer.id, "word " * (i + 1), complete=i == 199)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def ui():
        try:
            for i in range(200):
                store.add_message(typed.id, "user", f"note {i}")
                store.conversations()
                store.search("word")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=engine), threading.Thread(target=ui)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.message(answer.id).text == "word " * 200 and store.message(answer.id).complete
    assert [m.text for m in store.messages(typed.id)] == [f"note {i}" for i in range(200)]
