"""Hostile chat templates (hostile_templates.py) end in a named ChatTemplateError, quickly and in little memory,
whether the cost hides in loading (compiling) or in rendering.

They run in child processes (hostile_template_runner.py) watched from here: a template that hangs or kills its
process fails its own test and is killed after WATCHDOG_SECONDS, and the rest go on in a fresh child, so this
module can never hang the suite.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.engine.chat.hostile_templates import HOSTILE_TEMPLATES

ROOT = Path(__file__).resolve().parents[3]
RUNNER = "tests.engine.chat.hostile_template_runner"
SECONDS_PER_STAGE = 2.0
PEAK_MB_PER_STAGE = 200.0
WATCHDOG_SECONDS = 15.0


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict]:
    pending = [name for name, _, _ in HOSTILE_TEMPLATES]
    results: dict[str, dict] = {}
    while pending:
        results.update(_run_child(pending))
        pending = [name for name in pending if name not in results]
    return results


def _run_child(names: list[str]) -> dict[str, dict]:
    """Results for names, in order, until one hangs or the process dies (that one gets a failed result)."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryFile("w+") as stderr, subprocess.Popen(
        [sys.executable, "-m", RUNNER, *names], cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=stderr
    ) as process:
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
        reader.start()
        current = None
        while True:
            try:
                line = lines.get(timeout=WATCHDOG_SECONDS)
            except queue.Empty:
                process.kill()
                failure = {"outcome": f"hung: no answer in {WATCHDOG_SECONDS:g} s"}
                break
            if line is None:
                stderr.seek(0)
                failure = {"outcome": f"process ended (exit {process.wait()}): {stderr.read()[-2000:]}"}
                break
            record = json.loads(line)
            if "started" in record:
                current = record["started"]
            else:
                results[record.pop("name")] = record
                current = None
        process.wait()
        reader.join()
    if current is not None:
        results[current] = failure
    elif len(results) < len(names):        # died between templates or before the first: fail the rest
        results.update({name: failure for name in names if name not in results})
    return results


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


@pytest.mark.parametrize(("name", "pattern"), [(n, p) for n, _, p in HOSTILE_TEMPLATES],
                         ids=[n for n, _, _ in HOSTILE_TEMPLATES])
def test_hostile_template_ends_in_a_named_error_quickly_and_small(outcomes, name, pattern):
    outcome = outcomes[name]
    assert outcome["outcome"] == "ChatTemplateError", outcome
    message = outcome["message"]
    assert "(tokenizer.chat_template)" in message and re.search(pattern, message), message
    assert len(message) < 1000
    for stage, seconds in outcome["seconds"].items():
        assert seconds < SECONDS_PER_STAGE, f"{stage} took {seconds:.2f} s"
    for stage, peak_mb in outcome["peak_mb"].items():
        assert peak_mb < PEAK_MB_PER_STAGE, f"{stage} peaked at {peak_mb:.0f} MB"


def test_corpus_names_are_unique():
    names = [name for name, _, _ in HOSTILE_TEMPLATES]
    assert len(set(names)) == len(names)
