"""What a generation reports while it runs: one event per token, one at the end, and the stats a
GUI shows live (prompt and generation speed measured separately, time to first token)."""
from __future__ import annotations

from dataclasses import dataclass, field


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
class TokenEvent:
    token_id: int
    text: str          # complete UTF-8 text released by this token (may be "" while a character or
                       # a possible stop string is pending)
    index: int         # 0 for the first generated token
    seconds: float     # since the generation started
    top_logits: list[tuple[int, float]] | None = None  # the K best (id, logit) when requested


@dataclass
class FinishedEvent:
    reason: str        # "eos", "stop_string", "max_tokens", "context_full" or "cancelled"
    text: str          # the whole generated text (stop string excluded)
    token_ids: list[int] = field(default_factory=list)
    stats: GenerationStats = field(default_factory=GenerationStats)
