"""How meter figures read on screen: short, with units, and the same in the window and the CLI."""
from __future__ import annotations

ESTIMATE_MARK = "≈"
_KIB, _MIB, _GIB = 1024, 1024 ** 2, 1024 ** 3


def format_bytes(n: int) -> str:
    """512 KiB, 812 MiB, 1.42 GiB."""
    if n >= _GIB:
        return f"{n / _GIB:.2f} GiB"
    if n >= _MIB:
        return f"{n / _MIB:.0f} MiB"
    return f"{n / _KIB:.0f} KiB"


def format_rate(tokens_per_second: float) -> str:
    return f"{tokens_per_second:.1f} tok/s"


def format_duration(seconds: float) -> str:
    """320 ms below a second, 1.2 s above."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s"


def format_energy_per_token(joules: float) -> str:
    return f"{_three_figures(joules)} J/token"


def format_watt_hours(wh: float) -> str:
    """12.3 mWh below one watt-hour, 1.25 Wh above."""
    if wh < 1:
        return f"{_three_figures(wh * 1000)} mWh"
    return f"{_three_figures(wh)} Wh"


def format_cpu_percent(percent: float) -> str:
    """Of one core: 387 % is almost four cores busy."""
    return f"{percent:.0f} %"


def _three_figures(x: float) -> str:
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"
