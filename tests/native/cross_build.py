"""Builds the native test harnesses with a given C compiler and runs them.

Shared by the harness tests: test_arm_qemu.py (AArch64 under qemu, and the host),
test_avx512_emulated.py (SIMDe) and test_windows_wine.py (MinGW-w64 under Wine). A harness prints
"FAIL ..." lines and ends with "N passed, M failed" (see native/tests/README.md).
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "native" / "src"
HARNESS = REPO / "native" / "tests" / "kernel_check.c"

COMMON_FLAGS = ["-O2", "-std=c11", "-ffp-contract=off"]

# The x86 variant files' instruction-set flags, as setup.py gives them.
X86_FILES = {
    "kernels_avx2.c": ["-mavx2", "-mfma", "-mf16c"],
    "kernels_avx512.c": [
        "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni", "-mavx2", "-mfma", "-mf16c",
    ],
}
VARIANT_OF_FILE = {
    "kernels_neon.c": "neon",
    "kernels_dotprod.c": "dotprod",
    "kernels_avx2.c": "avx2",
    "kernels_avx512.c": "avx512",
}
# What the x86 variants need, as /proc/cpuinfo flag names (avx512vnni is "avx512_vnni" there).
X86_CPU_FLAGS = {
    "avx2": {"avx2", "fma", "f16c"},
    "avx512": {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"},
}

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
RUN_TIMEOUT_S = 300


def compile_objects(cc: str, units: list[tuple[Path, list[str]]], out_dir: Path,
                    common_flags: list[str] = COMMON_FLAGS) -> tuple[list[str], str]:
    """Compiles each (source, extra flags) into out_dir, in parallel; returns the object paths
    and the compiler's messages (warnings), each prefixed by its source's name."""
    out_dir.mkdir(parents=True, exist_ok=True)

    def compile_one(unit: tuple[Path, list[str]]) -> tuple[str, str]:
        source, flags = unit
        obj = out_dir / (source.stem + ".o")
        messages = run_build([cc, *common_flags, *flags, "-c", str(source), "-o", str(obj)])
        return str(obj), (f"{source.name}:\n{messages}" if messages.strip() else "")

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(compile_one, units))
    return [obj for obj, _ in results], "".join(messages for _, messages in results)


def compile_and_link(cc: str, files: dict[str, list[str]], out_dir: Path,
                     link_flags: list[str]) -> Path:
    """Compiles kernel_check.c and each existing kernel file with its own flags; returns the exe."""
    units = [(HARNESS, [])] + [(SRC / name, flags) for name, flags in files.items()
                               if (SRC / name).exists()]
    objects, _ = compile_objects(cc, units, out_dir)
    exe = out_dir / "kernel_check"
    run_build([cc, *link_flags, *objects, "-lm", "-o", str(exe)])
    return exe


def run_build(cmd: list[str]) -> str:
    """Runs one build step; a failure fails the test. Returns what the tool printed."""
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        pytest.fail(f"build step failed: {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return proc.stdout + proc.stderr


@dataclass
class HarnessRun:
    command: str
    output: str
    stderr: str
    returncode: int
    passed: int
    failed: int

    def failure_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("FAIL")]


def run_harness_to_summary(cmd: list[str], **run_kwargs) -> HarnessRun:
    """Runs the harness; asserts only that it ended with its summary line."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          **run_kwargs)
    command = " ".join(cmd)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"{command} printed nothing (exit {proc.returncode})\n{proc.stderr}"
    match = SUMMARY.match(lines[-1])
    assert match, (f"{command}: last line is not a summary: {lines[-1]!r} "
                   f"(exit {proc.returncode})\n{proc.stderr}")
    return HarnessRun(command, proc.stdout, proc.stderr, proc.returncode,
                      int(match.group(1)), int(match.group(2)))


def run_harness(cmd: list[str], **run_kwargs) -> str:
    """Runs the harness; asserts exit 0 and a passing summary with a nonzero count."""
    return assert_harness_passed(run_harness_to_summary(cmd, **run_kwargs))


def assert_harness_passed(run: HarnessRun) -> str:
    """Asserts exit 0 and a passing summary with a nonzero count; returns the output."""
    failures = run.failure_lines()
    shown = "\n".join(failures[:40])
    if len(failures) > 40:
        shown += f"\n... {len(failures) - 40} more"
    assert run.failed == 0 and run.returncode == 0, (
        f"{run.command}: {run.passed} passed, {run.failed} failed, exit {run.returncode}\n{shown}"
        f"\n{run.stderr[-2000:]}")
    assert run.passed > 0, f"{run.command}: no check ran"
    return run.output


def variant_status(output: str, variant: str) -> str:
    match = re.search(rf"^# variant {variant}: (.*)$", output, re.MULTILINE)
    assert match, f"the harness did not report variant {variant}"
    return match.group(1)


def host_cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    match = re.search(r"^flags\s*:\s*(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else set()
