"""Base models through the real CLI: `generate` with ids or text, `perplexity`, and `chat`, which says
the model is a base model and offers plain continuation on a text-completion document."""
import json
import os
import re
import subprocess
import sys

import pytest

from bitnet_desktop.chats.store import ConversationStore
from bitnet_desktop.engine.runtime.generation_events import FinishedEvent
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams
from bitnet_desktop.paths import database_path
from tests.cli.test_info import run_cli
from tests.engine.runtime.gguf_files import rewrite, synth


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """llama.cpp-layout files (arch bitnet) without a chat template: byte-level BPE (TQ2_0) and
    SentencePiece (TQ1_0), and the TQ2_0 file's twin with a template."""
    folder = tmp_path_factory.mktemp("base-cli")
    chat = synth(folder, "chat.gguf", shape="tiny", arch="bitnet", fmt="tq2_0", seed=3)
    return {
        "chat": chat,
        "tq2_0": rewrite(chat, folder / "base-tq2_0.gguf", drop_meta=("tokenizer.chat_template",)),
        "tq1_0": synth(folder, "base-tq1_0.gguf", shape="tiny", arch="bitnet", fmt="tq1_0", tokenizer="llama", seed=4),
    }


def generate(path, *args):
    result = run_cli("generate", str(path), "--threads", "1", "--max-tokens", "6", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", ["tq2_0", "tq1_0"])
def test_generate_with_prompt_ids_on_a_base_model(files, name):
    out = generate(files[name], "--prompt-ids", "1,2,3,4")
    assert out["prompt_ids"] == [1, 2, 3, 4] and len(out["token_ids"]) == 6 and out["stop_reason"] == "max_tokens"


def test_a_base_model_generates_what_its_chat_twin_generates(files):
    ids = ("--prompt-ids", "5,6,7,8,9")
    assert generate(files["tq2_0"], *ids)["token_ids"] == generate(files["chat"], *ids)["token_ids"]


@pytest.mark.parametrize("name", ["tq2_0", "tq1_0"])
def test_a_text_prompt_on_a_base_model_is_tokenized_as_written_with_bos(files, name):
    model = BitNetModel.load(files[name], LoadOptions(threads=1))
    expected = model.tokenizer.encode("Once upon a time")
    bos = model.tokenizer.bos_id
    model.close()
    out = generate(files[name], "--prompt", "Once upon a time")
    assert out["prompt_ids"] == expected and expected[0] == bos and expected.count(bos) == 1


def test_the_load_line_says_base_model(files):
    result = run_cli("generate", str(files["tq2_0"]), "--threads", "1", "--max-tokens", "2", "--prompt", "Hi")
    assert result.returncode == 0, result.stderr
    assert "(bitnet, 2 layers, base model)" in result.stderr


@pytest.mark.parametrize("name", ["tq2_0", "tq1_0"])
def test_perplexity_on_a_base_model(files, name, tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("The quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    result = run_cli("perplexity", str(files[name]), "--text", str(text), "--ctx", "64", "--threads", "1", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["windows"] >= 2 and out["perplexity"] > 1


def chat(path, data_dir, *args, stdin=""):
    result = subprocess.run([sys.executable, "-m", "bitnet_desktop", "chat", str(path), "--data-dir",
                             str(data_dir), "--threads", "1", *args],
                            input=stdin.encode(), capture_output=True, timeout=120, env=dict(os.environ))
    return result.returncode, result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace")


def stored_document(data_dir, document_id):
    with ConversationStore.open(database_path(data_dir)) as store:
        return store.documents.document(document_id)


def test_chat_on_a_base_model_offers_plain_continuation_saved_as_a_document(files, tmp_path):
    rc, out, err = chat(files["tq2_0"], tmp_path, "--max-tokens", "5", "--temperature", "0", "--system", "Be brief.",
                        stdin="Once upon a time\n\n there was\n/exit\n")
    assert rc == 0, err
    assert "is a base model" in err and "plain continuation" in err and "--system is ignored" in err
    assert out.count("model> ") == 3 and "assistant> " not in out
    assert len(re.findall(r"\[\d+ new prompt tokens", err)) == 3
    document_id = int(re.search(r"document (\d+) \(resume with --resume \1\)", err).group(1))
    document = stored_document(tmp_path, document_id)
    model = BitNetModel.load(files["tq2_0"], LoadOptions(threads=1))
    try:
        events = model.generator.generate(model.tokenizer.encode("Once upon a time"),
                                          SamplingParams(temperature=0, max_tokens=5))
        first = [e for e in events if isinstance(e, FinishedEvent)][0].text
    finally:
        model.close()
    # the typed text, the model's continuation of exactly it, an empty line's further continuation, typed text
    assert document.text.startswith("Once upon a time" + first) and " there was" in document.text
    assert document.title.startswith("Once upon a time")

    rc, out, err = chat(files["tq2_0"], tmp_path, "--resume", str(document_id), stdin="/text\n/exit\n")
    assert rc == 0, err
    assert document.text in out                  # /text shows the whole text
    assert stored_document(tmp_path, document_id).text == document.text


def test_retry_writes_the_last_continuation_again_instead_of_adding_one(files, tmp_path):
    rc, out, err = chat(files["tq1_0"], tmp_path, "--max-tokens", "4", "--temperature", "1.0", "--seed", "2",
                        stdin="Once upon a time\n/retry\n/retry\n/exit\n")
    assert rc == 0, err
    assert out.count("model> ") == 3 and out.endswith("\nyou> ")   # the last prompt: /exit
    document_id = int(re.search(r"document (\d+) \(resume", err).group(1))
    last = out.split("model> ")[-1][:-len("\nyou> ")]
    assert stored_document(tmp_path, document_id).text == "Once upon a time" + last


def test_resume_with_a_base_model_names_a_document_and_with_a_chat_model_a_conversation(files, tmp_path):
    chats, texts = tmp_path / "chats", tmp_path / "texts"
    with ConversationStore.open(database_path(chats)) as store:
        conversation_id = store.create_conversation("A chat").id
    with ConversationStore.open(database_path(texts)) as store:
        document_id = store.documents.create_document(text="Some text").id
    rc, _, err = chat(files["tq2_0"], chats, "--resume", str(conversation_id), stdin="/exit\n")
    assert rc == 2 and f"there is no document {conversation_id}" in err and "is a conversation" in err
    rc, _, err = chat(files["chat"], texts, "--resume", str(document_id), stdin="/exit\n")
    assert rc == 2 and f"there is no conversation {document_id}" in err and "text-completion document" in err


def test_reset_starts_a_new_text_and_empty_texts_are_not_kept(files, tmp_path):
    rc, _, err = chat(files["tq1_0"], tmp_path, "--max-tokens", "2", "--seed", "5",
                      stdin="/reset\nA first text\n/reset\n/exit\n")
    assert rc == 0, err
    assert err.count("is empty; not kept") == 2
    with ConversationStore.open(database_path(tmp_path)) as store:
        (kept,) = store.documents.documents()
    assert kept.text.startswith("A first text") and kept.sampling == {"max_tokens": 2, "seed": 5}
