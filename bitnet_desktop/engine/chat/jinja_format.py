"""Chat formatting for non-BitNet models: the GGUF's own Jinja `tokenizer.chat_template`, rendered safely.

A template comes from a downloaded file, so it is untrusted code. It runs in Jinja's
ImmutableSandboxedEnvironment (no access to Python internals such as __class__ / __globals__, no mutation of
the messages), with two extra limits: touching an unsafe attribute is an error at once (stock Jinja returns a
silent undefined), and string/list repetition and powers are capped so a template cannot exhaust memory.

The rendering context matches transformers' apply_chat_template: `messages` (list of {"role", "content"}),
`add_generation_prompt`, `bos_token`, `eos_token`, `raise_exception(msg)`, `strftime_now(fmt)`, a `tojson`
filter that keeps non-ASCII text, and the loop-controls extension. Every failure - syntax error, exception
raised by the template, sandbox refusal, bad input - becomes ChatTemplateError.

Ids: the rendered text is tokenized as one string with special tokens parsed (as llama.cpp and transformers
do), BOS per the GGUF's add_bos_token and never doubled. Caveat shared with those tools: special-token text
typed inside a message is parsed as a special token too.
"""

from __future__ import annotations

import json
import operator
from datetime import datetime
from typing import Any, Iterable, NoReturn

import jinja2
import jinja2.ext
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bitnet_desktop.engine.chat.messages import MessageLike, as_chat_messages
from bitnet_desktop.engine.chat.stop_tokens import stop_token_ids
from bitnet_desktop.engine.errors import ChatTemplateError
from bitnet_desktop.engine.tokenizer import Tokenizer

MAX_REPEATED_LENGTH = 1_000_000   # longest string/list a template may build with "*"
MAX_EXPONENT = 1_000              # largest exponent a template may use with "**"


class _TemplateRaised(Exception):
    """raise_exception() was called by the template."""


class _ChatTemplateSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:  # type: ignore[override]
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} object is not allowed")

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is too large for a chat template")
            return operator.pow(left, right)
        if operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                    if len(sequence) * count > MAX_REPEATED_LENGTH:
                        raise SecurityError("a chat template tried to build an oversized string or list")
            return operator.mul(left, right)
        return super().call_binop(context, operator_name, left, right)


def _raise_exception(message: str) -> NoReturn:
    raise _TemplateRaised(message)


def _strftime_now(date_format: str) -> str:
    return datetime.now().strftime(date_format)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None,
            sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _new_environment() -> _ChatTemplateSandbox:
    environment = _ChatTemplateSandbox(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols], autoescape=False
    )
    environment.filters["tojson"] = _tojson
    environment.globals["raise_exception"] = _raise_exception
    environment.globals["strftime_now"] = _strftime_now
    return environment


class JinjaChatFormat:
    """Renders conversations with a model's own Jinja chat template."""

    def __init__(self, tokenizer: Tokenizer, template_source: str | None, *, name: str = "gguf-template") -> None:
        if not template_source or not template_source.strip():
            raise ChatTemplateError(
                "this model has no chat template (tokenizer.chat_template is missing); it cannot be used for chat"
            )
        self.tokenizer = tokenizer
        self.name = name
        try:
            self._template = _new_environment().from_string(template_source)
        except TemplateError as error:
            line = f" (line {error.lineno})" if getattr(error, "lineno", None) else ""
            raise ChatTemplateError(f"the model's chat template does not compile{line}: {error}") from error
        self._bos_text = tokenizer.token_text(tokenizer.bos_id) if tokenizer.bos_id is not None else ""
        self._eos_text = tokenizer.token_text(tokenizer.eos_id) if tokenizer.eos_id is not None else ""
        self.stop_token_ids: frozenset[int] = stop_token_ids(tokenizer)

    def render_text(
        self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True, **extra_context: Any
    ) -> str:
        """The prompt text the template produces. extra_context: more template variables (e.g. tools=None)."""
        chat = [m.as_dict() for m in as_chat_messages(messages)]
        try:
            return self._template.render(
                messages=chat,
                add_generation_prompt=add_generation_prompt,
                bos_token=self._bos_text,
                eos_token=self._eos_text,
                **extra_context,
            )
        except _TemplateRaised as error:
            raise ChatTemplateError(f"the model's chat template refused the conversation: {error}") from error
        except SecurityError as error:
            raise ChatTemplateError(f"the model's chat template did something unsafe: {error}") from error
        except Exception as error:  # the template is untrusted code: any failure is the template's
            raise ChatTemplateError(
                f"the model's chat template failed to render: {type(error).__name__}: {error}"
            ) from error

    def render_ids(
        self, messages: Iterable[MessageLike], *, add_generation_prompt: bool = True, **extra_context: Any
    ) -> list[int]:
        text = self.render_text(messages, add_generation_prompt=add_generation_prompt, **extra_context)
        return self.tokenizer.encode(text, parse_special=True)
