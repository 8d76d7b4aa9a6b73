"""`bitnet-desktop generate` and `perplexity` on a synthetic model, through the real CLI."""
import json

from bitnet_desktop.engine.synth import write_synthetic_model
from tests.cli.test_info import run_cli


def test_generate_json_reports_ids_text_timings_and_top_logits(tmp_path):
    path = write_synthetic_model(tmp_path / "m.gguf", shape="tiny", seed=5)
    result = run_cli("generate", str(path), "--prompt-ids", "1,2,3,4", "--max-tokens", "6",
                     "--top-logits", "3", "--threads", "1", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["prompt_ids"] == [1, 2, 3, 4] and len(out["token_ids"]) == 6
    assert out["stop_reason"] == "max_tokens"
    assert len(out["top_logits"]) == 6
    for step, token in zip(out["top_logits"], out["token_ids"]):
        assert len(step) == 3 and step[0][0] == token  # greedy picks the best logit
        assert step[0][1] >= step[1][1] >= step[2][1]
    assert out["timings"]["generated_tokens"] == 6


def test_generate_text_prompt_and_same_seed(tmp_path):
    path = write_synthetic_model(tmp_path / "m.gguf", shape="tiny", seed=5)
    args = ("generate", str(path), "--prompt", "Hello", "--max-tokens", "8", "--temperature", "1.0",
            "--seed", "3", "--json")
    a, b = run_cli(*args), run_cli(*args)
    assert a.returncode == 0, a.stderr
    assert json.loads(a.stdout)["token_ids"] == json.loads(b.stdout)["token_ids"]


def test_generate_reports_a_missing_file_cleanly(tmp_path):
    result = run_cli("generate", str(tmp_path / "nope.gguf"), "--prompt", "x")
    assert result.returncode == 2 and "nope.gguf" in result.stderr and "Traceback" not in result.stderr


def test_perplexity_json(tmp_path):
    path = write_synthetic_model(tmp_path / "m.gguf", shape="tiny", seed=5)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(" ".join(str(i % 900) for i in range(200)))
    result = run_cli("perplexity", str(path), "--tokens", str(tokens), "--ctx", "64", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["windows"] == 3 and out["scored_tokens"] == 3 * 31 and out["perplexity"] > 1
