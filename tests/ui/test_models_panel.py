"""The Models panel in a real window, against the hub-compatible test server with real downloads of small
synthetic models: the catalog's fit and predicted-speed columns (the machine measured off the UI thread),
the licence prompt, progress, pause, resume and cancel, a token asked for a private repo, delete refused
while loaded, import refused with the reason, offline mode opening no socket, and no timer while idle."""
import os
import socket
import stat
import threading
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox

from bitnet_desktop.engine.runtime.generation_events import GenerationStats
from bitnet_desktop.engine.synth import write_synthetic_model
from bitnet_desktop.hub import predict, token_store
from bitnet_desktop.hub.pull import licence_accepted
from bitnet_desktop.paths import config_dir
from bitnet_desktop.ui import catalog_table_model as columns
from bitnet_desktop.ui import models_panel
from tests.hub.model_fixtures import other_tiny_gguf, tiny_gguf  # noqa: F401 - fixtures
from tests.ui.models_fixtures import (FILE, LICENSED_REPO, PRIVATE_REPO, REPO, TOKEN,  # noqa: F401 - fixtures
                                      fast_profile, hub, library, serve_models, test_catalog)
from tests.ui.window_fixtures import harness  # noqa: F401 - fixture

DOWNLOAD_MS = 30_000


@pytest.fixture
def panel_window(hub, test_catalog, fast_profile, harness, tiny_gguf, other_tiny_gguf):
    """A window on the test catalog and server, with its Models tab shown."""
    serve_models(hub, tiny_gguf, other_tiny_gguf)

    def make():
        h = harness()
        h.window.tabs.setCurrentWidget(h.window.models)
        return h

    return make


def cell(panel, entry_id, column, role=columns.Qt.ItemDataRole.DisplayRole):
    model = panel.catalog_model
    return model.data(model.index(model.row_of(entry_id), column), role)


def active_timers(widget):
    return [t for t in widget.findChildren(QTimer) if t.isActive()]


def start_download(panel, entry_id):
    panel.select_entry(entry_id)
    assert panel.download_button.isEnabled(), panel.download_button.toolTip()
    panel.download_button.click()


def item_of(panel, repo=REPO):
    return panel.downloads.find(repo, FILE)


def test_the_catalog_shows_memory_fit_and_predicted_speed(panel_window, qtbot):
    panel = panel_window().window.models
    qtbot.waitUntil(lambda: panel.profile is not None)
    assert panel.table.model().rowCount() == 5
    assert panel.catalog_model.headerData(columns.PREDICTED, columns.Qt.Orientation.Horizontal) == "Predicted tok/s"
    assert panel.catalog_model.headerData(columns.MEMORY, columns.Qt.Orientation.Horizontal) == "Memory at\n2,048 ctx"
    assert cell(panel, "tiny-chat", columns.FITS) == "yes"
    assert cell(panel, "huge", columns.FITS) == "no"
    assert cell(panel, "huge", columns.MEMORY).startswith("~")              # from the size alone
    assert "does not fit" in cell(panel, "huge", columns.FITS, columns.Qt.ItemDataRole.ToolTipRole)
    assert "rough" in cell(panel, "huge", columns.MEMORY, columns.Qt.ItemDataRole.ToolTipRole)
    assert "512 tokens of context" in cell(panel, "tiny-chat", columns.MEMORY, columns.Qt.ItemDataRole.ToolTipRole)
    assert "predicted for 1 thread" in cell(panel, "tiny-chat", columns.PREDICTED, columns.Qt.ItemDataRole.ToolTipRole)
    assert float(cell(panel, "tiny-chat", columns.PREDICTED)) > 0
    assert cell(panel, "tiny-private", columns.PREDICTED) == "?"           # neither shape nor size known
    assert cell(panel, "tiny-licensed", columns.LICENCE) == "Falcon-like Licence"
    assert cell(panel, "tiny-chat", columns.KIND) == "instruct"
    assert cell(panel, "llama-graph", columns.RUNS) == "no"
    panel.select_entry("llama-graph")
    assert not panel.download_button.isEnabled() and "llama" in panel.download_button.toolTip()
    panel.select_entry("tiny-licensed")
    assert "example.org/falcon-like" in panel.details.text()
    panel.search.setText("licence falcon")
    assert panel.table.model().rowCount() == 1
    panel.search.setText("")
    assert panel.table.model().rowCount() == 5
    assert active_timers(panel) == []


