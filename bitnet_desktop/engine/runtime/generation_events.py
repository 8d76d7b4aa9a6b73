"""What a generation reports while it runs: prompt-processing progress, one event per token, one
at the end, and the stats a GUI shows live (prompt and generation speed measured separately,
time to first token)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class FinishReason(str, Enum):
    """Why a generation ended. A str, so `reason == "eos"` and JSON output keep working."""
    EOS = "eos"                    # the model produced an end-of-turn token
    STOP_STRING = "stop_string"    # a stop string appeared in the text
    MAX_TOKENS = "max_tokens"      # the generation budget was spent
    CONTEXT_FULL = "context_full"  # the KV cache is full
    CANCELLED = "cancelled"        # cancel() was called
    ERROR = "error"                # something failed mid-stream; FinishedEvent.error says what

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__


@dataclass
class GenerationStats:
    prompt_tokens: int = 0          # tokens of the prompt, including those reused from the KV cache
    reused_tokens: int = 0          # prompt tokens whose KV entries were kept from the previous call
    prompt_seconds: float = 0.0     # time to process the new prompt tokens
    generated_tokens: int = 0
    generation_seconds: float = 0.0  # time spent producing tokens after the first one
    time_to_first_token: float = 0.0

    @property
    def processed_prompt_tokens(self) -> int:
        return self.prompt_tokens - self.reused_tokens

    @property
    def prompt_tokens_per_second(self) -> float:
        return self.processed_prompt_tokens / self.prompt_seconds if self.prompt_seconds > 0 else 0.0

    @property
    def generation_tokens_per_second(self) -> float:
        # The first token's time belongs to prompt processing; speed counts the tokens after it.
        n = self.generated_tokens - 1
        return n / self.generation_seconds if n > 0 and self.generation_seconds > 0 else 0.0


@dataclass
class PromptProgressEvent:
    done: int          # new prompt tokens processed so far (reused ones are not counted)
    total: int         # new prompt tokens to process
    seconds: float     # since the generation started


@dataclass
class TokenEvent:
    token_id: int
    text: str          # complete UTF-8 text released by this token (may be "" while a character or
                       # a possible stop string is pending)
    index: int         # 0 for the first generated token
    seconds: float     # since the generation started (prompt processing included)
    top_logits: list[tuple[int, float]] | None = None  # the K best (id, logit) when requested
    since_first_token: float = 0.0  # since the first token was sampled (0 for the first one)


@dataclass
class FinishedEvent:
    reason: FinishReason
    text: str          # the whole generated text (stop string excluded), also after a cancel or an error
    token_ids: list[int] = field(default_factory=list)
    stats: GenerationStats = field(default_factory=GenerationStats)
    error: BaseException | None = None  # what failed, when reason is ERROR
