"""The CPU probe agrees with what the operating system reports."""
import platform
import sys
from pathlib import Path

import pytest

from bitnet_desktop.engine.native import cpu_info


def test_arch_matches_the_interpreter():
    machine = platform.machine().lower()
    expected = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
    assert cpu_info().arch == expected.get(machine, "other")


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() == "x86_64"),
                    reason="/proc/cpuinfo flags are checked on Linux x86-64")
def test_x86_features_match_proc_cpuinfo():
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    features = set(cpu_info().features)
    # The kernel's flags already account for OS-enabled state (xsave), like our XGETBV check.
    pairs = {"ssse3": "ssse3", "avx": "avx", "avx2": "avx2", "fma": "fma", "f16c": "f16c",
             "avx512f": "avx512f", "avx512bw": "avx512bw", "avx512vl": "avx512vl",
             "avx512vnni": "avx512_vnni", "avxvnni": "avx_vnni"}
    for ours, linux in pairs.items():
        assert (ours in features) == (linux in flags), ours


def test_best_kernel_is_supported_and_ref_always_is():
    info = cpu_info()
    assert "ref" in info.supported_kernels
    assert info.best_kernel in info.supported_kernels
    assert set(info.supported_kernels) <= set(info.compiled_kernels)
