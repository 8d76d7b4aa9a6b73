"""`bitnet-desktop chat` keeps its conversations in the window's database: turns saved with their
stats, --resume, --no-save, options checked before loading, the context policies, Ctrl-C, and a
kill -9 mid-answer that loses at most about a second of the answer."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.cli.main import main
from bitnet_desktop.engine.synth import write_synthetic_model
from bitnet_desktop.paths import database_path

STATS = re.compile(r"\[(\d+) new prompt tokens \((\d+) reused\)")
LONG = "-".join(f"word{i}" for i in range(20))  # ~110 tokens of the synthetic tokenizer
# With this model, seed and system prompt "Hello there" gets an 8-token answer and "Tell me more"
# one of about 3000 tokens, which the reference kernel on one thread streams for about a minute.
SLOW_STREAM = ("--kernel", "ref", "--threads", "1", "--ctx", "8192", "--temperature", "0.8", "--seed", "3",
               "--max-tokens", "100000", "--system", "Be brief.")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return write_synthetic_model(tmp_path_factory.mktemp("chat") / "small.gguf", shape="small", seed=3)


def chat(model, data_dir, *args, stdin=""):
    result = subprocess.run([sys.executable, "-m", "bitnet_desktop", "chat", str(model), "--data-dir",
                             str(data_dir), "--threads", "1", *args],
                            input=stdin.encode(), capture_output=True, timeout=120, env=dict(os.environ))
    # Decoded by hand: text mode would turn a "\r" in the model's random text into "\n".
    return result.returncode, result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace")


def test_turns_are_saved_with_their_stats_and_resume_puts_them_in_the_prompt(model, tmp_path):
    rc, out, err = chat(model, tmp_path, "--max-tokens", "6", "--seed", "1", "--system", "Be brief.",
                        stdin="Hello there\nHow are you?\n/exit\n")
    assert rc == 0, err
    conversation_id = int(re.search(r"conversation (\d+) \(resume with --resume \1\)", err).group(1))
    with ConversationStore.open(database_path(tmp_path)) as store:
        conversation = store.conversation(conversation_id)
        messages = store.messages(conversation_id)
    assert conversation.system_prompt == "Be brief." and conversation.title == "Hello there"
    assert conversation.sampling == {"max_tokens": 6, "seed": 1} and conversation.model == str(model)
    assert [(m.role, m.complete) for m in messages] == [("user", True), ("assistant", True)] * 2
    assert [m.text for m in messages[::2]] == ["Hello there", "How are you?"]
    for answer in messages[1::2]:
        assert f"assistant> {answer.text}\n" in out
        s = answer.stats
        assert 1 <= s.generated_tokens <= 6 and s.finish_reason in ("max_tokens", "eos")
        assert s.prompt_tokens > 0 and s.energy_joules >= 0
        assert s.energy_source.startswith(("measured", "estimated")) and s.energy_source in err
        assert answer.sampling["seed"] == 1 and answer.model_file == str(model)

    rc, out, err = chat(model, tmp_path, "--resume", str(conversation_id), "--max-tokens", "3",
                        stdin="And then?\n/exit\n")
    assert rc == 0, err
    assert f"conversation {conversation_id} " in err and "you: How are you?" in err  # the earlier turns, briefly
    (new, reused), = [(int(a), int(b)) for a, b in STATS.findall(err)]
    with ConversationStore.open(database_path(tmp_path)) as store:
        assert store.conversation(conversation_id).sampling == {"max_tokens": 3, "seed": 1}
        messages = store.messages(conversation_id)
    assert [m.role for m in messages] == ["user", "assistant"] * 3 and messages[-1].complete
    assert messages[-1].stats.generated_tokens <= 3
    # A new process reuses nothing, and its prompt holds all of the second turn's prompt and more.
    assert reused == 0 and new == messages[-1].stats.prompt_tokens > messages[3].stats.prompt_tokens


def test_no_save_leaves_no_database(model, tmp_path):
    rc, out, err = chat(model, tmp_path, "--max-tokens", "4", "--no-save", stdin="Hello there\n")
    assert rc == 0, err
    assert out.count("assistant> ") == 1 and "conversation not saved" in err
    assert not database_path(tmp_path).exists()


def test_resuming_a_missing_conversation_is_refused_before_loading(tmp_path, capsys):
    assert main(["chat", str(tmp_path / "no-model.gguf"), "--data-dir", str(tmp_path), "--resume", "99"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume 99: there is no conversation 99" in err


@pytest.mark.parametrize("option, value, allowed", [
    ("--temperature", "9", "0..5"), ("--temperature", "nan", "0..5"), ("--top-k", "-1", "0..1000000"),
    ("--top-p", "1.5", "0..1"), ("--min-p", "x", "0..1"), ("--repeat-penalty", "0", "(0, 3]"),
    ("--max-tokens", "0", "1..131072"), ("--seed", "-1", "0.."), ("--context-policy", "never", "drop_oldest"),
])
def test_bad_option_values_are_refused_before_loading(tmp_path, capsys, option, value, allowed):
    with pytest.raises(SystemExit) as exited:  # argparse: nothing was loaded (the model does not exist)
        main(["chat", str(tmp_path / "no-model.gguf"), "--data-dir", str(tmp_path), option, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and allowed in err
    assert not database_path(tmp_path).exists()


def test_resume_and_no_save_together_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["chat", str(tmp_path / "no-model.gguf"), "--resume", "1", "--no-save"])
    assert exited.value.code == 2 and "--no-save" in capsys.readouterr().err


def test_an_overflow_keeps_the_message_and_drop_oldest_then_retry_answers_it(model, tmp_path):
    commands = f"{LONG}\n{LONG} again\n/tokens\n/policy drop_oldest\n/retry\n/exit\n"
    rc, out, err = chat(model, tmp_path, "--ctx", "160", "--max-tokens", "8", "--seed", "1", stdin=commands)
    assert rc == 0, err
    assert "the context holds 160 with 8 kept for the answer" in err and "/policy drop_oldest then /retry" in err
    assert re.search(r"the conversation takes \d+ of 160 context tokens", err)
    assert "(context policy: drop_oldest)" in err and "oldest messages were left out of the prompt" in err
    assert len(STATS.findall(err)) == 2
    with ConversationStore.open(database_path(tmp_path)) as store:
        (conversation,) = store.conversations()
        messages = store.messages(conversation.id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[2].text == f"{LONG} again" and messages[3].complete and messages[3].stats.generated_tokens


class ChatProcess:
    """`bitnet-desktop chat` as a real process; its output read on threads, with arrival times."""

    def __init__(self, model, data_dir, *args):
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "bitnet_desktop", "chat", str(model), "--data-dir", str(data_dir), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self._lock = threading.Lock()
        self.chunks = {"out": [], "err": []}  # (arrival time, bytes)
        self._readers = [threading.Thread(target=self._read, args=(name, pipe), daemon=True)
                         for name, pipe in (("out", self.proc.stdout), ("err", self.proc.stderr))]
        for reader in self._readers:
            reader.start()

    def _read(self, name, pipe):
        while data := os.read(pipe.fileno(), 65536):
            with self._lock:
                self.chunks[name].append((time.monotonic(), data))

    def text(self, name, until=None):
        with self._lock:
            data = b"".join(d for t, d in self.chunks[name] if until is None or t <= until)
        return data.decode("utf-8", "replace")

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def wait_for(self, name, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while not predicate(self.text(name)):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"no {what} within {timeout} s (exit status {self.proc.poll()});\n"
                            f"stderr: {self.text('err')}")
            time.sleep(0.02)

    def answer_text(self, n, until=None):
        """What the process printed of its n-th answer (1-based)."""
        parts = self.text("out", until).split("assistant> ")
        return parts[n].split("\nyou> ")[0] if len(parts) > n else ""

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except BrokenPipeError:  # stdin of a killed process, with unflushed bytes
                pass


@pytest.fixture
def streaming(model, tmp_path):
    """A chat whose first answer finished and whose second one is streaming, long."""
    process = ChatProcess(model, tmp_path, *SLOW_STREAM)
    try:
        process.send("Hello there")
        process.wait_for("err", lambda e: len(STATS.findall(e)) == 1, 60, "stats line of the first answer")
        process.send("Tell me more")
        process.wait_for("out", lambda o: process.answer_text(2), 30, "text of the second answer")
        yield process
    finally:
        process.close()


def stored_messages(data_dir):
    with ConversationStore.open(database_path(data_dir)) as store:
        (conversation,) = store.conversations()
        return store.messages(conversation.id)


def test_kill_9_mid_answer_keeps_the_first_exchange_and_the_answer_up_to_a_second_ago(streaming, tmp_path):
    time.sleep(2.5)  # two streaming saves, one second apart
    assert len(STATS.findall(streaming.text("err"))) == 1, "the second answer ended before the kill"
    killed_at = time.monotonic()
    os.kill(streaming.proc.pid, signal.SIGKILL)
    assert streaming.proc.wait(timeout=30) == -signal.SIGKILL
    streaming.close()
    user1, answer1, user2, answer2 = stored_messages(tmp_path)
    assert (user1.role, user1.text, user2.role, user2.text) == ("user", "Hello there", "user", "Tell me more")
    assert answer1.complete and answer1.stats.finish_reason == "eos" and answer1.text == streaming.answer_text(1)
    assert answer2.role == "assistant" and not answer2.complete and answer2.stats is None
    printed = streaming.answer_text(2)
    assert answer2.text and printed.startswith(answer2.text)
    # Saved: everything shown until a second before the kill (and half a second's slack).
    assert len(answer2.text) >= len(streaming.answer_text(2, until=killed_at - 1.5))
    assert len(answer2.text) < len(printed)


def test_ctrl_c_stops_the_answer_and_keeps_it_and_at_the_prompt_leaves(streaming, tmp_path):
    streaming.proc.send_signal(signal.SIGINT)
    streaming.wait_for("err", lambda e: "(stopped; the partial answer is saved" in e, 30, "stop notice")
    streaming.wait_for("out", lambda o: o.endswith("\nyou> "), 30, "prompt after the stop")
    streaming.proc.send_signal(signal.SIGINT)
    assert streaming.proc.wait(timeout=30) == 0
    *_, answer2 = stored_messages(tmp_path)
    assert not answer2.complete and answer2.stats.finish_reason == "cancelled"
    assert answer2.text and answer2.text == streaming.answer_text(2)
