"""Base models (no chat template, no known chat format) load and generate: `chat_format is None`,
`is_base_model`, text tokenized as written, and the same stop tokens from the vocabulary as a chat model."""
import subprocess
import sys

import numpy as np
import pytest

from bitnet_desktop.engine.chat import NoChatFormatError, require_chat_format, stop_token_ids
from bitnet_desktop.engine.gguf import GGUFArray, ValueType, open_gguf
from bitnet_desktop.engine.runtime.generation_events import FinishedEvent, PromptProgressEvent, TokenEvent
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams
from tests.engine.runtime.gguf_files import rewrite, synth

OPTIONS = LoadOptions(threads=1, context_length=128)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base")
    chat = synth(folder, "chat.gguf", shape="tiny", arch="bitnet", fmt="tq2_0", seed=3)
    return {
        "chat": chat,
        "base": rewrite(chat, folder / "base.gguf", drop_meta=("tokenizer.chat_template",)),
        "spm": synth(folder, "spm.gguf", shape="tiny", arch="bitnet", fmt="tq1_0", tokenizer="llama", seed=4),
    }


def greedy(model, ids, max_tokens=8):
    events = [e for e in model.generator.generate(ids, SamplingParams(temperature=0, max_tokens=max_tokens))
              if not isinstance(e, PromptProgressEvent)]
    assert isinstance(events[-1], FinishedEvent) and all(isinstance(e, TokenEvent) for e in events[:-1])
    return events[-1]


@pytest.mark.parametrize("name", ["base", "spm"])
def test_a_file_without_a_chat_template_loads_as_a_base_model(files, name):
    model = BitNetModel.load(files[name], OPTIONS)
    try:
        assert model.chat_format is None and model.is_base_model
        assert model.generator.stop_token_ids == stop_token_ids(model.tokenizer)
        assert model.tokenizer.eos_id in model.generator.stop_token_ids
        ids = model.tokenizer.encode("Once upon a time")
        assert ids[0] == model.tokenizer.bos_id  # both vocabularies say add_bos_token = true
        done = greedy(model, ids)
        assert done.reason == "max_tokens" and len(done.token_ids) == 8
    finally:
        model.close()


def test_a_base_model_generates_what_the_same_weights_with_a_template_generate(files):
    chat, base = BitNetModel.load(files["chat"], OPTIONS), BitNetModel.load(files["base"], OPTIONS)
    try:
        assert not chat.is_base_model and chat.chat_format is not None
        assert base.generator.stop_token_ids == chat.generator.stop_token_ids
        ids = base.tokenizer.encode("The quick brown fox")
        assert ids == chat.tokenizer.encode("The quick brown fox")
        assert greedy(base, ids).token_ids == greedy(chat, ids).token_ids
        logits = base.native.forward(ids, 0)
        assert np.isfinite(logits).all()
    finally:
        chat.close()
        base.close()


def test_a_base_model_stops_on_an_end_of_turn_token_its_vocabulary_names(files, tmp_path):
    """The token greedy decoding reaches is renamed <|im_end|> in the file: generation ends there, found
    by text in the vocabulary, with nothing set by hand."""
    model = BitNetModel.load(files["base"], OPTIONS)
    ids = model.tokenizer.encode("Once upon a time")
    free_running = greedy(model, ids, 24).token_ids
    specials = range(model.tokenizer.vocab_size - 256, model.tokenizer.vocab_size)
    model.close()
    index, token = next((i, t) for i, t in enumerate(free_running) if t in specials)
    with open_gguf(files["base"]) as g:
        tokens = list(g.metadata["tokenizer.ggml.tokens"])
    assert tokens[token].startswith("<|reserved_special_token_")  # a control token no merge uses
    tokens[token] = "<|im_end|>"
    renamed = rewrite(files["base"], tmp_path / "im_end.gguf", meta={
        "tokenizer.ggml.tokens": (ValueType.ARRAY, GGUFArray(ValueType.STRING, tokens))})
    model = BitNetModel.load(renamed, OPTIONS)
    try:
        assert token in model.generator.stop_token_ids
        done = greedy(model, ids, 24)
        assert done.reason == "eos" and done.token_ids == free_running[:index]
    finally:
        model.close()


def test_a_chat_only_operation_on_a_base_model_is_a_clear_error(files):
    model = BitNetModel.load(files["base"], OPTIONS)
    try:
        with pytest.raises(NoChatFormatError, match="answering a conversation needs a chat format.*base model"):
            require_chat_format(model.chat_format, "answering a conversation")
    finally:
        model.close()


def test_a_base_model_session_never_imports_jinja(files):
    # Jinja costs ~9 MiB resident; a file without a template never needs it.
    code = ("import sys\n"
            "from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions\n"
            "from bitnet_desktop.engine.sampling import SamplingParams\n"
            f"m = BitNetModel.load({str(files['base'])!r}, LoadOptions(threads=1, context_length=64))\n"
            "assert m.is_base_model\n"
            "list(m.generator.generate(m.tokenizer.encode('Hi'), SamplingParams(max_tokens=2)))\n"
            "assert 'jinja2' not in sys.modules, 'jinja2 was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
