"""`bitnet-desktop bench ui`: one run on the small synthetic model gives every figure as a number
and cleans up after itself (no timing thresholds: the machine may be busy); the table marks each
goal passed or failed."""
import json

import pytest

from bitnet_desktop.engine.benchmarks.ui_bench import GapStats, UiBenchReport, format_report
from tests.cli.test_info import run_cli

FIGURES = ("engine_median_tokens_per_second", "window_median_tokens_per_second", "window_over_engine",
           "watched_window_tokens_per_second", "ui_thread_busy",
           "startup_seconds", "first_startup_seconds", "rss_no_model_bytes", "open_conversation_seconds",
           "idle_cpu_seconds", "idle_seconds", "other_cpu_load")


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tmpdir")
    result = run_cli("bench", "ui", "--shape", "small", "--json", "--tokens", "16", env_extra={"TMPDIR": str(tmp)})
    assert result.returncode == 0, result.stderr
    assert list(tmp.iterdir()) == [], "the temporary model and data folders were left behind"
    return json.loads(result.stdout)


def test_every_figure_is_a_number(small_report):
    r = small_report
    for name in FIGURES:
        assert isinstance(r[name], (int, float)) and not isinstance(r[name], bool), name
    assert r["window_over_engine"] > 0 and 0 <= r["ui_thread_busy"] <= 1
    assert r["engine_median_tokens_per_second"] > 0 and r["window_median_tokens_per_second"] > 0
    for phase in ("prompt_gaps", "generation_gaps"):
        assert r[phase]["count"] > 0
        assert r[phase]["largest_ms"] >= r[phase]["p99_ms"] >= 0
    assert r["startup_seconds"] > 0 and r["rss_no_model_bytes"] > 0
    assert r["open_conversation_messages"] == 1000 and r["open_conversation_seconds"] > 0
    assert r["idle_seconds"] == 10 and r["idle_cpu_seconds"] >= 0


def test_the_runs_alternate_with_the_same_prompt_and_token_count(small_report):
    r = small_report
    assert r["gen_tokens"] == 16 and r["prompt_tokens"] >= 500
    assert len(r["engine_tokens_per_second"]) == len(r["window_tokens_per_second"]) == 2
    assert r["window_over_engine"] == pytest.approx(
        r["window_median_tokens_per_second"] / r["engine_median_tokens_per_second"])


def test_json_names_the_cpu_and_judges_each_goal(small_report):
    r = small_report
    assert r["cpu"] and r["qt_platform"] == "offscreen" and r["threads"] >= 1
    judged = [row for row in r["rows"] if row["goal"] is not None]
    assert len(judged) == 9 and all(isinstance(row["passed"], bool) for row in judged)
    assert r["all_passed"] == all(row["passed"] for row in judged)


def test_needs_a_model_or_a_shape():
    result = run_cli("bench", "ui")
    assert result.returncode == 2
    assert "bench ui needs a MODEL path or --shape NAME" in result.stderr


def test_a_bad_count_is_refused_before_anything_runs():
    result = run_cli("bench", "ui", "--shape", "small", "--tokens", "1")
    assert result.returncode == 2
    assert "--tokens: must be an integer in 2..100000" in result.stderr


def test_the_table_shows_each_goal_and_its_result():
    report = UiBenchReport(
        model="synthetic small (I2_S, seed 0)", synthetic_shape="small", cpu="Test CPU 9000", threads=2,
        kernel="avx2", qt_platform="offscreen", prompt_tokens=523, gen_tokens=128,
        engine_tokens_per_second=[10.0, 12.0], window_tokens_per_second=[11.0, 11.5],
        engine_median_tokens_per_second=11.0, window_median_tokens_per_second=11.25, window_over_engine=11.25 / 11,
        watched_window_tokens_per_second=10.5, ui_thread_busy=0.04,
        prompt_gaps=GapStats(40, 60.0, 15.0), generation_gaps=GapStats(90, 12.0, 11.0), startup_seconds=0.5,
        first_startup_seconds=0.6, rss_no_model_bytes=107_000_000, open_conversation_messages=1000,
        open_conversation_seconds=0.04, idle_seconds=10.0, idle_cpu_seconds=0.0004)
    table = format_report(report)
    assert "CPU: Test CPU 9000  threads: 2" in table
    lines = {line.split("  ")[0]: line for line in table.splitlines()}
    assert lines["window / engine"].endswith("pass")
    assert lines["UI gap while reading the prompt, largest"].endswith("FAIL")   # 60 ms > 50 ms
    assert lines["UI gap while reading the prompt, p99"].endswith("pass")
    assert "107 MB" in lines["memory with no model (RSS)"]
    assert "0.4 ms" in lines["CPU time in 10 s idle"]
    assert not report.to_dict()["all_passed"]
