"""Byte-level BPE encoding checked against Hugging Face `tokenizers` configured as Llama-3 (see conftest.py)."""

from __future__ import annotations

import random
import time

import pytest

from bitnet_desktop.engine.errors import TokenizerError
from bitnet_desktop.engine.tokenizer import Tokenizer
from bitnet_desktop.engine.tokenizer.byte_level import BYTE_TO_UNICODE, byte_level_to_bytes, text_to_byte_level

from tests.engine.tokenizer.reference_vocabularies import byte_level_metadata, hf_reference_for

CORPUS = [
    "",
    "Hello world",
    "hello   world  ",
    " leading space and trailing space ",
    "The quick brown fox jumps over the lazy dog.",
    "Café naïve résumé façade jalapeño Ångström Straße",
    "e\u0301 (e + combining acute) vs \u00e9 (precomposed)",
    "Emoji 😀😀 👍🏽 thumbs, family 👨‍👩‍👧‍👦 and flag 🇫🇷, heart ❤️.",
    "👩🏽‍💻 ZWJ sequence at the start",
    "中文文本，日本語のテキスト、한국어 텍스트。",
    "Mixed中文and English混合",
    "1 12 123 1234 12345 123456 1234567 12345678901234567890",
    "3.14159 -42 +7 1e10 0xFF 1,000,000 ٣٤٥ ½",
    "tabs\tbetween\twords\t\t\tand\ttrailing\t",
    "multiple\n\nnewlines\n\n\n\nhere\n",
    "windows\r\nline\r\nendings\r\n\r\n",
    "   \n   \t  \r\n  ",
    "I'm sure you'd agree it's what they've done, we'll see, I'LL SEE, It'S, DON'T, y'all",
    "'s 's's ''s 'S's",
    "def f(x):\n    return {'a': [1, 2, 3], \"b\": x ** 2}  # comment\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "<div class=\"note\">Hello &amp; welcome</div>",
    "!!!??? ... --- *** ### $$$ %%% &&& @@@ ^^^",
    "email@example.com https://example.com/path?q=1&r=2#frag",
    "Special text <|eot_id|> inside user text <|begin_of_text|> stays text",
    "partial specials <|eot_id <|end_of_text| <tool_call",
    "\u00a0non-breaking\u00a0spaces\u2009thin\u3000ideographic",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom",
    "Ελληνικά русский язык עברית العربية हिन्दी ไทย",
    "x" * 300,
    "ab" * 200 + " " + "\n" * 50,
    "extraordinary extraordinary supercalifragilistic jalapeño Zyzzyva",
]


def _hf_ids(hf, text: str, *, parse_special: bool) -> list[int]:
    hf.encode_special_tokens = not parse_special
    return hf.encode(text, add_special_tokens=False).ids


@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_ids_match_hugging_face_for_plain_text(bpe_tokenizer, hf_reference, text):
    ours = bpe_tokenizer.encode(text, add_bos=False)
    assert ours == _hf_ids(hf_reference, text, parse_special=False)


@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_decode_inverts_encode(bpe_tokenizer, text):
    assert bpe_tokenizer.decode(bpe_tokenizer.encode(text)) == text
    with_specials = bpe_tokenizer.encode(text, parse_special=True, add_bos=False)
    assert bpe_tokenizer.decode(with_specials, skip_special=False) == text


def test_ids_match_hugging_face_with_special_tokens_parsed(bpe_tokenizer, hf_reference):
    text = "<|begin_of_text|>User: hi<|eot_id|>Assistant: <tool_call>x</tool_call><|eot_id|><|eot_id"
    ours = bpe_tokenizer.encode(text, parse_special=True, add_bos=False)
    assert ours == _hf_ids(hf_reference, text, parse_special=True)
    eot = bpe_tokenizer.token_id("<|eot_id|>")
    assert ours.count(eot) == 2


def test_user_typed_special_text_stays_plain_text(bpe_tokenizer):
    eot = bpe_tokenizer.token_id("<|eot_id|>")
    ids = bpe_tokenizer.encode("stop<|eot_id|>now", add_bos=False)
    assert eot not in ids
    assert bpe_tokenizer.decode(ids) == "stop<|eot_id|>now"


def test_random_unicode_strings_match_hugging_face(bpe_tokenizer, hf_reference):
    pool = (
        list("abcXYZ019 '\t\n\r.,;!?-_()[]{}<>|/\\\"$+=^~`")
        + list("éñüßÅçœ")
        + list("中文日本語한국")
        + ["😀", "👍", "🏽", "\u200d", "❤", "\ufe0f", "\u0301", "\u00a0", "\u3000", "\u2028", "\x1c", "\x85", "٣", "½"]
        + ["'s", "'LL", "  ", "\r\n", "123456"]
    )
    rng = random.Random(1234)
    for _ in range(400):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 40)))
        ours = bpe_tokenizer.encode(text, add_bos=False)
        assert ours == _hf_ids(hf_reference, text, parse_special=False), repr(text)
        assert bpe_tokenizer.decode(ours) == text


