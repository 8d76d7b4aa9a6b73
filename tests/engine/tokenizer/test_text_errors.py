"""Text that is not valid Unicode (lone surrogates, which is how Python carries invalid UTF-8 read with
surrogateescape, e.g. from a command line) is refused by both tokenizers with a TextEncodingError naming the
character and its position, not a UnicodeEncodeError."""

import pytest

from bitnet_desktop.engine.errors import TextEncodingError, TokenizerError
from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.runtime.gguf_files import synth


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def tokenizer(request, tmp_path_factory) -> Tokenizer:
    fmt, arch = ("i2_s", "bitnet-b1.58") if request.param == "gpt2" else ("tq2_0", "bitnet")
    path = synth(tmp_path_factory.mktemp(request.param), shape="tiny", fmt=fmt, arch=arch, tokenizer=request.param)
    with open_gguf(path) as g:
        return Tokenizer.from_gguf_metadata(g.metadata)


@pytest.mark.parametrize("text, character, position", [
    ("ab\ud800cd", "U+D800", 2),
    ("hello \udcff world", "U+DCFF", 6),  # b"\xff" decoded with surrogateescape
    ("\udc80", "U+DC80", 0),
    ("ok ok ok \udfff", "U+DFFF", 9),
])
@pytest.mark.parametrize("parse_special", [False, True])
def test_a_lone_surrogate_is_refused_with_its_position(tokenizer, text, character, position, parse_special):
    with pytest.raises(TextEncodingError) as e:
        tokenizer.encode(text, parse_special=parse_special)
    message = str(e.value)
    assert f"{character} at character {position}" in message, message
    assert "not valid Unicode" in message and "\n" not in message, message
    assert isinstance(e.value, TokenizerError)
    assert e.value.position == position


def test_valid_text_next_to_the_refused_text_still_encodes(tokenizer):
    before = tokenizer.encode("hello world")
    with pytest.raises(TextEncodingError):
        tokenizer.encode("hello \ud800 world")
    assert tokenizer.encode("hello world") == before
