"""App settings and sampling presets, kept as JSON in the config folder. No Qt.

A settings file is never the reason the app fails to start: a file that is not JSON is moved
aside and the defaults used; a key with a value of the wrong type or out of range takes its
default. `load_problem` says what happened so the window can tell the user.
"""
from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import paths
from .atomic_file import write_json_atomically
from .chats.records import SAMPLING_KEYS, sampling_from_dict
from .engine.native.kernels import KERNEL_NAMES

if TYPE_CHECKING:
    from .engine.runtime.model import LoadOptions

CONTEXT_POLICIES = ("stop_and_ask", "drop_oldest")
THEMES = ("system", "light", "dark")
HEADS = ("fast", "exact")
KERNEL_CHOICES = ("auto", *KERNEL_NAMES)
MAX_RECENT_MODELS = 10

THREADS_RANGE = (1, 256)
CONTEXT_LENGTH_RANGE = (64, 131072)
FONT_SIZE_RANGE = (6.0, 48.0)
MAX_WATTS_PER_CORE = 500.0

_INT_SAMPLING_KEYS = ("top_k", "max_tokens", "seed")


@dataclass
class Preset:
    name: str
    system_prompt: str
    sampling: dict = field(default_factory=dict)   # SAMPLING_KEYS subset

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "system_prompt": self.system_prompt, "sampling": dict(self.sampling)}


@dataclass
class AppSettings:
    threads: int | None = None          # None: auto (physical cores)
    kernel: str = "auto"                # or a KERNEL_NAMES entry
    head: str = "fast"                  # "fast" (int8) | "exact" (f16)
    context_length: int = 2048
    context_policy: str = "stop_and_ask"
    theme: str = "system"
    font_size: float = 11.0
    watts_per_core: float | None = None  # None: the meters' default figure
    recent_models: list[str] = field(default_factory=list)  # most recent first
    last_model: str | None = None
    open_conversation: int | None = None
    window_geometry: str | None = None  # base64 of QWidget.saveGeometry()
    splitter_state: str | None = None   # base64 of QSplitter.saveState()
    default_system_prompt: str = "You are a helpful assistant."
    default_sampling: dict = field(default_factory=dict)  # SAMPLING_KEYS subset; {} = SamplingParams defaults
    presets: list[Preset] = field(default_factory=list)
    load_problem: str | None = None     # not saved: why the file could not be used, if it could not

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "AppSettings":
        path = Path(path) if path is not None else paths.settings_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"the top level is a {type(data).__name__}, not an object")
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as error:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            return cls(load_problem=_move_aside(path, error))
        return cls._from_dict(data)

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> "AppSettings":
        settings = cls()
        problems = []
        for name, check in _CHECKS.items():
            if name not in data:
                continue
            try:
                setattr(settings, name, check(data[name]))
            except (TypeError, ValueError) as error:
                problems.append(str(error))
        if "presets" in data:
            settings.presets, preset_problems = _presets_from_json(data["presets"])
            problems += preset_problems
        if problems:
            settings.load_problem = "Some settings were reset to their defaults: " + "; ".join(problems)
        return settings

    def to_dict(self) -> dict[str, Any]:
        """What save() writes: every field except load_problem."""
        data = {f.name: copy.deepcopy(getattr(self, f.name))
                for f in fields(self) if f.name not in ("presets", "load_problem")}
        data["presets"] = [p.to_dict() for p in self.presets]
        return data

    def save(self, path: str | os.PathLike | None = None) -> None:
        """Writes the settings atomically: a reader (or a crash) sees the old file or the new one."""
        self.validate()
        path = Path(path) if path is not None else paths.settings_path()
        write_json_atomically(path, self.to_dict())

    def add_recent_model(self, path: str) -> None:
        path = str(path)
        self.recent_models = [path] + [p for p in self.recent_models if p != path]
        del self.recent_models[MAX_RECENT_MODELS:]

    def load_options(self) -> "LoadOptions":
        from .engine.runtime.model import LoadOptions  # the model runtime is heavy; only loading needs it

        return LoadOptions(threads=self.threads, kernel=None if self.kernel == "auto" else self.kernel,
                           context_length=self.context_length, head=self.head)

    def validate(self) -> None:
        """Raises ValueError naming the first field whose value is of the wrong type or out of range."""
        for name, check in _CHECKS.items():
            check(getattr(self, name))
        if not isinstance(self.presets, list):
            raise ValueError(f"presets must be a list, got {self.presets!r}")
        for preset in self.presets:
            _check_preset(preset)


# ---- per-key checks: each returns the value (normalised) or raises ValueError naming the key ----


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _int_in(name: str, low: int, high: int, optional: bool = False) -> Callable[[Any], int | None]:
    def check(value):
        if value is None and optional:
            return None
        if not _is_int(value) or not low <= value <= high:
            raise ValueError(f"{name} must be an integer in {low}..{high}{' or null' if optional else ''}, "
                             f"got {value!r}")
        return value
    return check


