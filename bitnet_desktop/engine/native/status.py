"""Turns libbitnet status codes into specific exceptions (one helper for every call)."""
from __future__ import annotations

from ..errors import CancelledError, KernelError, KernelUnavailableError, ShapeError
from ._loader import load

BN_OK = 0
_EXCEPTION_BY_STATUS = {
    2: ShapeError,   # BN_ERR_BAD_SHAPE
    3: ShapeError,   # BN_ERR_BUFFER_TOO_SMALL
    4: KernelUnavailableError,
    6: CancelledError,
}


def check(status: int, operation: str) -> None:
    """Raise the exception matching `status`, naming the operation, unless it is BN_OK."""
    if status == BN_OK:
        return
    ffi, lib = load()
    reason = ffi.string(lib.bn_status_string(status)).decode()
    exc_type = _EXCEPTION_BY_STATUS.get(status, KernelError)
    raise exc_type(f"{operation}: {reason} (status {status})", status)
