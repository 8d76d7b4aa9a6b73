"""The chat session on a real (synthetic) model and a real store: answers streamed into the store
with their stats, cancel, regenerate, edit-and-resend, both context policies, titles."""
import threading

import pytest

from bitnet_desktop.chats.context_policy import ContextOverflowError, ContextPolicy
from bitnet_desktop.chats.errors import DiskFullError
from bitnet_desktop.chats.live_answer import LiveAnswer
from bitnet_desktop.chats.session import CancelToken, ChatSession, title_from
from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.engine.chat import NoChatFormatError
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.meters.energy import EnergyMeter
from tests.engine.runtime.gguf_files import rewrite, synth

GREEDY = {"temperature": 0, "max_tokens": 12}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = synth(tmp_path_factory.mktemp("session"), shape="small", seed=21)
    m = BitNetModel.load(path, LoadOptions(threads=2, context_length=256))
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


def new_session(store, model, sampling=GREEDY, **kwargs):
    conversation = store.create_conversation(system_prompt="Be brief.", sampling=dict(sampling))
    return ChatSession(store, conversation.id, model, **kwargs)


def test_an_answer_is_stored_with_its_stats(store, model):
    session = new_session(store, model, energy=EnergyMeter(watts_per_core=10.0))
    session.add_user_message("Hello there, how are you today?")
    live = LiveAnswer()
    outcome = session.answer(live=live)
    stored = store.messages(session.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"]
    answer = stored[-1]
    assert answer == outcome.message and answer.complete and answer.text == outcome.finished.text
    assert answer.model_file == str(model.path) and answer.sampling["temperature"] == 0
    s = answer.stats
    assert s.finish_reason in ("max_tokens", "eos") and s.generated_tokens == len(outcome.finished.token_ids)
    assert s.prompt_tokens == outcome.plan.tokens and s.prompt_tokens_per_second > 0
    assert s.time_to_first_token > 0 and s.energy_joules >= 0 and s.energy_source
    snap = live.snapshot()
    assert snap.finished and snap.text == answer.text and snap.message_id == answer.id
    assert snap.prompt_done == snap.prompt_total == outcome.plan.tokens
    assert store.conversation(session.conversation_id).model == str(model.path)


def test_the_streaming_answer_is_saved_as_it_grows(store, model):
    session = new_session(store, model, clock=Ticking())
    session.add_user_message("Tell me a story")
    seen = []
    original = store.update_message

    def spy(message_id, text, **kwargs):
        seen.append((text, kwargs.get("complete")))
        original(message_id, text, **kwargs)

    store.update_message = spy
    outcome = session.answer()
    partial = [text for text, complete in seen if complete is None]
    assert len(partial) >= len(outcome.finished.token_ids) - 2
    assert all(outcome.finished.text.startswith(t) for t in partial)
    assert seen[-1] == (outcome.finished.text, True)


def test_a_failed_streaming_save_keeps_going_and_the_final_save_lands(store, model):
    session = new_session(store, model, clock=Ticking())
    session.add_user_message("Tell me a story")
    original = store.update_message

    def full_disk(message_id, text, **kwargs):
        if kwargs.get("complete") is None:
            raise DiskFullError("disk full (test)")
        original(message_id, text, **kwargs)

    store.update_message = full_disk
    outcome = session.answer()
    assert isinstance(outcome.save_error, DiskFullError)
    assert store.message(outcome.message.id).text == outcome.finished.text != ""


def test_a_cancel_before_the_answer_starts_keeps_an_incomplete_message(store, model):
    session = new_session(store, model, sampling={"temperature": 0, "max_tokens": 100})
    session.add_user_message("Count to a hundred")
    token = CancelToken()
    token.cancel()
    outcome = session.answer(cancel=token)
    assert outcome.finished.reason == "cancelled"
    stored = store.message(outcome.message.id)
    assert not stored.complete and stored.stats.finish_reason == "cancelled"


def test_a_cancel_from_another_thread_mid_answer_keeps_the_partial_text(store, model):
    session = new_session(store, model, sampling={"temperature": 0, "max_tokens": 200})
    session.add_user_message("Count to a thousand")
    token, live = CancelToken(), LiveAnswer()

    class CancelOnThirdToken(LiveAnswer):
        def append_text(self, text, **changes):
            super().append_text(text, **changes)
            if changes.get("generated_tokens") == 3:
                stopper = threading.Thread(target=token.cancel)
                stopper.start()
                stopper.join()

    live = CancelOnThirdToken()
    outcome = session.answer(cancel=token, live=live)
    assert outcome.finished.reason == "cancelled" and 3 <= len(outcome.finished.token_ids) < 200
    assert store.message(outcome.message.id).text == outcome.finished.text


def test_regenerate_replaces_the_last_answer(store, model):
    session = new_session(store, model, sampling={"temperature": 1.0, "seed": 1, "max_tokens": 8})
    session.add_user_message("Hi")
    first = session.answer()
    store.update_conversation(session.conversation_id, sampling={"temperature": 1.0, "seed": 2, "max_tokens": 8})
    second = session.regenerate()
    stored = store.messages(session.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"] and stored[-1].id == second.message.id
    assert first.message.id != second.message.id


def test_edit_and_resend_replaces_later_messages(store, model):
    session = new_session(store, model)
    first_user = session.add_user_message("First question")
    session.answer()
    session.add_user_message("Second question")
    session.answer()
    outcome = session.edit_and_resend(first_user.id, "A better first question")
    stored = store.messages(session.conversation_id)
    assert [(m.role, m.text) for m in stored[:1]] == [("user", "A better first question")]
    assert len(stored) == 2 and stored[1].id == outcome.message.id


def test_stop_and_ask_refuses_an_overlong_conversation_and_writes_nothing(store, model):
    session = new_session(store, model)
    session.add_user_message("word " * 300)
    with pytest.raises(ContextOverflowError, match="start a new chat") as raised:
        session.answer()
    assert raised.value.prompt_tokens > raised.value.context_size - raised.value.reserve
    assert [m.role for m in store.messages(session.conversation_id)] == ["user"]


def test_drop_oldest_keeps_the_system_prompt_and_the_newest_turn(store, model):
    session = new_session(store, model, policy=ContextPolicy.DROP_OLDEST)
    for i in range(6):
        store.add_message(session.conversation_id, "user", f"question {i} " + "blah " * 20)
        store.add_message(session.conversation_id, "assistant", f"answer {i} " + "bleh " * 20)
    session.add_user_message("the newest question")
    full = session.context_tokens()
    assert full > 256 - 12
    outcome = session.answer()
    plan = outcome.plan
    assert plan.dropped_messages > 0 and plan.tokens <= 256 - plan.reserve
    text = model.tokenizer.decode(plan.ids)
    assert "Be brief." in text and "the newest question" in text and "question 0" not in text
    assert len(store.messages(session.conversation_id)) == 14  # nothing removed from the store


def test_drop_oldest_still_refuses_a_single_message_too_long(store, model):
    session = new_session(store, model, policy="drop_oldest")
    session.add_user_message("word " * 300)
    with pytest.raises(ContextOverflowError, match="newest message"):
        session.answer()


def test_the_first_message_names_the_conversation(store, model):
    session = new_session(store, model)
    session.add_user_message("  How do   ternary weights\nwork in BitNet b1.58 models exactly?  ")
    title = store.conversation(session.conversation_id).title
    assert title == title_from("How do ternary weights work in BitNet b1.58 models exactly?")
    assert title.startswith("How do ternary weights work") and len(title) <= 48
    session.add_user_message("another")
    assert store.conversation(session.conversation_id).title == title


def test_a_base_model_cannot_answer_a_conversation_and_nothing_is_written(store, tmp_path):
    chat = synth(tmp_path, "chat.gguf", shape="tiny", arch="bitnet", fmt="tq2_0", seed=3)
    base = BitNetModel.load(rewrite(chat, tmp_path / "base.gguf", drop_meta=("tokenizer.chat_template",)),
                            LoadOptions(threads=1, context_length=128))
    try:
        session = new_session(store, base)
        session.add_user_message("Hello")  # the store-only steps need no chat format
        for chat_only in (session.answer, session.context_tokens, session.plan):
            with pytest.raises(NoChatFormatError, match="answering a conversation needs a chat format.*base model"):
                chat_only()
        assert [m.role for m in store.messages(session.conversation_id)] == ["user"]
    finally:
        base.close()
