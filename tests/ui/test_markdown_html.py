"""Markdown to Qt rich text: what Qt needs spelled out, and what untrusted model output must not do."""
import re
import time

from bitnet_desktop.ui import markdown_html
from bitnet_desktop.ui.markdown_html import DARK, LIGHT, code_blocks, render_markdown, split_last_block


def _pre_contents(html: str) -> list[str]:
    return re.findall(r"<pre[^>]*>(.*?)</pre>", html, flags=re.S)


def test_headings_paragraphs_and_emphasis():
    html = render_markdown("# Title\n\n## Part\n\nSome **bold** and *slanted* text.")
    assert "<h1>Title</h1>" in html
    assert "<h2>Part</h2>" in html
    assert "<strong>bold</strong>" in html and "<em>slanted</em>" in html


def test_lists_nested_and_ordered():
    html = render_markdown("- one\n- two\n  - inner\n\n1. first\n2. second")
    assert html.count("<ul>") == 2
    assert "<li>inner</li>" in html
    assert "<ol>" in html and "<li>second</li>" in html


def test_tables_carry_borders_as_attributes_and_alignment():
    html = render_markdown("| name | n |\n|------|--:|\n| a | 1 |")
    table = re.search(r"<table[^>]*>", html).group(0)
    assert 'border="1"' in table and 'cellspacing="0"' in table and 'cellpadding="4"' in table
    assert "<th>name</th>" in html
    assert '<td align="right">1</td>' in html
    assert "text-align" not in html     # Qt takes the align attribute


def test_inline_code_is_monospace_with_a_background_and_escaped():
    html = render_markdown("Use `a<b && c` here.")
    assert f'<code style="background-color:{LIGHT.inline_code_background}">a&lt;b &amp;&amp; c</code>' in html


def test_fenced_code_is_highlighted_with_inline_styles():
    html = render_markdown("```python\ndef f(x):\n    return x < 1\n```")
    (code,) = _pre_contents(html)
    assert '<span style="color:' in code
    assert "class=" not in html          # Qt ignores classes
    assert "&lt;</span>" in code and "def" in code
    assert f'bgcolor="{markdown_html._style_background(LIGHT.pygments_style)}"' in html


def test_unknown_or_missing_language_is_plain_escaped_text():
    for fence in ("```nosuchlanguage", "```"):
        html = render_markdown(f"{fence}\nif a < b & c:\n```")
        assert _pre_contents(html) == ["if a &lt; b &amp; c:"]


def test_dark_mode_changes_the_colours():
    text = "Use `x` and [a link](https://example.com).\n\n```python\nprint('hi')\n```"
    light, dark = render_markdown(text), render_markdown(text, dark=True)
    assert light != dark
    assert DARK.inline_code_background in dark and LIGHT.inline_code_background not in dark
    assert f"color:{DARK.link}" in dark
    assert markdown_html._style_background(DARK.pygments_style) in dark


def test_an_unterminated_fence_shows_as_code_and_streaming_hides_a_half_typed_closing_fence():
    text = "Here:\n\n```python\nx = 1\n``"
    assert _pre_contents(render_markdown(text, streaming=True))[0].endswith("</span>")   # ends with "1"
    assert "``" not in _pre_contents(render_markdown(text, streaming=True))[0]
    assert "``" in _pre_contents(render_markdown(text))[0]                # stored text, shown as written
    open_fence = "```python\nx = 1"
    assert render_markdown(open_fence, streaming=True) == render_markdown(open_fence + "\n```")


def test_streaming_keeps_partial_versions_of_the_open_block_out_of_the_highlight_cache():
    markdown_html._highlighted.cache_clear()
    closed = "```python\na = 1\n```\n\n"
    render_markdown(closed, streaming=True)
    size = markdown_html._highlighted.cache_info().currsize
    for n in range(20):
        render_markdown(closed + "```python\n" + "b = 2\n" * n, streaming=True)
    assert markdown_html._highlighted.cache_info().currsize == size
    assert markdown_html._highlighted.cache_info().hits >= 20      # the closed block came from the cache


