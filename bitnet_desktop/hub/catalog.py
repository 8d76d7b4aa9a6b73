"""The curated model catalog: which BitNet models the app offers, with what a person needs to choose
one (size, licence, context, base or instruct) and what the fit check and the speed prediction
need (the shape). No Qt, no network.

The data is `bitnet_desktop/resources/catalog.json`, shipped as package data: it sits next to the
code in a checkout, an editable install, a wheel and the frozen app alike (the PyInstaller spec
lists it), and is read with importlib.resources, never relative to the working directory.

Entries a person adds by hand (any hub repo and GGUF file) are kept in the config folder
(`catalog_user.json`) and listed after the curated ones, with their unknown facts left unknown.

    catalog = load_catalog()
    entry = catalog.find("bitnet-b1.58-2b-4t")      # by id, repo or "repo/file"
    entry.shape.to_spec(context=2048)                # an engine ModelSpec, for memory and speed math
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..atomic_file import write_json_atomically
from .. import paths

CATALOG_RESOURCE = "resources/catalog.json"
USER_CATALOG_FILE = "catalog_user.json"
ENGINE_SUPPORT = ("yes", "no", "unknown")
KINDS = ("base", "instruct", "unknown")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


class CatalogError(ValueError):
    """The catalog file (or an entry added by hand) is malformed; the message names the entry and key."""


@dataclass(frozen=True)
class ModelShape:
    """The hyperparameters memory and speed estimates need (docs/architectures.md#2b-4t-hyperparameters names in
    brackets)."""
    n_layers: int       # L
    d_model: int        # d
    d_ffn: int          # f
    n_heads: int        # H
    n_kv_heads: int     # Hkv
    head_dim: int
    vocab_size: int     # V
    tied: bool          # LM head = token embedding
    activation: str = "relu2"
    rope_theta: float = 500000.0
    rms_eps: float = 1e-5
    embedding_type: str = "F16"   # how token_embd (and an untied output) is stored
    architecture: str = "bitnet-b1.58"  # the entry's GGUF architecture: which graph (sub-norms or not)

    def to_spec(self, context: int, name: str = ""):
        """The engine's ModelSpec for this shape at `context` positions."""
        from ..engine.runtime.model_spec import ModelSpec

        return ModelSpec(arch=self.architecture, name=name, n_layers=self.n_layers, d_model=self.d_model, d_ffn=self.d_ffn,
                         n_heads=self.n_heads, n_kv_heads=self.n_kv_heads, head_dim=self.head_dim,
                         vocab_size=self.vocab_size, context_length=context, rope_theta=self.rope_theta,
                         rms_eps=self.rms_eps, activation=self.activation)


@dataclass(frozen=True)
class Licence:
    name: str
    url: str
    accept_before_download: bool   # the user must accept it (the panel asks; the CLI asks or --accept-licence)


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    repo: str
    file: str
    format: str | None               # weight format, e.g. "I2_S"
    size: int | None                 # bytes
    sha256: str | None
    parameters: str | None           # as published, e.g. "2.4B"
    parameter_count: int | None
    context_length: int | None
    kind: str                        # "base", "instruct" or "unknown"
    licence: Licence | None
    architecture: str | None         # GGUF general.architecture, when known
    engine: str                      # "yes", "no" or "unknown" (see engine_note)
    engine_note: str
    shape: ModelShape | None
    shape_source: str
    description: str
    first_run: bool                  # offered on the first-run screen
    user_added: bool = False

    @property
    def key(self) -> str:
        """repo/file: what identifies the download."""
        return f"{self.repo}/{self.file}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Catalog:
    entries: tuple[CatalogEntry, ...]

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, name: str) -> CatalogEntry | None:
        """The entry whose id, repo id or repo/file is `name` (case-insensitive); None if none is."""
        wanted = name.strip().lower()
        for entry in self.entries:
            if wanted in (entry.id.lower(), entry.key.lower()):
                return entry
        matches = [e for e in self.entries if e.repo.lower() == wanted]
        return matches[0] if len(matches) == 1 else None

    def find_file(self, repo: str, file: str) -> CatalogEntry | None:
        for entry in self.entries:
            if entry.repo.lower() == repo.lower() and entry.file == file:
                return entry
        return None

    def search(self, text: str) -> list[CatalogEntry]:
        """Entries whose id, name, repo, file, description, architecture or licence holds every word of
        `text` (case-insensitive); all entries for empty text."""
        words = text.lower().split()
        found = []
        for e in self.entries:
            haystack = " ".join(filter(None, (e.id, e.name, e.repo, e.file, e.description, e.architecture,
                                               e.kind, e.parameters, e.licence.name if e.licence else ""))).lower()
            if all(w in haystack for w in words):
                found.append(e)
        return found

    def first_run(self) -> CatalogEntry:
        """The model the first-run screen offers in one click."""
        for entry in self.entries:
            if entry.first_run:
                return entry
        return self.entries[0]


