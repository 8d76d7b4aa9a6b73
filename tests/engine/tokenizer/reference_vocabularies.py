"""Builders of test vocabularies for the tokenizer tests, and the independent reference they are checked against.

The reference is Hugging Face `tokenizers` (Rust), configured the way a tokenizer.json is: a BPE model (with
or without ignore_merges) behind a "pre_tokenizer" given as tokenizer.json JSON (Llama-3's by default: Split(Llama-3
regex, "isolated") + ByteLevel(use_regex=False)), ByteLevel decoder. The JSON is the same dict our pre-tokenizer is
built from (pretokenizers.py), loaded by `tokenizers` itself, so each side reads the published form.
Vocabularies are trained here with `tokenizers` on a small built-in corpus (no network, no model files) and then
handed to our code as GGUF-style metadata, exactly as a GGUF would carry them.
"""

from __future__ import annotations

import json

import tokenizers

from bitnet_desktop.engine.tokenizer.byte_level import text_to_byte_level
from bitnet_desktop.engine.tokenizer.pretokenizers import LLAMA3_DEFINITION

TRAINING_CORPUS = [
    "The quick brown fox jumps over the lazy dog. The dog didn't care; it's used to foxes.",
    "We'll see what they've done, and I'm sure you'd agree it's THE best result they'LL get.",
    "Numbers: 1 12 123 1234 12345 123456 3.14159 2025-01-31 1,000,000 and 0x1F.",
    "def encode(self, text: str) -> list[int]:\n    return [self.vocab[t] for t in text.split()]\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }\r\n",
    "Café, naïve, résumé, façade, jalapeño, Ångström, Straße, Ελληνικά, русский язык.",
    "日本語のテキストと中文文本，还有한국어 텍스트도 있습니다。",
    "Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ — and symbols like € £ ¥ © ™ ±.",
    "\tTabs\tand   multiple   spaces\n\n\nand blank lines   \n  indented text",
    "System: You are a helpful assistant. User: Hello! Assistant: Hi, how can I help?",
    "In 1969, Apollo 11 landed on the Moon; 600 million people watched the broadcast.",
    "HTML: <div class=\"note\">Hello &amp; welcome</div> <|not_special|>",
] * 20

# Specials appended after the trained vocabulary, as a GGUF would store them (type 3 = control).
SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
USER_DEFINED_TOKENS = ["<tool_call>"]
# Whole words added to the vocabulary with no merge path to them: only ignore_merges can produce these.
# Stored in byte-level form, e.g. " jalapeño" -> "ĠjalapeÃ±o".
UNREACHABLE_WORDS = [" extraordinary", " supercalifragilistic", " jalapeño", "Zyzzyva"]


def hf_pre_tokenizer(definition: dict):
    """`tokenizers`' own pre-tokenizer for a tokenizer.json "pre_tokenizer" value, read by `tokenizers` from the
    JSON of an otherwise empty tokenizer (a copy of a full-size one through JSON would take seconds)."""
    from tokenizers import models

    document = json.loads(tokenizers.Tokenizer(models.BPE()).to_str())
    document["pre_tokenizer"] = definition
    return tokenizers.Tokenizer.from_str(json.dumps(document)).pre_tokenizer


def train_byte_level_bpe(vocab_size: int, definition: dict = LLAMA3_DEFINITION) -> tuple[list[str], list[str]]:
    """(tokens in id order, merges as "left right") of a byte-level BPE trained on TRAINING_CORPUS, its words cut by
    the pre-tokenizer `definition`."""
    from tokenizers import models, pre_tokenizers, trainers

    hf = tokenizers.Tokenizer(models.BPE())
    hf.pre_tokenizer = hf_pre_tokenizer(definition)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    hf.train_from_iterator(TRAINING_CORPUS, trainer)
    model = json.loads(hf.to_str())["model"]
    vocab: dict[str, int] = model["vocab"]
    tokens = [None] * len(vocab)
    for text, token_id in vocab.items():
        tokens[token_id] = text
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return tokens, merges


def byte_level_metadata(tokens: list[str], merges: list[str], *, with_specials: bool = True) -> dict:
    """GGUF-style metadata for a byte-level BPE vocabulary, specials appended at the end."""
    tokens = list(tokens)
    types = [1] * len(tokens)
    if with_specials:
        for text in SPECIAL_TOKENS:
            tokens.append(text)
            types.append(3)
        for text in USER_DEFINED_TOKENS:
            tokens.append(text)
            types.append(4)
    metadata = {
        "general.architecture": "llama",
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.scores": [0.0] * len(tokens),
        "tokenizer.ggml.merges": list(merges),
        "tokenizer.ggml.add_bos_token": True,
    }
    if with_specials:
        metadata["tokenizer.ggml.bos_token_id"] = tokens.index("<|begin_of_text|>")
        metadata["tokenizer.ggml.eos_token_id"] = tokens.index("<|end_of_text|>")
    return metadata


