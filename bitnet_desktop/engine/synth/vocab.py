"""The two synthetic vocabularies: Llama-3 style byte-level BPE and SentencePiece (Llama-2) style.

Both are built deterministically from the built-in corpus (`corpus.py`) with `bpe.py`; neither
depends on the model seed. The exact metadata each produces is documented in the package
docstring (`synth/__init__.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from bitnet_desktop.engine.synth.bpe import bytes_to_unicode, pretokenize_bytelevel, train_bpe
from bitnet_desktop.engine.synth.corpus import CORPUS
from bitnet_desktop.engine.synth.derived import derive_tokens_and_merges

# llama.cpp token types
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

LLAMA3_N_SPECIAL = 256


def llama3_special_tokens() -> list[str]:
    """The 256 Llama-3 special tokens in id order (docs/tokenizers.md#llama-3-special-tokens)."""
    names = ["<|begin_of_text|>", "<|end_of_text|>"]
    names += [f"<|reserved_special_token_{i}|>" for i in range(4)]
    names += ["<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"]
    names += [f"<|reserved_special_token_{i}|>" for i in range(5, 251)]
    assert len(names) == LLAMA3_N_SPECIAL
    return names


@dataclass(frozen=True)
class SynthVocab:
    """A vocabulary as GGUF stores it (`tokenizer.ggml.*`)."""

    model: str  # "gpt2" or "llama"
    tokens: list[str]
    token_types: list[int]
    scores: list[float]
    merges: list[str] = field(default_factory=list)  # "a b" pairs, gpt2 only
    bos_id: int = 0
    eos_id: int = 0
    eot_id: int | None = None
    unk_id: int | None = None
    n_merges: int = 0

    def __len__(self) -> int:
        return len(self.tokens)


@lru_cache(maxsize=1)
def _bytelevel_merges() -> tuple[tuple[str, str], ...]:
    return tuple(train_bpe(pretokenize_bytelevel(CORPUS)))


def _filler(i: int, taken: set[str]) -> str:
    name = f"<filler_{i}>"
    assert name not in taken
    return name


def llama3_vocab(n_vocab: int, n_merges: int | None) -> SynthVocab:
    """Byte tokens (GPT-2 order), learned merge results, derived tokens, filler, then the 256 Llama-3 specials.

    `n_merges` None takes every merge the corpus gives (as many as fit). More merges than the corpus
    gives are made up by derived tokens and merges (`derived.py`), which then fill the vocabulary."""
    room = n_vocab - 256 - LLAMA3_N_SPECIAL
    if room < 0:
        raise ValueError(f"a Llama-3 style vocabulary needs at least 512 tokens, got {n_vocab}")
    order, chars = bytes_to_unicode()
    tokens = [chars[b] for b in order]
    specials = llama3_special_tokens()
    seen = set(tokens) | set(specials)
    merges: list[str] = []
    for a, b in _bytelevel_merges():
        if n_merges is not None and len(merges) >= n_merges:
            break
        merged = a + b
        if merged not in seen:
            if len(tokens) - 256 >= room:
                break
            tokens.append(merged)
            seen.add(merged)
        merges.append(f"{a} {b}")
    if n_merges is not None and n_merges > len(merges):
        derived, derived_merges = derive_tokens_and_merges(
            tokens, seen, room - (len(tokens) - 256), n_merges - len(merges)
        )
        tokens += derived
        merges += derived_merges
    while len(tokens) < n_vocab - LLAMA3_N_SPECIAL:
        tokens.append(_filler(len(tokens), seen))
    first_special = len(tokens)
    tokens += specials
    types = [NORMAL] * first_special + [CONTROL] * LLAMA3_N_SPECIAL
    return SynthVocab(
        model="gpt2",
        tokens=tokens,
        token_types=types,
        scores=[0.0] * n_vocab,
        merges=merges,
        bos_id=first_special,
        eos_id=first_special + 1,
        eot_id=first_special + 9,
        n_merges=len(merges),
    )


SPM_SPACE = "\u2581"  # "▁", SentencePiece's word-boundary marker


@lru_cache(maxsize=1)
def _spm_training() -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    words = [SPM_SPACE + w for w in CORPUS.split()]
    merges = train_bpe(words)
    char_counts: dict[str, int] = {}
    for w in words:
        for ch in w:
            char_counts[ch] = char_counts.get(ch, 0) + 1
    chars = sorted((c for c in char_counts if c.isprintable() or c == SPM_SPACE), key=lambda c: (-char_counts[c], c))
    return tuple(merges), tuple(chars)


def spm_vocab(n_vocab: int, n_merges: int | None) -> SynthVocab:
    """<unk>, <s>, </s>, <0x00>..<0xFF>, learned pieces (score -rank), single characters, filler."""
    merges, chars = _spm_training()
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [UNKNOWN, CONTROL, CONTROL] + [BYTE] * 256
    scores = [0.0] * len(tokens)
    seen = set(tokens)
    pieces = []
    for a, b in merges:
        if n_merges is not None and len(pieces) >= n_merges:
            break
        if a + b not in seen:
            pieces.append(a + b)
            seen.add(a + b)
    singles = [c for c in chars if c not in seen]
    room = n_vocab - len(tokens) - len(singles)
    if room < 0:
        raise ValueError(f"a SentencePiece style vocabulary needs at least {len(tokens) + len(singles)} tokens")
    pieces = pieces[:room]
    for rank, piece in enumerate(pieces + singles):
        tokens.append(piece)
        types.append(NORMAL)
        scores.append(-float(rank))
    seen.update(singles)
    while len(tokens) < n_vocab:
        tokens.append(_filler(len(tokens), seen))
        types.append(NORMAL)
        scores.append(-float(len(tokens)))
    return SynthVocab(
        model="llama",
        tokens=tokens,
        token_types=types,
        scores=scores,
        bos_id=1,
        eos_id=2,
        unk_id=0,
        n_merges=len(pieces),
    )
