"""Sampler (llama.cpp's filter chain), repetition penalty and stop strings.

Statistical checks draw many samples from a fixed seed, so they are deterministic; tolerances are ~4.5 standard
deviations of the sample frequency, i.e. a correct sampler never fails them and a wrong filter always does.
"""

from __future__ import annotations

import math
import time
from collections import Counter

import numpy as np
import pytest

from bitnet_desktop.engine.errors import BitNetError, NonFiniteLogitsError
from bitnet_desktop.engine.sampling import (
    Sampler,
    SamplingParams,
    StopStringMatcher,
    apply_repetition_penalty,
)

PROBABILITIES = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
LOGITS = np.log(PROBABILITIES).astype(np.float32)
NO_FILTERS = dict(top_k=0, top_p=1.0, min_p=0.0, temperature=1.0)


def _frequencies(params: SamplingParams, logits=LOGITS, draws: int = 6_000) -> np.ndarray:
    sampler = Sampler(params)
    counts = Counter(sampler.sample(logits) for _ in range(draws))
    return np.array([counts.get(i, 0) / draws for i in range(len(logits))])


def _expected(probabilities) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    return probabilities / probabilities.sum()


# ---- greedy -------------------------------------------------------------------------------------------------


def test_greedy_takes_the_argmax_and_the_lowest_id_on_ties():
    sampler = Sampler(SamplingParams(temperature=0.0))
    assert sampler.sample(np.array([0.1, 2.0, -1.0, 2.0], dtype=np.float32)) == 1
    assert Sampler(SamplingParams(temperature=-1.0)).sample(LOGITS) == 0


def test_greedy_ignores_the_random_filters():
    logits = np.array([0.0, 5.0, 4.9], dtype=np.float32)
    for seed in range(20):
        assert Sampler(SamplingParams(temperature=0.0, top_k=1, seed=seed)).sample(logits) == 1


# ---- determinism --------------------------------------------------------------------------------------------


def _draws(params: SamplingParams, logits: np.ndarray, n: int) -> list[int]:
    sampler = Sampler(params)
    return [sampler.sample(logits) for _ in range(n)]


def test_same_seed_gives_the_same_tokens():
    logits = np.random.default_rng(0).standard_normal(128256).astype(np.float32) * 4
    first = _draws(SamplingParams(seed=42), logits, 200)
    assert _draws(SamplingParams(seed=42), logits, 200) == first
    assert _draws(SamplingParams(seed=43), logits, 200) != first
    assert len(set(first)) > 1


def test_unseeded_sampler_reports_a_seed_that_reproduces_it():
    logits = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    first = Sampler(SamplingParams(**NO_FILTERS))
    tokens = [first.sample(logits) for _ in range(100)]
    replay = Sampler(SamplingParams(**NO_FILTERS, seed=first.seed))
    assert [replay.sample(logits) for _ in range(100)] == tokens


# ---- each filter on a hand-made distribution ----------------------------------------------------------------


def test_no_filters_reproduces_the_softmax():
    np.testing.assert_allclose(_frequencies(SamplingParams(**NO_FILTERS, seed=1)), PROBABILITIES, atol=0.03)


def test_top_k_keeps_the_k_best_and_renormalizes():
    params = SamplingParams(**{**NO_FILTERS, "top_k": 2}, seed=2)
    np.testing.assert_allclose(_frequencies(params), _expected([0.4, 0.3, 0, 0, 0]), atol=0.03)


def test_top_k_ties_at_the_cut_go_to_the_lowest_ids():
    params = SamplingParams(**{**NO_FILTERS, "top_k": 2}, seed=3)
    frequencies = _frequencies(params, np.array([0.0, 1.0, 1.0, 1.0], dtype=np.float32), draws=2000)
    assert frequencies[3] == 0 and frequencies[0] == 0 and frequencies[1] > 0.4 and frequencies[2] > 0.4


