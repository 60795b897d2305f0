"""The ``--where`` expression language: ``--where "meets_target and power_w < 20"`` on report rows.

A small expression language, parsed by hand (never ``eval``)::

    expression  := or
    or          := and ("or" and)*
    and         := not ("and" not)*
    not         := "not" not | comparison
    comparison  := operand [("<" | "<=" | ">" | ">=" | "==" | "=" | "!=") operand]
    operand     := NUMBER [UNIT] | "$" NUMBER | STRING | "true" | "false" | NAME | "(" expression ")"

NAME is a metric key (``power_w``, ``latency_s`` …) or a row field (``device``, ``workload``,
``group``, ``scenario``, ``source``, ``status``, ``precision``, ``count``, ``batch``); a misspelt one is an
error that suggests the closest. A number may carry a unit that fits the metric it is compared
with (``latency_s < 10 ms``, ``power_w <= 1.5 kW``, ``hardware_cost_usd < $2000``,
``utilization > 50%``); it is converted to the SI unit the key names. A comparison with a metric
a row does not have is false (SQL's NULL, without the third value), so ``not`` of it is true.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs

from chipfit.errors import ChipfitError, suggest

#: Units a number may carry: (scale to SI, dimension).
UNITS: dict[str, tuple[float, str]] = {
    "ns": (1e-9, "time"), "us": (1e-6, "time"), "µs": (1e-6, "time"), "ms": (1e-3, "time"), "s": (1.0, "time"),
    "min": (60.0, "time"), "h": (3600.0, "time"),
    "mW": (1e-3, "power"), "W": (1.0, "power"), "kW": (1e3, "power"), "MW": (1e6, "power"),
    "mJ": (1e-3, "energy"), "J": (1.0, "energy"), "kJ": (1e3, "energy"), "kWh": (3.6e6, "energy"),
    "B": (1.0, "bytes"), "kB": (1e3, "bytes"), "KB": (1e3, "bytes"), "MB": (1e6, "bytes"), "GB": (1e9, "bytes"),
    "TB": (1e12, "bytes"), "KiB": (2.0**10, "bytes"), "MiB": (2.0**20, "bytes"), "GiB": (2.0**30, "bytes"),
    "GB/s": (1e9, "bandwidth"), "TB/s": (1e12, "bandwidth"),
    "GOPS": (1e9, "ops_rate"), "TOPS": (1e12, "ops_rate"), "TFLOPS": (1e12, "ops_rate"), "POPS": (1e15, "ops_rate"),
    "USD": (1.0, "money"), "usd": (1.0, "money"), "%": (0.01, "fraction"),
}

#: The dimension a metric key's name states, by suffix (checked in order).
_KEY_DIMENSIONS = (
    ("ops_per_s", "ops_rate"), ("_per_s", None), ("_per_j", None), ("_per_usd", None), ("_per_w", None),
    ("bandwidth", "bandwidth"), ("_bytes", "bytes"), ("_s", "time"), ("_w", "power"), ("_j", "energy"),
    ("_usd", "money"), ("utilization", "fraction"), ("mfu", "fraction"), ("_share", "fraction"),
)


class QueryError(ChipfitError):
    """A filter or sort that cannot be read: names the option, the text and what is wrong."""


def key_dimension(key: str) -> str | None:
    """The physical dimension a metric key's name states (``latency_s``: time), or None."""
    for suffix, dimension in _KEY_DIMENSIONS:
        if key.endswith(suffix):
            return dimension
    return None


# -- the expression tree ---------------------------------------------------------------------------

@attrs.frozen
class Name:
    """A metric key or row field."""

    key: str

    def text(self) -> str:
        return self.key

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return values.get(self.key)


@attrs.frozen
class Literal:
    """A number (in SI), a string or a boolean."""

    value: float | str | bool

    def text(self) -> str:
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, str):
            return '"' + self.value + '"'
        return repr(float(self.value))

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return self.value


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def _comparable(a: Any, b: Any) -> bool:
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric):
        return not (isinstance(a, float) and math.isnan(a)) and not (isinstance(b, float) and math.isnan(b))
    return isinstance(a, str) and isinstance(b, str)


