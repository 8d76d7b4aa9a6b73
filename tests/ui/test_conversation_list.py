"""The conversations sidebar on a real store: order and pins, rename, delete and undo, search,
export and import through the task pool, and which changes of selection are announced."""
import json
import time
from datetime import datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QLineEdit, QListView, QPushButton, QToolButton

from bitnet_desktop.chats.export import export_json, export_markdown
from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.ui.conversation_list import ConversationList, file_name_for
from bitnet_desktop.ui.conversation_list_model import PIN_MARK, ConversationListModel, relative_time
from bitnet_desktop.ui.tasks import TaskManager

Model = ConversationListModel


@pytest.fixture
def store(tmp_path):
    store = ConversationStore.open(tmp_path / "chats.sqlite3")
    yield store
    store.close()


@pytest.fixture
def tasks():
    tasks = TaskManager()
    yield tasks
    tasks.shutdown()


@pytest.fixture
def make_sidebar(qtbot, store, tasks):
    def make(**options) -> ConversationList:
        sidebar = ConversationList(store, tasks, **options)
        qtbot.addWidget(sidebar)
        sidebar.show()
        qtbot.waitExposed(sidebar)
        return sidebar
    return make


def view_of(sidebar) -> QListView:
    return sidebar.findChild(QListView, "conversationView")


def titles(sidebar) -> list[str]:
    model = view_of(sidebar).model()
    return [model.index(row).data(Qt.ItemDataRole.EditRole) for row in range(model.rowCount())]


def row_index(sidebar, conversation_id, message_id=None):
    model = view_of(sidebar).model()
    for row in range(model.rowCount()):
        index = model.index(row)
        if index.data(Model.IdRole) == conversation_id and index.data(Model.MessageIdRole) == message_id:
            return index
    raise AssertionError(f"no row for {conversation_id}/{message_id}")


def click_row(qtbot, sidebar, index) -> None:
    view = view_of(sidebar)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())


def focus(qtbot, sidebar, widget):
    """Keys reach a widget's shortcuts only in the active window with that widget focused."""
    sidebar.activateWindow()
    qtbot.waitActive(sidebar)
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)
    return widget


def focus_list(qtbot, sidebar) -> QListView:
    return focus(qtbot, sidebar, view_of(sidebar))


def menu_action(widget, text):
    return next(action for action in widget.actions() if action.text() == text)


def more_menu_action(sidebar, text):
    return menu_action(sidebar.findChild(QToolButton, "moreButton").menu(), text)


def save_to(monkeypatch, path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(path), ""))


def open_from(monkeypatch, path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))


# Order, pins, how a row reads

def test_rows_show_pinned_first_then_latest_activity(store, make_sidebar):
    first = store.create_conversation("First")
    store.create_conversation("Second")
    pinned = store.create_conversation("Pinned")
    store.set_pinned(pinned.id, True)
    store.add_message(first.id, "user", "hello again")      # First is now the latest activity

    sidebar = make_sidebar()

    assert titles(sidebar) == ["Pinned", "First", "Second"]
    model = view_of(sidebar).model()
    assert model.index(0).data(Qt.ItemDataRole.DisplayRole) == f"{PIN_MARK} Pinned\njust now"
    assert model.index(1).data(Qt.ItemDataRole.DisplayRole) == "First\njust now"
    assert model.index(0).data(Model.PinnedRole) is True
    assert model.index(1).data(Model.PinnedRole) is False
    assert model.index(2).data(Qt.ItemDataRole.ToolTipRole).startswith("<b>Second</b><br>Last activity ")


def test_pin_and_unpin_from_the_context_menu(store, make_sidebar):
    older = store.create_conversation("Older")
    store.create_conversation("Newer")
    sidebar = make_sidebar()
    sidebar.select(older.id)

    menu_action(sidebar.row_menu(), "Pin").trigger()

    assert store.conversation(older.id).pinned
    assert titles(sidebar) == ["Older", "Newer"]
    assert sidebar.current_id() == older.id
    assert view_of(sidebar).currentIndex().data(Model.IdRole) == older.id

    menu_action(sidebar.row_menu(), "Unpin").trigger()

    assert not store.conversation(older.id).pinned
    assert titles(sidebar) == ["Newer", "Older"]


@pytest.mark.parametrize(("seconds_before", "expected"), [
    (5, "just now"), (150, "2 min ago"), (3599, "59 min ago"), (2 * 3600 + 1, "2 h ago"),
])
def test_relative_time_within_a_day(seconds_before, expected):
    now = datetime(2024, 6, 15, 18, 0).timestamp()
    assert relative_time(now - seconds_before, now) == expected


