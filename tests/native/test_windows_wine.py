"""The library's Windows code paths, cross-compiled with MinGW-w64 and run under Wine.

* Every native/src/*.c is compiled for x86-64 Windows with setup.py's per-file instruction-set
  flags and -Wall (no POSIX defines); any compiler message fails the test. The objects are also
  linked into a DLL, whose export table must be exactly bitnet.h's BN_API functions and which
  may import only system DLLs (no MinGW runtime DLL to ship).
* native/tests/windows_check.c, linked statically with those objects, runs the Win32 branches
  (threads, SRW lock, condition variable, ReadFile at 64-bit offsets, the CPU probe) under Wine.
* native/tests/kernel_check.c, built the same way, checks this CPU's kernel variants against the
  reference as compiled for Windows.

CI installs the tools (Debian packages gcc-mingw-w64-x86-64 and wine64), so missing tools are a
failure, not a skip. BITNET_SKIP_WINDOWS_TESTS=1 opts out explicitly.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.native.cross_build import (
    COMMON_FLAGS, HARNESS, REPO, SRC, VARIANT_OF_FILE, X86_CPU_FLAGS, X86_FILES, HarnessRun,
    assert_harness_passed, compile_objects, host_cpu_flags, run_build, run_harness_to_summary,
    variant_status,
)

MINGW_CC = "x86_64-w64-mingw32-gcc"
MINGW_OBJDUMP = "x86_64-w64-mingw32-objdump"
WINE_ON_PATH = ("wine64", "wine")
WINE_DEBIAN_PATH = Path("/usr/lib/wine/wine64")  # wine64 without the wine wrapper package
WINDOWS_PACKAGES = "gcc-mingw-w64-x86-64 wine64"
SKIP_ENV = "BITNET_SKIP_WINDOWS_TESTS"

WINDOWS_CHECK = REPO / "native" / "tests" / "windows_check.c"
HEADER = REPO / "native" / "include" / "bitnet.h"
WARNING_FLAGS = ["-Wall"]
# What a DLL may import: Windows itself and its C runtime.
SYSTEM_DLL = re.compile(r"^(kernel32|msvcrt|ucrtbase|api-ms-win-[\w-]+)\.dll$", re.IGNORECASE)


@dataclass
class WindowsBuild:
    compiler_messages: str
    dll: Path
    windows_check: Path
    kernel_check: Path


_builds: dict[Path, WindowsBuild] = {}


def _find_wine() -> str | None:
    for name in WINE_ON_PATH:
        found = shutil.which(name)
        if found:
            return found
    return str(WINE_DEBIAN_PATH) if os.access(WINE_DEBIAN_PATH, os.X_OK) else None


def _require_tools(*tools: str | None) -> None:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: Windows build and Wine checks opted out")
    missing = [tool for tool in tools if tool is None or shutil.which(tool) is None]
    if missing:
        names = " and ".join(tool or "wine64 (or wine)" for tool in missing)
        pytest.fail(f"{names} not found: install the Debian packages {WINDOWS_PACKAGES} "
                    f"(apt-get install -y --no-install-recommends {WINDOWS_PACKAGES}), "
                    f"or set {SKIP_ENV}=1 to skip these tests on purpose")


def _windows_build(build_dir: Path) -> WindowsBuild:
    """The MinGW build (once per module). Called from the test bodies, so a missing tool or a
    broken build is a test failure, not a fixture error."""
    _require_tools(MINGW_CC, MINGW_OBJDUMP)
    if build_dir not in _builds:
        library = [(source, X86_FILES.get(source.name, [])) for source in sorted(SRC.glob("*.c"))]
        harnesses = [(WINDOWS_CHECK, []), (HARNESS, [])]
        objects, messages = compile_objects(
            MINGW_CC, library + harnesses, build_dir,
            COMMON_FLAGS + WARNING_FLAGS + [f"-I{REPO / 'native' / 'include'}"])
        library_objects = objects[:len(library)]
        windows_check_object, kernel_check_object = objects[len(library):]
        kernel_objects = [obj for obj in library_objects if Path(obj).name.startswith("kernels_")]

        dll = build_dir / "bitnet.dll"
        windows_check = build_dir / "windows_check.exe"
        kernel_check = build_dir / "kernel_check.exe"
        run_build([MINGW_CC, "-shared", *library_objects, "-o", str(dll)])
        run_build([MINGW_CC, windows_check_object, *library_objects, "-o", str(windows_check)])
        run_build([MINGW_CC, kernel_check_object, *kernel_objects, "-lm", "-o", str(kernel_check)])
        _builds[build_dir] = WindowsBuild(messages, dll, windows_check, kernel_check)
    return _builds[build_dir]


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mingw")


@pytest.fixture(scope="module")
def wine_prefix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private Wine prefix, created by the first run (a few seconds, ~700 MB of copied DLLs),
    removed after the module."""
    prefix = tmp_path_factory.mktemp("wine") / "prefix"
    yield prefix
    shutil.rmtree(prefix, ignore_errors=True)


