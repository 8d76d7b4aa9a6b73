"""Templates like the ones models ship render exactly what stock Jinja renders: the limits change nothing."""

from __future__ import annotations

import json

import jinja2.ext
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bitnet_desktop.engine.chat import JinjaChatFormat
from tests.engine.chat.real_world_templates import CASES, TEMPLATES


def _reference_environment() -> ImmutableSandboxedEnvironment:
    """Jinja as transformers sets it up, with none of our limits."""
    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    environment.filters["tojson"] = lambda value, indent=None: json.dumps(value, ensure_ascii=False, indent=indent)
    environment.globals["strftime_now"] = lambda date_format: "01 Jan 2025"
    return environment


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_renders_exactly_what_stock_jinja_renders(llama3_tokenizer, name):
    template = TEMPLATES[name]
    chat_format = JinjaChatFormat(llama3_tokenizer, template)
    reference = _reference_environment().from_string(template)
    for messages, extra in CASES:
        expected = reference.render(
            messages=messages, add_generation_prompt=True,
            bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>", **extra,
        )
        assert chat_format.render_text(messages, **extra) == expected
        assert len(expected) > 20
