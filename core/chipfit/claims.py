"""Checking published claims against a report, with the arithmetic written out.

A claim's ``value`` is a small arithmetic expression (numbers, ``+ - * / **``, parentheses) over
the metrics of one cell (bare names: ``time_to_train_s``) and of a ``versus`` cell
(``versus.ops_per_w``), plus the cell's ``count`` and ``batch``. The report prints the expression
with the numbers substituted, so a reader can redo it by hand.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from typing import Any

from chipfit.errors import SpecError
from chipfit.records import ClaimCheck, Result

_OPERATORS = {
    ast.Add: (operator.add, "+", 1),
    ast.Sub: (operator.sub, "-", 1),
    ast.Mult: (operator.mul, "x", 2),
    ast.Div: (operator.truediv, "/", 2),
    ast.Pow: (operator.pow, "^", 3),
}


#: Where a negation binds in printed arithmetic: tighter than x and /, looser than ^ (as in Python).
_UNARY = 2.5


class ExpressionError(ValueError):
    """A claim expression that is not plain arithmetic over known metrics."""


class Deferred(Exception):
    """A claim that needs a metric only measurement adds, checked before measuring: it is checked after."""


#: Metrics a modelled cell gains only once its measured twin is in (see ``runner.with_model_error``).
MEASURED_ONLY = frozenset({"model_error"})


#: The longest claim expression read, in characters, and its deepest nesting: a published claim's
#: arithmetic is a line, and a bound keeps parsing and evaluating it far from Python's recursion limit.
MAX_LENGTH = 500
MAX_DEPTH = 60

#: Python's symbols for the operators a claim may not use, so an error can name the one it met.
_REFUSED_SYMBOLS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
    ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Not: "not", ast.And: "and", ast.Or: "or",
}


def parse_expression(source: str) -> ast.expr:
    """Parse a claim expression, allowing only numbers, metric names and arithmetic.

    :raises ExpressionError: not arithmetic, a refused operator (named), a number that is not finite, or an
        expression longer than :data:`MAX_LENGTH` characters or nested deeper than :data:`MAX_DEPTH`.
    """
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"too long: {len(source)} characters (at most {MAX_LENGTH}); a claim's value is "
                              f"one line of arithmetic")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as error:
        raise ExpressionError(f"not an arithmetic expression: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"nested too deeply (at most {MAX_DEPTH} levels)") from None
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(f"nested too deeply (at most {MAX_DEPTH} levels)")
    for node in ast.walk(tree):
        if type(node) in _REFUSED_SYMBOLS:
            raise ExpressionError(f"operator {_REFUSED_SYMBOLS[type(node)]!r} is not allowed "
                                  f"(numbers, metric names and + - * / ** only)")
        if isinstance(node, ast.Constant) and isinstance(node.value, float) and not math.isfinite(node.value):
            raise ExpressionError(f"the number {ast.get_source_segment(source.strip(), node) or node.value} is "
                                  f"not finite")
        allowed = (
            isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.USub, ast.UAdd))
            or type(node) in _OPERATORS
            or (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
                and not isinstance(node.value, bool))
            or (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "versus")
        )
        if not allowed:
            shown = ast.get_source_segment(source.strip(), node) or type(node).__name__
            raise ExpressionError(f"{shown!r} is not allowed (numbers, metric names and + - * / ** only)")
    return tree


def _depth(tree: ast.AST) -> int:
    """How deeply an expression nests (counted without recursion, so any tree can be measured)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def evaluate(tree: ast.expr, cell: Mapping[str, Any], versus: Mapping[str, Any] | None, *,
             defer: frozenset[str] = frozenset()) -> tuple[float, str]:
    """The expression's value and its arithmetic with every name replaced by its number.

    :raises Deferred: a name in ``defer`` that the cell lacks (it may have it later).
    """

    def lookup(name: str, scope: Mapping[str, Any] | None, label: str) -> float:
        if scope is None:
            raise ExpressionError(f"{label} is used but the claim has no 'versus' cell")
        value = scope.get(name)
        if value is None and name in defer:
            raise Deferred(label)
        if value is None or isinstance(value, (bool, str)):
            raise ExpressionError(f"{label} has no numeric value in that cell")
        return float(value)

    def walk(node: ast.expr) -> tuple[float, str, float]:
        # (value, its arithmetic as text, the precedence of that text's outermost operation)
        if isinstance(node, ast.Constant):
            return float(node.value), _number(node.value), 9
        if isinstance(node, (ast.Name, ast.Attribute)):
            value = lookup(node.id, cell, node.id) if isinstance(node, ast.Name) else \
                lookup(node.attr, versus, f"versus.{node.attr}")
            return value, _number(value), 9 if value >= 0 else _UNARY  # -0.2 reads as a negation
        if isinstance(node, ast.UnaryOp):
            value, text, inner = walk(node.operand)
            if isinstance(node.op, ast.UAdd):
                return value, text, inner
            return -value, f"-({text})" if inner <= _UNARY else f"-{text}", _UNARY
        function, symbol, precedence = _OPERATORS[type(node.op)]
        left, left_text, left_precedence = walk(node.left)
        right, right_text, right_precedence = walk(node.right)
        # ^ groups from the right (2 ^ 3 ^ 2 is 2 ^ 9), the others from the left (8 / 4 / 2 is 1)
        if left_precedence < precedence or (left_precedence == precedence and symbol == "^"):
            left_text = f"({left_text})"
        if right_precedence < precedence or (right_precedence == precedence and symbol in "-/"):
            right_text = f"({right_text})"
        try:
            value = function(left, right)
        except OverflowError:
            raise ExpressionError(f"{left_text} {symbol} {right_text} is too large") from None
        except ArithmeticError as error:  # division by zero
            raise ExpressionError(f"{left_text} {symbol} {right_text}: {error or type(error).__name__}") from None
        if not isinstance(value, float) or not math.isfinite(value):
            raise ExpressionError(f"{left_text} {symbol} {right_text} is not a finite real number")
        return value, f"{left_text} {symbol} {right_text}", precedence

    value, text, _ = walk(tree)
    return value, text


