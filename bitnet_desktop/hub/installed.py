"""The models on this computer: our own folder (not the Hugging Face cache, whose layout we do not
control), one sub-folder per model holding its GGUF (or a link to it) and a manifest. No Qt.

    <data>/models/                         (paths.data_dir()/"models", or $BITNET_DESKTOP_MODELS_DIR)
        library.json                       {"default": NAME}
        bitnet-b1.58-2b-4t/
            ggml-model-i2_s.gguf
            model.json                     the manifest (InstalledModel.to_dict())
        .downloads/                        partial downloads (pull.py), never listed
        .incoming-*/                       a model being installed; renamed into place when complete

A model becomes visible in one rename (its folder, manifest included), so a crash never leaves a
listed model without its file. Every file is checked by the engine's own reader before it is listed
(`inspect_model_file`): a file the engine cannot run is refused with the engine's reason. A ternary
BitNet file is checked as our engine loads it; an ordinary GGUF (engine/runtime/model_kind.py) is
accepted when llama.cpp can run it: llama-cpp-python installed and no tensor in a format only
bitnet.cpp knows.

    library = ModelLibrary.open()                  # or ModelLibrary(path)
    model = library.import_file("/tmp/x.gguf", mode="copy")
    library.delete(model.name, is_loaded=lambda path: ...)   # refused while loaded
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from .. import paths
from ..atomic_file import fsync_folder, write_json_atomically
from .errors import HubError

MODELS_DIR_ENV_VAR = "BITNET_DESKTOP_MODELS_DIR"
MANIFEST_FILE = "model.json"
LIBRARY_FILE = "library.json"
DOWNLOADS_DIR = ".downloads"
INCOMING_PREFIX = ".incoming-"
IMPORT_MODES = ("copy", "move", "link")
MANIFEST_VERSION = 1
STALE_INCOMING_SECONDS = 3600.0


class InstalledModelError(HubError):
    """Something about the installed models the user asked for cannot be done."""


class ModelRejectedError(InstalledModelError):
    """The file is not a model this engine can run (not GGUF, truncated, unsupported architecture or
    tensor layout): the message is the engine's reason."""

    def __init__(self, message: str, *, label: str = "", reason: str = "") -> None:
        super().__init__(message, label=label)
        self.reason = reason


class ModelNotInstalledError(InstalledModelError):
    """No installed model has that name."""


class ModelInUseError(InstalledModelError):
    """The model is loaded: it cannot be deleted (its file is mapped) until it is unloaded."""


class InstallError(InstalledModelError):
    """Copying, moving or linking the file into the models folder failed."""


# ---- what the engine's reader says about a file ----


# Tensor types only bitnet.cpp's fork of llama.cpp knows: llama.cpp cannot run a file holding them.
BITNET_CPP_ONLY_TYPES = ("I2_S", "TL1", "TL2")


@dataclass(frozen=True)
class ModelFacts:
    format: str               # type of the ternary weights, e.g. "I2_S" (ordinary models: the
                              # projections' type, e.g. "Q8_0")
    architecture: str
    name: str                 # general.name, may be empty
    tensor_count: int
    parameter_count: int
    file_size: int
    context_length: int
    n_layers: int
    d_model: int
    vocab_size: int
    tied: bool
    embedding_type: str
    engine: str = "bitnet"    # "bitnet" (ours) or "llama.cpp" (an ordinary GGUF)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def inspect_model_file(path: str | os.PathLike, check_tokenizer: bool = True) -> ModelFacts:
    """Opens `path` with the engine's GGUF reader and checks what loading checks before it allocates
    anything: the architecture and hyperparameters (read_model_spec), every tensor the graph needs
    with its shape, no LUT-only (TL1/TL2) weights, and (by default) the tokenizer. Raises
    ModelRejectedError with the engine's reason; nothing is converted or loaded."""
    from ..engine.errors import BitNetError
    from ..engine.gguf import open_gguf
    from ..engine.runtime.model_kind import is_ternary_model
    from ..engine.runtime.model_spec import read_model_spec

    path = Path(path)
    label = path.name
    try:
        with open_gguf(path) as g:
            if not is_ternary_model(g):
                return _ordinary_model_facts(g)
            embd = g.tensors.get("token_embd.weight")
            vocab_rows = embd.shape[0] if embd is not None and len(embd.shape) == 2 else 0
            spec = read_model_spec(g.metadata, str(path), vocab_rows)
            fmt = _check_tensors(g, spec)
            if check_tokenizer:
                from ..engine.tokenizer import Tokenizer

                Tokenizer.from_gguf_metadata(g.metadata)
            return ModelFacts(
                format=fmt, architecture=spec.arch, name=spec.name, tensor_count=len(g.tensors),
                parameter_count=sum(t.n_elements for t in g.tensors.values()), file_size=g.file_size,
                context_length=spec.context_length, n_layers=spec.n_layers, d_model=spec.d_model,
                vocab_size=spec.vocab_size, tied="output.weight" not in g.tensors,
                embedding_type=embd.type.name)
    except BitNetError as error:
        raise ModelRejectedError(f"{label} cannot be used: {error}", label=label, reason=str(error)) from None
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ModelRejectedError(f"{label} cannot be read: {reason}", label=label, reason=reason) from None