@pytest.mark.parametrize(
    ("top_p", "kept"),
    [(0.0, [1, 0, 0, 0, 0]), (0.35, [1, 0, 0, 0, 0]), (0.65, [1, 1, 0, 0, 0]), (0.75, [1, 1, 1, 0, 0]),
     (0.9, [1, 1, 1, 1, 0]), (0.99, [1, 1, 1, 1, 1])],
)
def test_top_p_keeps_the_shortest_prefix_reaching_p(top_p, kept):
    params = SamplingParams(**{**NO_FILTERS, "top_p": top_p}, seed=4)
    expected = _expected(PROBABILITIES * np.array(kept))
    np.testing.assert_allclose(_frequencies(params), expected, atol=0.03)


@pytest.mark.parametrize(("min_p", "kept"), [(0.3, [1, 1, 1, 0, 0]), (0.5, [1, 1, 0, 0, 0]), (0.2, [1, 1, 1, 1, 0])])
def test_min_p_keeps_tokens_at_least_min_p_times_the_best(min_p, kept):
    # thresholds: 0.3*0.4 = 0.12, 0.5*0.4 = 0.2, 0.2*0.4 = 0.08
    params = SamplingParams(**{**NO_FILTERS, "min_p": min_p}, seed=5)
    np.testing.assert_allclose(_frequencies(params), _expected(PROBABILITIES * np.array(kept)), atol=0.03)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_temperature_sharpens_or_flattens(temperature):
    params = SamplingParams(**{**NO_FILTERS, "temperature": temperature}, seed=6)
    np.testing.assert_allclose(_frequencies(params), _expected(PROBABILITIES ** (1 / temperature)), atol=0.03)


def test_top_p_and_min_p_act_before_temperature():
    # At temperature 5 the distribution is nearly flat; if it were applied first, top-p 0.65 would keep 4 tokens.
    params = SamplingParams(top_k=0, top_p=0.65, min_p=0.0, temperature=5.0, seed=7)
    frequencies = _frequencies(params, draws=4000)
    assert frequencies[2:].sum() == 0
    expected_pair = _expected([0.4 ** 0.2, 0.3 ** 0.2])
    np.testing.assert_allclose(frequencies[:2], expected_pair, atol=0.03)
    params = SamplingParams(top_k=0, top_p=1.0, min_p=0.5, temperature=5.0, seed=8)
    assert _frequencies(params, draws=4000)[2:].sum() == 0


def test_whole_vocabulary_top_p_matches_a_full_sort():
    logits = np.random.default_rng(9).standard_normal(128256).astype(np.float32) * 2
    order = np.argsort(-logits, kind="stable")
    probabilities = np.exp(logits[order] - logits.max())
    cumulative = np.cumsum(probabilities / probabilities.sum())
    allowed = set(order[: int(np.searchsorted(cumulative, 0.5)) + 1].tolist())
    draws = _draws(SamplingParams(top_k=0, top_p=0.5, min_p=0.0, temperature=1.0, seed=10), logits, 300)
    assert len(allowed) > 1000
    assert set(draws) <= allowed and len(set(draws)) > 200


# ---- repetition penalty ---------------------------------------------------------------------------------------


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits():
    logits = np.array([2.0, -1.0, 3.0, 0.0, -2.0], dtype=np.float32)
    penalized = apply_repetition_penalty(logits, [0, 1, 1, 1, 3, 99], 1.25)
    np.testing.assert_array_equal(penalized, np.array([1.6, -1.25, 3.0, 0.0, -2.0], dtype=np.float32))
    assert logits[0] == 2.0  # input untouched


def test_repetition_penalty_applies_to_the_last_n_tokens_only():
    logits = np.array([2.0, 1.9, 1.0, 1.0], dtype=np.float32)
    sampler = Sampler(SamplingParams(temperature=0.0, repetition_penalty=1.2, repetition_window=2))
    sampler.accept_many([0, 2])
    assert sampler.sample(logits) == 1             # 0 is penalized: 2.0 / 1.2 < 1.9
    sampler = Sampler(SamplingParams(temperature=0.0, repetition_penalty=1.2, repetition_window=2))
    sampler.accept_many([0, 2, 3])                 # 0 left the window
    assert sampler.sample(logits) == 0


