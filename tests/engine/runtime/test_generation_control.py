"""The generator's contract with a GUI: cancel at any moment from another thread (and never into
the next generation), prompt progress in chunks, a failure that ends the stream with the text so
far, finish reasons as an enum, and per-token times since the first token."""
import threading

import numpy as np
import pytest

from bitnet_desktop.engine.runtime.generation_events import (
    FinishedEvent, FinishReason, PromptProgressEvent, TokenEvent)
from bitnet_desktop.engine.runtime.generator import Generator
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams
from tests.engine.runtime.gguf_files import synth


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = synth(tmp_path_factory.mktemp("control"), shape="small", seed=11)
    m = BitNetModel.load(path, LoadOptions(threads=2, context_length=512, max_batch=16))
    yield m
    m.close()


def fresh(model, chunk=None):
    return Generator(model.native, model.tokenizer, frozenset(), prompt_chunk=chunk)


def greedy(max_tokens=6):
    return SamplingParams(temperature=0, max_tokens=max_tokens)


def prompt(model, n=100):
    ids = model.tokenizer.encode("The quick brown fox jumps over the lazy dog. " * 20)
    return ids[:n]


def finished(events):
    done = [e for e in events if isinstance(e, FinishedEvent)]
    assert len(done) == 1 and events[-1] is done[0]
    return done[0]


def test_cancel_before_the_first_event_stops_the_generation(model):
    generator = fresh(model)
    events = generator.generate(prompt(model), greedy(50))
    generator.cancel()
    got = list(events)
    done = finished(got)
    assert done.reason is FinishReason.CANCELLED
    assert not any(isinstance(e, TokenEvent) for e in got)


def test_cancel_during_prompt_processing_stops_it_between_chunks(model):
    generator = fresh(model, chunk=16)
    got = []
    for event in generator.generate(prompt(model, 100), greedy(50)):
        got.append(event)
        if isinstance(event, PromptProgressEvent) and event.done == 32:
            threading.Thread(target=generator.cancel).start()
    done = finished(got)
    assert done.reason is FinishReason.CANCELLED and done.token_ids == []
    progress = [e.done for e in got if isinstance(e, PromptProgressEvent)]
    assert progress[-1] < 100
    # the cache keeps what was processed; the next call reuses it and still gives the right answer
    assert 32 <= generator.cached_tokens <= 48
    again = list(generator.generate(prompt(model, 100), greedy(4)))
    reference = list(fresh(model).generate(prompt(model, 100), greedy(4)))
    assert finished(again).token_ids == finished(reference).token_ids
    assert finished(again).stats.reused_tokens >= 32


def test_a_cancel_after_the_end_does_not_reach_the_next_generation(model):
    generator = fresh(model)
    first = finished(list(generator.generate(prompt(model, 20), greedy(3))))
    assert first.reason is FinishReason.MAX_TOKENS
    generator.cancel()
    assert not model.native.ctx.cancelled
    second = finished(list(generator.generate(prompt(model, 20), greedy(3))))
    assert second.reason is FinishReason.MAX_TOKENS and len(second.token_ids) == 3


def test_prompt_progress_counts_the_new_tokens_in_chunks(model):
    generator = fresh(model, chunk=16)
    got = list(generator.generate(prompt(model, 50), greedy(2)))
    progress = [(e.done, e.total) for e in got if isinstance(e, PromptProgressEvent)]
    assert progress == [(0, 50), (16, 50), (32, 50), (48, 50), (50, 50)]
    first_token = next(i for i, e in enumerate(got) if isinstance(e, TokenEvent))
    assert all(isinstance(e, PromptProgressEvent) for e in got[:first_token])


def test_chunked_prompt_processing_gives_the_same_tokens_and_logits(model):
    ids = prompt(model, 70)
    whole = Generator(model.native, model.tokenizer, frozenset(), prompt_chunk=1000)
    a = finished(list(whole.generate(ids, greedy(8))))
    chunked = fresh(model, chunk=16)
    b = finished(list(chunked.generate(ids, greedy(8))))
    assert a.token_ids == b.token_ids
    model.native.truncate(0)
    reference = model.native.forward(ids, 0)
    model.native.truncate(0)
    model.native.prefill(ids[:16], 0)
    model.native.prefill(ids[16:48], 16)
    assert np.array_equal(model.native.forward(ids[48:], 48), reference)


def test_token_events_carry_the_time_since_the_first_token(model):
    got = list(fresh(model).generate(prompt(model, 30), greedy(6)))
    tokens = [e for e in got if isinstance(e, TokenEvent)]
    assert tokens[0].since_first_token == 0.0
    gaps = [t.since_first_token for t in tokens]
    assert gaps == sorted(gaps) and gaps[-1] > 0
    for t in tokens:
        assert t.seconds - t.since_first_token == pytest.approx(tokens[0].seconds, abs=1e-9)
    assert finished(got).stats.generation_seconds == pytest.approx(gaps[-1])


class FailingModel:
    """The real model, failing on the Nth single-token forward (a disk error, say)."""

    def __init__(self, native, fail_at):
        self.native, self.fail_at, self.calls = native, fail_at, 0
        self.max_context = native.max_context

    def __getattr__(self, name):
        return getattr(self.native, name)

    def forward(self, tokens, pos, all_logits=False):
        if len(tokens) == 1:
            self.calls += 1
            if self.calls == self.fail_at:
                raise OSError("the model file went away")
        return self.native.forward(tokens, pos, all_logits)


def test_a_failure_mid_stream_ends_with_the_error_and_the_text_so_far(model):
    generator = Generator(FailingModel(model.native, fail_at=3), model.tokenizer, frozenset())
    got = list(generator.generate(prompt(model, 20), greedy(10)))
    done = finished(got)
    tokens = [e for e in got if isinstance(e, TokenEvent)]
    assert done.reason is FinishReason.ERROR and isinstance(done.error, OSError)
    assert len(tokens) == 3 and done.token_ids == [t.token_id for t in tokens]
    assert done.text.startswith("".join(t.text for t in tokens))
    # the cache is consistent afterwards: a plain run reuses it and gives the reference tokens
    generator.model = model.native
    again = finished(list(generator.generate(prompt(model, 20), greedy(4))))
    assert again.token_ids == finished(list(fresh(model).generate(prompt(model, 20), greedy(4)))).token_ids


def test_finish_reasons_are_an_enum_that_reads_as_its_value():
    assert FinishReason("eos") is FinishReason.EOS
    assert FinishReason.CANCELLED == "cancelled" and f"{FinishReason.CANCELLED}" == "cancelled"
    assert str(FinishReason.ERROR) == "error"


def test_a_new_generation_abandons_an_unstarted_one(model):
    generator = fresh(model)
    old = generator.generate(prompt(model, 10), greedy(2))
    new = finished(list(generator.generate(prompt(model, 10), greedy(2))))
    assert new.reason is FinishReason.MAX_TOKENS
    stale = finished(list(old))
    assert stale.reason is FinishReason.ERROR and "replaced" in str(stale.error)
