"""`bitnet-desktop chats list|show|search|export|import|rm`: the conversations the window saved, from
the terminal (same database: --data-dir DIR, else $BITNET_DESKTOP_DATA_DIR, else the user's data
folder). Errors are StoreErrors; main() prints them and exits with status 2."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from ..chats.errors import ImportFormatError, StoreError
from ..chats.export import conversation_to_dict, export_json, export_markdown, import_json, read_export_file
from ..chats.store import ConversationStore
from ..paths import database_path


def register(sub) -> None:
    # SUPPRESS: `chats --data-dir D list` and `chats list --data-dir D` both work, neither resets the other.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                        help="data folder holding chats.sqlite3 (default: $BITNET_DESKTOP_DATA_DIR, "
                             "else the user's data folder)")
    p = sub.add_parser("chats", parents=[common], help="list, show, search, export, import or delete "
                                                       "saved conversations")
    actions = p.add_subparsers(dest="chats_action", metavar="ACTION", required=True)

    a = actions.add_parser("list", parents=[common], help="the conversations, pinned first, then most recent")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.set_defaults(run=run_list)

    a = actions.add_parser("show", parents=[common], help="one conversation with its messages")
    a.add_argument("id", type=int, metavar="ID")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.set_defaults(run=run_show)

    a = actions.add_parser("search", parents=[common], help="find conversations whose title or messages "
                                                           "hold every word of TEXT")
    a.add_argument("text", metavar="TEXT")
    a.add_argument("--limit", type=int, default=50, help="at most this many hits (default: 50)")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.set_defaults(run=run_search)

    a = actions.add_parser("export", parents=[common], help="write conversations as Markdown or JSON")
    a.add_argument("ids", type=int, nargs="*", metavar="ID", help="conversations to export (default: all)")
    a.add_argument("--format", choices=("md", "json"), default=None,
                   help="md (to read) or json (to import again); default: from FILE's suffix, else md")
    a.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    a.set_defaults(run=run_export)

    a = actions.add_parser("import", parents=[common], help="add the conversations of a JSON export "
                                                           "(all or none)")
    a.add_argument("file", metavar="FILE",
                   help="a file written by `chats export --format json` (- for standard input)")
    a.add_argument("--json", action="store_true", help="print the new ids as JSON")
    a.set_defaults(run=run_import)

    a = actions.add_parser("rm", parents=[common], help="delete a conversation and its messages")
    a.add_argument("id", type=int, metavar="ID")
    a.add_argument("--json", action="store_true", help="print machine-readable JSON")
    a.set_defaults(run=run_rm)


def open_store(args) -> ConversationStore:
    store = ConversationStore.open(database_path(getattr(args, "data_dir", None)))
    if store.quarantined:
        print(f"bitnet-desktop: warning: the conversation database was damaged; it was moved to "
              f"{store.quarantined} and a fresh one started", file=sys.stderr)
    return store


def _print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    print()


def run_list(args) -> int:
    with open_store(args) as store:
        rows = [(conversation, store.message_count(conversation.id))
                for conversation in store.conversations()]
    if args.json:
        _print_json([{**asdict(c), "message_count": count} for c, count in rows])
        return 0
    if not rows:
        print("No conversations yet.")
        return 0
    print("    ID  LAST ACTIVE       MESSAGES  TITLE")
    for conversation, count in rows:
        pin = "*" if conversation.pinned else " "
        print(f"{pin} {conversation.id:>4}  {_local_time(conversation.updated)}  {count:>8}  "
              f"{conversation.title}")
    if any(conversation.pinned for conversation, _ in rows):
        print("(* pinned)")
    return 0


def run_show(args) -> int:
    with open_store(args) as store:
        if args.json:
            _print_json(conversation_to_dict(store.conversation(args.id), store.messages(args.id)))
        else:
            print(export_markdown(store, [args.id]), end="")
    return 0


def run_search(args) -> int:
    with open_store(args) as store:
        hits = store.search(args.text, limit=args.limit)
    if args.json:
        _print_json([asdict(hit) for hit in hits])
        return 0
    if not hits:
        print("No matches.")
    for hit in hits:
        where = "title" if hit.message_id is None else f"message {hit.message_id}"
        print(f"{hit.conversation_id:>5}  {hit.conversation_title}  [{where}]  {hit.snippet}")
    return 0


def run_export(args) -> int:
    fmt = args.format or ("json" if args.output and Path(args.output).suffix.lower() == ".json" else "md")
    with open_store(args) as store:
        ids = args.ids or None
        if fmt == "json":
            text = json.dumps(export_json(store, ids), indent=2, ensure_ascii=False) + "\n"
        else:
            text = export_markdown(store, ids)
    if not args.output:
        sys.stdout.write(text)
        return 0
    _write_atomically(Path(args.output), text)
    print(f"Exported to {args.output}", file=sys.stderr)
    return 0


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {exc.strerror}") from exc


def run_import(args) -> int:
    source = "standard input" if args.file == "-" else args.file
    try:
        data = json.load(sys.stdin) if args.file == "-" else read_export_file(args.file)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    with open_store(args) as store:
        try:
            ids = import_json(store, data)
        except ImportFormatError as exc:
            raise ImportFormatError(f"{source}: {exc}; nothing was imported") from exc
    if args.json:
        _print_json({"imported": ids})
    else:
        print(f"Imported {len(ids)} conversation{'' if len(ids) == 1 else 's'}"
              + (f" (ids {', '.join(map(str, ids))})" if ids else "") + ".")
    return 0


def run_rm(args) -> int:
    with open_store(args) as store:
        deleted = store.delete_conversation(args.id)
    count = len(deleted.messages)
    if args.json:
        _print_json({"deleted": args.id, "title": deleted.conversation.title, "messages": count})
    else:
        print(f"Deleted conversation {args.id} \"{deleted.conversation.title}\" "
              f"({count} message{'' if count == 1 else 's'}).")
    return 0


def _local_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))