def test_sampled_tokens_enter_the_penalty_window():
    logits = np.array([1.0, 0.95], dtype=np.float32)
    sampler = Sampler(SamplingParams(temperature=0.0, repetition_penalty=1.5, repetition_window=1))
    assert [sampler.sample(logits) for _ in range(4)] == [0, 1, 0, 1]


# ---- input checks and speed ---------------------------------------------------------------------------------


def test_non_finite_logits_are_a_named_engine_error():
    sampler = Sampler(SamplingParams(seed=0))
    with pytest.raises(NonFiniteLogitsError, match="NaN"):
        sampler.sample(np.array([0.0, np.nan], dtype=np.float32))
    with pytest.raises(NonFiniteLogitsError, match=r"\+inf"):
        sampler.sample(np.array([np.inf, 0.0], dtype=np.float32))
    with pytest.raises(NonFiniteLogitsError, match="-inf"):
        sampler.sample(np.full(4, -np.inf, dtype=np.float32))
    assert issubclass(NonFiniteLogitsError, BitNetError)


def test_bad_inputs_are_value_errors():
    sampler = Sampler(SamplingParams(seed=0))
    with pytest.raises(ValueError, match="1-D"):
        sampler.sample(np.zeros((2, 2), dtype=np.float32))
    for bad in [dict(top_p=-0.1), dict(min_p=1.5), dict(repetition_penalty=0.0), dict(repetition_window=-1),
                dict(max_tokens=0), dict(temperature=math.inf), dict(stop=[""]), dict(seed=-1)]:
        with pytest.raises(ValueError):
            SamplingParams(**bad)


def _median_ms(params: SamplingParams, logits: np.ndarray) -> float:
    sampler = Sampler(params)
    sampler.accept_many(range(64))
    times = []
    for _ in range(60):
        start = time.perf_counter()
        sampler.sample(logits)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1000


def test_sampling_128256_logits_is_fast():
    logits = np.random.default_rng(11).standard_normal(128256).astype(np.float32) * 3
    assert _median_ms(SamplingParams(seed=1, repetition_penalty=1.1), logits) < 2.0
    assert _median_ms(SamplingParams(seed=1, top_k=0, top_p=0.95), logits) < 4.0


# ---- stop strings -------------------------------------------------------------------------------------------


def _stream(matcher: StopStringMatcher, pieces: list[str]) -> tuple[str, str | None]:
    shown = []
    for piece in pieces:
        check = matcher.push(piece)
        shown.append(check.text)
        if check.stopped:
            return "".join(shown), check.stop_string
    return "".join(shown) + matcher.finish(), None


def test_stop_string_split_across_tokens_is_never_shown():
    matcher = StopStringMatcher(["</answer>"])
    first = matcher.push("Hello </an")
    assert first.text == "Hello " and not first.stopped
    second = matcher.push("swer> more")
    assert second.stopped and second.text == "" and second.stop_string == "</answer>"
    assert matcher.push("anything").text == ""


def test_held_text_is_released_when_it_stops_being_a_stop_prefix():
    matcher = StopStringMatcher(["<|user|>"])
    assert matcher.push("a <").text == "a "
    assert matcher.push("b").text == "<b"


def test_finish_releases_a_held_tail():
    assert _stream(StopStringMatcher(["</answer>"]), ["x </ans"]) == ("x </ans", None)


def test_the_stop_string_completing_first_wins():
    assert _stream(StopStringMatcher(["abcd", "bc"]), ["abcd"]) == ("a", "bc")
    assert _stream(StopStringMatcher(["User:", "\n\n"]), ["Sure", ".\n", "\nUser:"]) == ("Sure.", "\n\n")


def test_overlapping_prefixes_are_handled_one_character_at_a_time():
    assert _stream(StopStringMatcher(["aab"]), list("aaab")) == ("a", "aab")
    assert _stream(StopStringMatcher(["aab"]), list("aaac")) == ("aaac", None)


def test_no_stop_strings_passes_text_through():
    matcher = StopStringMatcher([])
    assert matcher.push("abc").text == "abc" and matcher.finish() == ""