def _run_under_wine(exe: Path, prefix: Path, scratch: Path) -> HarnessRun:
    wine = _find_wine()
    _require_tools(wine)
    env = {**os.environ, "WINEDEBUG": "-all", "WINEPREFIX": str(prefix),
           "WINEDLLOVERRIDES": "mscoree,mshtml="}  # no .NET / Gecko installer in a new prefix
    return run_harness_to_summary([wine, str(exe)], cwd=scratch, env=env)


def test_library_compiles_for_windows_without_warnings(build_dir: Path) -> None:
    messages = _windows_build(build_dir).compiler_messages
    assert messages == "", f"{MINGW_CC} {' '.join(WARNING_FLAGS)} printed:\n{messages}"


def _exported_names(objdump_output: str) -> set[str]:
    """The export name table of `objdump -p`: lines like "[   0] bn_abi_version"."""
    return set(re.findall(r"^\s*\[\s*\d+\]\s+(\w+)$", objdump_output, re.MULTILINE))


def _imported_dlls(objdump_output: str) -> list[str]:
    return re.findall(r"^\s*DLL Name:\s*(\S+)$", objdump_output, re.MULTILINE)


def test_dll_exports_the_public_api_and_imports_only_system_dlls(build_dir: Path) -> None:
    dll = _windows_build(build_dir).dll
    output = run_build([MINGW_OBJDUMP, "-p", str(dll)])
    public = set(re.findall(r"^BN_API\b[^(]*?\b(bn_\w+)\s*\(", HEADER.read_text(), re.MULTILINE))
    assert len(public) > 30, "found too few BN_API declarations in bitnet.h: update this test"
    exports = _exported_names(output)
    assert exports == public, (f"not exported: {sorted(public - exports)}; "
                               f"exported but not public: {sorted(exports - public)}")
    imports = _imported_dlls(output)
    assert imports and all(SYSTEM_DLL.match(name) for name in imports), (
        f"the DLL imports {imports}: a non-system DLL would have to ship beside it")


def test_windows_code_paths_under_wine(build_dir: Path, wine_prefix: Path,
                                       tmp_path: Path) -> None:
    run = _run_under_wine(_windows_build(build_dir).windows_check, wine_prefix, tmp_path)
    output = assert_harness_passed(run)
    skipped = [line for line in output.splitlines() if line.startswith("# skip")]
    assert "ok file_read: 4096 bytes at offset 4 GiB + 12345" in output, (
        f"the reads above 4 GiB did not run: {skipped}")
    assert list(tmp_path.iterdir()) == [], "the harness left scratch files behind"


def test_kernels_match_reference_under_wine(build_dir: Path, wine_prefix: Path,
                                            tmp_path: Path) -> None:
    run = _run_under_wine(_windows_build(build_dir).kernel_check, wine_prefix, tmp_path)
    # This is also where the f16 reference met MinGW-w64's fmaf, which rounds twice (x87
    # fmal, then float); kernels_ref.c now computes its own single-rounding FMA.
    output = assert_harness_passed(run)

    cpu_flags = host_cpu_flags()
    for variant in VARIANT_OF_FILE.values():
        status = variant_status(output, variant)
        if variant not in X86_CPU_FLAGS:
            assert status == "not compiled for this architecture", f"{variant}: {status}"
        elif X86_CPU_FLAGS[variant] <= cpu_flags:
            assert status == "checking", f"this CPU runs {variant}, but: {status}"
