"""A base model (no chat template) in the window, on the real engine and a synthetic base model:
it opens the text-completion view instead of the chat; Ctrl+Enter streams the continuation into
the document and the store; Stop keeps the partial text; the document (typed or written) comes
back after a restart; loading a chat model brings the chat back."""
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel

from bitnet_desktop.app_settings import AppSettings
from bitnet_desktop.paths import settings_path
from bitnet_desktop.ui.completion_page import as_shown
from tests.engine.runtime.gguf_files import synth
from tests.ui.window_fixtures import ANSWER_TIMEOUT_MS, harness  # noqa: F401 - fixture

# Seed 2 writes 3000 tokens on this model at one thread without meeting end-of-text, about 4 s in
# an 8192-position context: long enough to see the store grow while it streams, and to stop it.
LONG = {"temperature": 1.0, "max_tokens": 3000, "seed": 2, "top_k": 0, "top_p": 1.0, "min_p": 0.0}
SHORT = {"temperature": 0, "max_tokens": 16}


@pytest.fixture(scope="module")
def base_model(tmp_path_factory):
    """SentencePiece vocabulary and no chat template, as 1bitLLM's and Llama3-8B-1.58's files."""
    return synth(tmp_path_factory.mktemp("completion-window"), shape="small", fmt="tq2_0", arch="bitnet",
                 tokenizer="llama", seed=7)


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("completion-window-chat"), shape="tiny", seed=3)


def label(page, name):
    return page.stats.findChild(QLabel, name).text()


def one_thread(context_length=None):
    settings = AppSettings.load(settings_path())
    settings.threads = 1
    if context_length is not None:
        settings.context_length = context_length
    return settings


