"""A fake /sys tree in a temporary folder, for the energy sources."""
from pathlib import Path

RAPL_RANGE = 262_143_328_850


def write(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{value}\n")


def rapl_zone(root: Path, zone: str, name: str, energy_uj: int, max_range: int = RAPL_RANGE) -> Path:
    folder = root / "class/powercap" / zone
    write(folder / "name", name)
    write(folder / "energy_uj", energy_uj)
    write(folder / "max_energy_range_uj", max_range)
    return folder / "energy_uj"


def battery(root: Path, name: str = "BAT0", status: str = "Discharging", **values) -> Path:
    folder = root / "class/power_supply" / name
    write(folder / "type", "Battery")
    write(folder / "status", status)
    for key, value in values.items():
        write(folder / key, value)
    return folder
