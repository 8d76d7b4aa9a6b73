"""The token a person enters: in the OS keyring when one works, else a 0600 file in the config folder."""
import os
import stat
import sys

import pytest

from bitnet_desktop.hub import token_store


class FakeKeyring:
    def __init__(self):
        self.values = {}

    def set_password(self, service, user, value):
        self.values[(service, user)] = value

    def get_password(self, service, user):
        return self.values.get((service, user))

    def delete_password(self, service, user):
        del self.values[(service, user)]


def test_file_store_is_private_and_round_trips(tmp_path, monkeypatch):
    monkeypatch.setattr(token_store, "_keyring", lambda: None)
    config = tmp_path / "config"
    assert token_store.load_token(config) is None and token_store.describe(config) is None
    where = token_store.save_token("  hf_abc123\n", config)
    path = token_store.token_file(config)
    assert where == str(path) and token_store.load_token(config) == "hf_abc123"
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in config.iterdir()] == [path.name]   # no temporary file left behind
    assert token_store.describe(config) == str(path)
    assert token_store.delete_token(config) and not path.exists()
    assert not token_store.delete_token(config)


def test_keyring_preferred_and_file_copy_removed(tmp_path, monkeypatch):
    ring = FakeKeyring()
    config = tmp_path / "config"
    monkeypatch.setattr(token_store, "_keyring", lambda: None)
    token_store.save_token("hf_old", config)
    monkeypatch.setattr(token_store, "_keyring", lambda: ring)
    assert token_store.save_token("hf_new", config) == "keyring"
    assert not token_store.token_file(config).exists()
    assert token_store.load_token(config) == "hf_new" and token_store.describe(config) == "the system keyring"
    assert token_store.delete_token(config) and token_store.load_token(config) is None


def test_broken_keyring_falls_back_to_the_file(tmp_path, monkeypatch):
    class Broken(FakeKeyring):
        def set_password(self, *args):
            raise RuntimeError("locked")

    monkeypatch.setattr(token_store, "_keyring", lambda: Broken())
    where = token_store.save_token("hf_x", tmp_path)
    assert where == str(token_store.token_file(tmp_path)) and token_store.load_token(tmp_path) == "hf_x"


@pytest.mark.parametrize("bad", ["", "   ", "hf a b"])
def test_a_token_is_one_word(tmp_path, bad):
    with pytest.raises(ValueError, match="one word"):
        token_store.save_token(bad, tmp_path, use_keyring=False)
