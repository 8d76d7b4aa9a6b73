"""`bitnet-desktop info` reports what the probe found and which kernel runs, honouring BITNET_KERNEL."""
import json
import os
import subprocess
import sys

from bitnet_desktop.engine.native import cpu_info
from bitnet_desktop.engine.native._loader import EXPECTED_ABI_VERSION


def run_cli(*args, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "bitnet_desktop", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_info_json_matches_the_probe():
    result = run_cli("info", "--json", env_extra={"BITNET_KERNEL": ""})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    info = cpu_info()
    assert data["cpu"]["features"] == list(info.features)
    assert data["cpu"]["supported_kernels"] == list(info.supported_kernels)
    assert data["kernel"]["chosen"] == info.best_kernel
    assert data["versions"]["libbitnet_abi"] == EXPECTED_ABI_VERSION
    assert data["threads"] >= 1


def test_info_text_names_the_forced_kernel():
    result = run_cli("info", env_extra={"BITNET_KERNEL": "ref"})
    assert result.returncode == 0, result.stderr
    assert "Kernel chosen:    ref ($BITNET_KERNEL)" in result.stdout


def test_forcing_an_unavailable_kernel_fails_cleanly():
    missing = [k for k in ("avx512", "avx2", "dotprod") if k not in cpu_info().supported_kernels]
    result = run_cli("info", env_extra={"BITNET_KERNEL": missing[0]})
    assert result.returncode == 2
    assert f"kernel variant '{missing[0]}' ($BITNET_KERNEL) cannot run here" in result.stderr
    assert "Traceback" not in result.stderr
