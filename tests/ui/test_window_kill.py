"""kill -9 of the window while it answers: the answer streamed so far is in the store, nothing
finished before it is touched, and the reopened window shows the partial answer as stopped.

The real app (`bitnet-desktop --data-dir D`) runs in a subprocess driven by window_driver.py, on
a synthetic model with the real engine."""
from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.engine.synth import write_synthetic_model
from bitnet_desktop.paths import database_path

from .driver_process import STARTUP_TIMEOUT_S, STEP_TIMEOUT_S, DriverProcess, driver_env
from .window_driver import FIRST_MESSAGE, SECOND_MESSAGE

# The answer must stream at least this long before the kill, so that a save made while streaming
# (at least one a second) is what the store holds, not the empty message made before the first token.
STREAMING_S = 1.5
# Model seed: with it (and the driver's sampling seeds) the second answer runs for thousands of
# tokens, seconds on one thread, before it happens to sample the end token.
MODEL_SEED = 1


def _stream_then_kill(driver: DriverProcess) -> int:
    """Waits for the second answer to stream for STREAMING_S, kills the window; returns the conversation id."""
    conversation_id = int(driver.expect("conversation", STARTUP_TIMEOUT_S, skip=("loaded",)))
    driver.expect("first-finished", STEP_TIMEOUT_S, skip=("streamed",))
    driver.expect("second-sent")
    deadline = time.monotonic() + STEP_TIMEOUT_S
    first_seen = None
    while True:
        seen, line = driver.next_line(deadline)
        if not line.startswith("streamed "):
            raise driver.failure(f"the second answer did not stream for {STREAMING_S} s before {line!r}")
        first_seen = first_seen or seen
        if seen - first_seen >= STREAMING_S and int(line.split()[1]) > 0:
            break
    driver.process.send_signal(signal.SIGKILL)
    assert driver.process.wait(timeout=30) == -signal.SIGKILL
    return conversation_id


def test_a_killed_window_keeps_the_streamed_answer_and_shows_it_as_stopped(tmp_path: Path) -> None:
    model = write_synthetic_model(tmp_path / "small.gguf", shape="small", seed=MODEL_SEED)
    data_dir = tmp_path / "data"
    env = driver_env(data_dir)

    with DriverProcess(["kill", "--data-dir", str(data_dir), "--model", str(model)], env) as driver:
        conversation_id = _stream_then_kill(driver)

    store = ConversationStore.open(database_path(data_dir))
    try:
        messages = store.messages(conversation_id)
    finally:
        store.close()
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    first_question, first_answer, second_question, partial = messages
    assert first_question.text == FIRST_MESSAGE
    assert first_answer.complete and first_answer.text
    assert first_answer.stats is not None and first_answer.stats.generated_tokens > 0
    assert first_answer.stats.finish_reason == "max_tokens"
    assert second_question.text == SECOND_MESSAGE
    assert not partial.complete
    assert partial.text, "no streaming save reached the store before the kill"
    assert partial.stats is None

    with DriverProcess(["reopen", "--data-dir", str(data_dir), "--conversation", str(conversation_id)],
                       env) as driver:
        shown = json.loads(driver.expect("shown", STARTUP_TIMEOUT_S))
        status = driver.wait(STEP_TIMEOUT_S)
        assert status == 0, driver.failure(f"the reopened window exited with status {status}")

    assert shown["conversation_id"] == conversation_id
    assert shown["selected"] == conversation_id
    assert shown["message_ids"] == [m.id for m in messages]
    text = shown["text"]
    assert FIRST_MESSAGE in text and SECOND_MESSAGE in text
    # The partial answer is random tokens rendered as Markdown: its words are there, whatever the markup.
    words = re.findall(r"[A-Za-z]{4,}", partial.text)
    assert words and all(word in text for word in words[:20])
    assert text.rstrip().endswith("(stopped)"), text[-200:]