def test_the_speed_is_measured_off_the_ui_thread_and_cached(hub, test_catalog, harness, monkeypatch, qtbot):
    real = predict.machine_profile
    on_main = []

    def measured(*args, **kwargs):
        on_main.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(predict, "machine_profile", measured)
    h = harness()
    panel = h.window.models
    assert on_main == []                                # nothing measured before the panel is shown
    h.window.tabs.setCurrentWidget(panel)
    # The table is there at once; the prediction follows when the measurement (about 1.5 s) is done.
    assert panel.table.model().rowCount() == 5 and panel.isVisible()
    assert cell(panel, "tiny-chat", columns.PREDICTED) == "measuring…"
    assert cell(panel, "tiny-chat", columns.FITS) == "yes"
    qtbot.waitUntil(lambda: cell(panel, "tiny-chat", columns.PREDICTED) != "measuring…", timeout=60_000)
    assert on_main == [False]
    assert float(cell(panel, "tiny-chat", columns.PREDICTED)) > 0
    assert predict.cached_profile(config_dir=config_dir()) is not None     # the next start reads it


def test_a_licence_prompt_first_cancel_downloads_nothing_accept_downloads(panel_window, hub, qtbot):
    panel = panel_window().window.models
    hub.clear_requests()
    start_download(panel, "tiny-licensed")
    dialog = panel.licence_dialog
    qtbot.waitUntil(dialog.isVisible)
    text = dialog.findChild(QLabel, "licence_text").text()
    assert "Falcon-like Licence" in text and "https://example.org/falcon-like" in text
    dialog.cancel_button.click()
    qtbot.wait(200)
    assert not dialog.isVisible() and "licence was not accepted" in panel.message.text()
    assert hub.requests == [] and panel.downloads.items() == []
    assert not library().downloads_dir.exists() or list(library().downloads_dir.iterdir()) == []
    assert not licence_accepted(panel.catalog.find("tiny-licensed"), config_dir())
    # Accepting downloads it, and is remembered.
    start_download(panel, "tiny-licensed")
    panel.licence_dialog.accept_button.click()
    qtbot.waitUntil(lambda: [m.repo for m in library().list()] == [LICENSED_REPO], timeout=DOWNLOAD_MS)
    assert licence_accepted(panel.catalog.find("tiny-licensed"), config_dir())


def test_download_shows_progress_pauses_resumes_and_lands_in_installed(panel_window, hub, qtbot):
    panel = panel_window().window.models
    assert active_timers(panel) == []
    hub.faults.rate = 150_000                                # about 6 s for the file
    start_download(panel, "tiny-chat")
    row = panel.download_list.row(item_of(panel).id)
    assert panel.download_list.isVisible() and panel.downloads.timer.isActive()
    qtbot.waitUntil(lambda: "/s" in row.state.text() and 0 < row.progress.value() < 1000, timeout=DOWNLOAD_MS)
    assert " of " in row.state.text() and "left" in row.state.text()
    assert cell(panel, "tiny-chat", columns.STATUS).startswith("downloading")
    assert panel.download_button.text() == "Downloading…" and not panel.download_button.isEnabled()

    row.pause_button.click()
    qtbot.waitUntil(lambda: item_of(panel).phase == "paused", timeout=DOWNLOAD_MS)
    assert "paused at" in row.state.text()
    assert row.resume_button.isVisible() and not row.pause_button.isVisible()
    assert cell(panel, "tiny-chat", columns.STATUS) == "paused"
    assert not panel.downloads.timer.isActive()              # nothing polls while paused
    part = [p for p in library().downloads_dir.iterdir() if p.name.endswith(".part")]
    assert len(part) == 1 and 0 < part[0].stat().st_size

    hub.faults.rate = None
    row.resume_button.click()
    assert row.pause_button.isVisible() and panel.downloads.timer.isActive()
    qtbot.waitUntil(lambda: item_of(panel) is None, timeout=DOWNLOAD_MS)      # installed items are not "found"
    item = panel.downloads.items()[0]
    assert item.phase == "installed" and "installed as tiny-chat" in row.state.text()
    ranges = [r.header("range") for r in hub.requests_to("cdn", "GET")]
    assert ranges[0] is None and ranges[-1] is not None and int(ranges[-1][6:].split("-")[0]) > 0   # resumed
    [model] = library().list()
    assert model.name == "tiny-chat" and model.catalog_id == "tiny-chat"
    table = panel.installed_list.table
    assert table.rowCount() == 1 and table.item(0, 0).text() == "tiny-chat"
    assert table.item(0, 1).text() == "I2_S" and str(model.path) in table.item(0, 4).text()
    assert cell(panel, "tiny-chat", columns.STATUS) == "installed as tiny-chat"
    assert panel.download_button.text() == "Load"
    assert "Installed tiny-chat" in panel.message.text()
    assert active_timers(panel) == [] and not panel.downloads.timer.isActive()


