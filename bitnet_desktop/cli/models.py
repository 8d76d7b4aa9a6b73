"""`bitnet-desktop models list|search|files|pull|rm|import|info|default|login|logout`: the models the
window shows, from the terminal. Models live in DATA/models (--data-dir DIR, else
$BITNET_DESKTOP_DATA_DIR, else the user's data folder; $BITNET_DESKTOP_MODELS_DIR moves only them);
settings, the stored token and the speed measurement in the config folder.

Failures (network, offline mode, a gated repo without a token, a file that does not verify or that
the engine cannot run, ...) print one line `bitnet-desktop: error: ...` and exit with status 2.
`list`, `search`, `rm`, `import`, `info` and `default` never touch the network.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path

from ..hub.errors import HubError
from ..meters.display import format_bytes
from ..paths import config_dir
from . import arguments


def register(sub) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                        help="data folder holding models/ (default: $BITNET_DESKTOP_DATA_DIR, else the user's "
                             "data folder)")
    p = sub.add_parser("models", parents=[common], help="list, find, download, import, inspect or delete models")
    actions = p.add_subparsers(dest="models_action", metavar="ACTION", required=True)

    a = actions.add_parser("list", parents=[common], help="the installed models and the space they use")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.set_defaults(run=run_list)

    a = actions.add_parser("search", parents=[common], help="catalog models and installed models matching TEXT")
    a.add_argument("text", metavar="TEXT", nargs="?", default="", help="words to find (default: all)")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.set_defaults(run=run_search)

    a = actions.add_parser("files", parents=[common], help="the GGUF files of a hub repo (network)")
    a.add_argument("repo", metavar="REPO")
    a.add_argument("--revision", metavar="R", help="branch, tag or commit (default: main)")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.set_defaults(run=run_files)

    a = actions.add_parser("pull", parents=[common], help="download a model from the hub, verify and install it")
    a.add_argument("repo", metavar="REPO", help="a catalog id (see `models search`) or a hub repo id")
    a.add_argument("file", metavar="FILE", nargs="?", help="the GGUF file in the repo (needed when it holds several)")
    a.add_argument("--revision", metavar="R", help="branch, tag or commit (default: main); the download is "
                                                   "pinned to the commit it points to")
    a.add_argument("--accept-licence", "--accept-license", action="store_true", dest="accept_licence",
                   help="accept the model's licence without asking (when the catalog says it must be accepted)")
    a.add_argument("--json", action="store_true", help="print the installed model as JSON when done")
    a.set_defaults(run=run_pull)

    a = actions.add_parser("rm", parents=[common], help="delete an installed model and free its space")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.set_defaults(run=run_rm)

    a = actions.add_parser("import", parents=[common], help="add a local GGUF file (checked first)")
    a.add_argument("path", metavar="PATH")
    how = a.add_mutually_exclusive_group()
    how.add_argument("--copy", dest="mode", action="store_const", const="copy", help="copy it (default)")
    how.add_argument("--move", dest="mode", action="store_const", const="move", help="move it into the models folder")
    how.add_argument("--link", dest="mode", action="store_const", const="link",
                     help="link to it where it is (a symbolic link; the file must stay there)")
    a.add_argument("--name", metavar="NAME", type=arguments.non_empty, help="the model's name (default: the file's)")
    a.add_argument("--json", action="store_true", help="print the installed model as JSON")
    a.set_defaults(run=run_import, mode="copy")

    a = actions.add_parser("info", parents=[common], help="format, architecture, tensors, memory at a context and "
                                                          "predicted speed of a model")
    a.add_argument("name", metavar="NAME", help="an installed model, a catalog id or a GGUF path")
    a.add_argument("--ctx", type=arguments.context_length(16), metavar="N",
                   help="context length for the memory estimate (default: min(2048, the model's))")
    a.add_argument("--head", choices=("fast", "exact"), default="fast", help="head mode (default: fast)")
    a.add_argument("--threads", type=arguments.threads, metavar="N", help="threads (default: physical cores)")
    a.add_argument("--remeasure", action="store_true", help="measure this machine's memory speed again")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.set_defaults(run=run_info)

    a = actions.add_parser("default", parents=[common], help="show or set the default model")
    a.add_argument("name", metavar="NAME", nargs="?", help="the installed model to start with")
    a.add_argument("--clear", action="store_true", help="no default model")
    a.set_defaults(run=run_default)

    a = actions.add_parser("login", parents=[common], help="store a Hugging Face token (for gated or private "
                                                           "models): read from standard input")
    a.set_defaults(run=run_login)
    a = actions.add_parser("logout", parents=[common], help="forget the stored Hugging Face token")
    a.set_defaults(run=run_logout)


# ---- helpers ----


def _library(args):
    from ..hub.installed import ModelLibrary

    return ModelLibrary.open(getattr(args, "data_dir", None))


def _config(args) -> Path:
    return config_dir(getattr(args, "data_dir", None))


def _print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    print()


def _fail(error: Exception) -> int:
    print(f"bitnet-desktop: error: {error}", file=sys.stderr)
    return 2


def _when(seconds: float | None) -> str:
    return "never" if seconds is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _size(n: int | None) -> str:
    return "?" if n is None else format_bytes(n)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# ---- list / search / files ----


def run_list(args) -> int:
    library = _library(args)
    models = library.list()
    default = library.default()
    if args.json:
        _print_json({"models_dir": str(library.root), "total_bytes": library.total_bytes(),
                     "partial_download_bytes": library.partial_download_bytes(),
                     "default": default.name if default else None,
                     "models": [m.describe() for m in models], "problems": library.problems})
        return 0
    for problem in library.problems:
        print(f"bitnet-desktop: warning: {problem}", file=sys.stderr)
    if not models:
        print(f"No models installed (folder: {library.root}). Try `bitnet-desktop models search` and "
              "`models pull`.")
        return 0
    print(f"{'NAME':<32} {'FORMAT':<6} {'ARCH':<13} {'SIZE':>9}  {'LAST USED':<16}  WHERE")
    for m in models:
        mark = "*" if default and default.name == m.name else " "
        where = str(m.path) + (" (link)" if m.is_link else "") + (" MISSING" if m.missing else "")
        print(f"{mark}{m.name:<31} {m.format:<6} {m.architecture:<13} {_size(m.size):>9}  "
              f"{_when(m.last_used):<16}  {where}")
    partial = library.partial_download_bytes()
    print(f"{len(models)} model{'s' if len(models) != 1 else ''}, {format_bytes(library.total_bytes())} in "
          f"{library.root}" + (f" (+{format_bytes(partial)} of unfinished downloads)" if partial else ""))
    if default:
        print("(* default)")
    return 0


def run_search(args) -> int:
    from ..hub.catalog import load_catalog

    catalog = load_catalog(config_dir=_config(args))
    hits = catalog.search(args.text)
    models = _library(args).list()
    installed = {f"{m.repo}/{m.file}".lower(): m.name for m in models if m.repo}
    words = args.text.lower().split()
    hit_keys = {e.key.lower() for e in hits}
    local = [m for m in models if f"{m.repo}/{m.file}".lower() not in hit_keys
             and all(w in f"{m.name} {m.repo or ''} {m.file} {m.architecture}".lower() for w in words)]
    if args.json:
        _print_json({"catalog": [{**e.to_dict(), "installed_as": installed.get(e.key.lower())} for e in hits],
                     "installed": [m.describe() for m in local]})
        return 0
    if not hits and not local:
        print("No matches.")
        return 0
    for e in hits:
        state = f"installed as {installed[e.key.lower()]}" if e.key.lower() in installed else \
            {"yes": "", "no": "cannot run in this engine", "unknown": "checked after download"}[e.engine]
        licence = (e.licence.name + (" (accept before download)" if e.licence.accept_before_download else "")
                   if e.licence else "licence unknown")
        print(f"{e.id:<30} {_size(e.size):>9}  {e.parameters or '?':>5}  {e.kind:<8}  {licence}"
              + (f"  [{state}]" if state else ""))
        print(f"{'':<30} {e.repo}/{e.file}")
    for m in local:
        print(f"{m.name:<30} {_size(m.size):>9}  installed: {m.path}")
    return 0


def run_files(args) -> int:
    from ..hub.remote import HubClient

    try:
        files = HubClient(config_dir=_config(args)).list_gguf_files(args.repo, args.revision)
    except HubError as error:
        return _fail(error)
    if args.json:
        _print_json([{"repo": f.repo, "file": f.file, "size": f.size, "sha256": f.sha256, "commit": f.commit}
                     for f in files])
        return 0
    if not files:
        print(f"{args.repo} holds no GGUF files.")
    for f in files:
        print(f"{f.file:<48} {_size(f.size):>9}  sha256 {f.sha256 or 'not published'}")
    if files:
        print(f"at commit {files[0].commit}")
    return 0


# ---- pull ----


class ProgressPrinter:
    """A text progress bar on a terminal (redrawn in place, speed and time left); on a pipe or file, a line
    every 10 % and at every change of state."""

    def __init__(self, stream=None, width: int = 28):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self._last_state = None
        self._last_tenth = -1
        self._drawn = False

    def __call__(self, p) -> None:
        if self.stream is None:
            return
        pct = p.done / p.total if p.total else None
        speed = f"{format_bytes(int(p.speed))}/s" if p.speed else "--/s"
        amount = f"{format_bytes(p.done)} / {_size(p.total)}"
        if self.tty:
            filled = int(self.width * pct) if pct is not None else 0
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"\r[{bar}] {100 * (pct or 0):5.1f}%  {amount}  {speed}  ETA {_duration(p.eta)}  {p.state}"
            self.stream.write(line[:160].ljust(100))
            self._drawn = True
            if p.state in ("done", "failed", "cancelled", "paused", "retrying") and p.message:
                self.stream.write(f"\n  {p.message}\n")
                self._drawn = False
            self.stream.flush()
            return
        tenth = int(pct * 10) if pct is not None else -1
        if p.state != self._last_state or tenth > self._last_tenth:
            text = f"{p.state}: {amount}" + (f" ({100 * pct:.0f}%)" if pct is not None else "") + f", {speed}"
            if p.eta is not None and p.state == "downloading":
                text += f", {_duration(p.eta)} left"
            if p.message:
                text += f" - {p.message}"
            print(text, file=self.stream, flush=True)
            self._last_state, self._last_tenth = p.state, max(tenth, self._last_tenth)

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def _confirm_licence(entry, args) -> bool:
    from ..hub.pull import accept_licence, licence_accepted

    if licence_accepted(entry, _config(args)):
        return True
    licence = entry.licence
    if args.accept_licence:
        accept_licence(entry, _config(args))
        return True
    if not sys.stdin.isatty():
        print(f"bitnet-desktop: error: {entry.name} is under the {licence.name} ({licence.url}); read it and run "
              "again with --accept-licence to accept it", file=sys.stderr)
        return False
    print(f"{entry.name} is distributed under the {licence.name}:\n  {licence.url}", file=sys.stderr)
    answer = input("Do you accept this licence? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        print("bitnet-desktop: error: licence not accepted; nothing was downloaded", file=sys.stderr)
        return False
    accept_licence(entry, _config(args))
    return True


def run_pull(args) -> int:
    from ..hub.catalog import load_catalog
    from ..hub.pull import Pull, plan_pull
    from ..hub.remote import HubClient

    config = _config(args)
    catalog = load_catalog(config_dir=config)
    try:
        client = HubClient(config_dir=config)
        if client.offline:  # said before anything else, and nothing is requested
            from ..hub.errors import OfflineModeError

            raise OfflineModeError(f"{args.repo} was not downloaded: offline mode is on (HF_HUB_OFFLINE is set). "
                                   "Turn it off to download models; installed models still work.")
        # The hub's metadata first (a model this engine cannot run is refused before any question), then
        # the licence, then the bytes.
        plan = plan_pull(args.repo, args.file, args.revision, client=client, catalog=catalog)
        entry = plan.entry
        if entry is not None and entry.licence is not None and entry.licence.accept_before_download \
                and not _confirm_licence(entry, args):
            return 2
        remote = plan.remote
        print(f"{remote.label} at commit {remote.commit[:12]}: {_size(remote.size)}, sha256 {remote.sha256}",
              file=sys.stderr)
        progress = ProgressPrinter()
        pull = Pull(plan, _library(args), client, on_progress=progress, licence_accepted=True)
        try:
            model = pull.run()
        finally:
            progress.close()
    except HubError as error:
        return _fail(error)
    except KeyboardInterrupt:
        print("bitnet-desktop: interrupted; run the same command again to resume the download", file=sys.stderr)
        return 130
    if args.json:
        _print_json(model.describe())
    elif pull.already_installed:
        print(f"{model.name} is already installed ({model.path}).")
    else:
        print(f"Installed {model.name}: {model.path} ({_size(model.size)}, sha256 verified, commit "
              f"{(model.commit or '')[:12]}).")
    return 0


# ---- rm / import / default ----


def run_rm(args) -> int:
    library = _library(args)
    try:
        model = library.get(args.name)
        freed = library.delete(args.name)
    except HubError as error:
        return _fail(error)
    if args.json:
        _print_json({"deleted": args.name, "freed_bytes": freed, "path": str(model.path)})
    else:
        print(f"Deleted {args.name} ({format_bytes(freed)} freed"
              + (f"; the linked file {model.original_path} was left alone" if model.is_link else "") + ").")
    return 0


def run_import(args) -> int:
    library = _library(args)
    try:
        model = library.import_file(args.path, args.mode, args.name)
    except HubError as error:
        return _fail(error)
    if args.json:
        _print_json(model.describe())
    else:
        verb = {"copy": "Copied", "move": "Moved", "link": "Linked"}[args.mode]
        print(f"{verb} {Path(args.path).name} as {model.name}: {model.format} {model.architecture}, "
              f"{_size(model.size)} ({model.path}).")
    return 0


def run_default(args) -> int:
    library = _library(args)
    try:
        if args.clear:
            library.set_default(None)
            print("No default model.")
            return 0
        if args.name:
            library.set_default(args.name)
    except HubError as error:
        return _fail(error)
    current = library.default()
    print(current.name if current else "No default model.")
    return 0


# ---- info ----


def run_info(args) -> int:
    from ..engine.errors import BitNetError
    from ..hub.catalog import load_catalog
    from ..hub.fit import check_fit, memory_for_entry, memory_for_file
    from ..hub.installed import inspect_model_file
    from ..hub.predict import cached_profile, machine_profile, predict_for_entry, predict_for_file

    library = _library(args)
    model = library.find(args.name)
    entry = load_catalog(config_dir=_config(args)).find(args.name) if model is None else None
    path = model.path if model is not None else (Path(args.name) if entry is None else None)
    if model is None and entry is None and not path.is_file():
        return _fail(HubError(f"{args.name!r} is neither an installed model, a catalog id nor a file "
                              "(see `models list` and `models search`)"))
    info: dict = {}
    try:
        if path is not None:
            facts = inspect_model_file(path, check_tokenizer=False)
            need = memory_for_file(path, args.ctx, args.head, args.threads)
            info.update({("gguf_name" if k == "name" else k): v for k, v in facts.to_dict().items()})
            info.update(name=model.name if model else path.name, path=str(path))
            if model is not None:
                info.update(repo=model.repo, commit=model.commit, sha256=model.sha256, how=model.how,
                            installed_at=model.installed_at, last_used=model.last_used, measured=model.measured)
        else:
            need = memory_for_entry(entry, args.ctx, args.head, args.threads)
            info.update(name=entry.id, catalog=entry.to_dict())
        fit = check_fit(need) if need is not None else None
        config = _config(args)
        if not args.remeasure and cached_profile(args.threads, None, config) is None:
            print("measuring this machine's memory read speed (once, about a second)...", file=sys.stderr)
        profile = machine_profile(args.threads, None, config, refresh=args.remeasure)
        prediction = predict_for_file(path, profile, args.head) if path is not None else \
            predict_for_entry(entry, profile, args.head)
    except (HubError, BitNetError) as error:
        return _fail(error)
    info["memory"] = None if need is None else {**need.to_dict(), "available": fit.available, "fits": fit.fits}
    info["predicted_speed"] = None if prediction is None else prediction.to_dict()
    if args.json:
        _print_json(info)
        return 0
    _print_info(info, need, fit, prediction, entry)
    return 0


def _print_info(info: dict, need, fit, prediction, entry) -> None:
    def row(label: str, value) -> None:
        print(f"{label + ':':<18}{value}")

    row("name", info["name"])
    if entry is not None:
        row("repo", f"{entry.repo}/{entry.file} (not installed)")
        row("format", entry.format or "?")
        row("architecture", entry.architecture or "unknown")
        row("parameters", entry.parameters or "?")
        row("context length", entry.context_length or "unknown until the file is read")
        row("size", _size(entry.size))
        row("licence", f"{entry.licence.name} ({entry.licence.url})" if entry.licence else "unknown")
        row("runs here", {"yes": "yes", "no": "no", "unknown": "checked after download"}[entry.engine]
            + (f": {entry.engine_note}" if entry.engine_note else ""))
        row("shape", entry.shape_source)
    else:
        row("path", info["path"])
        row("format", info["format"])
        row("architecture", info["architecture"])
        row("tensors", info["tensor_count"])
        row("parameters", f"{info['parameter_count']:,}")
        row("layers / width", f"{info['n_layers']} / {info['d_model']}, vocabulary {info['vocab_size']:,}, "
                              f"{'tied' if info['tied'] else 'untied'} {info['embedding_type']} embedding")
        row("context length", info["context_length"])
        row("size", f"{_size(info['file_size'])} ({info['file_size']:,} bytes)")
        if info.get("repo"):
            row("from", f"{info['repo']} at commit {info['commit']}")
        if info.get("sha256"):
            row("sha256", info["sha256"])
        if "last_used" in info:
            row("last used", _when(info["last_used"]))
    if need is not None:
        rough = " (rough: from the file size)" if need.source == "file size" else ""
        detail = ""
        if need.estimate is not None:
            e = need.estimate
            detail = (f": weights {_size(e.weights)}, KV cache {_size(e.kv_cache)}, scratch {_size(e.scratch)}"
                      + (f", int8 head {_size(e.fast_head)}" if e.fast_head else ""))
        row(f"memory at {need.context}", f"{_size(need.peak)}{rough}{detail}")
        row("fits now", f"{'yes' if fit.fits else 'NO'} ({_size(fit.available)} available)")
    if prediction is not None:
        row("predicted speed", prediction.summary())
        measured = info.get("measured")
        if measured:
            row("measured speed", f"{measured['tokens_per_second']:.1f} tokens/s ({measured.get('threads')} threads, "
                                  f"{measured.get('kernel')}, {_when(measured.get('when'))})")


# ---- token ----


def run_login(args) -> int:
    from ..hub import token_store

    prompt = "Hugging Face token (input hidden): "
    try:
        token = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline()
    except (EOFError, KeyboardInterrupt):
        return _fail(HubError("no token given"))
    try:
        where = token_store.save_token(token, _config(args))
    except (ValueError, OSError) as error:
        return _fail(error)
    print(f"Token stored in {'the system keyring' if where == 'keyring' else where}.")
    return 0


def run_logout(args) -> int:
    from ..hub import token_store

    removed = token_store.delete_token(_config(args))
    print("Token forgotten." if removed else "No token was stored.")
    return 0
