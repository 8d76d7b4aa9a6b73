"""What the app checks before its window opens: can the kernel library load, and can the kernel
the settings (or $BITNET_KERNEL) force run here. The window opens either way and says what is
wrong; a missing forced kernel falls back to the reference kernel."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .engine.errors import BitNetError


@dataclass
class StartupCheck:
    library_ok: bool = False
    library_problem: str | None = None
    facts: dict | None = None                 # `bitnet-desktop info`'s facts when the library loads
    supported_kernels: list[str] = field(default_factory=list)
    kernel_reasons: dict[str, str] = field(default_factory=dict)  # why a kernel cannot run here
    kernel_fallback: bool = False             # the forced kernel is missing: load with "ref"
    problems: list[str] = field(default_factory=list)  # messages for the user


def run_startup_check(kernel_setting: str = "auto") -> StartupCheck:
    check = StartupCheck()
    try:
        from .cli.info import collect
        from .engine.native.kernels import KERNEL_ENV_VAR, KERNEL_NAMES, KERNEL_REQUIREMENTS, resolve_kernel

        facts = collect_facts(collect)
    except (BitNetError, OSError, ImportError) as exc:
        check.library_problem = str(exc)
        check.problems.append(f"The kernel library could not be loaded, so no model can run: {exc}")
        return check
    check.library_ok, check.facts = True, facts
    check.supported_kernels = list(facts["cpu"]["supported_kernels"])
    check.kernel_reasons = {name: f"needs {KERNEL_REQUIREMENTS[name]}" for name in KERNEL_NAMES
                            if name not in check.supported_kernels}
    forced = kernel_setting if kernel_setting != "auto" else os.environ.get(KERNEL_ENV_VAR, "").strip() or None
    if forced:
        try:
            resolve_kernel(forced)
        except BitNetError as exc:
            check.kernel_fallback = True
            check.problems.append(f"{exc}. Using the reference kernel instead (slower, always correct).")
    return check


def collect_facts(collect) -> dict:
    """The info command's facts; a forced kernel that cannot run must not stop the check."""
    from .engine.native.kernels import KERNEL_ENV_VAR

    saved = os.environ.pop(KERNEL_ENV_VAR, None)
    try:
        return collect()
    finally:
        if saved is not None:
            os.environ[KERNEL_ENV_VAR] = saved
