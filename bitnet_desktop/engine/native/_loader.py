"""Finds libbitnet, declares its API to cffi from the shipped header, and checks the ABI version."""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import cffi

from ..errors import NativeLibraryError

EXPECTED_ABI_VERSION = 5
LIB_DIR = Path(__file__).resolve().parent.parent / "_lib"
HEADER_NAME = "bitnet.h"


def _cdef_from_header(header_text: str) -> str:
    """The declarations between the BN_CDEF markers, with the export macro removed."""
    match = re.search(r"/\* BN_CDEF_BEGIN \*/(.*?)/\* BN_CDEF_END \*/", header_text, re.S)
    if not match:
        raise NativeLibraryError(f"{HEADER_NAME} has no BN_CDEF_BEGIN/BN_CDEF_END block")
    return re.sub(r"\bBN_API\s+", "", match.group(1))


def _library_path() -> Path:
    override = os.environ.get("BITNET_LIB")
    if override:
        return Path(override)
    patterns = ("libbitnet*.so", "libbitnet*.dylib", "libbitnet*.pyd", "libbitnet*.dll")
    candidates = [p for pattern in patterns for p in sorted(LIB_DIR.glob(pattern))]
    if not candidates:
        raise NativeLibraryError(
            f"the native kernel library is not built (nothing like libbitnet.* in {LIB_DIR}); "
            "install the package with `pip install .` or `pip install -e .`, which compiles it"
        )
    return candidates[0]


@lru_cache(maxsize=1)
def load() -> tuple[cffi.FFI, object]:
    """(ffi, lib), loaded once per process."""
    path = _library_path()
    header = path.parent / HEADER_NAME
    if not header.is_file():
        header = Path(__file__).resolve().parents[3] / "native" / "include" / HEADER_NAME
    try:
        header_text = header.read_text(encoding="utf-8")
    except OSError as exc:
        raise NativeLibraryError(f"cannot read the kernel library header {header}: {exc}") from exc
    ffi = cffi.FFI()
    ffi.cdef(_cdef_from_header(header_text))
    try:
        lib = ffi.dlopen(str(path))
    except OSError as exc:
        raise NativeLibraryError(f"cannot load the native kernel library {path}: {exc}") from exc
    found = lib.bn_abi_version()
    if found != EXPECTED_ABI_VERSION or lib.BN_ABI_VERSION != EXPECTED_ABI_VERSION:
        raise NativeLibraryError(
            f"{path} has ABI version {found}, this Python package needs {EXPECTED_ABI_VERSION}: "
            "reinstall the package so the library is rebuilt"
        )
    return ffi, lib
