"""Jinja's filters and globals, each charged to the render's budget: one step per call, the result checked,
and for those whose output can dwarf their input, or that walk it in Python (center, indent, wordwrap,
format, join, replace, batch, slice, round, tojson, pprint, urlize, lipsum, range), the arguments first.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

from jinja2.filters import sync_do_join
from jinja2.utils import Namespace, generate_lorem_ipsum, pass_eval_context

from bitnet_desktop.engine.chat.template_growth import check_printf, check_replace
from bitnet_desktop.engine.chat.template_limits import MAX_NESTING, MAX_RANGE, TemplateBudget, active_budget

_LONGEST_LIPSUM_WORD = 16
_URLIZE_GROWTH = 4


def bounded_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Jinja's filters, all charged; join and sum bounded, tojson as transformers has it (non-ASCII kept)."""
    replaced = {**filters, "join": _join, "tojson": _tojson, "sum": _sum(filters["sum"])}
    return {name: _charged(func, _PRECHECKS.get(name)) for name, func in replaced.items()}


def bounded_globals() -> dict[str, Any]:
    return {"range": _range, "lipsum": _lipsum, "namespace": BoundedNamespace}


class BoundedNamespace(Namespace):
    """namespace(): each assignment is checked, since `ns.x = [ns.x, ns.x]` doubles what printing ns costs."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, value)
        active_budget().check(self)


def _charged(func: Callable[..., Any], precheck: Callable[..., None] | None) -> Callable[..., Any]:
    # A filter marked with jinja_pass_arg (most of Jinja's, via pass_environment or async_variant) gets an
    # environment or context first; the precheck sees only the template's arguments.
    skip = 0 if getattr(func, "jinja_pass_arg", None) is None else 1

    @functools.wraps(func)   # keeps jinja_pass_arg
    def charged(*args: Any, **kwargs: Any) -> Any:
        budget = active_budget()
        budget.step()
        if precheck is not None:
            precheck(budget, *args[skip:], **kwargs)
        return budget.check(func(*args, **kwargs))

    return charged


def _range(*args: int) -> range:
    numbers = range(*args)
    try:
        too_long = len(numbers) > MAX_RANGE
    except OverflowError:                     # more items than a machine word counts
        too_long = True
    if too_long:
        active_budget().refuse(f"{MAX_RANGE:,} items in one range()")
    return numbers


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002 (Jinja's names)
    budget = active_budget()
    budget.require_chars(n * max * _LONGEST_LIPSUM_WORD, "lipsum()")
    return generate_lorem_ipsum(n, html, min, max)


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    budget = active_budget()
    items, size = budget.collect(value, "the items of join")
    budget.require_chars(size + len(str(d)) * len(items), "the result of join")
    return sync_do_join(eval_ctx, items, d, attribute)


def _tojson(value: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None,
            sort_keys: bool = False) -> str:
    """transformers' tojson (non-ASCII kept). With an indent or separators, the text is written in pieces and
    refused as soon as it passes the limit; without, it is at most a few times the value's weight, which
    the weight check bounds (along with the nesting json recurses through)."""
    budget = active_budget()
    budget.weight(value)
    encoder = json.JSONEncoder(ensure_ascii=ensure_ascii, indent=_json_indent(budget, indent),
                               separators=separators, sort_keys=sort_keys)
    if indent is None and separators is None:
        return encoder.encode(value)
    pieces, _ = budget.collect(encoder.iterencode(value), "the JSON of one value")
    return "".join(pieces)


def _json_indent(budget: TemplateBudget, indent: Any) -> Any:
    # json makes ' ' * indent up front and repeats it once per nesting level on every line.
    width = len(indent) if isinstance(indent, str) else indent if isinstance(indent, (int, float)) else 0
    budget.require_chars(width * MAX_NESTING, "a JSON indent")     # 1e8 too: json then fails on a float
    return indent


def _sum(do_sum: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(do_sum)
    def bounded_sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
        # sum(start=[]) concatenates lists one by one: quadratic, and never needed for numbers.
        if not isinstance(start, (int, float)):
            active_budget().refuse("sums of numbers only (a list or text start would be quadratic)")
        return do_sum(environment, iterable, attribute, start)

    return bounded_sum


def _center(budget: TemplateBudget, value: Any, width: Any = 80) -> None:
    if isinstance(width, int):
        budget.require_chars(width, "centered text")


def _indent(budget: TemplateBudget, s: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    text = str(s)
    per_line = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    budget.require_chars(len(text) + (text.count("\n") + 1) * per_line, "indented text")


def _wordwrap(budget: TemplateBudget, s: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None,
              *_: Any, **__: Any) -> None:
    text, newline = str(s), wrapstring if isinstance(wrapstring, str) else "\r\n"
    budget.require_chars(len(text) + (len(text) + 1) * len(newline), "wrapped text")


def _format(budget: TemplateBudget, value: Any, *args: Any, **kwargs: Any) -> None:
    check_printf(budget, str(value), kwargs or args)


def _replace(budget: TemplateBudget, s: Any, old: Any, new: Any, count: Any = None) -> None:
    check_replace(budget, str(s), str(old), str(new), -1 if count is None else count)


def _batch(budget: TemplateBudget, value: Any, linecount: Any, fill_with: Any = None) -> None:
    if fill_with is not None and isinstance(linecount, int):
        budget.require_chars(linecount * budget.weight(fill_with), "a batch filled up")


def _slice(budget: TemplateBudget, value: Any, slices: Any, fill_with: Any = None) -> None:
    if isinstance(slices, int):
        budget.require_chars(slices * (1 + budget.weight(fill_with)), "slices")


def _round(budget: TemplateBudget, value: Any, precision: Any = 0, method: Any = "common") -> None:
    # "ceil" and "floor" compute 10 ** precision.
    if isinstance(precision, int) and abs(precision) * 4 > budget.limits.int_bits:
        budget.refuse(f"{budget.limits.int_bits:,}-bit integers (round to {precision} digits)")


def _urlize(budget: TemplateBudget, value: Any, *_: Any, **__: Any) -> None:
    # Each word may become a link several times its length; urlize walks the words in Python.
    budget.require_chars(len(str(value)) * _URLIZE_GROWTH, "urlized text")


def _pprint(budget: TemplateBudget, value: Any) -> None:
    # pformat puts nested items on lines of their own, indented by their depth.
    budget.require_chars(budget.weight(value) * (MAX_NESTING + 2), "the pprint of one value")


_PRECHECKS: dict[str, Callable[..., None]] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "format": _format,
    "replace": _replace,
    "batch": _batch,
    "slice": _slice,
    "round": _round,
    "pprint": _pprint,
    "urlize": _urlize,
}