def test_relative_time_by_calendar_day():
    now = datetime(2024, 6, 15, 9, 0).timestamp()
    assert relative_time(datetime(2024, 6, 14, 23, 0).timestamp(), now) == "yesterday"
    assert relative_time(datetime(2024, 6, 3, 12, 0).timestamp(), now) == "3 Jun"
    assert relative_time(datetime(2023, 12, 30, 12, 0).timestamp(), now) == "30 Dec 2023"


def test_export_file_names_drop_characters_file_systems_refuse():
    assert file_name_for('a/b: "c"?', ".md") == "a b c.md"
    assert file_name_for("...", ".json") == "conversation.json"
    assert file_name_for("x" * 100, ".md") == "x" * 60 + ".md"


# Selection

def test_select_does_not_announce_but_a_click_does(qtbot, store, make_sidebar):
    first = store.create_conversation("First")
    second = store.create_conversation("Second")
    sidebar = make_sidebar()

    with qtbot.assertNotEmitted(sidebar.conversation_selected):
        sidebar.select(first.id)
    assert sidebar.current_id() == first.id
    assert view_of(sidebar).currentIndex().data(Model.IdRole) == first.id

    with qtbot.waitSignal(sidebar.conversation_selected) as blocker:
        click_row(qtbot, sidebar, row_index(sidebar, second.id))
    assert blocker.args == [second.id]
    assert sidebar.current_id() == second.id


def test_refresh_keeps_the_selection_as_the_order_changes(qtbot, store, make_sidebar):
    first = store.create_conversation("First")
    store.create_conversation("Second")
    sidebar = make_sidebar()
    sidebar.select(first.id)
    store.add_message(first.id, "user", "moves First to the top")

    with qtbot.assertNotEmitted(sidebar.conversation_selected):
        sidebar.refresh()

    assert titles(sidebar) == ["First", "Second"]
    assert view_of(sidebar).currentIndex().data(Model.IdRole) == first.id


def test_new_chat_button_asks_the_window_and_leaves_the_search(qtbot, store, make_sidebar):
    store.create_conversation("Something")
    sidebar = make_sidebar()
    sidebar.findChild(QLineEdit, "searchField").setText("Some")

    with qtbot.waitSignal(sidebar.new_requested):
        qtbot.mouseClick(sidebar.findChild(QPushButton, "newChatButton"), Qt.MouseButton.LeftButton)

    assert sidebar.findChild(QLineEdit, "searchField").text() == ""
    assert view_of(sidebar).model().query is None


# Rename

def test_rename_with_f2_and_the_editor_persists(qtbot, store, make_sidebar):
    chat = store.create_conversation("Old title")
    store.create_conversation("Other")
    sidebar = make_sidebar()
    sidebar.select(chat.id)
    view = focus_list(qtbot, sidebar)

    qtbot.keyClick(view, Qt.Key.Key_F2)
    editor = view.viewport().findChild(QLineEdit)
    assert view.state() == QListView.State.EditingState and editor is not None
    assert editor.text() == "Old title"
    editor.selectAll()
    qtbot.keyClicks(editor, "Trip to Lisbon")
    with qtbot.waitSignal(sidebar.conversation_renamed) as blocker:
        qtbot.keyClick(editor, Qt.Key.Key_Return)

    assert blocker.args == [chat.id, "Trip to Lisbon"]
    assert store.conversation(chat.id).title == "Trip to Lisbon"
    assert titles(sidebar) == ["Trip to Lisbon", "Other"]     # a rename is activity: it moves up
    assert view.currentIndex().data(Model.IdRole) == chat.id


def test_rename_through_set_data_refuses_an_empty_title(store, make_sidebar):
    chat = store.create_conversation("Kept")
    sidebar = make_sidebar()
    model = view_of(sidebar).model()
    index = row_index(sidebar, chat.id)

    assert not model.setData(index, "   ")
    assert store.conversation(chat.id).title == "Kept"
    assert model.setData(index, "  New name ")
    assert store.conversation(chat.id).title == "New name"
    assert index.data(Qt.ItemDataRole.EditRole) == "New name"


