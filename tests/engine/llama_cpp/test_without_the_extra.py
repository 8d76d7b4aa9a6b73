"""Without llama-cpp-python (the `llama` extra), an ordinary GGUF is refused with the install hint and
BitNet files still load; with it, nothing llama.cpp logs reaches the terminal. In child processes:
the import must really fail there (a None entry in sys.modules makes `import llama_cpp` raise
ImportError, as when the package is not installed), and the terminal is a real one to watch."""
import json
import subprocess
import sys

from bitnet_desktop.engine.synth import write_synthetic_model

LOAD_WITHOUT_THE_EXTRA = """
import json, sys
sys.modules["llama_cpp"] = None  # import llama_cpp now fails as if it were not installed
from bitnet_desktop.engine.errors import LlamaCppUnavailableError
from bitnet_desktop.engine.runtime.loader import load_model
from bitnet_desktop.engine.runtime.model import LoadOptions
bitnet = load_model(sys.argv[2], LoadOptions(threads=1))
bitnet.close()
try:
    load_model(sys.argv[1], LoadOptions(threads=1))
except LlamaCppUnavailableError as error:
    print(json.dumps({"refused": str(error), "bitnet": type(bitnet).__name__}))
"""

LOAD_WITH_AN_OLD_RELEASE = """
import sys
import llama_cpp
del llama_cpp.llama_get_memory  # as in releases before llama.cpp's memory API
from bitnet_desktop.engine.errors import LlamaCppUnavailableError
from bitnet_desktop.engine.runtime.loader import load_model
try:
    load_model(sys.argv[1])
except LlamaCppUnavailableError as error:
    print(error)
"""

LOAD_AND_GENERATE = """
import sys
from bitnet_desktop.engine.runtime.loader import load_model
from bitnet_desktop.engine.runtime.model import LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams
model = load_model(sys.argv[1], LoadOptions(threads=1, context_length=64))
for event in model.generator.generate(model.tokenizer.encode("Hello"), SamplingParams(max_tokens=4, seed=1)):
    pass
model.close()
"""


def _run(script, *args):
    return subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_an_ordinary_file_is_refused_with_the_install_hint_without_the_extra(ordinary_path, tmp_path):
    bitnet = write_synthetic_model(tmp_path / "bitnet.gguf", shape="tiny", seed=1)
    result = _run(LOAD_WITHOUT_THE_EXTRA, ordinary_path, bitnet)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["bitnet"] == "BitNetModel"
    assert "llama-cpp-python is not installed" in out["refused"]
    assert 'pip install "bitnet-desktop[llama]"' in out["refused"]


def test_a_release_without_the_api_used_is_refused_with_the_upgrade_hint(ordinary_path):
    result = _run(LOAD_WITH_AN_OLD_RELEASE, ordinary_path)
    assert result.returncode == 0, result.stderr
    assert "is too old for this app (it lacks llama_get_memory)" in result.stdout
    assert 'pip install --upgrade "bitnet-desktop[llama]"' in result.stdout


def test_llama_cpp_prints_nothing(ordinary_path):
    result = _run(LOAD_AND_GENERATE, ordinary_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