def _ordinary_model_facts(g) -> ModelFacts:
    """Facts of an ordinary GGUF, which llama.cpp runs: refused (with the reason) when llama-cpp-python
    is missing or a tensor is stored in a type only bitnet.cpp knows."""
    from ..engine.errors import ModelFormatError
    from ..engine.llama_cpp.library import llama_cpp_library

    arch = g.metadata.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelFormatError(f"{g.path}: the file names no architecture (general.architecture)")
    foreign = sorted({t.type.name for t in g.tensors.values() if t.type.name in BITNET_CPP_ONLY_TYPES})
    if foreign:
        raise ModelFormatError(
            f"{g.path}: architecture {arch!r} is not a BitNet model this engine runs, and llama.cpp cannot "
            f"run it either: it holds {', '.join(foreign)} tensors, a format only bitnet.cpp knows")
    llama_cpp_library()  # raises LlamaCppUnavailableError with the install hint
    meta = g.metadata

    def number(key: str) -> int:
        value = meta.get(f"{arch}.{key}")
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    embd = g.tensors.get("token_embd.weight")
    probe = g.tensors.get("blk.0.attn_q.weight") or g.tensors.get("blk.0.ffn_down.weight") or embd
    return ModelFacts(
        format=probe.type.name if probe is not None else "unknown", architecture=arch,
        name=meta.get("general.name") if isinstance(meta.get("general.name"), str) else "",
        tensor_count=len(g.tensors), parameter_count=sum(t.n_elements for t in g.tensors.values()),
        file_size=g.file_size, context_length=number("context_length"), n_layers=number("block_count"),
        d_model=number("embedding_length"),
        vocab_size=embd.shape[0] if embd is not None and len(embd.shape) == 2 else 0,
        tied="output.weight" not in g.tensors, embedding_type=embd.type.name if embd is not None else "unknown",
        engine="llama.cpp")


def _check_tensors(g, spec) -> str:
    """Every tensor load_weights asks for, with its shape (the same rules, without converting
    anything); returns the ternary weights' type name."""
    from ..engine.errors import ModelFormatError
    from ..engine.formats.tl import refuse_lut_format
    from ..engine.runtime.native_model import TERNARY_NAMES, NativeModelConfig

    config = NativeModelConfig.from_spec(spec)
    ternary, norms = config.ternary_shapes(), config.norm_lengths()

    def need(name: str, shape: tuple[int, ...]):
        info = g.tensors.get(name)
        if info is None:
            raise ModelFormatError(f"{g.path}: tensor {name!r} is missing")
        if info.shape != shape:
            raise ModelFormatError(f"{g.path}: tensor {name!r} has shape {list(info.shape)}, "
                                   f"the model needs {list(shape)}")
        return info

    types = set()
    for i in range(spec.n_layers):
        for n in TERNARY_NAMES:
            info = need(f"blk.{i}.{n}.weight", ternary[n])
            if info.type.name in ("TL1", "TL2"):
                refuse_lut_format(info.name, info.type.name)
            types.add(info.type.name)
        for n in norms:  # the norms this graph has (arch llama: no sub-norms)
            need(f"blk.{i}.{n}.weight", (norms[n],))
    vd = (spec.vocab_size, spec.d_model)
    need("token_embd.weight", vd)
    if "output.weight" in g.tensors:
        need("output.weight", vd)
    need("output_norm.weight", (spec.d_model,))
    return "+".join(sorted(types))


# ---- one installed model ----


