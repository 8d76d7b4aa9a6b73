"""Pre-tokenizers for byte-level BPE: how text is cut into words before BPE merges run, chosen by the GGUF key
`tokenizer.ggml.pre`.

Each one is written as the "pre_tokenizer" JSON of a Hugging Face tokenizer.json plus its BPE model's
"ignore_merges" flag, and run with `tokenizers`' semantics (split_steps.py); the tests build `tokenizers`
from the same JSON and require identical ids.

    tokenizer.ggml.pre                      definition                                            ignore_merges
    llama3, llama-v3, llama-bpe, pixtral,   Split(Llama-3 regex, Isolated) > ByteLevel(no regex)  yes
      midm-2.0, lfm2, jina-v5-nano
    falcon3, falcon_e                       Punctuation(Contiguous) > ByteLevel(GPT-2 regex)      no
                                              > Digits(individual_digits)
    default                                 llama.cpp's four regexes, each cutting the pieces     no
                                              of the one before (Split, Isolated) > ByteLevel(no regex)
    (key missing)                           Llama-3; llama.cpp's default when bitnet_cpp_compat

Any other value is refused with a TokenizerMetadataError that names it and lists these: a wrong split gives
plausible-looking but wrong tokens, so it is never silently replaced. The user-facing account of the same
choices is docs/tokenizers.md#pre-tokenizers.

Llama-3
-------
The split of meta-llama/Meta-Llama-3-8B's tokenizer.json (Split with LLAMA3_PATTERN, "Isolated", then
ByteLevel with use_regex false; BPE "ignore_merges": true). BitNet-b1.58-2B-4T was trained with it
(gpu/tokenizer.py in microsoft/BitNet uses the same regex), and HF1BitLLM/Llama3-8B-1.58 uses Llama-3's
tokenizer. The names are the ones llama.cpp (src/llama-vocab.cpp) maps to LLAMA_VOCAB_PRE_TYPE_LLAMA3,
except falcon3 and falcon-h1 (below).

The missing key: the official BitNet-b1.58-2B-4T GGUF has no `tokenizer.ggml.pre`; its vocabulary is
Llama-3's, so a missing key means Llama-3, the split the model was trained with. llama.cpp (and so
bitnet.cpp) uses LLAMA_VOCAB_PRE_TYPE_DEFAULT for a missing key; `bitnet_cpp_compat=True` does the same, for
token-exact A/B runs against bitnet.cpp. That default chain follows llama.cpp's `unicode_regex_split`
structure; it was not checked against a built bitnet.cpp.

Falcon3 and Falcon-E
--------------------
The sources disagree, and TII's own tokenizer.json could not be read here. What was found:

* bitnet.cpp's converter (microsoft/BitNet utils/convert-hf-to-gguf-bitnet.py, get_vocab_base_pre) writes
  "falcon3" for the tokenizer whose llama.cpp check hash is 9d032fcb... (upstream llama.cpp's
  convert_hf_to_gguf.py gives the same hash the same name, from tiiuae/Falcon3-7B-Base) and "falcon_e" for
  hash a6b57017... (ref tiiuae/Falcon-E-3B-Instruct). Upstream llama.cpp knows that second hash as
  "falcon-h1" (ref tiiuae/Falcon-H1-0.5B-Base): Falcon-E and Falcon-H1-0.5B tokenize the check text alike.
* Upstream llama.cpp maps "falcon3" and "falcon-h1" to the Llama-3 regex with ignore_merges, and does not
  know "falcon_e"; ik_llama.cpp added "falcon_e" to the same Llama-3 branch (ik_llama.cpp issue #551). Both
  are pragmatic choices: they report plausible output and perplexity, not a comparison with TII's tokenizer.
* bitnet.cpp's llama.cpp fork (Eddie-Wang1120/llama.cpp, PR #8 for Falcon-E) gives falcon3 and falcon_e
  their own rules: Falcon's punctuation regex and single digits. Its source was not reachable here (the
  stored snapshot of the fork ends in October 2024); the description comes from microsoft/BitNet issue #622
  and this project's issue 9.
* The original Falcon tokenizer (tiiuae/falcon-7b tokenizer.json, quoted in llama.cpp issue #3502) is
  Sequence[Punctuation(Contiguous), ByteLevel(use_regex true), Digits(individual_digits false),
  Split("[0-9][0-9][0-9]", Isolated)], and llama.cpp's "falcon" regexes are its approximation (a punctuation
  run, GPT-2's regex, groups of three digits). "Falcon punctuation, single digits" is the same chain with
  digits cut one by one, i.e. Sequence[Punctuation(Contiguous), ByteLevel(use_regex true),
  Digits(individual_digits true)].

Following the rule "TII's tokenizer.json decides" as closely as the material allows, falcon3 and falcon_e use
that last chain, with "ignore_merges": false (`tokenizers`' default, which a tokenizer trained with its BPE
trainer keeps; only tokenizers converted from tiktoken such as Llama-3's set it). This is a reconstruction,
not a reading of the file: when TII's tokenizer.json is at hand, compare its "pre_tokenizer" and
model.ignore_merges with FALCON_DEFINITION below and fix the data there; the tests build `tokenizers` from
that same data, so they follow. falcon-h1 is refused rather than guessed both ways: no Falcon-H1 model runs
on this engine.

Note on the chain: Digits comes after ByteLevel, so it cuts the byte-level characters, not the text; the
engine reproduces that (split_steps.py). The three things to compare with TII's file, and what each changes:
the step order (with Digits before ByteLevel, "  1" gives "ĠĠ" + "1" instead of "Ġ" + "Ġ" + "1", and "½"
stays one word), individual_digits (false would keep digit runs together) and model.ignore_merges (true would
take a word that is a vocabulary entry whole).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from bitnet_desktop.engine.errors import TokenizerMetadataError
from bitnet_desktop.engine.tokenizer.split_steps import PieceAlphabet, StepChain, build_step_chain

PRE_KEY = "tokenizer.ggml.pre"

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# llama.cpp LLAMA_VOCAB_PRE_TYPE_DEFAULT, in application order.
LLAMA_CPP_DEFAULT_PATTERNS = (
    r"[\p{P}\$\+<=>\^~\|]+",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    r"\p{N}+",
    r"[0-9][0-9][0-9]",
)

_NO_PREFIX_SPACE = {"add_prefix_space": False, "trim_offsets": True}

# tokenizer.json "pre_tokenizer" values.
LLAMA3_DEFINITION: dict[str, Any] = {
    "type": "Sequence",
    "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", **_NO_PREFIX_SPACE, "use_regex": False},
    ],
}
FALCON_DEFINITION: dict[str, Any] = {
    "type": "Sequence",
    "pretokenizers": [
        {"type": "Punctuation", "behavior": "Contiguous"},
        {"type": "ByteLevel", **_NO_PREFIX_SPACE, "use_regex": True},
        {"type": "Digits", "individual_digits": True},
    ],
}
LLAMA_CPP_DEFAULT_DEFINITION: dict[str, Any] = {
    "type": "Sequence",
    "pretokenizers": [
        *({"type": "Split", "pattern": {"Regex": p}, "behavior": "Isolated", "invert": False}
          for p in LLAMA_CPP_DEFAULT_PATTERNS),
        {"type": "ByteLevel", **_NO_PREFIX_SPACE, "use_regex": False},
    ],
}


@dataclass(frozen=True, eq=False)
class PreTokenizer:
    """A named word splitter plus the BPE rule that goes with it."""

    name: str
    definition: Mapping[str, Any] = field(repr=False)   # tokenizer.json "pre_tokenizer" JSON
    ignore_merges: bool   # a word that is a whole vocabulary entry maps to it without running merges
    _chain: StepChain = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_chain", build_step_chain(self.definition))

    @property
    def alphabet(self) -> PieceAlphabet:
        """TEXT: words are slices of the text. BYTE_LEVEL: words are byte-level strings (a step cut after
        ByteLevel, possibly inside a UTF-8 character)."""
        return self._chain.alphabet

    def split(self, text: str) -> list[str]:
        """Cut text into words. They concatenate back to `text` (TEXT alphabet) or to its byte-level form
        (BYTE_LEVEL alphabet)."""
        return self._chain.split(text)


LLAMA3 = PreTokenizer("llama3", LLAMA3_DEFINITION, ignore_merges=True)
FALCON3 = PreTokenizer("falcon3", FALCON_DEFINITION, ignore_merges=False)
FALCON_E = PreTokenizer("falcon_e", FALCON_DEFINITION, ignore_merges=False)
LLAMA_CPP_DEFAULT = PreTokenizer("llama.cpp-default", LLAMA_CPP_DEFAULT_DEFINITION, ignore_merges=False)

LLAMA3_NAMES = ("llama3", "llama-v3", "llama-bpe", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano")
_BY_NAME: dict[str, PreTokenizer] = {
    **{name: LLAMA3 for name in LLAMA3_NAMES},
    "falcon3": FALCON3,
    "falcon_e": FALCON_E,
    "default": LLAMA_CPP_DEFAULT,
}
KNOWN_PRE_TOKENIZER_NAMES = tuple(sorted(_BY_NAME))


def unknown_pre_tokenizer_problem(pre_name: str) -> str:
    """The end of the error message for a `tokenizer.ggml.pre` value that is not implemented."""
    known = ", ".join(repr(name) for name in KNOWN_PRE_TOKENIZER_NAMES)
    return (f"= {pre_name!r} names a pre-tokenizer this engine does not implement (known: {known}); "
            "tokenizing with another split would give wrong tokens")


def pre_tokenizer_for(pre_name: str | None, *, bitnet_cpp_compat: bool = False,
                      source: str = "GGUF metadata") -> PreTokenizer:
    """The pre-tokenizer for a GGUF `tokenizer.ggml.pre` value (see the table in the module docstring).

    A missing key (None) means Llama-3, or llama.cpp's default chain when bitnet_cpp_compat=True (what
    bitnet.cpp does with the official 2B-4T file). bitnet_cpp_compat changes nothing for a named value.
    An unknown name raises TokenizerMetadataError naming `source`, the key, the value and the known names.
    """
    if pre_name is None:
        return LLAMA_CPP_DEFAULT if bitnet_cpp_compat else LLAMA3
    pre_tokenizer = _BY_NAME.get(pre_name)
    if pre_tokenizer is None:
        raise TokenizerMetadataError(
            f"{source}: metadata key '{PRE_KEY}' {unknown_pre_tokenizer_problem(pre_name)}", source, PRE_KEY)
    return pre_tokenizer
