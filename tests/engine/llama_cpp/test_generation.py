"""Chatting with an ordinary GGUF through the same interface as our engine: the file's template
rendered, generation events and stats, stop tokens and strings, cancel before / during / after a
generation, and the forward pass itself checked against llama-cpp-python's own Llama class."""
import threading

import numpy as np
import pytest
from llama_cpp import Llama

from bitnet_desktop.engine.errors import CancelledError
from bitnet_desktop.engine.runtime.generation_events import (FinishedEvent, FinishReason, PromptProgressEvent,
                                                             TokenEvent)
from bitnet_desktop.engine.runtime.loader import load_model
from bitnet_desktop.engine.runtime.model import LoadOptions
from bitnet_desktop.engine.sampling import Sampler, SamplingParams
from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there, how are you?"}]


@pytest.fixture(scope="module")
def model(ordinary_path):
    # Chunks of 16 prompt tokens: a chat prompt takes several, as a long prompt would at 128.
    loaded = load_model(ordinary_path, LoadOptions(threads=1, context_length=256, max_batch=16))
    yield loaded
    loaded.close()


def _events(model, ids, params):
    return list(model.generator.generate(ids, params))


def test_the_files_template_renders_in_the_engines_chat_format(model):
    assert model.chat_format.render_text(CHAT) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello there, how are you?<|im_end|>\n"
        "<|im_start|>assistant\n")
    ids = model.chat_format.render_ids(CHAT)
    tok = model.tokenizer
    assert ids[0] == tok.bos_id and ids[1] == tok.token_id("<|im_start|>")
    assert ids.count(tok.token_id("<|im_end|>")) == 2
    assert tok.token_id("<|im_end|>") in model.generator.stop_token_ids
    assert {tok.eos_id, tok.token_id("<|eot_id|>")} <= model.generator.stop_token_ids


def test_a_generation_streams_tokens_and_ends_with_stats(model):
    ids = model.chat_format.render_ids(CHAT)
    events = _events(model, ids, SamplingParams(temperature=0.7, seed=4, max_tokens=8))
    progress = [e for e in events if isinstance(e, PromptProgressEvent)]
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    finished = events[-1]
    assert isinstance(finished, FinishedEvent) and finished.reason == FinishReason.MAX_TOKENS
    assert progress[-1].done == progress[-1].total == len(ids) and len(progress) >= 3  # chunks of 16
    assert [e.index for e in tokens] == list(range(8)) and finished.token_ids == [e.token_id for e in tokens]
    assert finished.text == "".join(e.text for e in tokens) == model.tokenizer.decode(finished.token_ids)
    stats = finished.stats
    assert stats.prompt_tokens == len(ids) and stats.generated_tokens == 8
    assert stats.time_to_first_token > 0 and stats.prompt_tokens_per_second > 0
    assert stats.generation_tokens_per_second > 0


def test_sampling_is_the_engines_sampler_on_llama_cpps_logits(model):
    """The same seed and logits give the tokens our engine's Sampler picks: replayed by hand here."""
    ids = model.chat_format.render_ids(CHAT)
    params = SamplingParams(temperature=0.9, top_k=20, seed=11, max_tokens=6, repetition_penalty=1.1)
    generated = _events(model, ids, params)[-1].token_ids
    sampler = Sampler(params)
    sampler.accept_many(ids)
    context, expected = list(ids), []
    for _ in range(6):
        token = sampler.sample(model.native.forward(context, 0))
        expected.append(token)
        context.append(token)
    assert generated == expected


def test_a_follow_up_reuses_the_cache_and_matches_a_fresh_run(model, ordinary_path):
    params = SamplingParams(temperature=0.0, max_tokens=5)
    first = model.chat_format.render_ids(CHAT)
    answer = _events(model, first, params)[-1]
    follow_up = model.chat_format.render_ids(CHAT + [{"role": "assistant", "content": answer.text},
                                                     {"role": "user", "content": "And then?"}])
    reused = _events(model, follow_up, params)[-1]
    assert reused.stats.reused_tokens >= len(first)
    fresh_model = load_model(ordinary_path, LoadOptions(threads=1, context_length=256, max_batch=64))
    try:
        fresh = _events(fresh_model, follow_up, params)[-1]
    finally:
        fresh_model.close()
    assert fresh.stats.reused_tokens == 0 and fresh.token_ids == reused.token_ids