@dataclass
class InstalledModel:
    name: str
    folder: Path
    file: str                          # the GGUF's name inside `folder`
    source: str                        # "hub" or "import"
    how: str                           # "download", "copy", "move" or "link"
    size: int
    installed_at: float                # seconds since the epoch
    format: str = ""
    architecture: str = ""
    parameter_count: int = 0
    context_length: int = 0
    tensor_count: int = 0
    engine: str = "bitnet"             # "bitnet" or "llama.cpp" (ModelFacts.engine)
    repo: str | None = None
    commit: str | None = None          # the hub commit the file was downloaded at
    sha256: str | None = None          # verified against the hub for downloads; computed for imports
    catalog_id: str | None = None
    original_path: str | None = None   # where an imported file came from (a link points there)
    last_used: float | None = None
    measured: dict | None = None       # the last measured generation speed (record_run)
    missing: bool = field(default=False, compare=False)   # not saved: the file is gone (a broken link)

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def is_link(self) -> bool:
        return self.how == "link"

    def disk_bytes(self) -> int:
        """Bytes this model occupies in the models folder (a link occupies none)."""
        total = 0
        for p in self.folder.iterdir():
            try:
                st = p.lstat()
            except OSError:
                continue
            if not p.is_symlink():
                total += st.st_size
        return total

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("folder", "missing")}
        data["manifest_version"] = MANIFEST_VERSION
        return data

    def describe(self) -> dict[str, Any]:
        """What `models list --json` prints: the manifest plus where it lives."""
        return {**self.to_dict(), "path": str(self.path), "missing": self.missing}

    @classmethod
    def from_dict(cls, folder: Path, data: dict[str, Any]) -> "InstalledModel":
        known = {f.name for f in fields(cls)} - {"folder", "missing"}
        values = {k: v for k, v in data.items() if k in known}
        for required in ("name", "file", "source", "how", "size", "installed_at"):
            if required not in values:
                raise ValueError(f"the manifest has no {required!r}")
        model = cls(folder=folder, **values)
        if not isinstance(model.file, str) or "/" in model.file or "\\" in model.file or model.file in ("", ".", ".."):
            raise ValueError(f"the manifest's file {model.file!r} is not a file name")
        return model


# ---- the folder ----


def models_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """$BITNET_DESKTOP_MODELS_DIR, else DATA/models (DATA: --data-dir, $BITNET_DESKTOP_DATA_DIR or
    the platform's data folder). Not created here."""
    chosen = os.environ.get(MODELS_DIR_ENV_VAR, "").strip()
    if chosen and data_dir is None:
        return Path(chosen).expanduser().resolve()
    return paths.data_dir(data_dir) / "models"


def model_name_for(repo: str | None, file: str) -> str:
    """A folder name for a model: the repo's name, plus the file's stem unless that is bitnet.cpp's
    generic `ggml-model-*` or the repo's own name; lower case, with only [a-z0-9._-]."""
    stem = Path(file).stem
    if repo:
        base = repo.split("/")[-1]
        bare = re.sub(r"[-_.]gguf$", "", base, flags=re.IGNORECASE)
        generic = stem.lower().startswith("ggml-model") or stem.lower() in (base.lower(), bare.lower())
        raw = base if generic else f"{base}-{stem}"
    else:
        raw = stem
    name = re.sub(r"[^a-z0-9._-]+", "-", raw.lower()).strip("-.") or "model"
    return name[:100]


# Manifest updates come from the engine thread (a run's speed) and the UI (last used) at once.
_MANIFEST_LOCK = threading.Lock()


