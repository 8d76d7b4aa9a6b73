"""`bitnet-desktop chat MODEL`: a terminal chat on the window's core. The conversation is kept in
the window's database (--data-dir DIR, else $BITNET_DESKTOP_DATA_DIR, else the user's data folder)
unless --no-save, and every answer goes through ChatSession: streamed into the store as it grows,
so a crash loses at most about a second of it. Ctrl-C stops an answer (kept, marked incomplete);
at the prompt it leaves. The REPL itself is in chat_repl.py.

A base model (no chat format) cannot answer a chat: `chat` says so and offers plain continuation
instead (continuation_repl.py), on a text-completion document in the same database, which --resume
then names."""
from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from ..app_settings import CONTEXT_POLICIES, AppSettings
from ..chats.completion import CompletionSession
from ..chats.documents import DocumentNotFoundError
from ..chats.errors import ConversationNotFoundError
from ..chats.session import DEFAULT_TITLE, ChatSession
from ..chats.store import ConversationStore
from ..meters.energy import EnergyMeter
from ..paths import DATABASE_FILE, database_path, settings_path
from .arguments import SAMPLING_RANGES, sampling, shown_range
from .chat_repl import ChatRepl, err
from .continuation_repl import ContinuationRepl
from .model_options import add_load_options, load_model

# option, SamplingParams field, meaning (the range is arguments.SAMPLING_RANGES'). Not given
# (None): the settings' default_sampling applies, then SamplingParams' defaults (in the help).
SAMPLING_OPTIONS = (
    ("--temperature", "temperature", "0 = greedy; default 0.8"),
    ("--top-k", "top_k", "0 = off; default 40"),
    ("--top-p", "top_p", "1 = off; default 0.95"),
    ("--min-p", "min_p", "0 = off; default 0.05"),
    ("--repeat-penalty", "repetition_penalty", "1 = off, the default"),
    ("--max-tokens", "max_tokens", "per answer; default 512"),
    ("--seed", "seed", "a new one per answer by default"),
)


def register(sub) -> None:
    p = sub.add_parser("chat", help="chat with a model in the terminal (saved with the window's chats)")
    add_load_options(p)
    p.add_argument("--system", metavar="TEXT", default=None,
                   help="system prompt (default: the settings' default system prompt)")
    for option, key, meaning in SAMPLING_OPTIONS:
        p.add_argument(option, dest=key, type=sampling(option), default=None,
                       metavar="N" if SAMPLING_RANGES[option][0] is int else "X",
                       help=f"{shown_range(option)}: {meaning}")
    p.add_argument("--context-policy", choices=CONTEXT_POLICIES, default=None,
                   help="when the conversation outgrows the context (default: from the settings)")
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="data folder holding chats.sqlite3 (default: $BITNET_DESKTOP_DATA_DIR, "
                        "else the user's data folder)")
    keep = p.add_mutually_exclusive_group()
    keep.add_argument("--resume", type=int, metavar="ID",
                      help="continue conversation ID (see `bitnet-desktop chats list`), or with a base "
                           "model the text-completion document ID; --system and sampling options given "
                           "with it change that conversation")
    keep.add_argument("--no-save", action="store_true", help="keep nothing once the chat ends")
    p.set_defaults(run=run)


@contextlib.contextmanager
def _open_store(args) -> Iterator[ConversationStore]:
    if args.no_save:  # the same code path as a saved chat, on a database that is thrown away
        with tempfile.TemporaryDirectory(prefix="bitnet-chat-") as folder:
            with ConversationStore.open(Path(folder) / DATABASE_FILE) as store:
                yield store
        return
    with ConversationStore.open(database_path(args.data_dir)) as store:
        if store.quarantined:
            print(f"bitnet-desktop: warning: the conversation database was damaged; it was moved to "
                  f"{store.quarantined} and a fresh one started", file=sys.stderr)
        yield store


def run(args) -> int:
    settings = AppSettings.load(settings_path(args.data_dir))
    if settings.load_problem:
        print(f"bitnet-desktop: warning: {settings.load_problem}", file=sys.stderr)
    given = {key: getattr(args, key) for _, key, *_ in SAMPLING_OPTIONS if getattr(args, key) is not None}
    with _open_store(args) as store:
        if args.resume is not None and not (_is_conversation(store, args.resume)
                                             or _is_document(store, args.resume)):
            err(f"bitnet-desktop: error: --resume {args.resume}: there is no conversation {args.resume} in "
                f"{store.path}")
            return 2
        model = load_model(args)
        try:
            if model.is_base_model:
                return _continue_text(args, settings, store, model, given)
            if args.resume is not None and not _is_conversation(store, args.resume):
                err(f"bitnet-desktop: error: --resume {args.resume}: there is no conversation {args.resume} in "
                    f"{store.path}; {args.resume} is a text-completion document, which a base model continues")
                return 2
            if args.resume is None:
                system = settings.default_system_prompt if args.system is None else args.system
                conversation_id = store.create_conversation(
                    DEFAULT_TITLE, system_prompt=system, sampling={**settings.default_sampling, **given}).id
            else:
                conversation_id = args.resume
                _apply_given(store, conversation_id, args.system, given)
            session = ChatSession(store, conversation_id, model,
                                  policy=args.context_policy or settings.context_policy,
                                  default_sampling=settings.default_sampling,
                                  energy=EnergyMeter(watts_per_core=settings.watts_per_core))
            repl = ChatRepl(session, saved=not args.no_save, resumed=args.resume is not None)
            return repl.run()
        finally:
            model.close()


def _continue_text(args, settings: AppSettings, store: ConversationStore, model, given: dict) -> int:
    """Plain continuation for a base model, on a text-completion document."""
    err(f"{model.spec.name or model.path} is a base model: it has no chat template, so it continues text "
        "instead of answering. Offering plain continuation.")
    if args.system is not None:
        err("bitnet-desktop: warning: --system is ignored: a base model has no system prompt")
    if args.context_policy is not None:
        err("bitnet-desktop: warning: --context-policy is ignored: a text longer than the context is read "
            "from its end")
    documents = store.documents
    if args.resume is None:
        document_id = documents.create_document(sampling={**settings.default_sampling, **given}).id
    elif not _is_document(store, args.resume):
        err(f"bitnet-desktop: error: --resume {args.resume}: this base model continues text-completion "
            f"documents, and there is no document {args.resume} in {store.path} ({args.resume} is a conversation, "
            "which needs a chat model)")
        return 2
    else:
        document_id = args.resume
        if given:
            documents.update_document(document_id,
                                      sampling={**documents.document(document_id).sampling, **given})
    session = CompletionSession(documents, document_id, model, default_sampling=settings.default_sampling,
                                energy=EnergyMeter(watts_per_core=settings.watts_per_core))
    return ContinuationRepl(session, saved=not args.no_save, resumed=args.resume is not None).run()


def _is_conversation(store: ConversationStore, item_id: int) -> bool:
    try:
        store.conversation(item_id)
    except ConversationNotFoundError:
        return False
    return True


def _is_document(store: ConversationStore, item_id: int) -> bool:
    try:
        store.documents.document(item_id)
    except DocumentNotFoundError:
        return False
    return True


def _apply_given(store: ConversationStore, conversation_id: int, system: str | None, given: dict) -> None:
    """Options given with --resume change the conversation from now on, as its settings dialog would."""
    if given:
        sampling = store.conversation(conversation_id).sampling
        store.update_conversation(conversation_id, sampling={**sampling, **given})
    if system is not None:
        store.update_conversation(conversation_id, system_prompt=system)
