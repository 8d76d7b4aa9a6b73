"""Ordinary (not ternary) GGUF models in the window, run by llama.cpp behind the engine's interface:
a chat model chats, with the engine named in the model bar; one without a chat template opens the
text-completion view and continues the text. Needs the optional llama-cpp-python extra."""
import pytest
from PySide6.QtWidgets import QLabel

from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf
from tests.ui.window_fixtures import ANSWER_TIMEOUT_MS, harness  # noqa: F401 - fixture

pytest.importorskip("llama_cpp", reason="the llama.cpp engine is the optional extra bitnet-desktop[llama]")


@pytest.fixture(scope="module")
def ordinary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ordinary-window")
    return {"chat": write_ordinary_gguf(folder / "chat-q8_0.gguf", fmt="q8_0", seed=1),
            "base": write_ordinary_gguf(folder / "base-f16.gguf", fmt="f16", chat_template=None, seed=2)}


def test_an_ordinary_chat_model_chats_in_the_window_on_llama_cpp(harness, ordinary, qtbot):
    h = harness()
    h.load(ordinary["chat"])
    info = h.window.engine.info
    assert (info.engine, info.kernel, info.base_model) == ("llama.cpp", "llama.cpp", False)
    assert info.context_size > 0 and info.memory_bytes > 0 and info.threads > 0
    bar = h.chat.model_bar.label.text()
    assert "engine <b>llama.cpp</b>" in bar and "kernel" not in bar and "base model" not in bar
    assert h.window.writing.currentWidget() is h.chat
    cid = h.chat.new_conversation()
    h.store.update_conversation(cid, sampling={"temperature": 0, "max_tokens": 8})
    outcome = h.send_and_wait("Hello")
    assert outcome.message.complete and outcome.message.text == outcome.finished.text
    assert outcome.message.stats.generated_tokens == len(outcome.finished.token_ids)
    assert "ctx" in h.chat.stats.findChild(QLabel, "stats_context").text()


def test_an_ordinary_base_model_opens_the_completion_view(harness, ordinary, qtbot):
    h = harness()
    h.load(ordinary["base"])
    page = h.window.completion
    assert h.window.showing_completion and h.window.engine.info.engine == "llama.cpp"
    assert "base model: text completion" in page.model_bar.label.text()
    page.new_document()
    h.store.documents.update_document(page.document_id, sampling={"temperature": 0, "max_tokens": 8})
    page.editor.setPlainText("The weather today")
    with qtbot.waitSignal(page.continuation_finished, timeout=ANSWER_TIMEOUT_MS) as done:
        page.continue_text()
    outcome = done.args[0]
    assert h.store.documents.document(page.document_id).text == "The weather today" + outcome.finished.text
    assert outcome.stats.generated_tokens == len(outcome.finished.token_ids)
