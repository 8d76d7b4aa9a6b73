"""Search: FTS5 and the LIKE fallback give the same hits; no user text can break the query; the
index follows every change (and is rebuilt when a file comes back to a SQLite with FTS5)."""
import pytest

from bitnet_desktop.chats import search
from bitnet_desktop.chats.records import SearchHit
from bitnet_desktop.chats.store import ConversationStore

LONG = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
        "labore et dolore magna aliqua. The hidden needle sits right here in the middle of a long answer, "
        "and then the text goes on for a while so that the snippet has to be cut on both of its sides.")

HOSTILE = ['"', '""', "*", "NEAR(", "NEAR(a b)", "AND", "OR", "NOT", "a AND", "(", ")", "-x", "title:paris",
           "^paris", "'", "\\", "%", "_", "%_%", "{a b}", "a + b", "\x00", "paris\"*", "😀", "", "   ",
           "\n\t"]


def fill(store):
    trip = store.create_conversation("Trip to Paris")
    store.add_message(trip.id, "user", "Book the train to Paris for tomorrow morning.")
    store.add_message(trip.id, "assistant", "Grüße aus München! Also: 日本語のテキスト.")
    food = store.create_conversation("Recipes")
    store.add_message(food.id, "system", "You are a cook.")
    store.add_message(food.id, "user", 'He said "hello" * 3 NEAR(x) AND y')
    store.add_message(food.id, "assistant", "A cake needs flour and sugar; no trains involved.")
    store.add_message(food.id, "assistant", LONG)
    return trip, food


@pytest.fixture(params=["fts5", "like"])
def store(request, tmp_path, monkeypatch):
    if request.param == "like":
        monkeypatch.setattr(search, "fts5_available", lambda connection: False)
    with ConversationStore.open(tmp_path / "chats.sqlite3") as store:
        assert store.full_text_search is (request.param == "fts5")
        yield store


def key(hits):
    return [(hit.conversation_id, hit.message_id, hit.snippet) for hit in hits]


def test_this_python_has_fts5(tmp_path):
    with ConversationStore.open(tmp_path / "chats.sqlite3") as store:
        assert store.full_text_search


def test_titles_first_then_messages_newest_first(store):
    trip, food = fill(store)
    hits = store.search("paris")
    assert hits[0] == SearchHit(trip.id, "Trip to Paris", None, "Trip to Paris")
    assert [(h.conversation_id, h.snippet) for h in hits[1:]] == \
        [(trip.id, "Book the train to Paris for tomorrow morning.")]
    assert [h.conversation_title for h in store.search("cook")] == ["Recipes"]


def test_every_word_must_match_as_a_word_prefix(store):
    trip, food = fill(store)
    assert [h.message_id for h in store.search("train paris")] == [store.messages(trip.id)[0].id]
    assert [h.conversation_id for h in store.search("trains")] == [food.id]
    assert len(store.search("train")) == 2
    assert store.search("paris cake") == []
    assert [h.conversation_id for h in store.search("CAKE flour")] == [food.id]


def test_unicode(store):
    trip, _ = fill(store)
    answer = store.messages(trip.id)[1].id
    for query in ("münchen", "MÜNCHEN", "Grüße", "日本"):
        assert [h.message_id for h in store.search(query)] == [answer], query


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_raise(store, query):
    fill(store)
    assert isinstance(store.search(query), list)


def test_query_syntax_is_plain_text(store):
    _, food = fill(store)
    quoted = store.messages(food.id)[1].id
    assert [h.message_id for h in store.search('NEAR(x)')] == [quoted]
    assert [h.message_id for h in store.search('"hello" * AND')] == [quoted]
    assert store.search('"') == store.search("*") == store.search("") == []
    assert search.fts_query('a"b NEAR( c*') == '"a"* "b"* "NEAR"* "c"*'


def test_snippet_is_about_80_characters_around_the_match(store):
    _, food = fill(store)
    (hit,) = store.search("needle")
    assert hit.message_id == store.messages(food.id)[-1].id
    assert "hidden needle" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert 40 <= len(hit.snippet) <= search.SNIPPET_CHARS + 2
    assert hit.snippet.strip("…") in LONG


def test_limit(store):
    conversation = store.create_conversation("many")
    for i in range(30):
        store.add_message(conversation.id, "user", f"repeat {i}")
    hits = store.search("repeat", limit=10)
    assert [h.snippet for h in hits] == [f"repeat {i}" for i in range(29, 19, -1)]
    assert store.search("repeat", limit=0) == []


def test_the_index_follows_changes(store):
    trip, food = fill(store)
    answer = store.add_message(trip.id, "assistant", "", complete=False)
    store.update_message(answer.id, "Take the zeppelin")
    assert [h.message_id for h in store.search("zeppelin")] == [answer.id]
    store.update_message(answer.id, "Take the balloon")
    assert store.search("zeppelin") == []
    assert [h.message_id for h in store.search("balloon")] == [answer.id]
    store.rename_conversation(food.id, "Baking")
    assert store.search("recipes") == []
    assert [h.conversation_id for h in store.search("baking")] == [food.id]
    store.delete_message(answer.id)
    assert store.search("balloon") == []
    store.delete_messages_after(food.id, store.messages(food.id)[0].id)
    assert store.search("flour") == []


def test_deleted_conversation_is_found_again_after_restore(store):
    trip, _ = fill(store)
    before = store.search("paris")
    deleted = store.delete_conversation(trip.id)
    assert store.search("paris") == [] and store.search("münchen") == []
    store.restore_conversation(deleted)
    assert store.search("paris") == before


QUERIES = ["paris", "train", "TRAIN paris", "münchen", "日本", "cook", "needle", "hello near", "cake",
           "recipes",            "flour sugar", "nothing-like-this", ""]


def test_like_fallback_gives_the_same_hits_and_the_index_is_rebuilt(tmp_path, monkeypatch):
    path = tmp_path / "chats.sqlite3"
    with ConversationStore.open(path) as store:
        trip, _ = fill(store)
        with_fts = [key(store.search(q)) for q in QUERIES]
    monkeypatch.setattr(search, "fts5_available", lambda connection: False)
    with ConversationStore.open(path) as store:
        assert not store.full_text_search
        assert [key(store.search(q)) for q in QUERIES] == with_fts
        # Written while the index is not kept: found once FTS5 is back.
        added = store.add_message(trip.id, "user", "What about Lyon?")
    monkeypatch.undo()
    with ConversationStore.open(path) as store:
        assert store.full_text_search
        assert [key(store.search(q)) for q in QUERIES] == with_fts
        assert [h.message_id for h in store.search("lyon")] == [added.id]
