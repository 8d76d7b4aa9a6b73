"""What the conversation store holds, as plain dataclasses shared by the store, the chat session,
the CLI and the window."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..engine.sampling import SamplingParams

ROLES = ("system", "user", "assistant")

# The sampling settings a conversation or an answer records: SamplingParams' fields a user sets.
SAMPLING_KEYS = ("temperature", "top_k", "top_p", "min_p", "repetition_penalty", "max_tokens", "seed")


def sampling_to_dict(params: SamplingParams) -> dict[str, Any]:
    return {key: getattr(params, key) for key in SAMPLING_KEYS}


def sampling_from_dict(values: dict[str, Any] | None) -> SamplingParams:
    """SamplingParams from a stored dict; unknown keys are ignored, missing ones take the defaults.
    Raises ValueError for an out-of-range value (SamplingParams checks them)."""
    values = values or {}
    return SamplingParams(**{key: values[key] for key in SAMPLING_KEYS if key in values})


def dump_json(value: dict) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False)


def dump_sampling(values: dict) -> str:
    """Sampling settings as stored JSON, after the checks SamplingParams makes (ValueError if wrong)."""
    if not isinstance(values, dict):
        raise ValueError(f"sampling settings must be a dict, not {type(values).__name__}")
    unknown = sorted(set(values) - set(SAMPLING_KEYS))
    if unknown:
        raise ValueError(f"unknown sampling settings {', '.join(map(str, unknown))}; "
                         f"known: {', '.join(SAMPLING_KEYS)}")
    try:
        sampling_from_dict(values)
    except TypeError as exc:
        raise ValueError(f"wrong type in sampling settings {values!r}") from exc
    return dump_json(values)


@dataclass(frozen=True)
class AnswerStats:
    """How one answer was produced (None where not known)."""
    prompt_tokens: int = 0                 # whole prompt, reused tokens included
    reused_tokens: int = 0                 # prompt tokens whose KV entries were kept
    generated_tokens: int = 0
    prompt_tokens_per_second: float = 0.0
    generation_tokens_per_second: float = 0.0
    time_to_first_token: float = 0.0       # seconds
    energy_joules: float | None = None
    energy_source: str | None = None       # e.g. "measured: RAPL package", "estimated: CPU time x 15 W per core"
    finish_reason: str | None = None       # engine FinishReason value ("eos", "cancelled", "error", ...)
    error: str | None = None               # the message when finish_reason is "error"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "AnswerStats | None":
        if values is None:
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created: float                  # Unix time, seconds
    updated: float                  # last activity (a message added or changed, a rename)
    pinned: bool = False
    model: str | None = None        # path of the model file last used
    system_prompt: str = ""
    sampling: dict[str, Any] = field(default_factory=dict)  # SAMPLING_KEYS subset; {} = defaults


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    role: str                       # one of ROLES
    text: str                       # raw Markdown as typed or generated
    created: float
    model_file: str | None = None   # assistant messages: the model file that wrote it
    model_sha256: str | None = None
    sampling: dict[str, Any] | None = None  # assistant messages: the settings used
    stats: AnswerStats | None = None
    complete: bool = True           # False while the answer streams (or if the app died meanwhile)


@dataclass(frozen=True)
class CompletionDocument:
    """A text a base model continues: the user writes, the model appends, both edit one text."""
    id: int
    title: str
    text: str
    created: float                  # Unix time, seconds
    updated: float                  # last change of the text or the title
    model: str | None = None        # path of the model file that last continued it
    sampling: dict[str, Any] = field(default_factory=dict)  # SAMPLING_KEYS subset; {} = defaults


@dataclass(frozen=True)
class SearchHit:
    conversation_id: int
    conversation_title: str
    message_id: int | None          # None when the title matched
    snippet: str                    # a short excerpt around the match (plain text)
