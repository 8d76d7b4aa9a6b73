"""`bitnet-desktop chat` in a terminal: two turns, the second reusing the first's KV cache."""
import os
import re
import subprocess
import sys

from bitnet_desktop.engine.synth import write_synthetic_model


def test_two_turns_reuse_the_cache_and_exit_cleanly(tmp_path):
    path = write_synthetic_model(tmp_path / "m.gguf", shape="tiny", seed=5)
    result = subprocess.run(
        [sys.executable, "-m", "bitnet_desktop", "chat", str(path), "--max-tokens", "5", "--seed", "1",
         "--threads", "1"],
        input="Hello there\nHow are you?\n/exit\n", capture_output=True, text=True, timeout=120,
        env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("assistant> ") == 2
    turns = re.findall(r"\[(\d+) new prompt tokens \((\d+) reused\)", result.stderr)
    assert len(turns) == 2
    (new1, reused1), (new2, reused2) = [(int(a), int(b)) for a, b in turns]
    assert reused1 == 0 and reused2 > new1 // 2  # the system prompt and first turn were kept
