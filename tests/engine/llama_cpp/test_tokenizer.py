"""llama.cpp's tokenizer behind the engine Tokenizer's surface and contracts, checked against our own
Tokenizer on the same Llama-3 style byte-level BPE vocabulary (llama-bpe, which both implement)."""
import pytest

from bitnet_desktop.engine.errors import TextEncodingError, TokenizerError
from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.runtime.loader import load_model
from bitnet_desktop.engine.runtime.model import LoadOptions
from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf
from tests.engine.tokenizer.reference_vocabularies import TRAINING_CORPUS

TEXTS = list(dict.fromkeys(TRAINING_CORPUS)) + ["", " ", "a", "  leading and trailing  ", "<|im_end|> typed"]


@pytest.fixture(scope="module")
def tokenizers(ordinary_path):
    """(llama.cpp's, ours) for the same file."""
    model = load_model(ordinary_path, LoadOptions(threads=1, context_length=64))
    with open_gguf(ordinary_path) as g:
        ours = Tokenizer.from_gguf_metadata(g.metadata)
    yield model.tokenizer, ours
    model.close()


@pytest.mark.parametrize("parse_special", [False, True])
def test_ids_equal_our_tokenizers_on_the_mixed_corpus(tokenizers, parse_special):
    theirs, ours = tokenizers
    for text in TEXTS:
        assert theirs.encode(text, parse_special=parse_special) == ours.encode(text, parse_special=parse_special), text


def test_vocabulary_facts_equal_ours(tokenizers):
    theirs, ours = tokenizers
    assert (theirs.vocab_size, theirs.bos_id, theirs.eos_id) == (ours.vocab_size, ours.bos_id, ours.eos_id)
    assert theirs.vocabulary.add_bos and not theirs.vocabulary.add_eos
    for token_id in (0, 39, 300, ours.bos_id, ours.eos_id, ours.token_id("<|im_end|>")):
        assert theirs.token_text(token_id) == ours.token_text(token_id)
        assert theirs.is_special(token_id) == ours.is_special(token_id)
    assert theirs.token_id("<|im_end|>") == ours.token_id("<|im_end|>") and theirs.token_id("<|nope|>") is None


def test_special_text_is_parsed_only_when_asked_and_bos_is_never_doubled(tokenizers):
    tok, _ = tokenizers
    end = tok.token_id("<|im_end|>")
    assert end not in tok.encode("say <|im_end|> now")
    assert end in tok.encode("say <|im_end|> now", parse_special=True)
    with_bos = tok.encode("<|begin_of_text|>Hi", parse_special=True)
    assert with_bos[0] == tok.bos_id and with_bos[1] != tok.bos_id
    assert tok.encode("Hi", add_bos=False)[0] != tok.bos_id
    assert tok.encode("Hi", add_eos=True)[-1] == tok.eos_id


def test_decode_round_trips_and_hides_control_tokens_unless_asked(tokenizers):
    tok, ours = tokenizers
    for text in TEXTS:
        ids = tok.encode(text, add_bos=False)
        assert tok.decode(ids) == text
    ids = tok.encode("<|im_start|>user\nHi<|im_end|>", parse_special=True)
    assert tok.decode(ids) == ours.decode(ids) == "user\nHi"
    assert tok.decode(ids, skip_special=False) == "<|begin_of_text|><|im_start|>user\nHi<|im_end|>"


def test_the_streaming_decoder_never_splits_a_character(tokenizers):
    tok, _ = tokenizers
    text = "Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 and 日本語"
    decoder = tok.incremental_decoder()
    pieces = [decoder.feed(i) for i in tok.encode(text, add_bos=False)] + [decoder.finish()]
    assert "".join(pieces) == text and all("\ufffd" not in piece for piece in pieces)


def test_bad_input_gets_the_engines_errors(tokenizers):
    tok, _ = tokenizers
    with pytest.raises(TextEncodingError):
        tok.encode("lone \udc80 surrogate")
    with pytest.raises(TokenizerError, match="outside the vocabulary"):
        tok.decode([tok.vocab_size])


@pytest.fixture(scope="module")
def sentencepiece(tmp_path_factory):
    """(llama.cpp's, ours) for a SentencePiece (Llama-2 style) vocabulary."""
    path = write_ordinary_gguf(tmp_path_factory.mktemp("spm") / "spm.gguf", vocabulary="llama", n_vocab=2048)
    model = load_model(path, LoadOptions(threads=1, context_length=64))
    with open_gguf(path) as g:
        ours = Tokenizer.from_gguf_metadata(g.metadata)
    yield model.tokenizer, ours
    model.close()


def test_a_sentencepiece_vocabulary_tokenizes_as_ours_and_decodes_without_the_added_space(sentencepiece):
    theirs, ours = sentencepiece
    for text in TEXTS:
        ids = theirs.encode(text)
        assert ids == ours.encode(text), text
        assert theirs.decode(ids) == ours.decode(ids) == text
    assert theirs.encode("Hello")[0] == theirs.bos_id == 1
