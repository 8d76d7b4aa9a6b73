"""The first run offers the catalog's first-run model in one click: the download starts in the Models
panel (shown), and once the model is installed and verified it is loaded. Offline, the offer is there but
disabled with the reason."""
from bitnet_desktop.hub.installed import ModelLibrary
from tests.hub.model_fixtures import other_tiny_gguf, tiny_gguf  # noqa: F401 - fixtures
from tests.ui.models_fixtures import fast_profile, hub, serve_models, test_catalog  # noqa: F401 - fixtures
from tests.ui.window_fixtures import LOAD_TIMEOUT_MS, harness  # noqa: F401 - fixture


def test_one_click_downloads_installs_and_loads_the_first_run_model(hub, test_catalog, fast_profile, harness, qtbot,
                                                                   tiny_gguf, other_tiny_gguf):
    serve_models(hub, tiny_gguf, other_tiny_gguf)
    hub.faults.rate = 800_000                      # about 1 s: the download is seen in the panel
    h = harness()
    first_run = h.chat.first_run
    assert h.chat.stack.currentWidget() is first_run
    button = first_run.download_button
    assert button.isVisible() and button.isEnabled()
    assert button.text() == "Download Tiny chat (865 kB, MIT)"
    assert first_run.open_button.isVisible()
    with qtbot.waitSignal(h.window.engine.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        button.click()
        panel = h.window.models
        assert h.window.tabs.currentWidget() is panel           # the download is shown where it runs
        assert panel.selected_entry().id == "tiny-chat" and len(panel.downloads.items()) == 1
        row = panel.download_list.row(panel.downloads.items()[0].id)
        qtbot.waitUntil(lambda: "/s" in row.state.text(), timeout=30_000)
    [model] = ModelLibrary.open().list()
    assert loaded.args[0].path == str(model.path) and model.catalog_id == "tiny-chat"
    assert h.window.tabs.currentWidget() is h.window.writing and h.window.writing.currentWidget() is h.chat
    assert h.chat.stack.currentWidget() is h.chat.view
    assert h.chat.composer.can_send
    assert h.window.settings.last_model == str(model.path)
    assert not panel.downloads.timer.isActive()


def test_offline_the_offer_is_disabled_with_the_reason(hub, test_catalog, fast_profile, harness, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    first_run = harness().chat.first_run
    assert not first_run.download_button.isEnabled() and first_run.download_button.text().startswith("Download Tiny")
    assert first_run.reason.isVisible() and "HF_HUB_OFFLINE" in first_run.reason.text()
    assert first_run.open_button.isEnabled()
