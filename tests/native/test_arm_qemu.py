"""Kernel variants against the scalar reference, bit for bit, through native/tests/kernel_check.c.

* AArch64: the harness is cross-compiled (static) with aarch64-linux-gnu-gcc and run under
  qemu-user twice: `-cpu max` (has the dot product extension: neon and dotprod are checked) and
  `-cpu cortex-a53` (ARMv8.0: neon is checked, dotprod must be skipped as unsupported).
* Host: the same harness built with the host compiler covers the variants this machine runs
  (on x86-64: avx2 / avx512 when their files exist and the CPU has the instructions).

CI installs the cross tools (Debian packages gcc-aarch64-linux-gnu and qemu-user), so missing
tools are a failure, not a skip. BITNET_SKIP_ARM_TESTS=1 opts out of the qemu tests explicitly
(e.g. on a developer machine of another OS).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "native" / "src"
HARNESS = REPO / "native" / "tests" / "kernel_check.c"

COMMON_FLAGS = ["-O2", "-std=c11", "-ffp-contract=off"]
ARM_CC = "aarch64-linux-gnu-gcc"
QEMU = "qemu-aarch64"
ARM_PACKAGES = "gcc-aarch64-linux-gnu qemu-user"
SKIP_ENV = "BITNET_SKIP_ARM_TESTS"

# Kernel file -> its extra compile flags. The ref file is required; a variant file that does not
# exist (yet) is left out of the link and the harness reports it as "not linked".
ARM_FILES = {
    "kernels_ref.c": [],
    "kernels_neon.c": [],
    "kernels_dotprod.c": ["-march=armv8.2-a+dotprod"],
}
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


def _compile_and_link(cc: str, files: dict[str, list[str]], out_dir: Path,
                      link_flags: list[str]) -> Path:
    """Compiles the harness and each existing kernel file with its own flags; returns the exe."""
    out_dir.mkdir(parents=True, exist_ok=True)
    units = [(HARNESS, [])] + [(SRC / name, flags) for name, flags in files.items()
                               if (SRC / name).exists()]
    objects = []
    for source, flags in units:
        obj = out_dir / (source.stem + ".o")
        _run_build([cc, *COMMON_FLAGS, *flags, "-c", str(source), "-o", str(obj)])
        objects.append(str(obj))
    exe = out_dir / "kernel_check"
    _run_build([cc, *link_flags, *objects, "-lm", "-o", str(exe)])
    return exe


def _run_build(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        pytest.fail(f"build step failed: {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")


def _run_harness(cmd: list[str]) -> str:
    """Runs the harness; asserts exit 0 and a passing summary with a nonzero count."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    out = proc.stdout
    lines = [line for line in out.splitlines() if line.strip()]
    failures = [line for line in lines if line.startswith("FAIL")]
    shown = "\n".join(failures[:40])
    if len(failures) > 40:
        shown += f"\n... {len(failures) - 40} more"
    assert lines, f"{' '.join(cmd)} printed nothing (exit {proc.returncode})\n{proc.stderr}"
    match = SUMMARY.match(lines[-1])
    assert match, (f"{' '.join(cmd)}: last line is not a summary: {lines[-1]!r} "
                   f"(exit {proc.returncode})\n{proc.stderr}")
    passed, failed = int(match.group(1)), int(match.group(2))
    assert failed == 0 and proc.returncode == 0, (
        f"{' '.join(cmd)}: {passed} passed, {failed} failed, exit {proc.returncode}\n{shown}")
    assert passed > 0, f"{' '.join(cmd)}: no check ran"
    return out


def _variant_status(output: str, variant: str) -> str:
    match = re.search(rf"^# variant {variant}: (.*)$", output, re.MULTILINE)
    assert match, f"the harness did not report variant {variant}"
    return match.group(1)


# ---- AArch64 under qemu ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def arm_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("arm")


_arm_builds: dict[Path, Path] = {}


def _arm_harness(build_dir: Path) -> Path:
    """The cross-built harness (built once per module). Called from the test body, so a missing
    tool or a broken build is a test failure, not a fixture error."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: AArch64 kernel checks under qemu opted out")
    missing = [tool for tool in (ARM_CC, QEMU) if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: install the Debian packages "
                    f"{ARM_PACKAGES} (apt-get install -y {ARM_PACKAGES}), "
                    f"or set {SKIP_ENV}=1 to skip these tests on purpose")
    if build_dir not in _arm_builds:
        _arm_builds[build_dir] = _compile_and_link(ARM_CC, ARM_FILES, build_dir, ["-static"])
    return _arm_builds[build_dir]


@pytest.mark.parametrize(
    ("cpu", "expected"),
    [
        ("max", {"neon": "checking", "dotprod": "checking"}),
        ("cortex-a53", {"neon": "checking", "dotprod": "skipped (CPU lacks asimddp)"}),
    ],
)
def test_arm_variants_match_reference_under_qemu(arm_build_dir: Path, cpu: str,
                                                 expected: dict[str, str]) -> None:
    output = _run_harness([QEMU, "-cpu", cpu, str(_arm_harness(arm_build_dir))])
    for variant, status in expected.items():
        assert _variant_status(output, variant) == status, f"-cpu {cpu}: {variant}"


# ---- host build ------------------------------------------------------------------------------

def _host_files() -> dict[str, list[str]]:
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return {"kernels_ref.c": [], **X86_FILES, "kernels_neon.c": [], "kernels_dotprod.c": []}
    if machine in ("aarch64", "arm64"):
        return dict(ARM_FILES)
    return {"kernels_ref.c": [], "kernels_neon.c": [], "kernels_dotprod.c": []}


def _host_cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    match = re.search(r"^flags\s*:\s*(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def test_host_variants_match_reference(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("the harness build uses a gcc/clang command line and POSIX mmap")
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        pytest.fail(f"host C compiler {cc!r} not found (Debian: apt-get install -y gcc)")
    files = _host_files()
    output = _run_harness([str(_compile_and_link(cc, files, tmp_path, []))])

    cpu_flags = _host_cpu_flags()
    for name in files:
        variant = VARIANT_OF_FILE.get(name)
        if variant is None or not (SRC / name).exists():
            continue
        status = _variant_status(output, variant)
        assert status != "not linked", f"{name} exists but the harness did not link it"
        if variant in X86_CPU_FLAGS and X86_CPU_FLAGS[variant] <= cpu_flags:
            assert status == "checking", f"this CPU runs {variant}, but: {status}"
