"""Export to Markdown and JSON, and JSON back in: a round trip keeps everything but the ids; a
malformed file is refused whole, naming where it is wrong."""
import copy
import json

import pytest

from bitnet_desktop.chats.errors import ConversationNotFoundError, ImportFormatError, StoreError
from bitnet_desktop.chats.export import (FORMAT, export_json, export_markdown, import_json,
                                         read_export_file)
from bitnet_desktop.chats.records import AnswerStats
from bitnet_desktop.chats.store import ConversationStore


@pytest.fixture
def store(tmp_path):
    with ConversationStore.open(tmp_path / "chats.sqlite3") as store:
        yield store


def fill(store):
    first = store.create_conversation("Plain chat")
    store.add_message(first.id, "user", "Hi")
    second = store.create_conversation("Rich chat", model="/models/bitnet-2b.gguf",
                                       system_prompt="Answer in French.",
                                       sampling={"temperature": 0.3, "top_k": 20, "seed": None})
    store.add_message(second.id, "user", "Say **hello**\n\n```python\nprint('hi')\n```")
    store.add_message(second.id, "assistant", "Bonjour !", model_file="/models/bitnet-2b.gguf",
                      model_sha256="ef" * 32, sampling={"temperature": 0.3, "max_tokens": 64},
                      stats=AnswerStats(prompt_tokens=9, generated_tokens=4,
                                        generation_tokens_per_second=18.5, energy_joules=0.25,
                                        energy_source="estimated: CPU time", finish_reason="eos"))
    store.add_message(second.id, "assistant", "Half an ans", complete=False)
    store.set_pinned(second.id, True)
    return first, second


def without_ids(document):
    document = copy.deepcopy(document)
    document.pop("exported")
    for conversation in document["conversations"]:
        conversation.pop("id")
        for message in conversation["messages"]:
            message.pop("id")
            message.pop("conversation_id")
    return document


def test_json_export_holds_every_field(store):
    first, second = fill(store)
    document = export_json(store, [second.id])
    assert (document["format"], document["version"]) == (FORMAT, 1)
    assert "T" in document["exported"]
    (conversation,) = document["conversations"]
    assert {k: conversation[k] for k in ("id", "title", "pinned", "model", "system_prompt", "sampling")} == {
        "id": second.id, "title": "Rich chat", "pinned": True, "model": "/models/bitnet-2b.gguf",
        "system_prompt": "Answer in French.", "sampling": {"temperature": 0.3, "top_k": 20, "seed": None}}
    answer = conversation["messages"][1]
    assert answer["stats"]["generated_tokens"] == 4 and answer["stats"]["finish_reason"] == "eos"
    assert answer["conversation_id"] == second.id and answer["complete"] is True
    assert conversation["messages"][2]["complete"] is False
    assert json.loads(json.dumps(document)) == document


def test_all_conversations_when_no_ids(store):
    first, second = fill(store)
    assert [c["id"] for c in export_json(store)["conversations"]] == [second.id, first.id]
    chosen = export_json(store, [first.id, second.id])["conversations"]
    assert [c["id"] for c in chosen] == [first.id, second.id]
    with pytest.raises(ConversationNotFoundError):
        export_json(store, [99])


def test_round_trip_keeps_everything_but_ids(store, tmp_path):
    fill(store)
    document = export_json(store)
    file = tmp_path / "export.json"
    file.write_text(json.dumps(document), encoding="utf-8")
    with ConversationStore.open(tmp_path / "other.sqlite3") as other:
        ids = import_json(other, read_export_file(file))
        assert without_ids(export_json(other, ids)) == without_ids(document)
    again = import_json(store, document)  # into the same store: new ids, same content
    assert set(again).isdisjoint(c["id"] for c in document["conversations"])
    assert without_ids(export_json(store, again)) == without_ids(document)


def test_import_fills_defaults_for_a_minimal_file(store):
    (new_id,) = import_json(store, {"format": FORMAT, "version": 1, "conversations": [
        {"title": "Typed by hand", "messages": [{"role": "user", "text": "hello"}]}]})
    conversation = store.conversation(new_id)
    (message,) = store.messages(new_id)
    assert (conversation.pinned, conversation.model, conversation.system_prompt, conversation.sampling) == \
        (False, None, "", {})
    assert (message.text, message.complete, message.stats, message.created) == \
        ("hello", True, None, conversation.created)


def test_markdown_is_readable(store):
    first, second = fill(store)
    text = export_markdown(store, [second.id, first.id])
    assert text.startswith("# Rich chat\n")
    for part in ("## System prompt\n\nAnswer in French.",
                 "## User\n\nSay **hello**\n\n```python\nprint('hi')\n```",
                 "## Assistant (bitnet-2b.gguf)\n\nBonjour !", "## Assistant [unfinished]\n\nHalf an ans",
                 "model bitnet-2b.gguf", "\n---\n\n# Plain chat\n", "## User\n\nHi\n"):
        assert part in text
    assert text.index("Rich chat") < text.index("Plain chat")


