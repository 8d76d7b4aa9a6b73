"""GGUF Jinja chat templates: rendering context, ids, stop tokens, errors and the sandbox."""

from __future__ import annotations

import pytest

from bitnet_desktop.engine.chat import JinjaChatFormat, chat_format_for_model
from bitnet_desktop.engine.errors import ChatTemplateError

BOS, EOS, EOT = 128000, 128001, 128009
START_HEADER, END_HEADER = 128006, 128007

LLAMA3_STYLE_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] | trim }}<|eot_id|>"
    "{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": " Hey "}]


def test_renders_a_gguf_template_for_other_architectures(bitnet_metadata, llama3_tokenizer):
    metadata = {**bitnet_metadata, "general.architecture": "llama", "tokenizer.chat_template": LLAMA3_STYLE_TEMPLATE}
    chat_format = chat_format_for_model(metadata, llama3_tokenizer)
    assert isinstance(chat_format, JinjaChatFormat)
    assert chat_format.render_text(MESSAGES) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHey<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    ids = chat_format.render_ids(MESSAGES)
    assert ids[:2] == [BOS, START_HEADER]          # template's bos_token + add_bos_token: still one BOS
    assert ids.count(BOS) == 1 and ids.count(EOT) == 2 and ids.count(END_HEADER) == 3
    assert llama3_tokenizer.decode(ids, skip_special=False) == chat_format.render_text(MESSAGES)


def test_stop_tokens_include_eos_and_end_of_turn_tokens_found_by_text(llama3_tokenizer):
    assert JinjaChatFormat(llama3_tokenizer, LLAMA3_STYLE_TEMPLATE).stop_token_ids == frozenset({EOS, EOT})


def test_context_has_eos_token_strftime_now_and_loop_controls(llama3_tokenizer):
    template = (
        "{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}{{ m.content }}{% endfor %}"
        "|{{ eos_token }}|{{ strftime_now('%Y') | length }}|{{ {'k': 'é'} | tojson }}"
    )
    text = JinjaChatFormat(llama3_tokenizer, template).render_text(MESSAGES)
    assert text == 'Be brief.|<|end_of_text|>|4|{"k": "é"}'


@pytest.mark.parametrize("template", [None, "", "  \n"])
def test_a_file_without_a_template_is_a_base_model(bitnet_metadata, llama3_tokenizer, template):
    metadata = {k: v for k, v in bitnet_metadata.items() if k != "tokenizer.chat_template"}
    metadata["general.architecture"] = "bitnet"
    if template is not None:
        metadata["tokenizer.chat_template"] = template
    assert chat_format_for_model(metadata, llama3_tokenizer) is None


def test_a_jinja_format_without_a_template_is_a_clear_error(llama3_tokenizer):
    with pytest.raises(ChatTemplateError, match="no chat template"):
        JinjaChatFormat(llama3_tokenizer, None)


def test_template_syntax_error_is_a_chat_template_error(llama3_tokenizer):
    with pytest.raises(ChatTemplateError, match="does not compile"):
        JinjaChatFormat(llama3_tokenizer, "{% for m in messages %}{{ m.content }")


def test_raise_exception_in_template_is_reported(llama3_tokenizer):
    template = (
        "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}"
    )
    with pytest.raises(ChatTemplateError, match="Conversation must start with user"):
        JinjaChatFormat(llama3_tokenizer, template).render_text(MESSAGES)


def test_runtime_errors_in_template_are_chat_template_errors(llama3_tokenizer):
    with pytest.raises(ChatTemplateError, match="failed to render"):
        JinjaChatFormat(llama3_tokenizer, "{{ messages[0]['content'] + 1 }}").render_text(MESSAGES)


@pytest.mark.parametrize(
    "template",
    [
        "{{ messages.__class__.__mro__ }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ raise_exception.__globals__ }}",
        "{{ messages[0].__class__ }}",
        "{{ messages['__class__'] }}",
        "{% set _ = messages.append({'role': 'user', 'content': 'x'}) %}",
        "{% set _ = messages[0].update({'content': 'x'}) %}",
    ],
)
def test_sandbox_refuses_python_internals_and_mutation(llama3_tokenizer, template):
    chat_format = JinjaChatFormat(llama3_tokenizer, template)
    with pytest.raises(ChatTemplateError, match="unsafe"):
        chat_format.render_text(MESSAGES)


