"""The AVX-512 kernels against the scalar reference on a machine without AVX-512.

The same native/tests/kernel_check.c harness runs kernels_avx512.c compiled against SIMDe's
portable AVX-512 intrinsics (native/tests/avx512_emulation.h): the only change to the kernel
sources is that copies of kernels_avx512.c and simd_x86.h include that header instead of
<immintrin.h>. This checks the kernels' logic bit for bit everywhere; real hardware is still
needed for their speed (and the host test in test_arm_qemu.py runs them natively there).
CI installs SIMDe (Debian package libsimde-dev), so its absence is a failure, not a skip.
"""
from __future__ import annotations

import platform
import shutil
from pathlib import Path

import pytest

from tests.native.cross_build import HARNESS, REPO, SRC, run_build, run_harness, variant_status

EMULATION_HEADER = REPO / "native" / "tests" / "avx512_emulation.h"
SIMDE_HEADER = Path("/usr/include/simde/x86/avx512.h")
FLAGS = ["-O1", "-std=c11", "-ffp-contract=off", "-mavx2", "-mfma", "-mf16c", "-DSIMDE_NO_NATIVE"]


def _emulated_copy(name: str, dest: Path) -> int:
    """Copies a source with <immintrin.h> swapped for the emulation; returns the swaps made."""
    text = (SRC / name).read_text()
    (dest / name).write_text(text.replace("#include <immintrin.h>", '#include "avx512_emulation.h"'))
    return text.count("#include <immintrin.h>")


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 kernels")
def test_avx512_kernels_match_reference_under_simde(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc not found (Debian: apt-get install -y gcc)")
    if not SIMDE_HEADER.exists():
        pytest.fail(f"{SIMDE_HEADER} not found: install the Debian package libsimde-dev")
    src, include = tmp_path / "src", tmp_path / "include"
    src.mkdir()
    include.mkdir()
    shutil.copy(REPO / "native" / "include" / "bitnet.h", include)
    shutil.copy(SRC / "internal.h", src)
    shutil.copy(EMULATION_HEADER, src)
    swaps = _emulated_copy("simd_x86.h", src) + _emulated_copy("kernels_avx512.c", src)
    assert swaps >= 1, "the x86 kernel sources no longer include <immintrin.h>: update this test"
    objects = []
    for source, extra in [(src / "kernels_avx512.c", []), (SRC / "kernels_ref.c", []),
                          (HARNESS, ["-DBN_EMULATED_AVX512", f"-I{src}"])]:
        obj = tmp_path / f"{source.stem}.o"
        run_build(["gcc", *FLAGS, f"-I{src}", *extra, "-c", str(source), "-o", str(obj)])
        objects.append(str(obj))
    exe = tmp_path / "kernel_check_avx512_emulated"
    run_build(["gcc", *objects, "-lm", "-o", str(exe)])
    output = run_harness([str(exe)])
    assert variant_status(output, "avx512") == "checking"