def test_logits_equal_llama_cpp_pythons_own(tmp_path):
    """Positions, chunking and cache handling checked against Llama.eval on the same file. F16: the
    Llama class keeps llama.cpp's AMX buffers, whose Q8_0 path dies with SIGILL on some machines
    (see llama_cpp.library.repacked_weights_are_safe)."""
    path = write_ordinary_gguf(tmp_path / "f16.gguf", fmt="f16")
    model = load_model(path, LoadOptions(threads=1, context_length=256, max_batch=16))
    try:
        ids = model.chat_format.render_ids(CHAT)
        ours = model.native.forward(ids, 0, all_logits=True)
        last = model.native.forward(ids[-5:], len(ids) - 5)  # the cache holds ids: only the tail runs again
    finally:
        model.close()
    llm = Llama(str(path), n_ctx=256, n_batch=256, n_threads=1, logits_all=True, verbose=False)
    try:
        llm.eval(ids)
        theirs = np.array(llm.scores[:len(ids)], dtype=np.float32)
    finally:
        llm.close()
    assert ours.shape == theirs.shape == (len(ids), 1024)
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()
    # Measured 0.009 (chunks of 16 against one batch round the activations differently) on logits of
    # std 11: a wrong position, a stale or missing cache entry moves them by whole units.
    np.testing.assert_allclose(ours, theirs, atol=0.05)
    np.testing.assert_allclose(last, ours[-1], atol=1e-4)


def test_a_model_stops_on_its_end_of_turn_token(tmp_path):
    model = load_model(write_ordinary_gguf(tmp_path / "stops.gguf", eot_first=True), LoadOptions(threads=1))
    try:
        events = _events(model, model.chat_format.render_ids(CHAT), SamplingParams(temperature=0.0))
    finally:
        model.close()
    assert events[-1].reason == FinishReason.EOS and events[-1].token_ids == [] and events[-1].text == ""


def test_a_stop_string_ends_the_answer_before_it(model):
    ids = model.chat_format.render_ids(CHAT)
    free = _events(model, ids, SamplingParams(temperature=0.0, max_tokens=12))[-1].text
    stop = free[len(free) // 2:len(free) // 2 + 2]
    assert stop.strip(), free
    stopped = _events(model, ids, SamplingParams(temperature=0.0, max_tokens=12, stop=(stop,)))[-1]
    assert stopped.reason == FinishReason.STOP_STRING and stopped.text == free[:free.index(stop)]


def test_cancel_mid_generation_keeps_the_text_so_far(model):
    ids = model.chat_format.render_ids(CHAT)
    events = []
    for event in model.generator.generate(ids, SamplingParams(temperature=0.0, max_tokens=50)):
        events.append(event)
        if isinstance(event, TokenEvent) and event.index == 2:  # cancelled from another thread, as the window does
            canceller = threading.Thread(target=model.generator.cancel)
            canceller.start()
            canceller.join()
    finished = events[-1]
    assert finished.reason == FinishReason.CANCELLED and len(finished.token_ids) == 3
    assert model.generator.cached_tokens == model.native.kv_length


def test_cancel_during_prompt_processing_and_after_the_end(model):
    ids = model.chat_format.render_ids(CHAT)
    model.generator.reset()
    events = []
    for event in model.generator.generate(ids, SamplingParams(temperature=0.0, max_tokens=5)):
        events.append(event)
        if isinstance(event, PromptProgressEvent) and event.done == 16:
            model.generator.cancel()
    assert events[-1].reason == FinishReason.CANCELLED and events[-1].token_ids == []
    assert model.generator.cached_tokens == model.native.kv_length == 16  # the chunks done are kept

    model.generator.cancel()  # nothing is running: a no-op that never reaches the next generation
    assert _events(model, ids, SamplingParams(temperature=0.0, max_tokens=5))[-1].reason == FinishReason.MAX_TOKENS


def test_a_cancel_inside_a_chunk_is_honoured_by_llama_cpp(model):
    """The abort callback: llama.cpp stops between graph nodes and drops the chunk's positions."""
    ids = model.chat_format.render_ids(CHAT)
    model.native.truncate(0)
    model.native.prefill(ids[:16], 0)
    model.native.cancel()
    try:
        with pytest.raises(CancelledError):
            model.native._decode(ids[16:32], outputs="last")  # past the check between chunks
    finally:
        model.native.clear_cancel()
    assert model.native.kv_length == 16
    after = model.native.forward(ids[16:], 16)
    np.testing.assert_allclose(after, model.native.forward(ids, 0), atol=1e-4)


def test_a_state_that_cannot_be_cut_back_is_rebuilt_by_feeding_the_kept_tokens(model):
    """The recurrent models' path (llama.cpp refuses to remove their positions), run on this model."""
    ids = model.chat_format.render_ids(CHAT)
    expected = model.native.forward(ids, 0)
    model.native.forward(ids + [5, 6, 7], 0)
    model.native._rewind_by_replay(len(ids) - 1)
    assert model.native.kv_length == len(ids) - 1
    np.testing.assert_allclose(model.native.forward(ids[-1:], len(ids) - 1), expected, atol=1e-4)