def hf_reference_for(metadata: dict, *, ignore_merges: bool = True, definition: dict = LLAMA3_DEFINITION):
    """An independent HF `tokenizers` BPE built from the same token list and merges, its pre-tokenizer read from
    `definition` (Llama-3's tokenizer.json form unless given)."""
    from tokenizers import AddedToken, decoders, models

    tokens = metadata["tokenizer.ggml.tokens"]
    types = metadata["tokenizer.ggml.token_type"]
    vocab = {text: i for i, text in enumerate(tokens) if types[i] == 1}
    merges = [tuple(m.split(" ", 1)) for m in metadata["tokenizer.ggml.merges"]]
    hf = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=ignore_merges))
    hf.pre_tokenizer = hf_pre_tokenizer(definition)
    hf.decoder = decoders.ByteLevel()
    # add_tokens/add_special_tokens assign ids after the model vocab, in order: the same ids as ours.
    for i, text in enumerate(tokens):
        if types[i] == 3:
            assert hf.add_special_tokens([AddedToken(text, special=True, normalized=False)]) == 1
        elif types[i] == 4:
            assert hf.add_tokens([AddedToken(text, special=False, normalized=False)]) == 1
        assert types[i] == 1 or hf.token_to_id(text) == i
    return hf


def trained_bpe_metadata_with_unreachable_words(definition: dict = LLAMA3_DEFINITION) -> dict:
    """Vocabulary trained with the pre-tokenizer `definition` + UNREACHABLE_WORDS + specials, as GGUF metadata."""
    tokens, merges = train_byte_level_bpe(vocab_size=1200, definition=definition)
    extra = [text_to_byte_level(w) for w in UNREACHABLE_WORDS]
    return byte_level_metadata(tokens + [t for t in extra if t not in tokens], merges)


# ---- SentencePiece ("llama") vocabularies ------------------------------------------------------------------

SPM_TRAINING_CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "hello world, hello there, well hello again",
    "to be or not to be, that is the question",
    "numbers 1 12 123 and  double  spaces",
    "café naïve résumé 中文 日本語",
] * 10
SPM_SPECIALS = [("<unk>", 2), ("<s>", 3), ("</s>", 3)]


def sentencepiece_metadata() -> dict:
    """A llama-style (SentencePiece BPE) vocabulary: <unk>, <s>, </s>, 256 <0xXX> byte tokens, trained pieces.

    Pieces are trained with `tokenizers` on "▁"-escaped lines; score = -(creation order), so a piece always
    scores lower than the pieces it was built from, as in real SentencePiece BPE models.
    """
    from tokenizers import models, trainers

    hf = tokenizers.Tokenizer(models.BPE())
    trainer = trainers.BpeTrainer(vocab_size=400, show_progress=False)
    hf.train_from_iterator(["\u2581" + line.replace(" ", "\u2581") for line in SPM_TRAINING_CORPUS], trainer)
    vocab: dict[str, int] = json.loads(hf.to_str())["model"]["vocab"]
    pieces = sorted(vocab, key=vocab.__getitem__)

    tokens = [text for text, _ in SPM_SPECIALS] + [f"<0x{b:02X}>" for b in range(256)] + pieces
    types = [t for _, t in SPM_SPECIALS] + [6] * 256 + [1] * len(pieces)
    scores = [0.0] * (len(SPM_SPECIALS) + 256) + [-float(i) for i in range(len(pieces))]
    return {
        "general.architecture": "bitnet",
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.scores": scores,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.unknown_token_id": 0,
        "tokenizer.ggml.add_bos_token": True,
    }


def hf_sentencepiece_reference_for(metadata: dict):
    """HF `tokenizers` set up like transformers' LlamaTokenizerFast (legacy): Prepend + Replace normalizer, no
    pre-tokenizer, BPE with byte_fallback, merges generated from piece scores (transformers' SpmConverter way).

    This equals llama.cpp's score-driven SPM merging when every piece scores below the pieces it is built from
    and scores are distinct (true for the vocabulary above); hand-worked cases in the tests cover the rest.
    """
    from tokenizers import AddedToken, decoders, models, normalizers

    tokens = metadata["tokenizer.ggml.tokens"]
    types = metadata["tokenizer.ggml.token_type"]
    scores = metadata["tokenizer.ggml.scores"]
    vocab = {text: i for i, text in enumerate(tokens)}
    normal = {text for i, text in enumerate(tokens) if types[i] == 1}
    merges = []
    for piece in sorted(normal, key=lambda p: -scores[vocab[p]]):
        for k in range(1, len(piece)):
            if piece[:k] in normal and piece[k:] in normal:
                merges.append((piece[:k], piece[k:]))
    hf = tokenizers.Tokenizer(
        models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True)
    )
    hf.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    hf.decoder = decoders.Sequence(
        [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    hf.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, kind in SPM_SPECIALS])
    return hf
