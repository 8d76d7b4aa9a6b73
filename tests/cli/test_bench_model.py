"""`bitnet-desktop bench MODEL|--shape NAME`: one run gives our pp/tg, the bandwidth bound and
llama.cpp's numbers, all consistent with each other (no timing thresholds: the machine may be busy)."""
import json

import pytest

from bitnet_desktop.engine.benchmarks.llama_cpp_baseline import unavailable_reason
from bitnet_desktop.engine.synth import SyntheticModel
from tests.cli.test_info import run_cli


def expected_bytes_per_token(shape: str, head: str, kv_positions: float) -> int:
    """Computed from the synthetic I2_S file's tensor sizes, independently of the benchmark."""
    m = SyntheticModel(shape, "i2_s")
    s = m.shape
    ternary_and_norms = sum(t.nbytes for t in m.layout() if m.specs[t.name].role in ("ternary", "norm"))
    head_bytes = s.n_vocab * s.n_embd * 2 if head == "exact" else s.n_vocab * (s.n_embd + 4)
    return ternary_and_norms + head_bytes + round(kv_positions * s.n_layer * 2 * s.n_embd_kv * 2)


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tmpdir")
    result = run_cli("bench", "--shape", "tiny", "--json", "--threads", "1", "--repeats", "1",
                     "--bandwidth-mib", "128", env_extra={"TMPDIR": str(tmp)})
    assert result.returncode == 0, result.stderr
    assert list(tmp.iterdir()) == [], "the temporary model files were left behind"
    return json.loads(result.stdout)


def test_rates_are_the_token_counts_over_the_best_times(tiny_report):
    r = tiny_report
    assert (r["prompt_tokens"], r["gen_tokens"], r["threads"], r["head"]) == (128, 128, 1, "fast")
    assert r["pp_tokens_per_second"] == pytest.approx(r["prompt_tokens"] / r["pp_seconds"])
    assert r["tg_tokens_per_second"] == pytest.approx(r["gen_tokens"] / r["tg_seconds"])


def test_bytes_per_token_and_the_bandwidth_bound(tiny_report):
    r = tiny_report
    b = r["bytes_per_token"]
    assert b["kv_positions"] == r["short_prompt_tokens"] + (r["gen_tokens"] + 1) / 2
    assert b["total"] == b["ternary"] + b["norms"] + b["head"] + b["kv_cache"]
    assert b["total"] == expected_bytes_per_token("tiny", r["head"], b["kv_positions"])
    assert r["read_bandwidth_gbps"] > 0
    assert r["tg_bound_tokens_per_second"] == pytest.approx(r["read_bandwidth_gbps"] * 1e9 / b["total"])
    assert r["tg_fraction_of_bound"] == pytest.approx(r["tg_tokens_per_second"] / r["tg_bound_tokens_per_second"])


def test_load_time_and_memory(tiny_report):
    r = tiny_report
    assert r["load_seconds"] > 0 and r["first_load_seconds"] > 0
    m = r["memory_estimate"]
    assert m["total"] == m["weights"] + m["kv_cache"] + m["scratch"] + m["fast_head"]
    assert m["kv_cache"] == r["context"] * 2 * 2 * 128 * 2      # 512 positions of tiny's f16 K and V
    assert r["rss_context_filled"] and r["context"] == 512
    assert r["rss_bytes"] >= r["rss_after_load_bytes"] > r["rss_before_load_bytes"] > 0
    assert 0 <= r["rss_file_backed_bytes"] <= r["rss_bytes"]


def test_llama_cpp_ran_beside_us_when_importable(tiny_report):
    r = tiny_report
    assert unavailable_reason() is None, "llama-cpp-python is a test dependency"
    assert r["llama_cpp_missing"] is None
    lc = r["llama_cpp"]
    assert lc["threads"] == r["threads"]
    assert "SiLU" in lc["note"] and any("SiLU" in n for n in r["notes"])
    assert lc["pp_tokens_per_second"] == pytest.approx(r["prompt_tokens"] / lc["pp_seconds"])
    assert lc["tg_tokens_per_second"] == pytest.approx(r["gen_tokens"] / lc["tg_seconds"])
    assert r["pp_ratio_vs_llama_cpp"] == pytest.approx(r["pp_tokens_per_second"] / lc["pp_tokens_per_second"])
    assert r["tg_ratio_vs_llama_cpp"] == pytest.approx(r["tg_tokens_per_second"] / lc["tg_tokens_per_second"])


def test_text_table_of_a_model_file(tmp_path):
    path = SyntheticModel("tiny", "i2_s").write(tmp_path / "tiny.gguf")
    result = run_cli("bench", str(path), "--head", "exact", "--threads", "1", "--repeats", "1", "--no-fill",
                     "--no-llama-cpp", "--bandwidth-mib", "64")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in ("pp128 (tok/s)", "tg128 (tok/s)", "tg bound (tok/s)", "tg / bound", "head: f16 (exact)",
                 "llama.cpp: not run: not requested", "resident memory after the tg run"):
        assert text in out
    assert path.exists()   # a user's file is never deleted


def test_bench_needs_exactly_one_model():
    both = run_cli("bench", "model.gguf", "--shape", "tiny")
    assert both.returncode == 2 and "MODEL path or --shape NAME (not both)" in both.stderr
    missing = run_cli("bench", "no-such-model.gguf", "--no-llama-cpp")
    assert missing.returncode == 2 and "cannot open the model file" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_bench_kernels_keeps_its_own_command():
    result = run_cli("bench", "kernels", "--help")
    assert result.returncode == 0 and "--working-set-mib" in result.stdout