@attrs.frozen
class Compare:
    """``left OP right``: false where either side is missing or the two cannot be compared."""

    left: Any
    op: str
    right: Any

    def text(self) -> str:
        return f"{self.left.text()} {self.op} {self.right.text()}"

    def evaluate(self, values: Mapping[str, Any]) -> bool:
        a, b = self.left.evaluate(values), self.right.evaluate(values)
        if self.op in ("==", "!=") and isinstance(a, bool | str) and isinstance(b, bool | str):
            return _COMPARE[self.op](a, b)
        if isinstance(a, bool) or isinstance(b, bool) or not _comparable(a, b):
            return False
        return _COMPARE[self.op](a, b)


@attrs.frozen
class Not:
    """``not operand``."""

    operand: Any

    def text(self) -> str:
        return f"not {_wrap(self.operand, Not)}"

    def evaluate(self, values: Mapping[str, Any]) -> bool:
        return not truth(self.operand.evaluate(values))


@attrs.frozen
class Junction:
    """``a and b and …`` or ``a or b or …``."""

    op: str  # "and" | "or"
    operands: tuple[Any, ...]

    def text(self) -> str:
        return f" {self.op} ".join(_wrap(operand, self) for operand in self.operands)

    def evaluate(self, values: Mapping[str, Any]) -> bool:
        results = (truth(operand.evaluate(values)) for operand in self.operands)
        return all(results) if self.op == "and" else any(results)


def _wrap(node: Any, parent: Any) -> str:
    """A child's text, in parentheses where the grammar needs them to parse back the same."""
    if isinstance(node, Junction) and (parent is Not or (isinstance(parent, Junction) and parent.op != node.op)):
        return f"({node.text()})"
    return node.text()


def truth(value: Any) -> bool:
    """A value in a boolean place: a missing metric is false, NaN is false, a number is true unless zero."""
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