def _number(value: float) -> str:
    return f"{value:.4g}"


def check(
    claim: Any,
    cell: Result | None,
    versus: Result | None,
    *,
    where: str = "",
    defer: frozenset[str] = frozenset(),
) -> ClaimCheck:
    """Compute one claim from the report's cells and judge it against what was claimed.

    :raises SpecError: the expression is not arithmetic or names a metric the cell lacks.
    :raises Deferred: it needs a metric in ``defer`` that the cell lacks yet.
    """
    common = dict(text=claim.text, expected=claim.expected, formula=claim.value,
                  tolerance=claim.tolerance, source=claim.source, why=claim.why)
    shown = claim.value if len(claim.value) <= 60 else claim.value[:57] + "..."
    try:
        tree = parse_expression(claim.value)
    except ExpressionError as error:
        raise SpecError(f"claim {claim.text[:40]!r}: value {shown!r}: {error}", path=where or None) from None
    missing = [ref for ref, row in ((claim.cell, cell), (claim.versus, versus)) if ref is not None and row is None]
    if missing:
        ref = missing[0]
        return ClaimCheck(value=None, arithmetic="", verdict=f"cannot check: no cell {ref.device} x {ref.workload}"
                          f" in group {ref.group}", **common)
    not_ok = [row for row in (cell, versus) if row is not None and not row.ok]
    if not_ok:
        row = not_ok[0]
        return ClaimCheck(value=None, arithmetic="", verdict=f"cannot check: {row.device} is {row.status}: {row.reason}",
                          **common)
    try:
        value, arithmetic = evaluate(tree, _scope(cell), _scope(versus) if versus else None, defer=defer)
    except ExpressionError as error:
        raise SpecError(f"claim {claim.text[:40]!r}: value {shown!r}: {error}", path=where or None) from None
    if claim.expected is None:
        verdict = "computed"
    else:
        ratio = value / claim.expected if claim.expected else float("inf")
        verdict = "agrees" if abs(ratio - 1) <= claim.tolerance else "differs"
    shown = arithmetic if isinstance(tree, (ast.Name, ast.Attribute, ast.Constant)) else f"{arithmetic} = {_number(value)}"
    return ClaimCheck(value=value, arithmetic=shown, verdict=verdict, **common)


def _scope(row: Result) -> dict[str, Any]:
    return {"count": row.scenario.count, **row.metrics}
