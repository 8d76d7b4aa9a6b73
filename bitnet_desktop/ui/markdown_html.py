"""Markdown, as a person typed it or a model wrote it, to the HTML subset Qt's rich text renders.

No Qt here: these are pure functions, so the chat view stays thin and this is tested without a display.

Qt's rich text ignores CSS classes and most CSS on tables, so everything is spelled out: tables carry
border / cellspacing / cellpadding attributes, code is highlighted by Pygments with inline styles, and a
code block's background is a one-cell table (the only box Qt pads and fills edge to edge).

Model output is untrusted: raw HTML is shown as text, and only http(s) and mailto links stay links (a
model must not be able to write `javascript:`, `file:` or one of the view's own action links such as
`copy:`). Images are never loaded; they show as a link to their address.

Measured (Python 3.11, markdown-it-py 4.3, Pygments 2.21, one core of a Xeon build machine): a 2,260-word
answer with 3 highlighted 27-line Python blocks renders in about 4 ms, 0.6 ms once the blocks are in the
highlight cache (the first render in a process takes 25 to 35 ms: Pygments loads the lexer).
"""
from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.util import ClassNotFound

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
# While streaming, a last line of one or two fence characters is probably a fence being typed.
_HALF_TYPED_FENCE = re.compile(r"(?:^|\n)[ \t>]*(?:`{1,2}|~{1,2})\Z")
_CODE_TOKENS = ("fence", "code_block")


@dataclass(frozen=True)
class Palette:
    """The colours the HTML spells out; the text colour itself comes from the widget's palette."""
    pygments_style: str
    code_text: str                 # Pygments styles leave plain text to the page; ours may not match
    inline_code_background: str
    table_border: str
    link: str
    muted: str                     # the small action links (Copy, Edit, ...) and notes


LIGHT = Palette("default", "#1f2328", "#eceff1", "#b8bec4", "#0969da", "#6a737d")
DARK = Palette("github-dark", "#e6edf3", "#2d333b", "#4a525c", "#4493f8", "#9aa4ae")


def palette(dark: bool) -> Palette:
    return DARK if dark else LIGHT


def _validate_link(url: str) -> bool:
    return url.strip().lower().startswith(_SAFE_SCHEMES)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.validateLink = _validate_link
    return md


_MD = _parser()


def code_blocks(text: str) -> list[str]:
    """The raw code of each code block (fenced or indented) in `text`, in order; the indices match the
    `copy:` links of render_markdown(). The copy action takes code from here, never from rendered HTML."""
    return [token.content for token in _MD.parse(text) if token.type in _CODE_TOKENS]


def render_markdown(text: str, *, streaming: bool = False, dark: bool = False, link_prefix: str = "",
                    first_code_index: int = 0) -> str:
    """HTML for Qt's rich text. Each code block is followed by `<a href="copy:{link_prefix}{index}">`, the
    indices counted from `first_code_index` (for text rendered in parts: see split_last_block()).

    CommonMark already ends an unterminated fence at the end of its container, so a half-written answer
    shows its open code block as code. While `streaming`, that block is closed for display: a half-typed
    closing fence (a last line of one or two backticks) is hidden instead of flashing inside the code,
    and the open block is highlighted without filling the cache with every partial version of it.
    """
    if streaming:
        text = _HALF_TYPED_FENCE.sub("", text)
    tokens = _MD.parse(text)
    env = {
        "palette": palette(dark),
        "link_prefix": link_prefix,
        "open_fence": _open_fence(tokens, text) if streaming else None,
        "code_index": first_code_index,
    }
    return _MD.renderer.render(tokens, _MD.options, env)


