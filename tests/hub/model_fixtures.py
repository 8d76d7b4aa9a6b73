"""Fixtures of the model-manager tests (catalog, remote, installed, pull, CLI): synthetic GGUF bytes and a
hub environment isolated from the machine's (no HF_TOKEN, no offline flag, no `hf auth login` token,
huggingface_hub pointed at the test server). Import the fixtures into a test module by name."""
from __future__ import annotations

from pathlib import Path

import pytest

from bitnet_desktop.engine.synth import write_synthetic_model

HF_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT",
          "BITNET_DESKTOP_MODELS_DIR")


def isolate_hub_env(monkeypatch, tmp_path: Path) -> None:
    import huggingface_hub.constants

    for name in HF_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-hf-login-token"))


@pytest.fixture
def hub_env(monkeypatch, tmp_path, hub_server):
    """The test server as $HF_ENDPOINT, nothing else of the machine's hub settings."""
    import huggingface_hub

    isolate_hub_env(monkeypatch, tmp_path)
    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint)
    yield hub_server
    huggingface_hub.close_session()   # no keep-alive connection outlives the test's server


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory) -> bytes:
    return write_synthetic_model(tmp_path_factory.mktemp("gguf") / "tiny.gguf", "tiny", seed=3).read_bytes()


@pytest.fixture(scope="module")
def other_tiny_gguf(tmp_path_factory) -> bytes:
    return write_synthetic_model(tmp_path_factory.mktemp("gguf") / "tiny2.gguf", "tiny", seed=4).read_bytes()
