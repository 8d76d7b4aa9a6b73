"""Where the app keeps what it writes: one data folder (conversations, later models) and one
config folder (settings), both from platformdirs unless moved.

`--data-dir DIR` on the command line, or $BITNET_DESKTOP_DATA_DIR, moves both: the settings then
live in DIR/config. Tests and portable installs use that; the window and the CLI resolve the
folders the same way, so `bitnet-desktop chats list` shows what the window saved.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import platformdirs

APP_NAME = "BitNet Desktop"
APP_AUTHOR = "BitNet Desktop"
DATA_DIR_ENV_VAR = "BITNET_DESKTOP_DATA_DIR"
DATABASE_FILE = "chats.sqlite3"
SETTINGS_FILE = "settings.json"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data folder: `override`, else $BITNET_DESKTOP_DATA_DIR, else the platform's user data
    folder. Not created here."""
    chosen = override or os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    if chosen:
        return Path(chosen).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def config_dir(override: str | os.PathLike | None = None) -> Path:
    """The settings folder: DATA/config when the data folder was moved, else the platform's."""
    if override or os.environ.get(DATA_DIR_ENV_VAR, "").strip():
        return data_dir(override) / "config"
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def database_path(override: str | os.PathLike | None = None) -> Path:
    return data_dir(override) / DATABASE_FILE


def settings_path(override: str | os.PathLike | None = None) -> Path:
    return config_dir(override) / SETTINGS_FILE


def aside_path(path: Path, label: str = "corrupt") -> Path:
    """A free name beside `path` to move a damaged file to: `<name>.<label>-<timestamp>[-n]`."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
        n += 1
    return target
