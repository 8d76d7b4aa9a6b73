"""Perplexity follows llama.cpp's windows and agrees with a direct computation."""
import math

import numpy as np
import pytest

from bitnet_desktop.engine.errors import BitNetError, NonFiniteLogitsError
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.runtime.perplexity import perplexity
from tests.engine.runtime.gguf_files import synth


def test_perplexity_matches_a_direct_computation(tmp_path):
    model = BitNetModel.load(synth(tmp_path, shape="tiny", seed=4), LoadOptions(head="exact", context_length=32))
    rng = np.random.default_rng(0)
    tokens = [int(t) for t in rng.integers(0, 700, 100)]
    result = perplexity(lambda ids: model.native.forward(ids, 0, all_logits=True), tokens, 32, 999)
    assert result.windows == 3 and result.scored_tokens == 3 * 15
    nll, hits = [], 0
    for w in range(3):
        window = [999] + tokens[w * 32 + 1:(w + 1) * 32]
        model.native.truncate(0)
        for pos in range(16, 31):
            logits = model.native.forward(window[: pos + 1], 0, all_logits=True)[-1].astype(np.float64)
            logp = logits - logits.max() - math.log(np.exp(logits - logits.max()).sum())
            nll.append(-logp[window[pos + 1]])
            hits += int(np.argmax(logits) == window[pos + 1])
    assert result.perplexity == pytest.approx(math.exp(np.mean(nll)), rel=1e-9)
    assert result.top1_accuracy == hits / 45
    model.close()


def test_text_shorter_than_a_window_is_a_clear_error():
    with pytest.raises(BitNetError, match="fewer than one window of 512"):
        perplexity(lambda ids: None, [1, 2, 3], 512, None)


def test_non_finite_logits_are_a_named_error_not_a_nan_perplexity():
    def forward_all(ids):
        logits = np.zeros((len(ids), 10), np.float32)
        logits[5, 3] = np.nan
        return logits

    with pytest.raises(NonFiniteLogitsError, match="window 1"):
        perplexity(forward_all, list(range(8)), 8, None)


def test_text_is_scored_as_llama_cpp_tokenizes_it_with_bos(tmp_path):
    from bitnet_desktop.engine.runtime.perplexity import text_tokens

    path = synth(tmp_path, shape="tiny", seed=4)
    model = BitNetModel.load(path, LoadOptions(threads=1, head="exact"))
    try:
        text = "The quick brown fox jumps over the lazy dog. " * 40
        assert model.tokenizer.vocabulary.add_bos
        plain = model.tokenizer.encode(text, add_bos=False)
        assert text_tokens(model.tokenizer, text) == [model.tokenizer.bos_id, *plain]
    finally:
        model.close()


def test_the_cli_scores_the_bos_prefixed_stream(tmp_path, capsys):
    import json

    from bitnet_desktop.cli.main import main

    path = synth(tmp_path, shape="tiny", seed=4)
    text = "The quick brown fox jumps over the lazy dog. " * 40
    (tmp_path / "t.txt").write_text(text)
    assert main(["perplexity", str(path), "--text", str(tmp_path / "t.txt"), "--ctx", "32", "--threads", "1",
                 "--json"]) == 0
    reported = json.loads(capsys.readouterr().out)
    model = BitNetModel.load(path, LoadOptions(threads=1, head="exact"))
    try:
        tokens = [model.tokenizer.bos_id, *model.tokenizer.encode(text, add_bos=False)]
        expected = perplexity(lambda ids: model.native.forward(ids, 0, all_logits=True), tokens, 32,
                              model.tokenizer.bos_id)
        shifted = perplexity(lambda ids: model.native.forward(ids, 0, all_logits=True), tokens[1:], 32,
                             model.tokenizer.bos_id)
    finally:
        model.close()
    assert reported["perplexity"] == pytest.approx(expected.perplexity, rel=1e-12)
    assert reported["windows"] == expected.windows
    assert expected.perplexity != pytest.approx(shifted.perplexity, rel=1e-9)  # the BOS shift matters
