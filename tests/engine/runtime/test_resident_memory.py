"""Fast mode gives the f16 head's pages back after building the int8 copy from them, and the
embedding table stays out of the resident set whenever the head does not stream it."""
import subprocess
import sys

import numpy as np
import pytest

from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from tests.engine.runtime.gguf_files import synth
from tests.mapped_memory import mapped_rss

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")


@linux_only
def test_release_pages_drops_a_tensor_and_keeps_its_data(tmp_path):
    path = synth(tmp_path, shape="small")
    with open_gguf(path) as g:
        embd = g.tensors["token_embd.weight"]
        checksum = int(embd.data.astype(np.uint64).sum())
        before = mapped_rss(path)
        assert g.release_pages("token_embd.weight")
        after = mapped_rss(path)
        assert before - after >= embd.nbytes - 2 * 4096
        assert int(embd.data.astype(np.uint64).sum()) == checksum  # faulted back in, unchanged


def look_up_every_row(model) -> None:
    vocab = model.spec.vocab_size
    order = np.random.default_rng(0).permutation(vocab)
    for start in range(0, vocab, 64):
        model.native.prefill(order[start:start + 64], 0)


# Fast mode (tied): the int8 head was built from the table, then only rows are needed. Exact
# mode with an untied head: the head streams output.weight, never token_embd.
@linux_only
@pytest.mark.parametrize("shape, head", [("small", "fast"), ("tiny-untied", "exact")])
def test_the_embedding_table_stays_out_when_the_head_does_not_stream_it(tmp_path, shape, head):
    path = synth(tmp_path, shape=shape)
    with open_gguf(path) as g:
        table_bytes = g.tensors["token_embd.weight"].nbytes
    model = BitNetModel.load(path, LoadOptions(head=head, context_length=64))
    try:
        look_up_every_row(model)  # through the mapping, this faulted the whole table back in
        model.native.forward([1, 2, 3], 0)
        assert mapped_rss(path) < (path.stat().st_size - table_bytes) + 64 * 4096
    finally:
        model.close()


def test_a_bitnet_session_never_imports_jinja(tmp_path):
    # Jinja costs ~9 MiB resident; only models with a GGUF chat template need it.
    path = synth(tmp_path, shape="tiny", arch="bitnet-b1.58")
    code = ("import sys\n"
            "from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions\n"
            f"m = BitNetModel.load({str(path)!r}, LoadOptions(context_length=64))\n"
            "m.chat_format.render_ids([{'role': 'user', 'content': 'Hi'}])\n"
            "assert 'jinja2' not in sys.modules, 'jinja2 was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
