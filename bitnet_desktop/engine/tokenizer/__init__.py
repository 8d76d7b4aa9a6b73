"""Tokenizers built from GGUF metadata: byte-level BPE (Llama-3 / BitNet-b1.58-2B-4T) and SentencePiece.

    tokenizer = Tokenizer.from_gguf_metadata(metadata)          # metadata: GGUF key -> value dict
    ids = tokenizer.encode("Hello")                             # user text: specials stay plain text
    text = tokenizer.decode(ids)
    stream = tokenizer.incremental_decoder()                    # generated ids -> complete UTF-8 text

Files: vocabulary.py (metadata -> Vocabulary), pretokenizers.py (the splits by `tokenizer.ggml.pre` name and
where each comes from), split_steps.py (Hugging Face pre-tokenizer steps), bpe.py (byte-level merges),
merge_table.py (BPE merges as a compact hash table), token_index.py (token string -> id without a dict),
sentencepiece.py (llama.cpp SPM), special_tokens.py (special strings in text), tokenizer.py (the facade),
incremental_decoder.py (streaming), byte_level.py (GPT-2 byte alphabet).
"""

from bitnet_desktop.engine.tokenizer.incremental_decoder import IncrementalDecoder
from bitnet_desktop.engine.tokenizer.pretokenizers import (
    KNOWN_PRE_TOKENIZER_NAMES,
    LLAMA3_PATTERN,
    PreTokenizer,
    pre_tokenizer_for,
)
from bitnet_desktop.engine.tokenizer.tokenizer import Tokenizer
from bitnet_desktop.engine.tokenizer.vocabulary import TokenType, Vocabulary, VocabularyKind

__all__ = [
    "IncrementalDecoder",
    "KNOWN_PRE_TOKENIZER_NAMES",
    "LLAMA3_PATTERN",
    "PreTokenizer",
    "TokenType",
    "Tokenizer",
    "Vocabulary",
    "VocabularyKind",
    "pre_tokenizer_for",
]
