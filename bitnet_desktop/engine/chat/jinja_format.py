"""Chat formatting for non-BitNet models: the GGUF's own Jinja `tokenizer.chat_template`, rendered safely.

A template comes from a downloaded file, so it is untrusted code. It runs in ChatTemplateSandbox
(template_sandbox.py: Jinja's immutable sandbox, plus a budget for steps, time, text, value and integer
sizes charged on every render - template_limits.py). Touching an unsafe attribute is an error at once
(stock Jinja returns a silent undefined).

The rendering context matches transformers' apply_chat_template: `messages` (list of {"role", "content"}),
`add_generation_prompt`, `bos_token`, `eos_token`, `raise_exception(msg)`, `strftime_now(fmt)`, a `tojson`
filter that keeps non-ASCII text, and the loop-controls extension. Every failure - a value that is not
text, a syntax error, nesting too deep, a limit hit, an exception raised by the template, a sandbox
refusal, bad input - becomes a ChatTemplateError that names the template's source (the GGUF key).

Ids: the rendered text is tokenized as one string with special tokens parsed (as llama.cpp and transformers
do), BOS per the GGUF's add_bos_token and never doubled. Caveat shared with those tools: special-token text
typed inside a message is parsed as a special token too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, NoReturn

from jinja2 import Template
from jinja2.exceptions import SecurityError, TemplateSyntaxError

from bitnet_desktop.engine.chat.chat_format import CHAT_TEMPLATE_KEY
from bitnet_desktop.engine.chat.messages import MessageLike, as_chat_messages
from bitnet_desktop.engine.chat.stop_tokens import stop_token_ids
from bitnet_desktop.engine.chat.template_limits import (
    MAX_TEMPLATE_CHARS,
    TemplateBudget,
    TemplateLimitError,
    TemplateLimits,
    input_weight,
)
from bitnet_desktop.engine.chat.template_sandbox import ChatTemplateSandbox
from bitnet_desktop.engine.errors import ChatTemplateError
from bitnet_desktop.engine.tokenizer import Tokenizer

_QUOTED_CHARS = 300     # of an error message that comes from the template, which may be of any size


class _TemplateRaised(Exception):
    """raise_exception() was called by the template."""


def _raise_exception(message: str) -> NoReturn:
    raise _TemplateRaised(message)


def _strftime_now(date_format: str) -> str:
    return datetime.now().strftime(date_format)


class JinjaChatFormat:
    """Renders conversations with a model's own Jinja chat template."""

    def __init__(self, tokenizer: Tokenizer, template_source: Any, *, name: str = "gguf-template",
                 source_name: str = CHAT_TEMPLATE_KEY) -> None:
        """template_source: the template text, as read from `source_name` (named in every error)."""
        self.tokenizer = tokenizer
        self.name = name
        self.source_name = source_name
        self._where = f"the model's chat template ({source_name})"
        self._template = self._compiled(template_source)
        self._bos_text = tokenizer.token_text(tokenizer.bos_id) if tokenizer.bos_id is not None else ""
        self._eos_text = tokenizer.token_text(tokenizer.eos_id) if tokenizer.eos_id is not None else ""
        self.stop_token_ids: frozenset[int] = stop_token_ids(tokenizer)

    def _compiled(self, source: Any) -> Template:
        if source is None or (isinstance(source, str) and not source.strip()):
            raise ChatTemplateError(
                f"this model has no chat template ({self.source_name} is missing); it cannot be used for chat"
            )
        if not isinstance(source, str):
            raise ChatTemplateError(f"{self._where} holds a value of type {type(source).__name__}, not text")
        if len(source) > MAX_TEMPLATE_CHARS:
            raise ChatTemplateError(
                f"{self._where} is {len(source):,} characters long; the limit is {MAX_TEMPLATE_CHARS:,}"
            )
        environment = ChatTemplateSandbox()
        environment.globals["raise_exception"] = _raise_exception
        environment.globals["strftime_now"] = _strftime_now
        try:
            return environment.from_string(source)
        except TemplateSyntaxError as error:
            line = f" (line {error.lineno})" if error.lineno else ""
            raise ChatTemplateError(f"{self._where} does not compile{line}: {_quoted(error)}") from error
        except RecursionError as error:
            raise ChatTemplateError(f"{self._where} is nested too deeply to compile") from error
        except Exception as error:  # noqa: BLE001 - the template is untrusted: any failure is the template's
            if isinstance(error, SyntaxError) and "nested" in str(error.msg):   # Python's "statically nested blocks"
                raise ChatTemplateError(f"{self._where} is nested too deeply to compile") from error
            raise ChatTemplateError(
                f"{self._where} does not compile: {type(error).__name__}: {_quoted(error)}"
            ) from error

    def render_text(
        self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True, **extra_context: Any
    ) -> str:
        """The prompt text the template produces. extra_context: more template variables (e.g. tools=None)."""
        chat = [m.as_dict() for m in as_chat_messages(messages)]
        context = {
            "messages": chat,
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self._bos_text,
            "eos_token": self._eos_text,
            **extra_context,
        }
        # The messages are checked text; only what the caller added needs walking.
        input_chars = sum(len(m["role"]) + len(m["content"]) for m in chat) + input_weight(extra_context)
        budget: TemplateBudget | None = None
        try:
            budget = TemplateBudget(TemplateLimits.for_input(input_chars, len(chat)))
            with budget.active():
                text = self._template.render(context)
            if budget.exceeded is not None:      # hit inside code that swallowed the exception
                raise budget.exceeded
            return text
        except TemplateLimitError as error:
            raise ChatTemplateError(f"{self._where} went over its limit of {error}") from error
        except _TemplateRaised as error:
            raise ChatTemplateError(f"{self._where} refused the conversation: {_quoted(error)}") from error
        except SecurityError as error:
            raise ChatTemplateError(f"{self._where} did something unsafe: {_quoted(error)}") from error
        except RecursionError as error:
            raise ChatTemplateError(f"{self._where} recursed or nested too deeply while rendering") from error
        except Exception as error:  # noqa: BLE001 - the template is untrusted code: any failure is the template's
            if budget is not None and budget.exceeded is not None:
                raise ChatTemplateError(f"{self._where} went over its limit of {budget.exceeded}") from error
            raise ChatTemplateError(
                f"{self._where} failed to render: {type(error).__name__}: {_quoted(error)}"
            ) from error

    def render_ids(
        self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True, **extra_context: Any
    ) -> list[int]:
        text = self.render_text(messages, add_generation_prompt=add_generation_prompt, **extra_context)
        return self.tokenizer.encode(text, parse_special=True)


def _quoted(error: BaseException) -> str:
    text = str(error)
    return text if len(text) <= _QUOTED_CHARS else text[:_QUOTED_CHARS] + f"... ({len(text):,} characters)"