@pytest.mark.parametrize(
    ("template", "limit"),
    [("{{ 'a' * 100000000 }}", "characters in one repeated string"), ("{{ 10 ** 100000 }}", "4,096-bit integers")],
)
def test_huge_values_are_refused_naming_the_source_and_the_limit(llama3_tokenizer, template, limit):
    chat_format = JinjaChatFormat(llama3_tokenizer, template)
    with pytest.raises(ChatTemplateError, match=rf"\(tokenizer\.chat_template\) went over its limit of .*{limit}"):
        chat_format.render_text(MESSAGES)


def test_sandbox_still_allows_ordinary_template_code(llama3_tokenizer):
    template = "{{ ('ab' * 3) | upper }} {{ 2 ** 10 }} {{ messages | length }} {{ messages[1]['content'].strip() }}"
    assert JinjaChatFormat(llama3_tokenizer, template).render_text(MESSAGES) == "ABABAB 1024 2 Hey"


@pytest.mark.parametrize("value", [12345, 1.5, True, ["{{ x }}"], b"{{ x }}", {"template": "{{ x }}"}])
def test_template_that_is_not_text_names_the_key_and_the_type(bitnet_metadata, llama3_tokenizer, value):
    metadata = {**bitnet_metadata, "general.architecture": "llama", "tokenizer.chat_template": value}
    with pytest.raises(ChatTemplateError, match=rf"tokenizer\.chat_template.* {type(value).__name__}\b"):
        chat_format_for_model(metadata, llama3_tokenizer)


@pytest.mark.parametrize(
    "template",
    [
        "{% if true %}" * 400 + "x" + "{% endif %}" * 400,
        "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
        "{{ " + "[" * 500 + "]" * 500 + " }}",
        "{{ x" + "|upper" * 3000 + " }}",
        "{{ x" + ".a" * 3000 + " }}",
        "{{ " + "1+" * 3000 + "1 }}",
        "{{ " + "f(" * 300 + ")" * 300 + " }}",
        "{% for a in b %}" * 30 + "{% endfor %}" * 30,
    ],
    ids=["if", "parentheses", "lists", "filters", "attributes", "sums", "calls", "loops"],
)
def test_deeply_nested_template_is_refused_at_load(llama3_tokenizer, template):
    with pytest.raises(ChatTemplateError, match=r"tokenizer\.chat_template.*nested too deeply"):
        JinjaChatFormat(llama3_tokenizer, template)


def test_oversized_template_is_refused_at_load_with_the_limit(llama3_tokenizer):
    with pytest.raises(ChatTemplateError, match=r"tokenizer\.chat_template.*70,000 characters.*32,768"):
        JinjaChatFormat(llama3_tokenizer, "x" * 70_000)


def test_integer_literal_python_cannot_read_is_a_compile_error(llama3_tokenizer):
    with pytest.raises(ChatTemplateError, match=r"tokenizer\.chat_template.*does not compile"):
        JinjaChatFormat(llama3_tokenizer, "{{ " + "9" * 5000 + " }}")


def test_limits_grow_with_the_conversation(llama3_tokenizer):
    # 3 MB of conversation: three times the base text limit, and a thousand steps a message.
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"{i} " + "x" * 1500} for i in range(2000)]
    text = JinjaChatFormat(llama3_tokenizer, LLAMA3_STYLE_TEMPLATE).render_text(messages)
    assert len(text) > 3_000_000 and text.count("<|eot_id|>") == 2000


def test_errors_name_the_source_they_were_given(llama3_tokenizer):
    with pytest.raises(ChatTemplateError, match=r"\(tokenizer\.chat_template\.tool_use\) holds a value of type int"):
        JinjaChatFormat(llama3_tokenizer, 7, source_name="tokenizer.chat_template.tool_use")
    chat_format = JinjaChatFormat(llama3_tokenizer, "{{ range(10 ** 30)|length }}", source_name="my.template")
    with pytest.raises(ChatTemplateError, match=r"\(my\.template\) went over its limit of 100,000 items in one range"):
        chat_format.render_text(MESSAGES)
