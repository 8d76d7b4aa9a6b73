"""Bad input and failures in the window, each with a specific message and nothing lost: broken,
oversized and deleted model files, a chat template that does not compile, a full disk, damaged or
newer databases, closing or switching model mid-answer, a missing kernel library or kernel."""
import os
import sqlite3
from collections import namedtuple

import psutil
import pytest

from bitnet_desktop.app_settings import AppSettings
from bitnet_desktop.chats.errors import DiskFullError
from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.engine.errors import NativeLibraryError
from bitnet_desktop.engine.gguf import open_gguf, write_gguf
from bitnet_desktop.paths import database_path, settings_path
from bitnet_desktop.startup_check import run_startup_check
from tests.engine.runtime.gguf_files import synth
from tests.ui.window_fixtures import ANSWER_TIMEOUT_MS, LOAD_TIMEOUT_MS, harness  # noqa: F401 - fixture

LONG = {"temperature": 1.0, "max_tokens": 3000, "seed": 1, "top_k": 0, "top_p": 1.0, "min_p": 0.0}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("failures")
    return {"small": synth(folder, "small.gguf", shape="small", seed=41),
            "tiny": synth(folder, "tiny.gguf", shape="tiny", seed=42)}


def load_fails(h, qtbot, path) -> str:
    with qtbot.waitSignal(h.window.engine.model_load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        h.window.load_model(str(path))
    message = failed.args[0]
    assert h.chat.notice.isVisible() and message in h.chat.notice.text()
    assert not h.chat.composer.can_send and h.window.engine.info is None
    return message


def start_long_answer(h, qtbot, text="Go on and on"):
    cid = h.chat.conversation_id or h.chat.new_conversation()
    h.store.update_conversation(cid, sampling=LONG)
    h.chat.send(text)
    qtbot.waitUntil(lambda: h.chat.answer_snapshot() is not None and len(h.chat.answer_snapshot().text) > 10, timeout=30_000)
    return cid


def test_a_truncated_model_file_is_refused_with_its_reason(harness, models, qtbot, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(models["small"].read_bytes()[:100_000])
    message = load_fails(harness(), qtbot, broken)
    assert "broken.gguf" in message or "truncated" in message or "beyond" in message


def test_a_model_larger_than_free_memory_is_refused_with_the_numbers(harness, models, qtbot, monkeypatch):
    h = harness()
    real = psutil.virtual_memory()
    small = namedtuple("vmem", real._fields)(*[(1 << 20) if f == "available" else getattr(real, f) for f in real._fields])
    monkeypatch.setattr(psutil, "virtual_memory", lambda: small)
    message = load_fails(h, qtbot, models["small"])
    assert "MiB" in message and "available" in message


def with_chat_template(src, dst, template):
    with open_gguf(src) as g:
        metadata = [(k, v.type, template if k == "tokenizer.chat_template" else v.value) for k, v in g.fields.items()]
        tensors = [(name, t.ne, t.type, bytes(t.data)) for name, t in g.tensors.items()]
    return write_gguf(dst, metadata, tensors)


def test_a_model_whose_chat_template_does_not_compile_is_refused_for_chat(harness, qtbot, tmp_path):
    """A file without a template is a base model (test_completion_window.py); a broken one is refused."""
    chat = synth(tmp_path, "chat.gguf", shape="tiny", arch="bitnet", fmt="tq2_0", seed=3)
    broken = with_chat_template(chat, tmp_path / "broken-template.gguf", "{% for message in messages %}{{ message")
    message = load_fails(harness(), qtbot, broken)
    assert "cannot be used for chat" in message and "tokenizer.chat_template" in message
    assert "Traceback" not in message


def test_a_model_file_deleted_while_loaded_keeps_answering(harness, models, qtbot, tmp_path):
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(models["tiny"].read_bytes())
    h = harness()
    h.load(copy)
    os.remove(copy)  # the open file stays readable on POSIX; the answer must not crash
    cid = h.chat.new_conversation()
    h.store.update_conversation(cid, sampling={"temperature": 0, "max_tokens": 4})
    outcome = h.send_and_wait("Still there?")
    assert outcome.finished.reason in ("max_tokens", "eos")


def test_a_full_disk_keeps_the_message_in_the_input_box(harness, models, qtbot, monkeypatch):
    h = harness()
    h.load(models["tiny"])
    h.chat.new_conversation()

    def full(*args, **kwargs):
        raise DiskFullError("the disk is full (test)")

    monkeypatch.setattr(h.store, "add_message", full)
    h.chat.composer.set_text("Do not lose me")
    h.chat.send("Do not lose me")
    assert h.chat.composer.text() == "Do not lose me"
    assert "stays in the input box" in h.chat.notice.text() and not h.chat.generating


def test_a_corrupt_database_is_moved_aside_and_a_fresh_one_used(harness, qtbot):
    path = database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    h = harness()
    assert h.store.quarantined is not None and h.store.quarantined.exists()
    assert "moved aside" in h.chat.notice.text()
    assert h.store.conversations() == []


def test_a_newer_database_is_refused_and_left_untouched(monkeypatch, capsys):
    path = database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with ConversationStore.open(path):
        pass
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    connection.close()
    before = path.read_bytes()
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *args: shown.append(args[2]))
    from bitnet_desktop.ui.app import main

    assert main([]) == 2
    assert shown and "newer" in shown[0] and path.read_bytes() == before
    assert "newer" in capsys.readouterr().err


def test_closing_the_window_mid_answer_keeps_the_partial_answer(harness, models, qtbot):
    h = harness()
    h.load(models["small"])
    cid = start_long_answer(h, qtbot)
    h.window.close()
    answer = h.store.messages(cid)[-1]
    assert answer.role == "assistant" and not answer.complete and answer.text
    assert answer.stats.finish_reason == "cancelled"


def test_switching_model_mid_answer_stops_it_and_loads_the_other(harness, models, qtbot):
    h = harness()
    h.load(models["small"])
    cid = start_long_answer(h, qtbot)
    with qtbot.waitSignal(h.window.engine.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        h.window.load_model(str(models["tiny"]))
    assert loaded.args[0].path == str(models["tiny"])
    qtbot.waitUntil(lambda: not h.chat.generating, timeout=ANSWER_TIMEOUT_MS)
    answer = h.store.messages(cid)[-1]
    assert not answer.complete and answer.text and answer.stats.finish_reason == "cancelled"


def test_a_missing_forced_kernel_falls_back_to_the_reference(harness, models, qtbot):
    settings = AppSettings.load(settings_path())
    missing = next(k for k in ("neon", "dotprod", "avx512", "avx2")
                   if k not in run_startup_check().supported_kernels)
    settings.kernel = missing
    h = harness(settings)
    assert h.window.check.kernel_fallback and "reference kernel" in h.chat.notice.text()
    h.load(models["tiny"])
    assert h.window.engine.info.kernel == "ref"


def test_a_missing_kernel_library_still_opens_the_window(harness, qtbot, monkeypatch, models):
    import bitnet_desktop.cli.info as info

    def broken():
        raise NativeLibraryError("libbitnet.so: cannot open shared object file (test)")

    monkeypatch.setattr(info, "collect", broken)
    h = harness()
    assert not h.window.check.library_ok
    assert "could not be loaded" in h.chat.notice.text()
    h.window.load_model(str(models["tiny"]))
    assert "cannot be loaded" in h.chat.notice.text() and h.window.engine.info is None