def split_last_block(text: str) -> tuple[str, str, int]:
    """(settled, tail, code blocks in settled): `text` cut where its last top-level block starts.

    While an answer streams only its last block can still change (a paragraph may turn into a heading
    or a table, a list or fence grows; blocks before it are complete), so a view re-renders the tail
    alone. settled + tail is `text` with its line ends normalized to "\n"; each part renders alone as
    it does within the whole, except a link to a reference defined later in the text.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    tokens = _MD.parse(text)
    starts = [t.map[0] for t in tokens if t.level == 0 and t.nesting != -1 and t.map is not None]
    if not starts:
        return "", text, 0
    last = starts[-1]
    code_count = sum(1 for t in tokens if t.type in _CODE_TOKENS and t.map is not None and t.map[0] < last)
    offset = sum(len(line) + 1 for line in text.split("\n")[:last])
    return text[:offset], text[offset:], code_count


def _open_fence(tokens: list[Token], text: str) -> Token | None:
    """The last fence if it has no closing line yet."""
    fences = [token for token in tokens if token.type == "fence"]
    if not fences or fences[-1].map is None:
        return None
    fence = fences[-1]
    start, end = fence.map
    if end - start < 2:
        return fence
    last = text.split("\n")[end - 1].lstrip(" \t>").rstrip()
    closed = len(last) >= len(fence.markup) and set(last) == {fence.markup[0]}
    return None if closed else fence


@functools.lru_cache(maxsize=256)
def _highlighted(language: str, code: str, dark: bool) -> str:
    return _highlight(language, code, dark)


def _highlight(language: str, code: str, dark: bool) -> str:
    """The code as spans with inline styles (Qt ignores classes), or escaped text for an unknown language."""
    try:
        lexer = get_lexer_by_name(language) if language else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return html.escape(code.removesuffix("\n"), quote=False)
    formatter = HtmlFormatter(nowrap=True, noclasses=True, style=palette(dark).pygments_style)
    return highlight(code, lexer, formatter).removesuffix("\n")


@functools.lru_cache(maxsize=4)
def _style_background(style_name: str) -> str:
    """The background a Pygments style was designed on."""
    return get_style_by_name(style_name).background_color


def _code_box(code_html: str, colours: Palette, copy_href: str) -> str:
    background = _style_background(colours.pygments_style)
    return (
        f'<table width="100%" border="0" cellspacing="0" cellpadding="8" bgcolor="{background}">'
        f'<tr><td><pre style="color:{colours.code_text}">{code_html}</pre></td></tr></table>'
        f'<p style="margin-top:2px"><small><a href="{copy_href}" style="color:{colours.muted}; '
        f'text-decoration:none">Copy</a></small></p>'
    )


def _render_code(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    token = tokens[idx]
    language = token.info.split(maxsplit=1)[0] if token.info.strip() else ""
    dark = env["palette"] is DARK
    if token is env["open_fence"]:
        code_html = _highlight(language, token.content, dark)
    else:
        code_html = _highlighted(language, token.content, dark)
    href = f"copy:{env['link_prefix']}{env['code_index']}"
    env["code_index"] += 1
    return _code_box(code_html, env["palette"], html.escape(href))


def _render_code_inline(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    background = env["palette"].inline_code_background
    return f'<code style="background-color:{background}">{html.escape(tokens[idx].content, quote=False)}</code>'


def _render_table_open(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    # Qt draws single inner lines only with collapse plus an explicit border style.
    style = f"border-collapse:collapse; border-style:solid; border-color:{env['palette'].table_border}"
    return f'<table border="1" cellspacing="0" cellpadding="4" style="{style}">\n'


def _render_cell_open(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    token = tokens[idx]
    tag = "th" if token.type == "th_open" else "td"
    style = token.attrGet("style") or ""
    align = style.removeprefix("text-align:") if style.startswith("text-align:") else ""
    return f'<{tag} align="{align}">' if align else f"<{tag}>"


def _render_link_open(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    tokens[idx].attrSet("style", f"color:{env['palette'].link}")   # the widget's link colour may not suit
    return self.renderToken(tokens, idx, options, env)


def _render_image(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    token = tokens[idx]
    alt = html.escape(self.renderInlineAsText(token.children or [], options, env), quote=False) or "image"
    src = str(token.attrGet("src") or "")
    if not _validate_link(src):
        return f"[{alt}]"
    return f'<a href="{html.escape(src)}" style="color:{env["palette"].link}">[{alt}]</a>'


for _rule, _function in {
    "fence": _render_code,
    "code_block": _render_code,
    "code_inline": _render_code_inline,
    "table_open": _render_table_open,
    "th_open": _render_cell_open,
    "td_open": _render_cell_open,
    "link_open": _render_link_open,
    "image": _render_image,
}.items():
    _MD.add_render_rule(_rule, _function)