def valid_document():
    return {"format": FORMAT, "version": 1, "exported": "2025-01-01T00:00:00+00:00", "conversations": [
        {"id": 1, "title": "one", "created": 1.0, "updated": 2.0, "pinned": False, "model": None,
         "system_prompt": "", "sampling": {"temperature": 0.5}, "messages": []},
        {"id": 2, "title": "two", "created": 1.0, "updated": 2.0, "pinned": True, "model": "m.gguf",
         "system_prompt": "s", "sampling": {}, "messages": [
             {"id": 1, "conversation_id": 2, "role": "user", "text": "q", "created": 1.5, "model_file": None,
              "model_sha256": None, "sampling": None, "stats": None, "complete": True},
             {"id": 2, "conversation_id": 2, "role": "assistant", "text": "a", "created": 1.6,
              "model_file": "m.gguf", "model_sha256": "00", "sampling": {"seed": 1},
              "stats": {"prompt_tokens": 1, "energy_joules": None}, "complete": True}]}]}


def put(path, value):
    def change(document):
        *parents, last = path
        target = document
        for step in parents:
            target = target[step]
        target[last] = value
    return change


def drop(path):
    def change(document):
        *parents, last = path
        target = document
        for step in parents:
            target = target[step]
        del target[last]
    return change


MESSAGE = ("conversations", 1, "messages", 1)

MALFORMED = [
    (lambda d: ["a", "list"], "the top level: must be an object, not array"),
    (put(("format",), "something-else"), "format: must be 'bitnet-desktop-chats'"),
    (drop(("format",)), "format: missing"),
    (put(("version",), 2), "version: 2 is from a newer version of BitNet Desktop"),
    (put(("version",), "1"), "version: must be integer, not string"),
    (put(("version",), True), "version: must be integer, not boolean"),
    (put(("version",), 0), "version: must be 1, not 0"),
    (put(("exported",), 5), "exported: must be string, not integer"),
    (put(("extra",), 1), "extra: unknown field"),
    (drop(("conversations",)), "conversations: missing"),
    (put(("conversations",), {}), "conversations: must be array, not object"),
    (put(("conversations", 0), "chat"), "conversations[0]: must be an object, not string"),
    (drop(("conversations", 1, "title")), "conversations[1].title: missing"),
    (put(("conversations", 0, "title"), 5), "conversations[0].title: must be string, not integer"),
    (put(("conversations", 0, "pinned"), "yes"), "conversations[0].pinned: must be boolean, not string"),
    (put(("conversations", 0, "created"), float("nan")),
     "conversations[0].created: must be number, not a number that is not finite"),
    (put(("conversations", 0, "id"), "1"), "conversations[0].id: must be integer, not string"),
    (put(("conversations", 0, "colour"), "red"), "conversations[0].colour: unknown field"),
    (put(("conversations", 0, "model"), 3), "conversations[0].model: must be string or null, not integer"),
    (put(("conversations", 0, "sampling"), None), "conversations[0].sampling: must be object, not null"),
    (put(("conversations", 0, "sampling", "temperature"), "hot"),
     "conversations[0].sampling.temperature: must be number, not string"),
    (put(("conversations", 0, "sampling", "top_k"), 2.5), "conversations[0].sampling.top_k: must be integer"),
    (put(("conversations", 0, "sampling", "style"), 1), "conversations[0].sampling.style: unknown field"),
    (put(("conversations", 0, "sampling", "top_p"), -1), "conversations[0].sampling: top_p must be >= 0"),
    (drop(("conversations", 1, "messages")), "conversations[1].messages: missing"),
    (put(("conversations", 1, "messages", 0), []),
     "conversations[1].messages[0]: must be an object, not array"),
    (put(MESSAGE + ("role",), "bot"), "conversations[1].messages[1].role: must be one of system, user, "
                                      "assistant, not 'bot'"),
    (drop(MESSAGE + ("text",)), "conversations[1].messages[1].text: missing"),
    (put(MESSAGE + ("text",), None), "conversations[1].messages[1].text: must be string, not null"),
    (put(MESSAGE + ("complete",), 1), "conversations[1].messages[1].complete: must be boolean, not integer"),
    (put(MESSAGE + ("stats",), []), "conversations[1].messages[1].stats: must be object or null, not array"),
    (put(MESSAGE + ("stats", "prompt_tokens"), 1.5),
     "conversations[1].messages[1].stats.prompt_tokens: must be integer, not number"),
    (put(MESSAGE + ("stats", "mood"), "good"), "conversations[1].messages[1].stats.mood: unknown field"),
    (put(MESSAGE + ("sampling", "seed"), -1), "conversations[1].messages[1].sampling: seed must be >= 0"),
    (put(MESSAGE + ("model_sha256",), 7),
     "conversations[1].messages[1].model_sha256: must be string or null"),
]


def test_the_valid_document_imports(store):
    assert len(import_json(store, valid_document())) == 2


@pytest.mark.parametrize("change, message", MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_import_is_refused_naming_the_place(store, change, message):
    store.create_conversation("already here")
    document = valid_document()
    document = change(document) or document
    with pytest.raises(ImportFormatError) as caught:
        import_json(store, document)
    assert str(caught.value).startswith(message)
    assert [c.title for c in store.conversations()] == ["already here"]


def test_reading_files_that_are_not_json(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "bitnet-desktop-chats",\n "version": 1,,}', encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"broken.json is not valid JSON: .* at line 2, column 15"):
        read_export_file(broken)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ImportFormatError, match="binary.json is not UTF-8 text"):
        read_export_file(binary)
    with pytest.raises(StoreError, match="cannot read .*missing.json"):
        read_export_file(tmp_path / "missing.json")
