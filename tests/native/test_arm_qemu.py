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
import shutil
import sys
from pathlib import Path

import pytest

from tests.native.cross_build import (
    SRC, VARIANT_OF_FILE, X86_CPU_FLAGS, X86_FILES, compile_and_link, host_cpu_flags, run_harness,
    variant_status,
)

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
        _arm_builds[build_dir] = compile_and_link(ARM_CC, ARM_FILES, build_dir, ["-static"])
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
    output = run_harness([QEMU, "-cpu", cpu, str(_arm_harness(arm_build_dir))])
    for variant, status in expected.items():
        assert variant_status(output, variant) == status, f"-cpu {cpu}: {variant}"


# ---- host build ------------------------------------------------------------------------------

def _host_files() -> dict[str, list[str]]:
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return {"kernels_ref.c": [], **X86_FILES, "kernels_neon.c": [], "kernels_dotprod.c": []}
    if machine in ("aarch64", "arm64"):
        return dict(ARM_FILES)
    return {"kernels_ref.c": [], "kernels_neon.c": [], "kernels_dotprod.c": []}


def test_host_variants_match_reference(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("the harness build uses a gcc/clang command line and POSIX mmap")
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        pytest.fail(f"host C compiler {cc!r} not found (Debian: apt-get install -y gcc)")
    files = _host_files()
    output = run_harness([str(compile_and_link(cc, files, tmp_path, []))])

    cpu_flags = host_cpu_flags()
    for name in files:
        variant = VARIANT_OF_FILE.get(name)
        if variant is None or not (SRC / name).exists():
            continue
        status = variant_status(output, variant)
        assert status != "not linked", f"{name} exists but the harness did not link it"
        if variant in X86_CPU_FLAGS and X86_CPU_FLAGS[variant] <= cpu_flags:
            assert status == "checking", f"this CPU runs {variant}, but: {status}"