def _one_of(name: str, choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value):
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value
    return check


def _text(name: str, optional: bool = False) -> Callable[[Any], str | None]:
    def check(value):
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string{' or null' if optional else ''}, got {value!r}")
        return value
    return check


def _check_font_size(value: Any) -> float:
    low, high = FONT_SIZE_RANGE
    if not _is_number(value) or not low <= value <= high:
        raise ValueError(f"font_size must be a number in {low:g}..{high:g}, got {value!r}")
    return float(value)


def _check_watts(value: Any) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not 0.0 < value <= MAX_WATTS_PER_CORE:
        raise ValueError(f"watts_per_core must be a number in (0, {MAX_WATTS_PER_CORE:g}] or null, got {value!r}")
    return float(value)


def _check_open_conversation(value: Any) -> int | None:
    if value is not None and not _is_int(value):
        raise ValueError(f"open_conversation must be an integer or null, got {value!r}")
    return value


def _check_recent_models(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValueError(f"recent_models must be a list of strings, got {value!r}")
    unique = list(dict.fromkeys(value))
    return unique[:MAX_RECENT_MODELS]


def check_sampling(values: Any, name: str = "sampling") -> dict[str, Any]:
    """A copy of a sampling dict holding only SAMPLING_KEYS, each of the right type and in range
    (SamplingParams decides the ranges). Raises ValueError naming `name` otherwise."""
    if not isinstance(values, dict):
        raise ValueError(f"{name} must be an object, got {values!r}")
    clean = {}
    for key in SAMPLING_KEYS:
        if key not in values:
            continue
        value = values[key]
        if key == "seed" and value is None:
            pass
        elif key in _INT_SAMPLING_KEYS and not _is_int(value):
            raise ValueError(f"{name}: {key} must be an integer, got {value!r}")
        elif key not in _INT_SAMPLING_KEYS:
            if not _is_number(value):
                raise ValueError(f"{name}: {key} must be a finite number, got {value!r}")
            value = float(value)
        clean[key] = value
    try:
        sampling_from_dict(clean)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return clean


def _check_preset(preset: Any) -> Preset:
    if not isinstance(preset, Preset):
        raise ValueError(f"presets must hold Preset objects, got {preset!r}")
    if not isinstance(preset.name, str) or not preset.name.strip():
        raise ValueError(f"a preset's name must be a non-empty string, got {preset.name!r}")
    if not isinstance(preset.system_prompt, str):
        raise ValueError(f"preset {preset.name!r}: system_prompt must be a string")
    return Preset(preset.name, preset.system_prompt, check_sampling(preset.sampling, f"preset {preset.name!r}"))


def _presets_from_json(value: Any) -> tuple[list[Preset], list[str]]:
    """The presets that are well formed, and a problem line for each one dropped: one bad preset
    should not cost the user the others."""
    if not isinstance(value, list):
        return [], [f"presets must be a list, got {value!r}"]
    presets, problems, names = [], [], set()
    for item in value:
        try:
            if not isinstance(item, dict):
                raise ValueError(f"a preset must be an object, got {item!r}")
            preset = _check_preset(Preset(item.get("name"), item.get("system_prompt", ""),
                                          item.get("sampling", {})))
            if preset.name in names:
                raise ValueError(f"preset {preset.name!r} appears twice; the first is kept")
        except ValueError as error:
            problems.append(str(error))
            continue
        names.add(preset.name)
        presets.append(preset)
    return presets, problems


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "threads": _int_in("threads", *THREADS_RANGE, optional=True),
    "kernel": _one_of("kernel", KERNEL_CHOICES),
    "head": _one_of("head", HEADS),
    "context_length": _int_in("context_length", *CONTEXT_LENGTH_RANGE),
    "context_policy": _one_of("context_policy", CONTEXT_POLICIES),
    "theme": _one_of("theme", THEMES),
    "font_size": _check_font_size,
    "watts_per_core": _check_watts,
    "recent_models": _check_recent_models,
    "last_model": _text("last_model", optional=True),
    "open_conversation": _check_open_conversation,
    "window_geometry": _text("window_geometry", optional=True),
    "splitter_state": _text("splitter_state", optional=True),
    "default_system_prompt": _text("default_system_prompt"),
    "default_sampling": lambda value: check_sampling(value, "default_sampling"),
}


# ---- files ----


def _move_aside(path: Path, error: Exception) -> str:
    """Renames an unusable settings file to `<name>.corrupt-<timestamp>` (so saving the defaults
    later does not destroy it) and returns the message for load_problem."""
    target = paths.aside_path(path)
    try:
        os.replace(path, target)
    except OSError as move_error:
        return (f"The settings file {path} could not be read ({error}) and could not be moved aside "
                f"({move_error}); the defaults are used.")
    return (f"The settings file {path} could not be read ({error}); it was moved to {target.name} "
            f"and the defaults are used.")