# -- the parser ------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<op><=|>=|==|!=|<|>|=)
    | (?P<paren>[()])
    | (?P<string>"[^"]*"|'[^']*')
    | (?P<dollar>\$)
    | (?P<percent>%)
    | (?P<word>[^\W\d][\w.]*(?:/s)?)
    | (?P<bad>\S)
    )""", re.VERBOSE)

_KEYWORDS = {"and", "or", "not", "true", "false"}


@attrs.frozen
class _Token:
    kind: str
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:  # only trailing whitespace is left
            break
        kind = match.lastgroup or "bad"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, option: str, known: Collection[str]) -> None:
        self.text, self.option, self.known = text, option, known
        self.tokens = _tokens(text)
        self.index = 0

    def fail(self, message: str, token: _Token | None = None) -> QueryError:
        where = f"column {token.at + 1}" if token is not None else "at the end"
        return QueryError(f"{self.option} {self.text!r}, {where}: {message}")

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token | None:
        token = self.peek()
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def parse(self) -> Any:
        if not self.tokens:
            raise QueryError(f"{self.option}: empty expression (e.g. {self.option} \"meets_target and power_w < 20\")")
        node = self.junction("or")
        token = self.peek()
        if token is not None:
            raise self.fail(f"unexpected {token.text!r} (expected and, or, or the end)", token)
        return node

    def junction(self, op: str) -> Any:
        lower = (lambda: self.junction("and")) if op == "or" else self.negation
        operands = [lower()]
        while self.keyword(op):
            operands.append(lower())
        return operands[0] if len(operands) == 1 else Junction(op, tuple(operands))

    def negation(self) -> Any:
        if self.keyword("not"):
            return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.operand()
        token = self.peek()
        if token is None or token.kind != "op":
            if isinstance(left, _Quantity) or (isinstance(left, Literal) and not isinstance(left.value, bool)):
                raise self.fail("a number or string alone is not a condition (compare it: power_w < 20)", token)
            return left
        self.index += 1
        op = "==" if token.text == "=" else token.text
        right = self.operand()
        for side in (left, right):
            if isinstance(side, Junction | Not | Compare):
                raise self.fail(f"a condition cannot be compared (around {token.text!r})", token)
        following = self.peek()
        if following is not None and following.kind == "op":
            raise self.fail("comparisons do not chain (write a < x and x < b)", following)
        left, right = self.units(left, right), self.units(right, left)
        return Compare(left, op, right)

    def units(self, node: Any, other: Any) -> Any:
        """A number with a unit, converted to SI; the unit must fit the key it is compared with."""
        if not isinstance(node, _Quantity):
            return node
        if node.unit is None:
            return Literal(node.value)
        scale, dimension = UNITS[node.unit]
        key = other.key if isinstance(other, Name) else None
        wanted = key_dimension(key) if key else None
        if key is None or wanted != dimension:
            what = f"metric {key!r} ({wanted or 'no unit'})" if key else "a value without a unit"
            raise self.fail(f"unit {node.unit!r} ({dimension}) does not fit {what}", node.token)
        return Literal(node.value * scale)

    def operand(self) -> Any:
        token = self.take()
        if token is None:
            raise self.fail("expected a metric, a number, a string, true or false")
        if token.kind == "paren" and token.text == "(":
            node = self.junction("or")
            close = self.take()
            if close is None or close.text != ")":
                raise self.fail("expected ')'", close)
            return node
        if token.kind == "number":
            return self.quantity(token, float(token.text))
        if token.kind == "dollar":
            number = self.take()
            if number is None or number.kind != "number":
                raise self.fail("expected a number after '$'", number)
            return _Quantity(float(number.text), "USD", token)
        if token.kind == "string":
            return Literal(token.text[1:-1])
        if token.kind == "word":
            word = token.text.lower()
            if word in ("true", "false"):
                return Literal(word == "true")
            if word in _KEYWORDS:
                raise self.fail(f"expected a metric, a number or a string, not {token.text!r}", token)
            if token.text not in self.known:
                close = suggest(token.text, self.known)
                hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else \
                    " (see the report's JSON keys)"
                raise self.fail(f"unknown metric {token.text!r}{hint}", token)
            return Name(token.text)
        raise self.fail(f"unexpected {token.text!r}", token)

    def quantity(self, token: _Token, value: float) -> Any:
        if not math.isfinite(value):
            raise self.fail(f"{token.text!r} is not a finite number", token)
        unit = self.peek()
        if unit is not None and unit.kind == "percent":
            self.index += 1
            return _Quantity(value, "%", unit)
        if unit is not None and unit.kind == "word" and unit.text.lower() not in _KEYWORDS:
            self.index += 1
            if unit.text not in UNITS:
                close = suggest(unit.text, UNITS)
                hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                raise self.fail(f"unknown unit {unit.text!r}{hint}", unit)
            return _Quantity(value, unit.text, unit)
        return _Quantity(value, None, token)


@attrs.frozen
class _Quantity:
    """A number as written, before its unit is checked against the key it is compared with."""

    value: float
    unit: str | None
    token: _Token

    def text(self) -> str:  # only seen in error paths
        return f"{self.value:g}{self.unit or ''}"


@attrs.frozen
class Filter:
    """A parsed ``--where`` expression: call :meth:`matches` on a row's values."""

    source: str
    tree: Any

    def matches(self, values: Mapping[str, Any]) -> bool:
        """Whether a row (its metrics and fields, as :func:`chipfit.query.row_values` gives them) passes."""
        return truth(self.tree.evaluate(values))

    def names(self) -> set[str]:
        """The keys the expression mentions."""
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, Name):
                found.add(node.key)
            for child in (getattr(node, "left", None), getattr(node, "right", None), getattr(node, "operand", None),
                          *getattr(node, "operands", ())):
                if child is not None:
                    walk(child)

        walk(self.tree)
        return found


def parse_filter(text: str, known: Collection[str], *, option: str = "--where") -> Filter:
    """Parse a filter expression; names must be in ``known``.

    :raises QueryError: the text does not parse, names an unknown key, or gives a unit that does not fit.
    """
    parser = _Parser(text, option, known)
    try:
        return Filter(text, parser.parse())
    except RecursionError:
        raise QueryError(f"{option} {text!r}: nested too deeply") from None
