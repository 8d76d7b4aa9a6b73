import pytest

from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf


@pytest.fixture(scope="session")
def ordinary_path(tmp_path_factory):
    """A tiny Q8_0 llama model with a ChatML template, written once for the session."""
    return write_ordinary_gguf(tmp_path_factory.mktemp("ordinary") / "tiny-q8_0.gguf", fmt="q8_0")
