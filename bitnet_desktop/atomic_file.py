"""Writing the app's small files (settings, manifests, caches, tokens) so that a reader or a crash
sees the old file or the new one, never half of one."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Writes `text` to a temporary file beside `path` (mode 0600 from the start, as mkstemp makes
    it), syncs it and renames it over `path`; the folder is made if needed and synced after."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    fsync_folder(path.parent)


def write_json_atomically(path: str | os.PathLike, data: Any) -> None:
    write_text_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def fsync_folder(folder: str | os.PathLike) -> None:
    """Makes a rename in `folder` durable where the OS lets a folder be opened (not on Windows)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