def load_catalog(path: str | os.PathLike | None = None, config_dir: str | os.PathLike | None = None,
                 with_user_entries: bool = True) -> Catalog:
    """The shipped catalog (or the JSON at `path`), then the entries added by hand in `config_dir`
    (default: paths.config_dir()). Raises CatalogError for a malformed shipped file; a malformed
    user file is CatalogError too, naming it, since the user wrote it through us."""
    if path is None:
        text = resources.files("bitnet_desktop").joinpath(CATALOG_RESOURCE).read_text(encoding="utf-8")
        source = f"bitnet_desktop/{CATALOG_RESOURCE}"
    else:
        text = Path(path).read_text(encoding="utf-8")
        source = str(path)
    entries = parse_catalog(text, source)
    if with_user_entries:
        known = {e.key.lower() for e in entries}
        entries += [e for e in load_user_entries(config_dir) if e.key.lower() not in known]
    return Catalog(tuple(entries))


def parse_catalog(text: str, source: str = "catalog") -> list[CatalogEntry]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise CatalogError(f"{source}: not JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise CatalogError(f"{source}: expected an object with a 'models' list")
    entries = [_entry(item, f"{source}: models[{i}]") for i, item in enumerate(data["models"])]
    ids = [e.id for e in entries]
    for i in ids:
        if ids.count(i) > 1:
            raise CatalogError(f"{source}: id {i!r} appears {ids.count(i)} times")
    return entries


# ---- entries added by hand ----


def user_catalog_path(config_dir: str | os.PathLike | None = None) -> Path:
    return (Path(config_dir) if config_dir is not None else paths.config_dir()) / USER_CATALOG_FILE


def load_user_entries(config_dir: str | os.PathLike | None = None) -> list[CatalogEntry]:
    path = user_catalog_path(config_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [_user_entry(e) for e in parse_catalog(text, str(path))]


def add_user_entry(repo: str, file: str, config_dir: str | os.PathLike | None = None,
                   name: str | None = None) -> CatalogEntry:
    """Remembers a hub repo and GGUF file the person typed in; returns its entry (facts unknown until
    the hub or the file says)."""
    if not _REPO_ID.fullmatch(repo):
        raise CatalogError(f"{repo!r} is not a hub repo id (owner/name)")
    if not file or file.startswith("/") or ".." in file.split("/"):
        raise CatalogError(f"{file!r} is not a file path inside a repo")
    path = user_catalog_path(config_dir)
    existing = load_user_entries(config_dir)
    for e in existing:
        if e.repo.lower() == repo.lower() and e.file == file:
            return e
    ids = {e.id for e in existing} | {e.id for e in load_catalog(config_dir=config_dir, with_user_entries=False)}
    base = re.sub(r"[^a-z0-9._-]+", "-", f"{repo.split('/')[-1]}-{Path(file).stem}".lower()).strip("-")
    entry_id, n = base, 2
    while entry_id in ids:
        entry_id, n = f"{base}-{n}", n + 1
    item = {"id": entry_id, "name": name or f"{repo.split('/')[-1]} ({file})", "repo": repo, "file": file}
    items = [_user_dict(e) for e in existing] + [item]
    write_json_atomically(path, {"version": 1, "models": items})
    return _user_entry(_entry(item, str(path)))


def remove_user_entry(entry_id: str, config_dir: str | os.PathLike | None = None) -> bool:
    existing = load_user_entries(config_dir)
    kept = [e for e in existing if e.id != entry_id]
    if len(kept) == len(existing):
        return False
    write_json_atomically(user_catalog_path(config_dir), {"version": 1, "models": [_user_dict(e) for e in kept]})
    return True


def _user_dict(e: CatalogEntry) -> dict[str, Any]:
    return {"id": e.id, "name": e.name, "repo": e.repo, "file": e.file}


def _user_entry(e: CatalogEntry) -> CatalogEntry:
    from dataclasses import replace

    return replace(e, user_added=True, first_run=False)




# ---- checking one entry ----


class _Fields:
    def __init__(self, item: Any, where: str):
        if not isinstance(item, dict):
            raise CatalogError(f"{where}: expected an object, got {type(item).__name__}")
        self.item, self.where = item, where

    def fail(self, key: str, expected: str) -> CatalogError:
        return CatalogError(f"{self.where}: {key!r} must be {expected}, got {self.item.get(key)!r}")

    def text(self, key: str, default: str | None = None, optional: bool = False) -> str | None:
        value = self.item.get(key, default)
        if value is None and (optional or default is not None):
            return default
        if not isinstance(value, str) or (not optional and not value and default is None):
            raise self.fail(key, "a string")
        return value

    def integer(self, key: str, minimum: int = 1) -> int | None:
        value = self.item.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"an integer >= {minimum} or null")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.item.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value


def _entry(item: Any, where: str) -> CatalogEntry:
    f = _Fields(item, where)
    entry_id = f.text("id")
    where = f.where = f"{where} ({entry_id})"
    repo, file = f.text("repo"), f.text("file")
    if not _REPO_ID.fullmatch(repo):
        raise f.fail("repo", "a hub repo id (owner/name)")
    sha256 = f.text("sha256", optional=True)
    if sha256 is not None and not _SHA256.fullmatch(sha256):
        raise f.fail("sha256", "64 lower-case hex digits or null")
    engine = f.text("engine", "unknown")
    if engine not in ENGINE_SUPPORT:
        raise f.fail("engine", f"one of {', '.join(ENGINE_SUPPORT)}")
    kind = f.text("kind", "unknown")
    if kind not in KINDS:
        raise f.fail("kind", f"one of {', '.join(KINDS)}")
    licence = None
    if item.get("licence") is not None:
        lf = _Fields(item["licence"], f"{where}: licence")
        licence = Licence(lf.text("name"), lf.text("url"), lf.flag("accept_before_download"))
    architecture = f.text("architecture", optional=True)
    shape = _shape(item.get("shape"), f"{where}: shape", architecture or "bitnet-b1.58")
    return CatalogEntry(
        id=entry_id, name=f.text("name", entry_id), repo=repo, file=file, format=f.text("format", optional=True),
        size=f.integer("size"), sha256=sha256, parameters=f.text("parameters", optional=True),
        parameter_count=f.integer("parameter_count"), context_length=f.integer("context_length"), kind=kind,
        licence=licence, architecture=architecture, engine=engine,
        engine_note=f.text("engine_note", ""), shape=shape, shape_source=f.text("shape_source", ""),
        description=f.text("description", ""), first_run=f.flag("first_run"))


def _shape(item: Any, where: str, architecture: str) -> ModelShape | None:
    if item is None:
        return None
    f = _Fields(item, where)
    sizes = {k: f.integer(k) for k in ("n_layers", "d_model", "d_ffn", "n_heads", "n_kv_heads", "head_dim",
                                        "vocab_size")}
    for key, value in sizes.items():
        if value is None:
            raise f.fail(key, "a positive integer")
    if sizes["n_heads"] % sizes["n_kv_heads"]:
        raise f.fail("n_heads", f"a multiple of n_kv_heads ({sizes['n_kv_heads']})")
    numbers = {}
    for key in ("rope_theta", "rms_eps"):
        value = item.get(key, getattr(ModelShape, key))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise f.fail(key, "a positive number")
        numbers[key] = float(value)
    return ModelShape(**sizes, tied=f.flag("tied"), activation=f.text("activation", "relu2"),
                      embedding_type=f.text("embedding_type", "F16"), architecture=architecture, **numbers)
