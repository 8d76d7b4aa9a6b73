"""Streaming detokenizer: whole characters only, U+FFFD only when bytes can no longer become valid."""

from __future__ import annotations

import random

from bitnet_desktop.engine.tokenizer.byte_level import BYTE_TO_UNICODE


def _byte_token_ids(tokenizer, data: bytes) -> list[int]:
    """One single-byte token per byte: the worst case for a streaming decoder."""
    return [tokenizer.token_id(BYTE_TO_UNICODE[b]) for b in data]


def _stream(tokenizer, ids, **kwargs) -> list[str]:
    decoder = tokenizer.incremental_decoder(**kwargs)
    return [decoder.feed(i) for i in ids] + [decoder.finish()]


def test_emoji_split_over_byte_tokens_comes_out_whole(bpe_tokenizer):
    emoji = "😀"  # F0 9F 98 80
    pieces = _stream(bpe_tokenizer, _byte_token_ids(bpe_tokenizer, emoji.encode()))
    assert pieces == ["", "", "", emoji, ""]


def test_zwj_family_emerges_character_by_character(bpe_tokenizer):
    family = "👨\u200d👩\u200d👧"
    data = family.encode()
    pieces = _stream(bpe_tokenizer, _byte_token_ids(bpe_tokenizer, data))
    assert "".join(pieces) == family
    assert [p for p in pieces if p] == list(family)  # each code point released once complete, none split


def test_pending_byte_count_reports_held_back_bytes(bpe_tokenizer):
    decoder = bpe_tokenizer.incremental_decoder()
    for expected, token_id in zip([1, 2, 3, 0], _byte_token_ids(bpe_tokenizer, "😀".encode()), strict=True):
        decoder.feed(token_id)
        assert decoder.pending_byte_count == expected


def test_invalid_bytes_become_replacement_only_when_they_cannot_complete(bpe_tokenizer):
    ids = _byte_token_ids(bpe_tokenizer, b"\xf0\x9f" + b"A" + b"\xff" + b"\xe2\x82")
    pieces = _stream(bpe_tokenizer, ids)
    # F0 9F is a valid start, held; "A" makes it impossible -> U+FFFD then "A"; FF is never valid -> at once;
    # E2 82 is a valid start of "€" until the stream ends.
    assert pieces == ["", "", "\ufffdA", "\ufffd", "", "", "\ufffd"]


def test_stream_equals_decode_for_random_byte_tokens(bpe_tokenizer):
    rng = random.Random(3)
    samples = [b"\xf0\x9f\x98\x80", b"\xe2\x82\xac", b"\xc3\xa9", b"a", b"\x80", b"\xff", b"\xed\xa0\x80", b"\n"]
    for _ in range(300):
        data = b"".join(rng.choice(samples)[: rng.randint(1, 4)] for _ in range(rng.randint(0, 10)))
        ids = _byte_token_ids(bpe_tokenizer, data)
        streamed = "".join(_stream(bpe_tokenizer, ids))
        assert streamed == bpe_tokenizer.decode(ids) == data.decode("utf-8", errors="replace")


def test_valid_text_streams_without_replacement_characters(bpe_tokenizer):
    text = "Grüße 👍🏽 from 東京! 🇫🇷\r\n"
    ids = bpe_tokenizer.encode(text, add_bos=False)
    pieces = _stream(bpe_tokenizer, ids)
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)


def test_special_tokens_skipped_by_default_and_shown_on_request(bpe_tokenizer):
    eot = bpe_tokenizer.token_id("<|eot_id|>")
    ids = bpe_tokenizer.encode("Hi", add_bos=False) + [eot]
    assert "".join(_stream(bpe_tokenizer, ids)) == "Hi"
    assert "".join(_stream(bpe_tokenizer, ids, skip_special=False)) == "Hi<|eot_id|>"


def test_special_token_between_halves_of_a_character_does_not_break_it(bpe_tokenizer):
    eot = bpe_tokenizer.token_id("<|eot_id|>")
    first, second = _byte_token_ids(bpe_tokenizer, "é".encode())
    assert "".join(_stream(bpe_tokenizer, [first, eot, second])) == "é"
