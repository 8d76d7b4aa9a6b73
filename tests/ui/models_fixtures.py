"""Fixtures of the Models panel tests: the hub-compatible test server as $HF_ENDPOINT (nothing of the
machine's hub settings, no keyring), a small test catalog of synthetic models served by it, and a
machine profile given at once (the real measurement is tested once, in test_models_panel.py)."""
from __future__ import annotations

import hashlib
import json

import pytest

from bitnet_desktop.hub import predict, token_store
from bitnet_desktop.hub.installed import ModelLibrary
from bitnet_desktop.ui import models_panel
from tests.hub.hub_server import HubServer
from tests.hub.model_fixtures import isolate_hub_env

REPO = "org/tiny-bitnet-gguf"
LICENSED_REPO = "org/licensed-bitnet-gguf"
PRIVATE_REPO = "org/private-bitnet-gguf"
FILE = "ggml-model-i2_s.gguf"
TOKEN = "hf_secret_test_token"
TINY_SHAPE = {"n_layers": 2, "d_model": 256, "d_ffn": 512, "n_heads": 4, "n_kv_heads": 2, "head_dim": 64,
              "vocab_size": 1024, "tied": True}
FAKE_PROFILE = predict.MachineProfile(cpu="test cpu", kernel="ref", threads=1, read_bandwidth_gbps=10.0,
                                      ternary_efficiency=0.5, int8_head_efficiency=0.5, f16_head_efficiency=0.5,
                                      sampling_seconds_per_logit=1e-9, measured_at=0.0, measure_seconds=0.0)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """The test server, its hub as $HF_ENDPOINT; tokens stored in the (temporary) config folder."""
    import huggingface_hub

    server = HubServer()
    isolate_hub_env(monkeypatch, tmp_path)
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setattr(token_store, "_keyring", lambda: None)   # never the real keyring
    try:
        yield server
    finally:
        huggingface_hub.close_session()
        server.close()


@pytest.fixture
def test_catalog(tmp_path, monkeypatch, tiny_gguf, other_tiny_gguf):
    """The panel's catalog: a tiny model (first run, MIT, shape known), one whose licence must be accepted,
    a private one, one far too big to fit, and one the engine cannot run."""
    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    mit = {"name": "MIT", "url": "https://opensource.org/license/mit", "accept_before_download": False}
    models = [
        {"id": "tiny-chat", "name": "Tiny chat", "repo": REPO, "file": FILE, "format": "I2_S",
         "size": len(tiny_gguf), "sha256": sha(tiny_gguf), "parameters": "1.4M", "context_length": 512,
         "kind": "instruct", "licence": mit, "architecture": "bitnet-b1.58", "engine": "yes", "shape": TINY_SHAPE,
         "description": "A synthetic model served by the test hub.", "first_run": True},
        {"id": "tiny-licensed", "name": "Tiny licensed", "repo": LICENSED_REPO, "file": FILE, "format": "I2_S",
         "size": len(other_tiny_gguf), "sha256": sha(other_tiny_gguf), "kind": "base", "engine": "unknown",
         "licence": {"name": "Falcon-like Licence", "url": "https://example.org/falcon-like",
                     "accept_before_download": True}},
        {"id": "tiny-private", "name": "Tiny private", "repo": PRIVATE_REPO, "file": FILE, "kind": "base",
         "engine": "unknown", "licence": mit},
        {"id": "huge", "name": "Huge model", "repo": "org/huge-gguf", "file": FILE, "size": 10 ** 14,
         "parameters": "900T", "kind": "instruct", "engine": "yes", "licence": mit},
        {"id": "llama-graph", "name": "Plain llama", "repo": "org/llama-gguf", "file": FILE, "size": 1 << 20,
         "kind": "instruct", "engine": "no", "engine_note": "its 'llama' graph is not run by this engine",
         "licence": mit},
    ]
    path = tmp_path / "test-catalog.json"
    path.write_text(json.dumps({"models": models}))
    monkeypatch.setattr(models_panel, "CATALOG_PATH", path)
    return path


@pytest.fixture
def fast_profile(monkeypatch):
    """This machine's speed, given at once instead of measured (about 1.5 s)."""
    monkeypatch.setattr(predict, "machine_profile", lambda threads=None, kernel=None, config_dir=None, **_: FAKE_PROFILE)
    return FAKE_PROFILE


def serve_models(hub, tiny_gguf, other_tiny_gguf) -> None:
    hub.add_repo(REPO, {FILE: tiny_gguf, "README.md": b"# tiny"})
    hub.add_repo(LICENSED_REPO, {FILE: other_tiny_gguf})
    hub.add_repo(PRIVATE_REPO, {FILE: tiny_gguf}, private=True, token=TOKEN)


def library() -> ModelLibrary:
    return ModelLibrary.open()