def test_any_byte_string_survives_replace_decoding_then_roundtrip(bpe_tokenizer):
    # Property that holds for arbitrary bytes b: the text s = b.decode(errors="replace") round-trips exactly.
    rng = random.Random(99)
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 32)))
        text = data.decode("utf-8", errors="replace")
        assert bpe_tokenizer.decode(bpe_tokenizer.encode(text)) == text


def test_byte_token_sequences_decode_like_python_replace(bpe_tokenizer):
    # Arbitrary byte tokens (including broken UTF-8) decode exactly as bytes.decode(errors="replace").
    byte_ids = [bpe_tokenizer.token_id(ch) for ch in BYTE_TO_UNICODE]
    rng = random.Random(7)
    for _ in range(300):
        ids = [rng.choice(byte_ids) for _ in range(rng.randint(0, 24))]
        expected = b"".join(byte_level_to_bytes(bpe_tokenizer.token_text(i)) for i in ids)
        assert bpe_tokenizer.decode(ids) == expected.decode("utf-8", errors="replace")


def test_whole_word_vocabulary_entry_is_used_without_merges(bpe_tokenizer, hf_reference):
    # " extraordinary" is a vocabulary entry that no merge sequence builds (conftest.UNREACHABLE_WORDS).
    whole = bpe_tokenizer.token_id(text_to_byte_level(" extraordinary"))
    assert whole is not None
    assert bpe_tokenizer.encode(" extraordinary", add_bos=False) == [whole]
    # Without ignore_merges (HF reference configured so) the same word is several tokens.
    merges_only = hf_reference_for(_metadata_of(bpe_tokenizer), ignore_merges=False)
    split_ids = merges_only.encode(" extraordinary", add_special_tokens=False).ids
    assert whole not in split_ids and len(split_ids) > 1


def _metadata_of(tokenizer: Tokenizer) -> dict:
    v = tokenizer.vocabulary
    return {
        "tokenizer.ggml.tokens": list(v.tokens),
        "tokenizer.ggml.token_type": list(v.token_types),
        "tokenizer.ggml.merges": list(v.merges),
    }


def test_bos_is_added_once(bpe_tokenizer):
    bos = bpe_tokenizer.bos_id
    assert bpe_tokenizer.encode("hi")[0] == bos
    assert bpe_tokenizer.encode("hi", add_bos=False)[0] != bos
    with_text_bos = bpe_tokenizer.encode("<|begin_of_text|>hi", parse_special=True)
    assert with_text_bos.count(bos) == 1 and with_text_bos[0] == bos
    assert bpe_tokenizer.encode("") == [bos]
    assert bpe_tokenizer.encode("", add_bos=False) == []


def test_special_tokens_hidden_unless_asked(bpe_tokenizer):
    ids = bpe_tokenizer.encode("<|begin_of_text|>Hi<|eot_id|>", parse_special=True)
    assert bpe_tokenizer.decode(ids) == "Hi"
    assert bpe_tokenizer.decode(ids, skip_special=False) == "<|begin_of_text|>Hi<|eot_id|>"
    # user-defined tokens are content, not markup: always shown
    tool = bpe_tokenizer.token_id("<tool_call>")
    assert bpe_tokenizer.decode([tool]) == "<tool_call>"


def test_out_of_range_id_is_a_clear_error(bpe_tokenizer):
    with pytest.raises(TokenizerError, match="outside the vocabulary"):
        bpe_tokenizer.decode([bpe_tokenizer.vocab_size])


def test_encoding_a_2000_token_prompt_is_fast(bpe_tokenizer):
    rng = random.Random(5)
    words = [w for line in CORPUS for w in line.split()] + ["the", "a", "of", "and"] * 50
    text = " ".join(rng.choice(words) for _ in range(1400))
    fresh = Tokenizer.from_gguf_metadata(_metadata_with_specials(bpe_tokenizer))
    start = time.perf_counter()
    ids = fresh.encode(text)          # cold word cache
    elapsed = time.perf_counter() - start
    assert len(ids) >= 2000
    assert elapsed < 0.1, f"{len(ids)} tokens took {elapsed * 1000:.1f} ms"


def _metadata_with_specials(tokenizer: Tokenizer) -> dict:
    v = tokenizer.vocabulary
    return {
        **_metadata_of(tokenizer),
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.bos_token_id": v.bos_id,
        "tokenizer.ggml.add_bos_token": True,
    }


def test_metadata_errors_are_tokenizer_errors():
    with pytest.raises(TokenizerError, match="tokenizer.ggml.model"):
        Tokenizer.from_gguf_metadata({})
    with pytest.raises(TokenizerError, match="not supported"):
        Tokenizer.from_gguf_metadata({"tokenizer.ggml.model": "bert", "tokenizer.ggml.tokens": ["a"]})
    metadata = byte_level_metadata(list(BYTE_TO_UNICODE), [], with_specials=False)
    with pytest.raises(TokenizerError, match="token_type"):
        Tokenizer.from_gguf_metadata({**metadata, "tokenizer.ggml.token_type": [1]})
    with pytest.raises(TokenizerError, match="bos_token_id"):
        Tokenizer.from_gguf_metadata({**metadata, "tokenizer.ggml.bos_token_id": 10_000})