def test_raw_html_is_shown_as_text():
    html = render_markdown("<script>alert(1)</script>\n\nhi <b onclick='x'>there</b>")
    assert "<script" not in html and "<b " not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_only_web_and_mail_links_stay_links():
    html = render_markdown(
        "[a](javascript:alert(1)) [b](copy:0) [c](file:///etc/passwd) [d](data:text/html,x) "
        "<javascript:alert(2)> [e](https://example.com/x?a=1&b=2) <http://example.org> [f](mailto:me@example.com)")
    hrefs = re.findall(r'<a href="([^"]*)"', html)
    assert hrefs == ["https://example.com/x?a=1&amp;b=2", "http://example.org", "mailto:me@example.com"]
    assert "[a](javascript:alert(1))" in html      # shown as the text the model wrote


def test_images_are_never_loaded():
    html = render_markdown("![cat](https://example.com/cat.png) ![local](/etc/passwd)")
    assert "<img" not in html
    assert '<a href="https://example.com/cat.png"' in html and ">[cat]</a>" in html
    assert "/etc/passwd" in html and 'href="/etc/passwd"' not in html


def test_copy_links_number_the_code_blocks_in_order():
    text = "```python\na = 1\n```\n\ntext\n\n~~~\nb\n~~~\n\n- item\n\n  ```sh\nls\n  ```\n\n    indented"
    html = render_markdown(text, link_prefix="12:")
    assert re.findall(r'href="(copy:[^"]*)"', html) == ["copy:12:0", "copy:12:1", "copy:12:2", "copy:12:3"]
    assert len(code_blocks(text)) == 4
    assert re.findall(r'href="(copy:[^"]*)"', render_markdown(text)) == ["copy:0", "copy:1", "copy:2", "copy:3"]


def test_split_last_block_cuts_before_the_block_that_may_still_change():
    assert split_last_block("") == ("", "", 0)
    assert split_last_block("One paragraph\nstill") == ("", "One paragraph\nstill", 0)
    assert split_last_block("Done.\n\nGrowing") == ("Done.\n\n", "Growing", 0)
    assert split_last_block("A\n\n- x\n- y\n\n  more of y") == ("A\n\n", "- x\n- y\n\n  more of y", 0)
    text = "A\n\n```py\nx\n```\n\nB\n\n```sh\nls"
    assert split_last_block(text) == ("A\n\n```py\nx\n```\n\nB\n\n", "```sh\nls", 1)
    assert split_last_block("Line\r\n\r\nNext") == ("Line\n\n", "Next", 0)


def test_settled_and_tail_render_as_the_whole_does():
    text = "# T\n\nIntro `x`.\n\n```python\na = 1\n```\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n1. one\n2. two"
    settled, tail, count = split_last_block(text)
    whole = render_markdown(text, link_prefix="4:")
    parts = render_markdown(settled, link_prefix="4:") + render_markdown(tail, link_prefix="4:", first_code_index=count)
    assert parts == whole


def test_code_blocks_return_the_raw_code():
    text = "Intro\n\n```cpp\nif (a < b && c > d) { s = \"<tag>\"; }\n```\n\n```\n&amp; stays as typed\n```"
    assert code_blocks(text) == ['if (a < b && c > d) { s = "<tag>"; }\n', "&amp; stays as typed\n"]
    assert code_blocks("no code here") == []


def test_a_long_answer_renders_quickly():
    code = "def f(x):\n" + "".join(f"    y{i} = x * {i} + (x < {i})\n" for i in range(25)) + "    return y1\n"
    sentence = "The model answers with ternary weights and runs on laptop cores. " * 22
    parts = []
    for i in range(3):
        parts += [f"## Part {i}", sentence * 3, "- a **b** `c`\n- d", f"```python\n{code}```"]
    text = "\n\n".join(parts)
    assert len(text.split()) > 2000
    render_markdown(text)                      # loads the lexer
    start = time.perf_counter()
    render_markdown(text)
    assert time.perf_counter() - start < 0.5   # about 1 ms measured; a loose bound for busy machines
