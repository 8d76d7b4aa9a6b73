"""kill -9 of the window while a base model continues a document: the text streamed so far is in
the store, after what the user wrote, and the reopened window shows the document with it.

The real app (`bitnet-desktop --data-dir D`) runs in a subprocess driven by window_driver.py, on
a synthetic base model (no chat template) with the real engine."""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.engine.synth import write_synthetic_model
from bitnet_desktop.paths import database_path
from bitnet_desktop.ui.completion_page import as_shown

from .driver_process import STARTUP_TIMEOUT_S, STEP_TIMEOUT_S, DriverProcess, driver_env
from .window_driver import DOCUMENT_START

# The continuation must stream at least this long before the kill, so that a save made while it
# streams (at least one a second) is what the store holds, not only what the user wrote.
STREAMING_S = 1.5


def test_a_killed_window_keeps_the_streamed_continuation_and_shows_it(tmp_path: Path) -> None:
    model = write_synthetic_model(tmp_path / "base.gguf", shape="small", fmt="tq2_0", arch="bitnet",
                                  tokenizer="llama", seed=7)
    data_dir = tmp_path / "data"
    env = driver_env(data_dir)

    with DriverProcess(["completion-kill", "--data-dir", str(data_dir), "--model", str(model)], env) as driver:
        document_id = int(driver.expect("document", STARTUP_TIMEOUT_S, skip=("loaded",)))
        deadline = time.monotonic() + STEP_TIMEOUT_S
        first_seen = None
        while True:
            seen, line = driver.next_line(deadline)
            if not line.startswith("streamed "):
                raise driver.failure(f"the continuation did not stream for {STREAMING_S} s before {line!r}")
            first_seen = first_seen or seen
            if seen - first_seen >= STREAMING_S and int(line.split()[1]) > 0:
                break
        driver.process.send_signal(signal.SIGKILL)
        assert driver.process.wait(timeout=30) == -signal.SIGKILL

    store = ConversationStore.open(database_path(data_dir))
    try:
        document = store.documents.document(document_id)
    finally:
        store.close()
    assert document.text.startswith(DOCUMENT_START)
    assert len(document.text) > len(DOCUMENT_START), "no save while streaming reached the store before the kill"
    assert document.model == str(model)

    with DriverProcess(["completion-reopen", "--data-dir", str(data_dir)], env) as driver:
        shown = json.loads(driver.expect("shown", STARTUP_TIMEOUT_S))
        status = driver.wait(STEP_TIMEOUT_S)
        assert status == 0, driver.failure(f"the reopened window exited with status {status}")
    assert shown["showing_completion"] and shown["document_id"] == document_id
    assert shown["listed"] == [document_id] and shown["text"] == as_shown(document.text)
