"""The Hugging Face access token a person enters in the app: kept in the OS keyring when the `keyring`
package is installed and has a working backend, else in a file only its owner can read (0600) in the
config folder. No Qt.

Which token a request uses (remote.resolve_token): the one passed in, else $HF_TOKEN, else the one
stored here, else the token `hf auth login` saved for huggingface_hub. Tokens are never logged or
printed; `describe()` shows where one is kept, never its value.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..atomic_file import write_text_atomically
from .. import paths

KEYRING_SERVICE = "BitNet Desktop"
KEYRING_USER = "huggingface-token"
TOKEN_FILE = "hf_token"


def token_file(config_dir: str | os.PathLike | None = None) -> Path:
    return (Path(config_dir) if config_dir is not None else paths.config_dir()) / TOKEN_FILE


def _keyring():
    """The keyring module when it has a usable backend, else None (no package, or only the 'fail'
    backend that raises on every call, as on a headless Linux without a secret service)."""
    try:
        import keyring
        from keyring.backends import fail
    except Exception:  # noqa: BLE001 - a broken optional package must not break the app
        return None
    try:
        if isinstance(keyring.get_keyring(), fail.Keyring):
            return None
    except Exception:  # noqa: BLE001
        return None
    return keyring


def save_token(token: str, config_dir: str | os.PathLike | None = None, use_keyring: bool = True) -> str:
    """Stores `token` (stripped); returns where: "keyring" or the file's path. An empty token is a
    ValueError. Storing in one place removes a copy from the other, so there is one token."""
    token = token.strip()
    if not token or any(c.isspace() for c in token):
        raise ValueError("a Hugging Face token is one word without spaces (it usually starts with 'hf_')")
    ring = _keyring() if use_keyring else None
    if ring is not None:
        try:
            ring.set_password(KEYRING_SERVICE, KEYRING_USER, token)
        except Exception:  # noqa: BLE001 - locked or broken keyring: fall back to the file
            ring = None
        else:
            _remove_file(token_file(config_dir))
            return "keyring"
    path = token_file(config_dir)
    _write_private(path, token + "\n")
    return str(path)


def load_token(config_dir: str | os.PathLike | None = None, use_keyring: bool = True) -> str | None:
    ring = _keyring() if use_keyring else None
    if ring is not None:
        try:
            value = ring.get_password(KEYRING_SERVICE, KEYRING_USER)
        except Exception:  # noqa: BLE001
            value = None
        if value:
            return value.strip()
    try:
        value = token_file(config_dir).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


def delete_token(config_dir: str | os.PathLike | None = None, use_keyring: bool = True) -> bool:
    """Forgets the stored token wherever it is; True if there was one."""
    removed = False
    ring = _keyring() if use_keyring else None
    if ring is not None:
        try:
            if ring.get_password(KEYRING_SERVICE, KEYRING_USER):
                ring.delete_password(KEYRING_SERVICE, KEYRING_USER)
                removed = True
        except Exception:  # noqa: BLE001
            pass
    return _remove_file(token_file(config_dir)) or removed


def describe(config_dir: str | os.PathLike | None = None, use_keyring: bool = True) -> str | None:
    """Where the stored token is kept ("the system keyring" or the file), None if none is stored."""
    ring = _keyring() if use_keyring else None
    if ring is not None:
        try:
            if ring.get_password(KEYRING_SERVICE, KEYRING_USER):
                return "the system keyring"
        except Exception:  # noqa: BLE001
            pass
    path = token_file(config_dir)
    return str(path) if path.is_file() else None


def _remove_file(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def _write_private(path: Path, text: str) -> None:
    """Writes `text` to `path` atomically with mode 0600 from the start (never readable by others,
    not even for a moment). Windows ignores the mode; the file then lives in the user's own profile."""
    write_text_atomically(path, text)
    os.chmod(path, 0o600)
