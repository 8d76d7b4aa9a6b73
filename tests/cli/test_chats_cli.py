"""`bitnet-desktop chats ...` reads and changes the database the window uses; errors are one line
and exit status 2."""
import io
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.cli.main import main
from bitnet_desktop.paths import database_path


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def filled(data_dir):
    """Two conversations in the data folder; returns their ids (older, newer)."""
    with ConversationStore.open(database_path(data_dir)) as store:
        old = store.create_conversation("Trip to Paris", system_prompt="Be brief.")
        store.add_message(old.id, "user", "Which train goes to Paris?")
        store.add_message(old.id, "assistant", "The TGV from Lyon.")
        new = store.create_conversation("Recipes")
        store.add_message(new.id, "user", "How much flour for a cake?")
    return old.id, new.id


def chats(capsys, *args):
    code = main(["chats", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_empty(capsys, data_dir):
    assert chats(capsys, "list", "--data-dir", data_dir) == (0, "No conversations yet.\n", "")


def test_list_text_and_json(capsys, data_dir, filled):
    old, new = filled
    with ConversationStore.open(database_path(data_dir)) as store:
        store.set_pinned(old, True)
    code, out, _ = chats(capsys, "list", "--data-dir", data_dir)
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith(f"* {old:>4}") and lines[1].endswith("Trip to Paris")
    assert lines[2].startswith(f"  {new:>4}") and lines[2].endswith("Recipes")
    assert lines[-1] == "(* pinned)"
    code, out, _ = chats(capsys, "list", "--json", "--data-dir", data_dir)
    rows = json.loads(out)
    assert [(r["id"], r["title"], r["pinned"], r["message_count"]) for r in rows] == \
        [(old, "Trip to Paris", True, 2), (new, "Recipes", False, 1)]


def test_data_dir_before_the_action_and_from_the_environment(capsys, data_dir, filled, monkeypatch):
    code, out, _ = chats(capsys, "--data-dir", data_dir, "list", "--json")
    assert code == 0 and len(json.loads(out)) == 2
    monkeypatch.setenv("BITNET_DESKTOP_DATA_DIR", str(data_dir))
    code, out, _ = chats(capsys, "list", "--json")
    assert code == 0 and len(json.loads(out)) == 2


def test_show(capsys, data_dir, filled):
    old, _ = filled
    code, out, _ = chats(capsys, "show", old, "--data-dir", data_dir)
    assert code == 0
    assert out.startswith("# Trip to Paris\n")
    assert "## System prompt\n\nBe brief." in out and "## Assistant\n\nThe TGV from Lyon." in out
    code, out, _ = chats(capsys, "show", old, "--json", "--data-dir", data_dir)
    shown = json.loads(out)
    assert (shown["id"], shown["title"]) == (old, "Trip to Paris")
    assert [m["text"] for m in shown["messages"]] == ["Which train goes to Paris?", "The TGV from Lyon."]


def test_search(capsys, data_dir, filled):
    old, new = filled
    code, out, _ = chats(capsys, "search", "paris", "--data-dir", data_dir)
    assert code == 0
    assert out.splitlines()[0].split() == [str(old), "Trip", "to", "Paris", "[title]", "Trip", "to", "Paris"]
    assert "Which train goes to Paris?" in out
    code, out, _ = chats(capsys, "search", "flour", "--json", "--data-dir", data_dir)
    (hit,) = json.loads(out)
    assert (hit["conversation_id"], hit["conversation_title"], hit["snippet"]) == \
        (new, "Recipes", "How much flour for a cake?")
    assert chats(capsys, "search", 'NEAR( "', "--data-dir", data_dir)[:2] == (0, "No matches.\n")


def test_export_json_then_import_elsewhere(capsys, data_dir, filled, tmp_path):
    file = tmp_path / "backup.json"
    code, _, err = chats(capsys, "export", "-o", file, "--data-dir", data_dir)  # format from the suffix
    assert code == 0 and "Exported to" in err
    document = json.loads(file.read_text(encoding="utf-8"))
    assert document["format"] == "bitnet-desktop-chats" and len(document["conversations"]) == 2
    other = tmp_path / "other"
    code, out, _ = chats(capsys, "import", file, "--data-dir", other)
    assert code == 0 and out.startswith("Imported 2 conversations (ids ")
    code, out, _ = chats(capsys, "list", "--json", "--data-dir", other)
    assert [r["title"] for r in json.loads(out)] == ["Recipes", "Trip to Paris"]
    code, out, _ = chats(capsys, "import", file, "--json", "--data-dir", other)
    assert code == 0 and len(json.loads(out)["imported"]) == 2


def test_export_chosen_ids_as_markdown_to_stdout(capsys, data_dir, filled):
    old, new = filled
    code, out, _ = chats(capsys, "export", new, "--format", "md", "--data-dir", data_dir)
    assert code == 0 and out.startswith("# Recipes\n") and "Paris" not in out
    code, out, _ = chats(capsys, "export", old, new, "--format", "json", "--data-dir", data_dir)
    assert [c["id"] for c in json.loads(out)["conversations"]] == [old, new]


def test_rm(capsys, data_dir, filled):
    old, new = filled
    code, out, _ = chats(capsys, "rm", old, "--data-dir", data_dir)
    assert (code, out) == (0, f'Deleted conversation {old} "Trip to Paris" (2 messages).\n')
    code, out, _ = chats(capsys, "rm", new, "--json", "--data-dir", data_dir)
    assert json.loads(out) == {"deleted": new, "title": "Recipes", "messages": 1}
    assert chats(capsys, "list", "--data-dir", data_dir)[1] == "No conversations yet.\n"


@pytest.mark.parametrize("action", ["show", "rm", "export"])
def test_unknown_id_is_a_one_line_error(capsys, data_dir, filled, action):
    code, out, err = chats(capsys, action, 999, "--data-dir", data_dir)
    assert (code, out, err) == (2, "", "bitnet-desktop: error: no conversation with id 999\n")


@pytest.mark.parametrize("content, message", [
    ('{"format": "bitnet-desktop-chats", "version": 1, "conversations": [{"title": "t", "messages": '
     '[{"role": "user", "text": "a"}, {"role": "bot", "text": "b"}]}]}',
     "conversations[0].messages[1].role: must be one of system, user, assistant, not 'bot'; "
     "nothing was imported"),
    ('{"format": "something", "version": 1, "conversations": []}', "format: must be 'bitnet-desktop-chats'"),
    ('{"format": "bitnet-desktop-chats", "version": 1, "conversations": [{"messages": []}]}',
     "conversations[0].title: missing"),
    ("[1, 2", "is not valid JSON: Expecting ',' delimiter at line 1, column 6"),
])
def test_malformed_import_file_is_refused(capsys, data_dir, filled, tmp_path, content, message):
    file = tmp_path / "bad.json"
    file.write_text(content, encoding="utf-8")
    code, out, err = chats(capsys, "import", file, "--data-dir", data_dir)
    assert code == 2 and out == ""
    assert err.startswith(f"bitnet-desktop: error: {file}") and message in err
    assert len(err.splitlines()) == 1
    code, out, _ = chats(capsys, "list", "--json", "--data-dir", data_dir)
    assert len(json.loads(out)) == 2


def test_import_from_standard_input(capsys, data_dir, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"format": "bitnet-desktop-chats", "version": 1, '
                                                  '"conversations": [{"title": "piped", "messages": []}]}'))
    code, out, _ = chats(capsys, "import", "-", "--data-dir", data_dir)
    assert code == 0 and out.startswith("Imported 1 conversation (ids ")


def test_newer_database_is_refused(capsys, data_dir):
    data_dir.mkdir()
    connection = sqlite3.connect(database_path(data_dir))
    connection.execute("PRAGMA user_version = 7")
    connection.close()
    code, _, err = chats(capsys, "list", "--data-dir", data_dir)
    assert code == 2 and "written by a newer version of BitNet Desktop" in err


def test_damaged_database_is_reported(capsys, data_dir):
    data_dir.mkdir()
    database_path(data_dir).write_bytes(b"definitely not sqlite" * 500)
    code, out, err = chats(capsys, "list", "--data-dir", data_dir)
    assert (code, out) == (0, "No conversations yet.\n")
    assert "warning: the conversation database was damaged; it was moved to" in err
    assert any(p.name.startswith("chats.sqlite3.corrupt-") for p in data_dir.iterdir())


def run_cli(*args, data_dir):
    env = dict(os.environ, BITNET_DESKTOP_DATA_DIR=str(data_dir))
    return subprocess.run([sys.executable, "-m", "bitnet_desktop", "chats", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)


def test_through_a_subprocess(data_dir, filled):
    old, new = filled
    result = run_cli("list", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert [row["id"] for row in json.loads(result.stdout)] == [new, old]
    result = run_cli("rm", 999, data_dir=data_dir)
    assert result.returncode == 2
    assert result.stderr == "bitnet-desktop: error: no conversation with id 999\n"
