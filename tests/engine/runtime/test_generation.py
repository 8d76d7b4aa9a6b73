"""Generation on a real (synthetic) model: seeds, stop tokens and strings, cancellation, KV-cache
prefix reuse between chat turns, and the statistics a GUI shows."""
import threading

import numpy as np
import pytest

from bitnet_desktop.engine.runtime.generation_events import FinishedEvent, PromptProgressEvent, TokenEvent
from bitnet_desktop.engine.runtime.generator import Generator
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams
from tests.engine.runtime.gguf_files import synth


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = synth(tmp_path_factory.mktemp("gen"), shape="small", seed=7)
    m = BitNetModel.load(path, LoadOptions(threads=2, context_length=256))
    yield m
    m.close()


def run(generator, ids, **params):
    events = [e for e in generator.generate(ids, SamplingParams(**params)) if not isinstance(e, PromptProgressEvent)]
    assert isinstance(events[-1], FinishedEvent) and all(isinstance(e, TokenEvent) for e in events[:-1])
    return events[:-1], events[-1]


def fresh(model):
    return Generator(model.native, model.tokenizer, model.generator.stop_token_ids)


def greedy_by_hand(model, ids, n):
    model.native.truncate(0)
    out, logits = [], model.native.forward(ids, 0)
    for _ in range(n):
        token = int(np.argmax(logits))
        out.append(token)
        logits = model.native.forward([token], len(ids) + len(out) - 1)
    return out


def test_greedy_equals_argmax_of_the_forward_pass(model):
    ids = model.tokenizer.encode("The quick brown fox")
    tokens, done = run(fresh(model), ids, temperature=0, max_tokens=12)
    assert done.reason == "max_tokens" and done.token_ids == [t.token_id for t in tokens]
    assert done.token_ids == greedy_by_hand(model, ids, 12)


def test_same_seed_same_tokens_other_seed_other_tokens(model):
    ids = model.tokenizer.encode("Once upon a time")
    runs = [run(fresh(model), ids, temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=s, max_tokens=24)[1].token_ids
            for s in (11, 11, 12)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_stop_token_ends_the_reply_without_showing_it(model):
    ids = model.tokenizer.encode("Stop here")
    expected = greedy_by_hand(model, ids, 5)
    generator = Generator(model.native, model.tokenizer, frozenset({expected[3]}))
    tokens, done = run(generator, ids, temperature=0, max_tokens=50)
    assert done.reason == "eos"
    assert done.token_ids == expected[: expected.index(expected[3])]


def test_stop_string_is_never_shown(model):
    ids = model.tokenizer.encode("Hello")
    _, plain = run(fresh(model), ids, temperature=0, max_tokens=20)
    stop = plain.text[len(plain.text) // 2: len(plain.text) // 2 + 3]
    if not stop.strip():
        pytest.skip("the greedy text has no 3-character stretch to use as a stop string")
    tokens, done = run(fresh(model), ids, temperature=0, max_tokens=20, stop=(stop,))
    assert done.reason == "stop_string"
    shown = "".join(t.text for t in tokens)
    assert stop not in shown and done.text == shown == plain.text[: plain.text.index(stop)]


def test_second_chat_turn_reuses_the_kv_cache(model):
    generator = fresh(model)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
    first_ids = model.chat_format.render_ids(messages)
    _, first = run(generator, first_ids, temperature=0, max_tokens=8)
    assert first.stats.reused_tokens == 0
    messages += [{"role": "assistant", "content": first.text}, {"role": "user", "content": "And then?"}]
    second_ids = model.chat_format.render_ids(messages)
    _, second = run(generator, second_ids, temperature=0, max_tokens=8)
    shared = 0
    while shared < len(first_ids) and first_ids[shared] == second_ids[shared]:
        shared += 1
    assert second.stats.reused_tokens >= shared > 0
    assert second.stats.processed_prompt_tokens == len(second_ids) - second.stats.reused_tokens
    # reusing the cache changes nothing: a fresh generator gives the same reply
    _, again = run(fresh(model), second_ids, temperature=0, max_tokens=8)
    assert again.token_ids == second.token_ids and again.stats.reused_tokens == 0


def test_cancel_from_another_thread_stops_the_generation(model):
    generator = fresh(model)
    ids = model.tokenizer.encode("Count to a thousand")
    seen = []
    done = None
    for event in generator.generate(ids, SamplingParams(temperature=0, max_tokens=200)):
        if isinstance(event, TokenEvent):
            seen.append(event)
            if len(seen) == 3:
                canceller = threading.Thread(target=generator.cancel)
                canceller.start()
                canceller.join()
        elif isinstance(event, FinishedEvent):
            done = event
    assert done.reason == "cancelled" and 3 <= len(seen) < 200
    # the model is usable afterwards and the cache was kept consistent
    _, after = run(generator, ids, temperature=0, max_tokens=4)
    assert after.reason == "max_tokens" and after.token_ids == greedy_by_hand(model, ids, 4)


def test_statistics_are_consistent(model):
    ids = model.tokenizer.encode("Statistics please " * 10)
    tokens, done = run(fresh(model), ids, temperature=0, max_tokens=16)
    s = done.stats
    assert s.prompt_tokens == len(ids) and s.generated_tokens == len(tokens) == 16
    assert 0 < s.time_to_first_token <= tokens[0].seconds + 1e-6
    assert s.prompt_tokens_per_second == pytest.approx(s.processed_prompt_tokens / s.prompt_seconds)
    assert s.generation_tokens_per_second == pytest.approx(15 / s.generation_seconds)


def test_prompt_longer_than_the_context_is_refused(model):
    with pytest.raises(Exception, match="context holds 256"):
        list(fresh(model).generate([1] * 300, SamplingParams()))
