"""Fitting a conversation into the model's context, by the policy the user chose; never silently.

* stop_and_ask (default): a conversation that does not fit is refused with the numbers, and the
  user decides (start a new chat, switch the policy, load with a larger context).
* drop_oldest: the oldest turns are left out of the prompt (never out of the store), the system
  prompt and the newest user message always kept; the plan says how many messages were left out.

Room is kept for the answer: min(max_tokens, a quarter of the context). Less would let a long
conversation start answers that the context cuts off after a few tokens.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Sequence

from ..engine.chat import ChatFormat


class ContextPolicy(str, Enum):
    STOP_AND_ASK = "stop_and_ask"
    DROP_OLDEST = "drop_oldest"

    def __str__(self) -> str:
        return self.value


class ContextOverflowError(Exception):
    """The conversation does not fit in the context under the chosen policy."""

    def __init__(self, message: str, prompt_tokens: int, context_size: int, reserve: int):
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.context_size = context_size
        self.reserve = reserve


@dataclass(frozen=True)
class PromptPlan:
    ids: list[int]               # the prompt's token ids
    dropped_messages: int        # oldest messages left out of the prompt (drop_oldest)
    context_size: int
    reserve: int                 # tokens kept free for the answer

    @property
    def tokens(self) -> int:
        return len(self.ids)


def answer_reserve(max_tokens: int, context_size: int) -> int:
    return max(1, min(max_tokens, context_size // 4))


def _first_turn_end(messages: Sequence[dict]) -> int:
    """Index after the oldest droppable turn: the first non-system message and the replies up
    to the next user message."""
    i = 0
    while i < len(messages) and messages[i]["role"] == "system":
        i += 1
    j = i + 1
    while j < len(messages) and messages[j]["role"] != "user":
        j += 1
    return j


def plan_prompt(chat_format: ChatFormat, messages: Sequence[dict], context_size: int, max_tokens: int,
                policy: ContextPolicy | str = ContextPolicy.STOP_AND_ASK) -> PromptPlan:
    """The prompt for `messages` (dicts with role and content, system first, ending on a user
    message), or ContextOverflowError."""
    policy = ContextPolicy(policy)
    reserve = answer_reserve(max_tokens, context_size)
    limit = context_size - reserve
    kept = list(messages)
    ids = chat_format.render_ids(kept)
    dropped = 0
    while len(ids) > limit and policy is ContextPolicy.DROP_OLDEST:
        end = _first_turn_end(kept)
        if end >= len(kept):  # only the newest turn is left
            break
        system = [m for m in kept[:end] if m["role"] == "system"]
        dropped += end - len(system)
        kept = system + kept[end:]
        ids = chat_format.render_ids(kept)
    if len(ids) > limit:
        if policy is ContextPolicy.DROP_OLDEST:
            message = (f"the newest message and the system prompt alone take {len(ids)} tokens; the context "
                       f"holds {context_size} with {reserve} kept for the answer: shorten the message, or "
                       "load the model with a larger context")
        else:
            message = (f"the conversation takes {len(ids)} tokens; the context holds {context_size} with "
                       f"{reserve} kept for the answer: start a new chat, choose 'drop the oldest turns' "
                       "in the settings, or load the model with a larger context")
        raise ContextOverflowError(message, len(ids), context_size, reserve)
    return PromptPlan(ids, dropped, context_size, reserve)
