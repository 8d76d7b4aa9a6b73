"""The Jinja environment chat templates run in, every costly operation charged to the render's budget.

Jinja's ImmutableSandboxedEnvironment keeps a template away from Python internals and from mutating the
messages; it does not bound work or size. This one adds:

* hooks Jinja offers: calls, the operators + * ** %, str.format, output (finalize) and joins (concat);
* hooks it does not, through its code generator: a step charged per loop iteration (and per loop-filter
  test), and a check on every list, tuple and dict literal and every `~`;
* no optimizer: Jinja's constant folding would run filters while compiling (see template_limits.py for why
  the folding left in the code generator cannot run one either).
"""

from __future__ import annotations

from functools import update_wrapper
from string import Formatter
from typing import Any, Callable, NoReturn

import jinja2.ext
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from markupsafe import Markup

from bitnet_desktop.engine.chat.template_filters import bounded_filters, bounded_globals
from bitnet_desktop.engine.chat.template_growth import (
    check_format_spec,
    check_power,
    check_printf,
    check_repeat,
    check_sum,
    check_text_method,
)
from bitnet_desktop.engine.chat.template_limits import TemplateBudget, active_budget


def _step_count(lineno: int) -> nodes.InternalName:
    """An expression that charges one step: `environment.count_step()`, which returns True.

    Jinja refuses custom node types; an InternalName is written to the code verbatim, and this is how
    Jinja's own parser makes one (Parser.free_identifier).
    """
    node = object.__new__(nodes.InternalName)
    nodes.Node.__init__(node, "environment.count_step()", lineno=lineno)
    return node


class BoundedCodeGenerator(CodeGenerator):
    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        line = node.lineno
        body = [nodes.ExprStmt(_step_count(line), lineno=line), *node.body]
        test = None if node.test is None else nodes.And(_step_count(line), node.test, lineno=line)
        counted = nodes.For(node.target, node.iter, body, node.else_, test, node.recursive, lineno=line)
        super().visit_For(counted, frame)

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._checked(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._checked(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx == "load":           # not an assignment target: {% set a, b = ... %}
            self._checked(super().visit_Tuple, node, frame)
        else:
            super().visit_Tuple(node, frame)

    def _checked(self, visit: Callable[[Any, Frame], None], node: nodes.Node, frame: Frame) -> None:
        self.write("environment.check_value(")
        visit(node, frame)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # Jinja's own visit_Concat, with the join handed to concat_values so the size is known first.
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.concat_values({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class ChatTemplateSandbox(ImmutableSandboxedEnvironment):
    code_generator_class = BoundedCodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols],
                         autoescape=False, optimized=False, finalize=_charged_output)
        self.concat = _joined_output
        self.filters = bounded_filters(self.filters)
        self.globals.update(bounded_globals())

    def count_step(self) -> bool:
        return active_budget().step()

    def check_value(self, value: Any) -> Any:
        return active_budget().check(value)

    def concat_values(self, join: Callable[[Any], str], values: tuple) -> str:
        budget = active_budget()
        budget.require_chars(sum(budget.weight(value) for value in values), "one string joined with ~")
        return budget.check(join(values))

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:  # type: ignore[override]
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} object is not allowed")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's)
        budget = active_budget()
        budget.step()
        receiver = getattr(__obj, "__self__", None)
        if isinstance(receiver, (str, bytes)):
            args = check_text_method(budget, __obj.__name__, receiver, args, kwargs)
        return budget.check(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = active_budget()
        if operator == "+" and type(left) is str and type(right) is str:   # most of a real template's work
            budget.text_step(len(left) + len(right))
            return left + right
        budget.step()
        if operator == "*":
            check_repeat(budget, left, right)
        elif operator == "**":
            check_power(budget, left, right)
        elif operator == "%":
            check_printf(budget, left, right)
        elif operator == "+":
            check_sum(budget, left, right)
        return budget.check(self.binop_table[operator](left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """str.format / format_map as Jinja's sandbox wraps them, with each field's width checked and the
        result's size counted as it is built (`'{0}{0}{0}'.format(big)`)."""
        if super().wrap_str_format(value) is None:
            return None
        text: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument and no keyword arguments")
                args, kwargs = (), args[0]
            budget = active_budget()
            if isinstance(text, Markup):
                formatter: Formatter = _CountingEscapeFormatter(self, budget, escape=text.escape)
            else:
                formatter = _CountingFormatter(self, budget)
            return type(text)(formatter.vformat(text, args, kwargs))

        return update_wrapper(bounded_format, value)


class _CountingFormatter(SandboxedFormatter):
    def __init__(self, environment: ChatTemplateSandbox, budget: TemplateBudget, **kwargs: Any) -> None:
        super().__init__(environment, **kwargs)
        self._budget = budget
        self._size = 0

    def format_field(self, value: Any, format_spec: str) -> str:
        check_format_spec(self._budget, format_spec)
        text = super().format_field(value, format_spec)
        self._size += len(text)
        self._budget.require_chars(self._size, "the result of str.format")
        return text


class _CountingEscapeFormatter(_CountingFormatter, SandboxedEscapeFormatter):
    pass


def _charged_output(value: Any) -> str:
    # Output inside a macro, loop buffer or {% set %} block is kept until joined: charge it when made.
    text = value if isinstance(value, str) else str(value)
    active_budget().produce(len(text))
    return text


def _joined_output(parts: Any) -> str:
    return active_budget().join_text(parts)
