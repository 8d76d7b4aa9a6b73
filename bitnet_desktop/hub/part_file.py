"""The durable partial download: `<dest>.part` holds the bytes, `<dest>.part.json` (the sidecar) says what
they are.

Sidecar (JSON, version 1): {"version": 1, "url", "size" (int or null), "sha256" (hex or null), "etag"
(the server's identity of the file, or null until the first response), "commit" (X-Repo-Commit or null),
"done" (bytes of .part known to be on disk)}.

Crash safety: bytes are fsynced before the sidecar that counts them is written, and the sidecar is replaced
atomically (temp file, fsync, os.replace, fsync of the folder). So after a SIGKILL or power loss the sidecar
never counts bytes that are not on disk; the .part may hold more (an unflushed tail), which a resume cuts
off: it trusts min(sidecar done, .part size).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

SIDECAR_VERSION = 1


@dataclass(frozen=True)
class PartState:
    url: str
    size: int | None
    sha256: str | None
    etag: str | None
    commit: str | None
    done: int

    def matches(self, url: str, size: int | None, sha256: str | None) -> bool:
        """Whether the .part was started for this very request."""
        return (self.url == url and self.size == size
                and (self.sha256 or "").lower() == (sha256 or "").lower())


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def sidecar_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part.json")


def load_state(dest: Path) -> PartState | None:
    """The sidecar, or None when it is missing, unreadable or not ours (then the .part is not trusted)."""
    try:
        raw = json.loads(sidecar_path(dest).read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or raw.get("version") != SIDECAR_VERSION:
            return None
        state = PartState(url=raw["url"], size=raw["size"], sha256=raw["sha256"], etag=raw["etag"],
                          commit=raw.get("commit"), done=raw["done"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (not isinstance(state.url, str) or not isinstance(state.done, int) or isinstance(state.done, bool)
            or state.done < 0 or not (state.size is None or isinstance(state.size, int))):
        return None
    return state


def save_state(dest: Path, state: PartState) -> None:
    """Write the sidecar durably: temp file, fsync, atomic replace, fsync of the folder."""
    path = sidecar_path(dest)
    tmp = path.with_name(path.name + ".tmp")
    data = json.dumps({"version": SIDECAR_VERSION, **asdict(state)}).encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX); Windows cannot open a folder and needs nothing."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def delete_partial(dest: str | os.PathLike) -> None:
    """Remove a download's .part, sidecar and sidecar temp file (whatever of them exists)."""
    dest = Path(dest)
    for p in (part_path(dest), sidecar_path(dest), sidecar_path(dest).with_name(sidecar_path(dest).name + ".tmp")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def partial_bytes(dest: str | os.PathLike) -> int:
    """How many bytes a resume would keep (0 without a usable sidecar): for a UI listing paused downloads."""
    dest = Path(dest)
    state = load_state(dest)
    if state is None:
        return 0
    try:
        return min(state.done, part_path(dest).stat().st_size)
    except OSError:
        return 0