def test_refresh_waits_until_the_title_editor_closes(qtbot, store, make_sidebar):
    chat = store.create_conversation("Editing")
    sidebar = make_sidebar()
    sidebar.select(chat.id)
    view = focus_list(qtbot, sidebar)
    qtbot.keyClick(view, Qt.Key.Key_F2)
    editor = view.viewport().findChild(QLineEdit)
    store.create_conversation("Arrived meanwhile")

    sidebar.refresh()                       # e.g. the window saved an answer
    assert view.state() == QListView.State.EditingState
    assert titles(sidebar) == ["Editing"]

    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert titles(sidebar) == ["Arrived meanwhile", "Editing"]


# Delete and undo

def test_delete_key_then_undo_restores_the_conversation_and_its_messages(qtbot, store, make_sidebar):
    chat = store.create_conversation("Précis “draft”")
    store.add_message(chat.id, "user", "Summarise this")
    store.add_message(chat.id, "assistant", "Here is a summary")
    other = store.create_conversation("Other")
    messages = store.messages(chat.id)
    sidebar = make_sidebar()
    sidebar.select(chat.id)
    view = focus_list(qtbot, sidebar)

    announced = []
    sidebar.conversation_deleted.connect(lambda id_: announced.append(("deleted", id_)))
    sidebar.conversation_selected.connect(lambda id_: announced.append(("selected", id_)))

    qtbot.keyClick(view, Qt.Key.Key_Delete)

    assert announced == [("deleted", chat.id), ("selected", other.id)]   # on to a neighbour
    assert [c.id for c in store.conversations()] == [other.id]
    assert titles(sidebar) == ["Other"]
    strip = sidebar.findChild(QLabel, "undoLabel").parentWidget()
    assert strip.isVisible()
    assert sidebar.findChild(QLabel, "undoLabel").text() == "Deleted “Précis “draft”” ·"

    with qtbot.waitSignal(sidebar.conversation_selected) as blocker:
        qtbot.mouseClick(sidebar.findChild(QPushButton, "undoButton"), Qt.MouseButton.LeftButton)

    assert blocker.args == [chat.id]
    assert store.conversation(chat.id).title == "Précis “draft”"
    assert store.messages(chat.id) == messages
    assert not strip.isVisible()
    assert sidebar.current_id() == chat.id
    assert view.currentIndex().data(Model.IdRole) == chat.id


def test_undo_strip_goes_away_after_its_timeout(qtbot, store, make_sidebar):
    chat = store.create_conversation("Short lived")
    sidebar = make_sidebar(undo_timeout_ms=50)
    sidebar.select(chat.id)

    menu_action(sidebar.row_menu(), "Delete").trigger()
    strip = sidebar.findChild(QLabel, "undoLabel").parentWidget()
    assert strip.isVisible()

    qtbot.waitUntil(lambda: not strip.isVisible())
    assert store.conversations() == []


def test_a_second_delete_takes_over_the_undo_strip(qtbot, store, make_sidebar):
    first = store.create_conversation("First")
    second = store.create_conversation("Second")
    sidebar = make_sidebar()
    for chat in (first, second):
        sidebar.select(chat.id)
        menu_action(sidebar.row_menu(), "Delete").trigger()

    assert sidebar.findChild(QLabel, "undoLabel").text() == "Deleted “Second” ·"
    qtbot.mouseClick(sidebar.findChild(QPushButton, "undoButton"), Qt.MouseButton.LeftButton)
    assert [c.id for c in store.conversations()] == [second.id]


# Search

def test_search_shows_hits_and_a_message_hit_jumps_to_its_message(qtbot, store, make_sidebar):
    trip = store.create_conversation("Trip")
    store.add_message(trip.id, "user", "What should I pack?")
    answer = store.add_message(trip.id, "assistant", "A raincoat: Lisbon gets rain in spring.")
    store.create_conversation("Unrelated")
    sidebar = make_sidebar()
    sidebar.select(trip.id)
    view = view_of(sidebar)
    search = sidebar.findChild(QLineEdit, "searchField")
    assert search.placeholderText() == "Search chats"
    focus(qtbot, sidebar, search)

    qtbot.keyClicks(search, "raincoat")
    qtbot.waitUntil(lambda: view.model().query == "raincoat")

    assert view.model().rowCount() == 1
    display = view.model().index(0).data(Qt.ItemDataRole.DisplayRole)
    assert display.startswith("Trip\n") and "raincoat" in display.lower()
    with qtbot.waitSignal(sidebar.search_hit_activated) as blocker:
        click_row(qtbot, sidebar, row_index(sidebar, trip.id, answer.id))
    assert blocker.args == [trip.id, answer.id]

    assert view.hasFocus()
    qtbot.keyClick(view, Qt.Key.Key_Escape)             # Esc from the hits leaves the search
    assert search.text() == ""
    assert view.model().query is None
    assert titles(sidebar) == ["Unrelated", "Trip"]
    assert view.currentIndex().data(Model.IdRole) == trip.id


