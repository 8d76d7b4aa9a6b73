"""The window as a person uses it, on the real engine and a small synthetic model: type, Enter,
the answer streams into the view and the store with its stats; stop, regenerate, edit and
resend; settings and the open conversation survive a restart; the context policy both ways."""
import json

import pytest
from PySide6.QtCore import Qt

from bitnet_desktop.app_settings import AppSettings
from bitnet_desktop.paths import settings_path
from tests.engine.runtime.gguf_files import synth
from tests.ui.window_fixtures import ANSWER_TIMEOUT_MS, harness  # noqa: F401 - fixture

LONG = {"temperature": 1.0, "max_tokens": 3000, "seed": 1, "top_k": 0, "top_p": 1.0, "min_p": 0.0}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("window"), shape="small", seed=31)


def label(chat, name):
    from PySide6.QtWidgets import QLabel

    return chat.stats.findChild(QLabel, name).text()


def test_type_enter_and_the_answer_streams_into_the_view_and_the_store(harness, model_path, qtbot):
    h = harness()
    assert not h.chat.composer.can_send and "Open a model" in h.chat.composer.reason.text()
    h.load(model_path)
    assert h.chat.composer.can_send
    assert "kernel" in h.chat.model_bar.label.text() and "threads" in h.chat.model_bar.label.text()
    qtbot.keyClicks(h.chat.composer.input, "Hello there")
    qtbot.keyClick(h.chat.composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(h.chat.composer.input, "second line")
    assert h.chat.composer.text() == "Hello there\nsecond line"  # Shift+Enter did not send
    with qtbot.waitSignal(h.chat.answer_finished, timeout=ANSWER_TIMEOUT_MS) as done:
        qtbot.keyClick(h.chat.composer.input, Qt.Key.Key_Return)
    outcome = done.args[0]
    assert h.chat.composer.text() == ""
    messages = h.store.messages(h.chat.conversation_id)
    assert [(m.role, m.text) for m in messages][0] == ("user", "Hello there\nsecond line")
    answer = messages[-1]
    assert answer.complete and answer.text == outcome.finished.text and answer.stats.generated_tokens > 0
    assert answer.stats.energy_source and answer.stats.prompt_tokens_per_second > 0
    shown = h.chat.view.toPlainText()
    assert "Hello there" in shown and h.chat.view.message_ids() == [m.id for m in messages]
    assert "gen" in label(h.chat, "stats_speed") and "ctx" in label(h.chat, "stats_context")
    assert "RAM" in label(h.chat, "stats_memory") and "J/token" in label(h.chat, "stats_energy")
    assert h.store.conversation(h.chat.conversation_id).title.startswith("Hello there")
    # nothing polls once the answer is done
    from PySide6.QtCore import QTimer

    assert [t.objectName() or repr(t) for t in h.window.findChildren(QTimer) if t.isActive()] == []


def test_stop_keeps_the_partial_answer(harness, model_path, qtbot):
    h = harness()
    h.load(model_path)
    cid = h.chat.new_conversation()
    h.store.update_conversation(cid, sampling=LONG)
    with qtbot.waitSignal(h.chat.answer_finished, timeout=ANSWER_TIMEOUT_MS) as done:
        h.chat.send("Tell me everything")
        qtbot.waitUntil(lambda: (h.chat.answer_snapshot() is not None and len(h.chat.answer_snapshot().text) > 20), timeout=30_000)
        assert h.chat.composer.button.text() == "Stop"
        qtbot.mouseClick(h.chat.composer.button, Qt.MouseButton.LeftButton)
    outcome = done.args[0]
    assert outcome.finished.reason == "cancelled" and 0 < len(outcome.finished.token_ids) < 3000
    stored = h.store.messages(cid)[-1]
    assert not stored.complete and stored.text == outcome.finished.text != ""
    assert h.chat.composer.button.text() == "Send" and "(stopped)" in h.chat.view.toPlainText()


def test_regenerate_replaces_the_last_answer(harness, model_path, qtbot):
    h = harness()
    h.load(model_path)
    cid = h.chat.new_conversation()
    h.store.update_conversation(cid, sampling={"temperature": 1.0, "max_tokens": 8})
    first = h.send_and_wait("Hi")
    with qtbot.waitSignal(h.chat.answer_finished, timeout=ANSWER_TIMEOUT_MS) as done:
        h.chat.view.regenerate_requested.emit(first.message.id)
    second = done.args[0]
    messages = h.store.messages(cid)
    assert [m.role for m in messages] == ["user", "assistant"] and messages[-1].id == second.message.id != first.message.id
    assert h.chat.view.message_ids() == [m.id for m in messages]


def test_edit_and_resend_replaces_the_later_messages(harness, model_path, qtbot):
    h = harness()
    h.load(model_path)
    cid = h.chat.new_conversation()
    h.store.update_conversation(cid, sampling={"temperature": 0, "max_tokens": 6})
    h.send_and_wait("First question")
    h.send_and_wait("Second question")
    first_user = h.store.messages(cid)[0]
    h.chat.view.edit_requested.emit(first_user.id)
    assert h.chat.composer.text() == "First question" and h.chat.composer.editing_message_id == first_user.id
    outcome = h.send_and_wait("A better first question")
    messages = h.store.messages(cid)
    assert [(m.role, m.text) for m in messages][0] == ("user", "A better first question")
    assert len(messages) == 2 and messages[1].id == outcome.message.id
    assert h.chat.view.message_ids() == [m.id for m in messages]


def test_settings_and_the_open_conversation_survive_a_restart(harness, model_path, qtbot):
    h = harness()
    h.load(model_path)
    cid = h.chat.new_conversation()
    h.store.update_conversation(cid, sampling={"temperature": 0, "max_tokens": 4})
    h.send_and_wait("Remember me")
    h.window.resize(700, 500)  # the offscreen screen is 800 x 600: restoreGeometry keeps windows on it
    h.window.close()
    saved = json.loads(settings_path().read_text())
    assert saved["open_conversation"] == cid and saved["last_model"] == str(model_path)
    assert saved["window_geometry"] and saved["splitter_state"]
    again = harness(AppSettings.load(settings_path()))
    assert again.chat.conversation_id == cid
    assert "Remember me" in again.chat.view.toPlainText()
    assert (again.window.width(), again.window.height()) == (700, 500)
    with qtbot.waitSignal(again.window.engine.model_loaded, timeout=60_000):
        again.window.start()  # loads the last model
    assert again.chat.composer.can_send


def open_long_conversation(h, model_path):
    """Five long exchanges: more than a 256-token context holds."""
    h.load(model_path)
    cid = h.chat.new_conversation()
    h.store.update_conversation(cid, sampling={"temperature": 0, "max_tokens": 8})
    for i in range(5):
        h.store.add_message(cid, "user", f"question {i} " + "blah " * 20)
        h.store.add_message(cid, "assistant", f"answer {i} " + "bleh " * 20)
    h.chat.open_conversation(cid)


def test_stop_and_ask_offers_to_drop_the_oldest_turns(harness, model_path, qtbot):
    settings = AppSettings.load(settings_path())
    settings.context_length, settings.context_policy = 256, "stop_and_ask"
    h = harness(settings)
    open_long_conversation(h, model_path)
    h.chat.send("the newest question")
    qtbot.waitUntil(lambda: h.chat.overflow_box is not None, timeout=30_000)
    assert "does not fit" in h.chat.overflow_box.windowTitle() or "context" in h.chat.overflow_box.text()
    drop = next(b for b in h.chat.overflow_box.buttons() if "Drop" in b.text())
    with qtbot.waitSignal(h.chat.answer_finished, timeout=ANSWER_TIMEOUT_MS) as done:
        drop.click()
    assert done.args[0].plan.dropped_messages > 0
    assert "left out of the prompt" in h.chat.notice.text()


def test_drop_oldest_policy_answers_without_asking(harness, model_path, qtbot):
    settings = AppSettings.load(settings_path())
    settings.context_length, settings.context_policy = 256, "drop_oldest"
    h = harness(settings)
    open_long_conversation(h, model_path)
    outcome = h.send_and_wait("the newest question")
    assert outcome.plan.dropped_messages > 0 and h.chat.overflow_box is None
