"""Suite-wide setup: Qt runs offscreen (no display needed), and no test writes into the real
user folders: the data folder is a fresh temporary one unless a test moves it itself."""
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("BITNET_DESKTOP_DATA_DIR", str(tmp_path_factory.mktemp("data")))