def continue_and_wait(qtbot, page):
    with qtbot.waitSignal(page.continuation_finished, timeout=ANSWER_TIMEOUT_MS) as done:
        qtbot.keyClick(page.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    return done.args[0]


def test_a_base_model_opens_the_completion_view_and_ctrl_enter_continues_the_text(harness, base_model, qtbot):
    h = harness()
    page = h.window.completion
    assert not h.window.showing_completion
    h.load(base_model)
    assert h.window.showing_completion and h.window.tabs.tabText(0) == "Completion"
    assert "base model: text completion" in page.model_bar.label.text() and "kernel" in page.model_bar.label.text()
    assert "base model" in h.chat.composer.reason.text() and not h.chat.composer.can_send
    qtbot.keyClicks(page.editor, "The lighthouse keeper")
    outcome = continue_and_wait(qtbot, page)
    written = outcome.finished.text
    assert written and page.editor.toPlainText() == as_shown("The lighthouse keeper" + written)
    (document,) = h.store.documents.documents()
    assert document.id == page.document_id and document.text == "The lighthouse keeper" + written
    assert document.title == "The lighthouse keeper" and document.model == str(base_model)
    assert page.document_list.document_ids() == [document.id]
    assert "gen" in label(page, "stats_speed") and "ctx" in label(page, "stats_context")
    assert "RAM" in label(page, "stats_memory") and not page.editor.isReadOnly()
    assert page.button.text() == "Continue"
    # nothing polls once the model has written
    assert [t for t in h.window.findChildren(QTimer) if t.isActive()] == []


def test_the_sampling_settings_of_the_document_apply(harness, base_model, qtbot):
    h = harness(one_thread())
    h.load(base_model)
    page = h.window.completion
    page.new_document()
    h.store.documents.update_document(page.document_id, sampling={"temperature": 0, "max_tokens": 3})
    page.editor.setPlainText("Once upon a time")
    outcome = continue_and_wait(qtbot, page)
    assert 0 < len(outcome.finished.token_ids) <= 3 and outcome.stats.generated_tokens <= 3
    page.edit_settings()
    dialog = page.settings_dialog
    assert dialog.windowTitle() == "Completion settings" and not dialog.system_prompt_edit.isVisibleTo(dialog)
    assert dialog.max_tokens_spin.value() == 3
    dialog.max_tokens_spin.setValue(5)
    dialog.accept()
    assert h.store.documents.document(page.document_id).sampling["max_tokens"] == 5


def test_stop_keeps_the_partial_text_which_was_saved_while_it_streamed(harness, base_model, qtbot):
    h = harness(one_thread(context_length=8192))
    h.load(base_model)
    page = h.window.completion
    page.new_document()
    h.store.documents.update_document(page.document_id, sampling=LONG)
    page.editor.setPlainText("A very long story:")
    store_text = lambda: h.store.documents.document(page.document_id).text  # noqa: E731
    with qtbot.waitSignal(page.continuation_finished, timeout=ANSWER_TIMEOUT_MS) as done:
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
        assert page.button.text() == "Stop" and page.editor.isReadOnly() and not page.document_list.isEnabled()
        qtbot.waitUntil(lambda: len(page.editor.toPlainText()) > len("A very long story:") + 20, timeout=30_000)
        # the continuation reaches the store while it streams, not only at its end
        qtbot.waitUntil(lambda: len(store_text()) > len("A very long story:"), timeout=30_000)
        qtbot.keyClick(page.editor, Qt.Key.Key_Escape)
    outcome = done.args[0]
    assert outcome.finished.reason == "cancelled" and 0 < len(outcome.finished.token_ids) < 3000
    assert store_text() == "A very long story:" + outcome.finished.text
    assert page.editor.toPlainText() == as_shown(store_text())
    assert page.button.text() == "Continue" and not page.editor.isReadOnly()


def test_typed_and_written_text_comes_back_after_a_restart(harness, base_model, qtbot):
    settings = one_thread()
    h = harness(settings)
    h.load(base_model)
    page = h.window.completion
    h.store.documents.create_document("Older", "an older document")
    page.new_document()
    h.store.documents.update_document(page.document_id, sampling=SHORT)
    qtbot.keyClicks(page.editor, "Dear diary,")
    # typed text is saved within a second, with no continuation
    qtbot.waitUntil(lambda: h.store.documents.document(page.document_id).text == "Dear diary,", timeout=5_000)
    outcome = continue_and_wait(qtbot, page)
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(page.editor, " and then")      # closed before the save delay: saved on close
    document_id, expected = page.document_id, as_shown("Dear diary," + outcome.finished.text) + " and then"
    h.close()
    h2 = harness(settings)
    page2 = h2.window.completion
    assert page2.document_id == document_id and page2.editor.toPlainText() == expected
    assert h2.store.documents.document(document_id).text == expected
    assert page2.document_list.document_ids()[0] == document_id and len(page2.document_list.document_ids()) == 2
    # the older document opens from the list, and the first one is still there
    older = page2.document_list.document_ids()[1]
    page2.open_document(older)
    assert page2.editor.toPlainText() == "an older document"
    page2.open_document(document_id)
    assert page2.editor.toPlainText() == expected


def test_loading_a_chat_model_brings_the_chat_back(harness, base_model, chat_model, qtbot):
    h = harness()
    h.load(base_model)
    assert h.window.showing_completion
    h.window.new_action.trigger()      # File > New document
    assert h.window.new_action.text() == "&New document" and len(h.store.documents.documents()) == 1
    h.load(chat_model)
    assert h.window.writing.currentWidget() is h.chat and h.window.tabs.tabText(0) == "Chat"
    assert "base model" not in h.chat.model_bar.label.text() and h.chat.composer.can_send
    h.window.new_action.trigger()      # File > New chat
    assert h.window.new_action.text() == "&New chat" and len(h.store.conversations()) == 1
    h.load(base_model)
    assert h.window.showing_completion and h.window.completion.document_id == h.store.documents.documents()[0].id


def test_delete_asks_and_then_removes_the_document(harness, qtbot):
    h = harness()
    page = h.window.completion
    keep = h.store.documents.create_document("Keep me", "kept")
    page.new_document()
    page.editor.setPlainText("to be deleted")
    assert page.save_now()
    gone = page.document_id
    page.document_list.delete_button.click()
    box = page.document_list.confirm_box
    assert box is not None and "Delete" in box.text()
    delete = next(b for b in box.buttons() if b.text() == "Delete")
    delete.click()
    assert [d.id for d in h.store.documents.documents()] == [keep.id]
    assert page.document_id == keep.id and page.editor.toPlainText() == "kept" and gone != keep.id


def test_text_typed_without_a_model_is_saved_and_a_failed_save_keeps_it_in_the_editor(harness, qtbot, monkeypatch):
    from bitnet_desktop.chats.errors import DiskFullError

    h = harness()
    page = h.window.completion
    assert page.document_id is None and not page.button.isEnabled() and "Open a model" in page.reason.text()
    qtbot.keyClicks(page.editor, "Notes")
    qtbot.waitUntil(lambda: [d.text for d in h.store.documents.documents()] == ["Notes"], timeout=5_000)
    assert page.document_id == h.store.documents.documents()[0].id

    def full(*args, **kwargs):
        raise DiskFullError("the disk is full (test)")

    monkeypatch.setattr(h.store.documents, "update_document", full)
    qtbot.keyClicks(page.editor, " to keep")
    with qtbot.waitSignal(page.error_shown, timeout=5_000) as shown:
        pass
    assert "not saved" in shown.args[0] and "disk is full" in shown.args[0]
    assert page.editor.toPlainText() == "Notes to keep" and page.notice.isVisibleTo(page)
    assert not page.new_document()            # nothing moves on while the text is unsaved
    assert page.editor.toPlainText() == "Notes to keep"
    monkeypatch.undo()
    assert page.save_now() and h.store.documents.document(page.document_id).text == "Notes to keep"


def test_with_a_base_model_loaded_the_hidden_chat_changes_nothing(harness, base_model, chat_model, qtbot):
    h = harness()
    h.load(chat_model)
    cid = h.chat.new_conversation()
    h.store.update_conversation(cid, sampling={"temperature": 0, "max_tokens": 4})
    h.send_and_wait("Hi")
    before = h.store.messages(cid)
    h.load(base_model)
    errors = []
    h.chat.error_shown.connect(errors.append)
    h.chat._on_view_regenerate_requested(before[-1].id)   # e.g. a shortcut reaching the hidden view
    h.chat.start_answer()
    assert not h.chat.generating and h.store.messages(cid) == before and errors == []


def test_a_continuation_records_the_installed_models_measured_speed(harness, base_model, qtbot):
    from bitnet_desktop.hub.installed import ModelLibrary

    installed = ModelLibrary.open().import_file(base_model, mode="link")
    h = harness(one_thread())
    h.load(installed.path)
    page = h.window.completion
    page.new_document()
    h.store.documents.update_document(page.document_id, sampling={**LONG, "max_tokens": 40})
    page.editor.setPlainText("Speed test:")
    outcome = continue_and_wait(qtbot, page)
    assert len(outcome.finished.token_ids) == 40
    qtbot.waitUntil(lambda: ModelLibrary.open().find(installed.path).measured is not None, timeout=10_000)
    measured = ModelLibrary.open().find(installed.path).measured
    assert measured["tokens_per_second"] == outcome.finished.stats.generation_tokens_per_second
    assert (measured["threads"], measured["kernel"]) == (1, h.window.engine.info.kernel)


def test_closing_with_text_the_disk_refuses_asks_to_close_again(harness, qtbot, monkeypatch):
    from bitnet_desktop.chats.errors import DiskFullError

    h = harness()
    page = h.window.completion
    page.editor.setPlainText("First words")
    assert page.save_now()

    def full(*args, **kwargs):
        raise DiskFullError("the disk is full (test)")

    monkeypatch.setattr(h.store.documents, "update_document", full)
    page.editor.setPlainText("First words, and more")
    h.window.close()
    assert h.window.isVisible() and h.window.showing_completion
    assert "Close the window again" in page.notice.text() and page.editor.toPlainText() == "First words, and more"
    h.window.close()
    assert not h.window.isVisible()