def test_a_title_hit_selects_the_conversation(qtbot, store, make_sidebar):
    chat = store.create_conversation("Lisbon itinerary")
    sidebar = make_sidebar()
    sidebar.findChild(QLineEdit, "searchField").setText("itinerary")
    qtbot.waitUntil(lambda: view_of(sidebar).model().query == "itinerary")

    with qtbot.waitSignal(sidebar.conversation_selected) as blocker:
        click_row(qtbot, sidebar, row_index(sidebar, chat.id, None))
    assert blocker.args == [chat.id]


def test_search_waits_for_a_pause_in_typing(qtbot, store, make_sidebar, monkeypatch):
    store.create_conversation("Alpha")
    sidebar = make_sidebar()
    queries = []
    search = store.search
    monkeypatch.setattr(store, "search", lambda text, *args: queries.append(text) or search(text, *args))

    qtbot.keyClicks(sidebar.findChild(QLineEdit, "searchField"), "alp")
    qtbot.waitUntil(lambda: view_of(sidebar).model().query == "alp")

    assert queries == ["alp"]
    assert titles(sidebar) == [None]        # a hit row has no editable title
    assert not sidebar.findChild(QLabel, "noHitsLabel").isVisible()


def test_a_search_without_hits_says_so(qtbot, store, make_sidebar):
    store.create_conversation("Alpha")
    sidebar = make_sidebar()
    sidebar.findChild(QLineEdit, "searchField").setText("zebra")
    qtbot.waitUntil(lambda: view_of(sidebar).model().query == "zebra")

    label = sidebar.findChild(QLabel, "noHitsLabel")
    assert view_of(sidebar).model().rowCount() == 0
    assert label.isVisible() and "zebra" in label.text()

    search = focus(qtbot, sidebar, sidebar.findChild(QLineEdit, "searchField"))
    qtbot.keyClick(search, Qt.Key.Key_Escape)           # Esc in the field leaves the search
    assert search.text() == ""
    assert titles(sidebar) == ["Alpha"]
    assert not label.isVisible()


def test_rows_of_a_search_cannot_be_renamed_but_can_be_deleted(qtbot, store, make_sidebar):
    chat = store.create_conversation("<b>Markup</b> in a title")
    store.add_message(chat.id, "user", "findable words")
    sidebar = make_sidebar()
    sidebar.findChild(QLineEdit, "searchField").setText("findable")
    qtbot.waitUntil(lambda: view_of(sidebar).model().query == "findable")
    index = row_index(sidebar, chat.id, store.messages(chat.id)[0].id)
    view = view_of(sidebar)
    view.setCurrentIndex(index)

    assert "&lt;b&gt;Markup&lt;/b&gt;" in index.data(Qt.ItemDataRole.ToolTipRole)
    menu = sidebar.row_menu()
    assert not menu_action(menu, "Rename").isEnabled()
    menu_action(menu, "Delete").trigger()

    assert store.conversations() == []
    assert view.model().query == "findable" and view.model().rowCount() == 0
    label = sidebar.findChild(QLabel, "undoLabel")
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert label.text() == "Deleted “<b>Markup</b> in a title” ·"

    sidebar.findChild(QLineEdit, "searchField").clear()
    assert menu_action(view, "Rename").isEnabled()      # the list's F2 works again


# Export and import on the task pool

def test_export_one_conversation_as_markdown(qtbot, store, make_sidebar, monkeypatch, tmp_path):
    chat = store.create_conversation("Notes")
    store.add_message(chat.id, "user", "Remember the **milk**")
    store.create_conversation("Not exported")
    target = tmp_path / "notes.md"
    save_to(monkeypatch, target)
    sidebar = make_sidebar()
    sidebar.select(chat.id)

    with qtbot.waitSignal(sidebar.file_exported) as blocker:
        menu_action(sidebar.row_menu(), "Export as Markdown…").trigger()

    assert blocker.args == [str(target)]
    assert target.read_text(encoding="utf-8") == export_markdown(store, [chat.id])
    assert "Remember the **milk**" in target.read_text(encoding="utf-8")