def test_cancel_deletes_the_partial_file(panel_window, hub, qtbot):
    panel = panel_window().window.models
    hub.faults.rate = 100_000
    start_download(panel, "tiny-chat")
    row = panel.download_list.row(item_of(panel).id)
    qtbot.waitUntil(lambda: item_of(panel).progress is not None and item_of(panel).progress.done > 0,
                    timeout=DOWNLOAD_MS)
    row.cancel_button.click()
    qtbot.waitUntil(lambda: panel.downloads.items()[0].phase == "cancelled", timeout=DOWNLOAD_MS)
    assert "partial file was deleted" in row.state.text()
    assert list(library().downloads_dir.iterdir()) == [] and library().list() == []
    assert cell(panel, "tiny-chat", columns.STATUS) == ""
    assert active_timers(panel) == []
    row.dismiss_button.click()
    qtbot.waitUntil(lambda: not panel.download_list.isVisible())


def test_a_private_repo_asks_for_a_token_then_downloads(panel_window, qtbot):
    panel = panel_window().window.models
    start_download(panel, "tiny-private")
    qtbot.waitUntil(lambda: panel.token_dialog is not None and panel.token_dialog.isVisible(), timeout=DOWNLOAD_MS)
    item = item_of(panel, PRIVATE_REPO)
    assert item.phase == "failed" and "token" in panel.message.text()
    row = panel.download_list.row(item.id)
    assert row.token_button.isVisible() and "token" in row.state.text()
    panel.token_dialog.setTextValue(TOKEN)
    panel.token_dialog.accept()
    qtbot.waitUntil(lambda: panel.downloads.item(item.id).phase == "installed", timeout=DOWNLOAD_MS)
    assert token_store.load_token(config_dir()) == TOKEN
    assert stat.S_IMODE(os.stat(token_store.token_file(config_dir())).st_mode) == 0o600
    assert [m.repo for m in library().list()] == [PRIVATE_REPO]


def test_delete_refused_for_the_loaded_model_and_frees_another(panel_window, qtbot, tmp_path):
    files = [write_synthetic_model(tmp_path / f"{name}.gguf", "tiny", seed=seed)
             for name, seed in (("first", 1), ("second", 2))]
    lib = library()
    first, second = (lib.import_file(f, "copy") for f in files)
    h = panel_window()
    panel = h.window.models
    installed = panel.installed_list
    assert installed.table.rowCount() == 2
    h.load(first.path)
    assert "loaded" in installed.table.item(0, 0).text()
    installed.select(first.name)
    installed.delete_button.click()
    assert "is loaded" in panel.message.text() and panel.delete_box is None
    assert first.path.is_file()

    installed.select(second.name)
    installed.delete_button.click()
    box = panel.delete_box
    qtbot.waitUntil(box.isVisible)
    assert second.name in box.text() and "frees" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: "Deleted second" in panel.message.text(), timeout=10_000)
    assert not second.folder.exists() and [m.name for m in library().list()] == [first.name]
    assert installed.table.rowCount() == 1


def test_import_of_a_truncated_file_is_refused_with_the_reason(panel_window, qtbot, tmp_path, monkeypatch):
    good = write_synthetic_model(tmp_path / "good.gguf", "tiny", seed=5)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(good.read_bytes()[:300_000])
    panel = panel_window().window.models
    chosen = [str(truncated)]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (chosen[0], ""))
    monkeypatch.setattr(models_panel, "ask_import_mode", lambda parent, path: "copy")
    panel.installed_list.import_button.click()
    qtbot.waitUntil(lambda: "was not imported" in panel.message.text(), timeout=10_000)
    text = panel.message.text()
    assert "truncated.gguf" in text and "past the end of the file" in text and "truncated or corrupt" in text
    assert library().list() == [] and truncated.is_file()
    # A whole file is imported (linked here) and listed.
    chosen[0] = str(good)
    monkeypatch.setattr(models_panel, "ask_import_mode", lambda parent, path: "link")
    panel.installed_list.import_button.click()
    qtbot.waitUntil(lambda: "Imported good.gguf" in panel.message.text(), timeout=10_000)
    assert panel.installed_list.table.rowCount() == 1 and library().list()[0].is_link


def test_offline_mode_lists_installed_models_and_opens_no_socket(hub, test_catalog, fast_profile, harness, qtbot,
                                                                 monkeypatch, tmp_path):
    lib = library()
    model = lib.import_file(write_synthetic_model(tmp_path / "local.gguf", "tiny", seed=7), "copy")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_connect(self, *args):
        raise AssertionError("a socket was connected in offline mode")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", no_connect)
    h = harness()
    panel = h.window.models
    h.window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.profile is not None)
    assert panel.offline_label.isVisible() and "HF_HUB_OFFLINE" in panel.offline_label.text()
    assert panel.installed_list.table.rowCount() == 1 and panel.installed_list.table.item(0, 0).text() == model.name
    assert panel.table.model().rowCount() == 5
    panel.select_entry("tiny-chat")
    assert not panel.download_button.isEnabled() and "Offline mode" in panel.download_button.toolTip()
    panel.download(panel.catalog.find("tiny-chat"))
    assert "Offline mode" in panel.message.text() and panel.downloads.items() == []
    first_run = h.chat.first_run
    assert not first_run.download_button.isEnabled() and "HF_HUB_OFFLINE" in first_run.reason.text()
    panel.add_repo_button.click()
    dialog = panel.add_repo_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert not dialog.list_button.isEnabled()
    dialog.reject()
    qtbot.wait(100)
    assert hub.requests == [] and active_timers(panel) == []