class ModelLibrary:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.problems: list[str] = []    # folders list() skipped, and why

    @classmethod
    def open(cls, data_dir: str | os.PathLike | None = None, root: str | os.PathLike | None = None) -> "ModelLibrary":
        return cls(root if root is not None else models_dir(data_dir))

    @property
    def downloads_dir(self) -> Path:
        return self.root / DOWNLOADS_DIR

    # ---- reading ----

    def list(self) -> list[InstalledModel]:
        """Installed models, by name. A folder whose manifest cannot be read is skipped and named in
        `problems`; a model whose file is gone is listed with `missing` set."""
        self.problems = []
        models = []
        try:
            folders = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        except FileNotFoundError:
            return []
        for folder in folders:
            manifest = folder / MANIFEST_FILE
            try:
                model = InstalledModel.from_dict(folder, json.loads(manifest.read_text(encoding="utf-8")))
            except FileNotFoundError:
                self.problems.append(f"{folder.name}: no {MANIFEST_FILE} (not a model installed by this app)")
                continue
            except (OSError, ValueError, TypeError) as error:
                self.problems.append(f"{folder.name}: {MANIFEST_FILE} cannot be read ({error})")
                continue
            model.name = folder.name
            model.missing = not model.path.is_file()
            models.append(model)
        return models

    def get(self, name: str) -> InstalledModel:
        for model in self.list():
            if model.name == name:
                return model
        known = ", ".join(m.name for m in self.list()) or "none"
        raise ModelNotInstalledError(f"no installed model is called {name!r} (installed: {known})", label=name)

    def find(self, name_or_path: str | os.PathLike) -> InstalledModel | None:
        """The model with this name, or whose file (or the file a link points to, or the file it was
        imported from) is this path."""
        text = str(name_or_path)
        models = self.list()
        for model in models:
            if model.name == text:
                return model
        try:
            wanted = Path(text).expanduser().resolve()
        except (OSError, RuntimeError):
            return None
        for model in models:
            try:
                if model.path.resolve() == wanted or model.path.absolute() == Path(text).absolute() \
                        or (model.original_path is not None and Path(model.original_path) == wanted):
                    return model
            except (OSError, RuntimeError):
                continue
        return None

    def find_download(self, repo: str, file: str, sha256: str | None = None) -> InstalledModel | None:
        """An installed download of repo/file (with this sha256 when given)."""
        for model in self.list():
            if model.repo and model.repo.lower() == repo.lower() and model.file == Path(file).name \
                    and (sha256 is None or model.sha256 == sha256) and not model.missing:
                return model
        return None

    def total_bytes(self) -> int:
        """Bytes the installed models occupy in the models folder (links count nothing)."""
        return sum(m.disk_bytes() for m in self.list())

    def partial_download_bytes(self) -> int:
        total = 0
        try:
            for p in self.downloads_dir.iterdir():
                if p.is_file():
                    total += p.stat().st_size
        except FileNotFoundError:
            pass
        return total

    # ---- the default model ----

    def default(self) -> InstalledModel | None:
        name = self._library().get("default")
        if not isinstance(name, str):
            return None
        try:
            return self.get(name)
        except ModelNotInstalledError:
            return None

    def set_default(self, name: str | None) -> None:
        if name is not None:
            self.get(name)  # refuses an unknown name
        data = self._library()
        data["default"] = name
        write_json_atomically(self.root / LIBRARY_FILE, data)

    def _library(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / LIBRARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # ---- changing ----

    def import_file(self, source: str | os.PathLike, mode: str = "copy", name: str | None = None) -> InstalledModel:
        """Checks `source` with the engine's reader, then copies, moves or links it into the folder.
        A file the engine cannot run is refused (ModelRejectedError) and left where it was."""
        if mode not in IMPORT_MODES:
            raise ValueError(f"mode must be one of {', '.join(IMPORT_MODES)}, got {mode!r}")
        source = Path(source).expanduser()
        if not source.is_file():
            raise ModelRejectedError(f"{source} is not a file", label=source.name, reason="not a file")
        source = source.resolve()
        facts = inspect_model_file(source)
        existing = self.find(source)
        if existing is not None:
            raise InstallError(f"{source.name} is already installed as {existing.name!r}", label=source.name)
        sha256 = None if mode == "link" else _sha256_of(source)
        return self.install(source, name or model_name_for(None, source.name), facts, how=mode, source="import",
                            sha256=sha256, original_path=str(source))

    def install(self, file: Path, name: str, facts: ModelFacts, *, how: str, source: str,
                repo: str | None = None, commit: str | None = None, sha256: str | None = None,
                catalog_id: str | None = None, original_path: str | None = None,
                file_name: str | None = None) -> InstalledModel:
        """Places `file` in a new model folder as `file_name` (default: its own name), moved for
        "download" and "move", copied for "copy", symlinked for "link"; writes the manifest and renames
        the folder into place."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.cleanup_incoming()
        name = self._free_name(name)
        incoming = Path(tempfile.mkdtemp(prefix=INCOMING_PREFIX, dir=self.root))
        file_name = Path(file_name or file.name).name
        target = incoming / file_name
        try:
            self._place(file, target, how)
            model = InstalledModel(
                name=name, folder=self.root / name, file=file_name, source=source, how=how, size=facts.file_size,
                installed_at=time.time(), format=facts.format, architecture=facts.architecture,
                parameter_count=facts.parameter_count, context_length=facts.context_length,
                tensor_count=facts.tensor_count, engine=facts.engine, repo=repo, commit=commit, sha256=sha256, catalog_id=catalog_id,
                original_path=original_path)
            write_json_atomically(incoming / MANIFEST_FILE, model.to_dict())
            try:
                os.rename(incoming, model.folder)
            except OSError as error:
                raise InstallError(f"{name} could not be installed in {self.root}: {error.strerror or error}",
                                   label=name) from None
        except BaseException:
            if how in ("move", "download") and target.exists() and not file.exists():
                try:
                    shutil.move(str(target), str(file))  # give the file back (a verified download is kept)
                except OSError:
                    pass
            shutil.rmtree(incoming, ignore_errors=True)
            raise
        fsync_folder(self.root)
        return model

    def delete(self, name: str, is_loaded: Callable[[Path], bool] | None = None) -> int:
        """Removes the model's folder (a link's target is left alone); returns the bytes freed.
        Refused (ModelInUseError) while `is_loaded(path)` says the model is loaded."""
        model = self.get(name)
        if is_loaded is not None and is_loaded(model.path):
            raise ModelInUseError(f"{name} is loaded: unload it (or choose another model) before deleting it",
                                  label=name)
        freed = model.disk_bytes()
        # Rename first so the model disappears from the list at once, even if removing takes a while.
        doomed = self.root / f".deleting-{name}-{os.getpid()}-{time.monotonic_ns()}"
        try:
            os.rename(model.folder, doomed)
        except OSError as error:
            raise InstalledModelError(f"{name} cannot be deleted: {error.strerror or error}", label=name) from None
        shutil.rmtree(doomed, ignore_errors=True)
        if doomed.exists():
            raise InstalledModelError(f"{name} was removed from the list but {doomed} could not be fully deleted",
                                      label=name)
        if self._library().get("default") == name:
            self.set_default(None)
        return freed

    def mark_used(self, name_or_path: str | os.PathLike) -> InstalledModel | None:
        return self.record_run(name_or_path)

    def record_run(self, name_or_path: str | os.PathLike, tokens_per_second: float | None = None,
                   threads: int | None = None, kernel: str | None = None,
                   head: str | None = None) -> InstalledModel | None:
        """Sets last_used (and, with a speed, the measured generation speed shown beside the prediction)
        for the installed model with this name or file; None (nothing written) for a file not installed."""
        with _MANIFEST_LOCK:  # read, change, write: two at once would lose one's change
            model = self.find(name_or_path)
            if model is None:
                return None
            model.last_used = time.time()
            if tokens_per_second is not None:
                model.measured = {"tokens_per_second": float(tokens_per_second), "threads": threads,
                                  "kernel": kernel, "head": head, "when": model.last_used}
            write_json_atomically(model.folder / MANIFEST_FILE, model.to_dict())
            return model

    def cleanup_incoming(self, older_than: float = STALE_INCOMING_SECONDS) -> None:
        """Removes what a crashed install or delete left behind (folders starting with .incoming- or
        .deleting-), once they are old enough that no other process can still be writing them."""
        now = time.time()
        try:
            entries = list(self.root.iterdir())
        except FileNotFoundError:
            return
        for p in entries:
            if not p.name.startswith((INCOMING_PREFIX, ".deleting-")):
                continue
            try:
                if now - p.stat().st_mtime >= older_than or p.name.startswith(".deleting-"):
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                pass

    # ---- helpers ----

    def _free_name(self, name: str) -> str:
        name = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "model"
        candidate, n = name, 2
        while (self.root / candidate).exists():
            candidate, n = f"{name}-{n}", n + 1
        return candidate

    @staticmethod
    def _place(file: Path, target: Path, how: str) -> None:
        try:
            if how in ("download", "move"):
                try:
                    os.replace(file, target)
                except OSError:
                    shutil.move(str(file), str(target))  # another file system: copy, then delete
            elif how == "copy":
                temp = target.with_name(target.name + ".copying")
                shutil.copyfile(file, temp)
                os.replace(temp, target)
            elif how == "link":
                os.symlink(file, target)
            else:
                raise ValueError(f"unknown install mode {how!r}")
        except OSError as error:
            what = {"link": "linked", "copy": "copied", "move": "moved", "download": "moved"}[how]
            hint = " (use copy or move instead)" if how == "link" else ""
            raise InstallError(f"{file.name} could not be {what} into {target.parent.parent}: "
                               f"{error.strerror or error}{hint}", label=file.name) from None


def _sha256_of(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