def test_export_all_as_json(qtbot, store, make_sidebar, monkeypatch, tmp_path):
    ids = [store.create_conversation(title).id for title in ("One", "Two")]
    store.add_message(ids[0], "user", "héllo")
    target = tmp_path / "all.json"
    save_to(monkeypatch, target)
    sidebar = make_sidebar()

    more_menu_action(sidebar, "Export all as JSON…").trigger()
    qtbot.waitUntil(target.exists)
    qtbot.waitUntil(lambda: target.read_text(encoding="utf-8").endswith("\n"))

    exported = json.loads(target.read_text(encoding="utf-8"))
    expected = export_json(store)
    assert exported.pop("exported") and expected.pop("exported")    # the time of export
    assert exported == expected
    assert [c["title"] for c in exported["conversations"]] == ["One", "Two"]   # latest first


def test_export_all_as_markdown_holds_every_conversation(qtbot, store, make_sidebar, monkeypatch, tmp_path):
    for title in ("One", "Two"):
        store.create_conversation(title)
    target = tmp_path / "all.md"
    save_to(monkeypatch, target)
    sidebar = make_sidebar()

    with qtbot.waitSignal(sidebar.file_exported):
        more_menu_action(sidebar, "Export all as Markdown…").trigger()

    text = target.read_text(encoding="utf-8")
    assert "One" in text and "Two" in text


def test_a_cancelled_file_dialog_does_nothing(qtbot, store, make_sidebar, monkeypatch):
    store.create_conversation("One")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: ("", ""))
    sidebar = make_sidebar()

    with qtbot.assertNotEmitted(sidebar.file_exported), qtbot.assertNotEmitted(sidebar.error_occurred):
        more_menu_action(sidebar, "Export all as JSON…").trigger()
        qtbot.wait(50)


def test_an_export_that_cannot_write_reports_the_error(qtbot, store, make_sidebar, monkeypatch, tmp_path):
    store.create_conversation("One")
    target = tmp_path / "missing folder" / "all.json"
    save_to(monkeypatch, target)
    sidebar = make_sidebar()

    with qtbot.waitSignal(sidebar.error_occurred) as blocker:
        more_menu_action(sidebar, "Export all as JSON…").trigger()

    assert str(target) in blocker.args[0]


def test_import_json_adds_the_conversations(qtbot, store, make_sidebar, monkeypatch, tmp_path):
    chat = store.create_conversation("Shared")
    store.add_message(chat.id, "user", "imported text")
    source = tmp_path / "shared.json"
    source.write_text(json.dumps(export_json(store, [chat.id])), encoding="utf-8")
    open_from(monkeypatch, source)
    sidebar = make_sidebar()

    with qtbot.waitSignal(sidebar.conversations_imported) as blocker:
        more_menu_action(sidebar, "Import JSON…").trigger()

    assert blocker.args == [1]
    assert titles(sidebar) == ["Shared", "Shared"]
    copy = next(c for c in store.conversations() if c.id != chat.id)
    assert [m.text for m in store.messages(copy.id)] == ["imported text"]


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00binary", b'{"format": "something else"}'])
def test_a_malformed_import_reports_an_error(qtbot, store, make_sidebar, monkeypatch, tmp_path, content):
    store.create_conversation("Existing")
    source = tmp_path / "broken.json"
    source.write_bytes(content)
    open_from(monkeypatch, source)
    sidebar = make_sidebar()

    with qtbot.waitSignal(sidebar.error_occurred) as blocker:
        more_menu_action(sidebar, "Import JSON…").trigger()

    assert blocker.args[0]
    assert titles(sidebar) == ["Existing"]
    assert len(store.conversations()) == 1


def test_a_missing_import_file_reports_an_error(qtbot, store, make_sidebar, monkeypatch, tmp_path):
    open_from(monkeypatch, tmp_path / "gone.json")
    sidebar = make_sidebar()

    with qtbot.waitSignal(sidebar.error_occurred) as blocker:
        more_menu_action(sidebar, "Import JSON…").trigger()

    assert "gone.json" in blocker.args[0]


def test_rows_update_their_relative_time_when_read(store, qtbot):
    chat = store.create_conversation("Clocked")
    model = Model(store, clock=lambda: time.time() + 3 * 60)
    model.show_conversations()
    assert model.index(0).data(Qt.ItemDataRole.DisplayRole) == "Clocked\n3 min ago"
    assert model.row_of(chat.id) == 0