def test_the_measured_speed_shows_beside_the_prediction(panel_window, qtbot, tmp_path):
    h = panel_window()
    panel = h.window.models
    start_download(panel, "tiny-chat")
    qtbot.waitUntil(lambda: library().list() != [], timeout=DOWNLOAD_MS)
    qtbot.waitUntil(lambda: panel.download_button.text() == "Load")
    with qtbot.waitSignal(h.window.engine.model_loaded, timeout=60_000):
        panel.download_button.click()                      # Load
    stats = GenerationStats(generated_tokens=41, generation_seconds=2.0)
    panel.record_answer(SimpleNamespace(finished=SimpleNamespace(stats=stats)))
    qtbot.waitUntil(lambda: "measured 20.0" in cell(panel, "tiny-chat", columns.PREDICTED), timeout=10_000)
    [model] = library().list()
    assert model.measured["tokens_per_second"] == 20.0 and model.last_used is not None
    predicted = cell(panel, "tiny-chat", columns.PREDICTED)
    assert float(predicted.split(" · ")[0]) > 0


def test_add_a_repo_by_hand_browsing_its_gguf_files(panel_window, hub, qtbot, tiny_gguf, other_tiny_gguf):
    hub.add_repo("someone/two-files-gguf", {"a.gguf": tiny_gguf, "b.gguf": other_tiny_gguf})
    panel = panel_window().window.models
    panel.add_repo_button.click()
    dialog = panel.add_repo_dialog
    dialog.repo_edit.setText("someone/two-files-gguf")
    dialog.list_button.click()
    qtbot.waitUntil(lambda: dialog.files.count() == 2, timeout=10_000)
    dialog.files.setCurrentRow(1)
    assert dialog.file == "b.gguf"
    dialog.add_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    entry = panel.selected_entry()
    assert (entry.repo, entry.file, entry.user_added) == ("someone/two-files-gguf", "b.gguf", True)
    assert panel.table.model().rowCount() == 6
    panel.download_button.click()
    qtbot.waitUntil(lambda: [m.file for m in library().list()] == ["b.gguf"], timeout=DOWNLOAD_MS)


def test_a_download_paused_by_closing_the_window_resumes_in_the_next_one(panel_window, hub, qtbot):
    h = panel_window()
    panel = h.window.models
    hub.faults.rate = 100_000
    start_download(panel, "tiny-chat")
    qtbot.waitUntil(lambda: item_of(panel).progress is not None and item_of(panel).progress.done > 0,
                    timeout=DOWNLOAD_MS)
    h.close()                                                 # pauses it: the .part stays
    assert [p.name.endswith((".part", ".part.json")) for p in library().downloads_dir.iterdir()] == [True, True]
    hub.faults.rate = None
    panel = panel_window().window.models
    assert cell(panel, "tiny-chat", columns.STATUS).endswith("downloaded, can resume")
    assert panel.downloads.items() == [] and active_timers(panel) == []
    panel.select_entry("tiny-chat")
    assert panel.download_button.text().startswith("Resume download")
    start_download(panel, "tiny-chat")
    assert panel.download_button.text() == "Downloading…"
    qtbot.waitUntil(lambda: [m.name for m in library().list()] == ["tiny-chat"], timeout=DOWNLOAD_MS)
    last = hub.requests_to("cdn", "GET")[-1].header("range")
    assert last is not None and int(last[6:].split("-")[0]) > 0


def test_a_dropped_connection_shows_retrying_and_the_download_still_lands(panel_window, hub, qtbot):
    panel = panel_window().window.models
    hub.faults.drop_after = 200_000                           # once; the downloader waits 1 s and resumes
    start_download(panel, "tiny-chat")
    row = panel.download_list.row(item_of(panel).id)
    qtbot.waitUntil(lambda: "retrying" in row.state.text(), timeout=DOWNLOAD_MS)
    assert "connection dropped" in row.state.text()
    assert cell(panel, "tiny-chat", columns.STATUS).startswith("retrying")
    qtbot.waitUntil(lambda: [m.name for m in library().list()] == ["tiny-chat"], timeout=DOWNLOAD_MS)
