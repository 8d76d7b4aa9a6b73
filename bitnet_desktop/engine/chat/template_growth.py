"""Checks made BEFORE an operation whose result can be far larger than its inputs ('a' * n, 9 ** n,
'%1000000000s' % x, 'a'.center(n), s.replace('', t)): the result is refused before it is allocated.

Each check takes the render's budget (template_limits.py) and raises TemplateLimitError through it.
Operations whose result is no larger than their inputs are checked afterwards, by TemplateBudget.check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable

from bitnet_desktop.engine.chat.template_limits import TemplateBudget

# One printf conversion: %[(key)][flags][width][.precision][length]type
_PRINTF_SPEC = re.compile(r"%(?:\((?P<key>[^()]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?"
                          r"(?P<kind>.?)", re.S)
_DIGITS = re.compile(r"\d+")
_NUMBER_CHARS = 400   # the longest a number can print without a width or precision (a float in %f)


def check_repeat(budget: TemplateBudget, left: Any, right: Any) -> None:
    """'*': sequence repetition and integer products."""
    if type(left) in (int, bool) and type(right) in (int, bool):
        if left.bit_length() + right.bit_length() > budget.limits.int_bits + 1:
            budget.refuse(f"{budget.limits.int_bits:,}-bit integers")
        return
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int) and count > 0:
            budget.require_chars(budget.weight(sequence) * count, "one repeated string or list")


def check_sum(budget: TemplateBudget, left: Any, right: Any) -> None:
    """'+' of two sequences: refused by length before the result is built and walked."""
    if isinstance(left, (str, bytes, list, tuple)) and isinstance(right, (str, bytes, list, tuple)):
        budget.require_chars(len(left) + len(right), "one string or list")


def check_power(budget: TemplateBudget, base: Any, exponent: Any) -> None:
    """'**': the result's size in bits is about bits(base) * exponent; computing it first could take hours."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if (abs(base).bit_length() - 1) * exponent >= budget.limits.int_bits:
            budget.refuse(f"{budget.limits.int_bits:,}-bit integers")


def check_printf(budget: TemplateBudget, template: Any, values: Any) -> None:
    """'%' formatting (the `%` operator and the `format` filter): widths, precisions and repeated values."""
    if not isinstance(template, str):
        return
    positional = list(values) if isinstance(values, tuple) else [values]
    mapping = values if isinstance(values, Mapping) else {}
    size, index = len(template), 0

    def take() -> Any:
        nonlocal index
        index += 1
        return positional[index - 1] if index <= len(positional) else None

    for spec in _PRINTF_SPEC.finditer(template):
        if spec.group(0).startswith("%(") and spec.group("key") is None:
            budget.refuse("'%' formatting with a nested %(...) key")
        if spec.group("kind") == "%":
            continue
        width = _number(budget, spec.group("width"), take)
        precision = _number(budget, spec.group("precision"), take)
        value = mapping.get(spec.group("key")) if spec.group("key") is not None else take()
        size += width + precision + budget.weight(value) + _NUMBER_CHARS
        budget.require_chars(size, "the result of '%' formatting")


def _number(budget: TemplateBudget, text: str | None, take: Callable[[], Any]) -> int:
    if text == "*":
        value = take()
        return abs(value) if isinstance(value, int) else 0
    if not text:
        return 0
    return int(text) if len(text) <= 18 else budget.limits.chars + 1


def check_format_spec(budget: TemplateBudget, spec: str) -> None:
    """str.format's "{:>1000000000}": every width and precision in the spec."""
    for digits in _DIGITS.findall(spec):
        budget.require_chars(int(digits) if len(digits) <= 18 else budget.limits.chars + 1,
                             "a str.format width or precision")


def check_text_method(budget: TemplateBudget, name: str, text: str | bytes, args: tuple, kwargs: dict) -> tuple:
    """A str or bytes method about to be called; returns its positional arguments (join's iterable becomes
    a list, collected within the limit)."""
    check = _TEXT_METHODS.get(name)
    return args if check is None else check(budget, text, *args, **kwargs) or args


def _padded(budget: TemplateBudget, text: Any, width: Any = 0, *_: Any) -> None:
    if isinstance(width, int):
        budget.require_chars(width, "padded text")


def _expandtabs(budget: TemplateBudget, text: Any, tabsize: Any = 8) -> None:
    if isinstance(tabsize, int):
        tab = "\t" if isinstance(text, str) else b"\t"
        budget.require_chars(len(text) + text.count(tab) * tabsize, "text with tabs expanded")


def check_replace(budget: TemplateBudget, text: Any, old: Any, new: Any, count: Any = -1) -> None:
    """str.replace and the `replace` filter: replacing "" inserts `new` between every two characters."""
    if isinstance(text, (str, bytes)) and isinstance(old, type(text)) and isinstance(new, type(text)):
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        budget.require_chars(len(text) + hits * len(new), "the result of replace")


def _join(budget: TemplateBudget, separator: Any, iterable: Any = (), *_: Any) -> tuple:
    items, size = budget.collect(iterable, "the items of str.join")
    budget.require_chars(size + len(separator) * len(items), "the result of str.join")
    return (items,)


def _translate(budget: TemplateBudget, text: Any, table: Any = None, *_: Any) -> None:
    if isinstance(table, Mapping):
        longest = max((len(v) for v in table.values() if isinstance(v, (str, bytes))), default=1)
        budget.require_chars(len(text) * longest, "translated text")


_TEXT_METHODS: dict[str, Callable[..., Any]] = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "expandtabs": _expandtabs,
    "replace": check_replace,
    "join": _join,
    "translate": _translate,
}
