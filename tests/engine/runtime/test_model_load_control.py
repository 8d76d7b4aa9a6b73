"""Loading as the app drives it: stages reported in order, a cancel honoured (nothing left
allocated or mapped), and an unload that gives the memory back."""
import gc
import json
import subprocess
import sys
import threading

import psutil
import pytest

from bitnet_desktop.engine.runtime.model import BitNetModel, LoadCancelledError, LoadOptions
from tests.engine.runtime.gguf_files import synth


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    # A 32k vocabulary makes the int8 head about 16 MiB: large enough to see it come and go.
    return synth(tmp_path_factory.mktemp("load"), shape="small", seed=3, n_vocab=32768)


def test_progress_reports_each_stage_in_order(path):
    seen = []
    model = BitNetModel.load(path, LoadOptions(threads=1), progress=lambda stage, f: seen.append((stage, f)))
    model.close()
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert [s for s, _ in seen][-1] == "ready" and len(seen) >= 4


@pytest.mark.parametrize("stop_at", ["reading the model file", "building the model and the tokenizer",
                                     "giving back unneeded pages"])
def test_a_cancel_stops_the_load_at_any_stage(path, stop_at):
    cancel = threading.Event()

    def progress(stage, fraction):
        if stage == stop_at:
            cancel.set()

    opened_before = len(psutil.Process().memory_maps())
    with pytest.raises(LoadCancelledError) as raised:
        BitNetModel.load(path, LoadOptions(threads=1), progress=progress, cancel=cancel)
    del raised  # its traceback's frames hold views of the mapping
    gc.collect()
    maps = [m.path for m in psutil.Process().memory_maps()]
    assert str(path) not in maps  # the file is unmapped again
    assert len(maps) <= opened_before + 2


def test_a_cancel_already_set_loads_nothing(path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(LoadCancelledError):
        BitNetModel.load(path, LoadOptions(threads=1), cancel=cancel)


CLOSE_SCRIPT = """
import json, sys, psutil
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
process = psutil.Process()
before = process.memory_info().rss
model = BitNetModel.load(sys.argv[1], LoadOptions(threads=1, head="fast"))
head, loaded = model.native.head_bytes, process.memory_info().rss
model.close()
print(json.dumps({"before": before, "loaded": loaded, "after": process.memory_info().rss, "head": head,
                  "closed": model.native is None and model.gguf.closed}))
"""


def test_close_gives_the_memory_back(path):
    # A fresh process: in this one, glibc's adaptive mmap threshold may keep freed blocks resident.
    out = subprocess.run([sys.executable, "-c", CLOSE_SCRIPT, str(path)], capture_output=True, text=True,
                         timeout=120, check=True)
    m = json.loads(out.stdout)
    assert m["head"] > 15 * 2**20 and m["closed"]
    assert m["loaded"] - m["before"] > m["head"] * 0.8
    assert m["loaded"] - m["after"] > m["head"] * 0.8
