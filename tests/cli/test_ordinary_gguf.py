"""`bitnet-desktop generate` and `chat --no-save` on an ordinary GGUF, which runs on llama.cpp: through
the real CLI in child processes."""
import json
import subprocess
import sys

from tests.cli.test_info import run_cli
from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf


def test_generate_runs_an_ordinary_gguf_on_llama_cpp(tmp_path):
    path = write_ordinary_gguf(tmp_path / "m.gguf", fmt="q8_0")
    args = ("generate", str(path), "--prompt", "Hello", "--max-tokens", "6", "--temperature", "0.8", "--seed", "3",
            "--threads", "1", "--top-logits", "2", "--json")
    first, second = run_cli(*args), run_cli(*args)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["kernel"] == "llama.cpp" and out["head"] == "file" and out["threads"] == 1
    assert out["prompt_ids"][0] == 768  # BOS, as the vocabulary asks
    assert len(out["token_ids"]) == 6 and out["stop_reason"] == "max_tokens" and len(out["top_logits"]) == 6
    assert out["timings"]["generated_tokens"] == 6 and out["timings"]["load_seconds"] > 0
    assert json.loads(second.stdout)["token_ids"] == out["token_ids"]  # the same seed, the same tokens


def test_generate_stops_on_the_models_end_of_turn(tmp_path):
    path = write_ordinary_gguf(tmp_path / "stops.gguf", eot_first=True)
    result = run_cli("generate", str(path), "--prompt-ids", "768,39,281", "--threads", "1", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["stop_reason"] == "eos" and out["token_ids"] == []


def test_chat_no_save_talks_two_turns_on_llama_cpp(tmp_path):
    path = write_ordinary_gguf(tmp_path / "m.gguf", fmt="f16")
    result = subprocess.run(
        [sys.executable, "-m", "bitnet_desktop", "chat", str(path), "--no-save", "--max-tokens", "4", "--seed", "1",
         "--threads", "1"],
        input="Hello there\nHow are you?\n/exit\n", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("assistant> ") == 2
    assert "kernel llama.cpp" in result.stderr and "(llama, 2 layers)" in result.stderr
    assert "(0 reused)" in result.stderr and result.stderr.count("new prompt tokens") == 2


def test_perplexity_runs_an_ordinary_gguf_on_llama_cpp(tmp_path):
    path = write_ordinary_gguf(tmp_path / "m.gguf", fmt="f16")
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(" ".join(str(i % 700) for i in range(200)))
    result = run_cli("perplexity", str(path), "--tokens", str(tokens), "--ctx", "64", "--threads", "1", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["kernel"] == "llama.cpp" and out["windows"] == 3 and out["scored_tokens"] == 3 * 31
    assert out["perplexity"] > 1
