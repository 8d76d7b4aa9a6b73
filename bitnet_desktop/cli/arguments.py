"""argparse `type=` validators shared by the commands: a bad value is refused while the arguments
are parsed, before anything is loaded, with a message naming the option (argparse adds it) and the
allowed range, and exit status 2."""
from __future__ import annotations

import argparse
import math

MAX_SEED = 2**63 - 1
MAX_THREADS = 256          # BN_MAX_THREADS (native/src/threadpool.h): bn_ctx_create refuses more
MAX_CONTEXT = 4_194_304    # BN_MODEL_MAX_CONTEXT (bitnet.h)


def in_range(kind: type, low: float, high: float, shown: str, low_open: bool = False):
    """An argparse type that refuses values outside the range, naming it (argparse adds the option)."""
    noun = "an integer" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (value is None or not math.isfinite(value) or value > high
                or (value <= low if low_open else value < low)):
            raise argparse.ArgumentTypeError(f"must be {noun} in {shown}, got {text!r}")
        return value
    return parse


threads = in_range(int, 1, MAX_THREADS, f"1..{MAX_THREADS}")


def context_length(low: int = 1):
    """--ctx: positions of the KV cache, at least `low` (what the command needs)."""
    return in_range(int, low, MAX_CONTEXT, f"{low}..{MAX_CONTEXT}")


def non_empty(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def token_ids(text: str) -> list[int]:
    """Comma-separated token ids (spaces allowed), at least one, none negative."""
    parts = [t for t in text.replace(" ", "").split(",") if t]
    try:
        ids = [int(t) for t in parts]
    except ValueError:
        ids = None
    if not ids or any(i < 0 for i in ids):
        raise argparse.ArgumentTypeError(f"must be comma-separated token ids (integers >= 0), got {text!r}")
    return ids


# Sampling options: argparse type and the range shown in help and errors (chat and generate).
SAMPLING_RANGES = {
    "--temperature": (float, 0, 5, "0..5"),
    "--top-k": (int, 0, 1_000_000, "0..1000000"),
    "--top-p": (float, 0, 1, "0..1"),
    "--min-p": (float, 0, 1, "0..1"),
    "--repeat-penalty": (float, 0, 3, "(0, 3]", True),
    "--max-tokens": (int, 1, 131072, "1..131072"),
    "--seed": (int, 0, MAX_SEED, f"0..{MAX_SEED}"),
}


def sampling(option: str):
    """The validator of a sampling option (a key of SAMPLING_RANGES)."""
    return in_range(*SAMPLING_RANGES[option])


def shown_range(option: str) -> str:
    return SAMPLING_RANGES[option][3]
