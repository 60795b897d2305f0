"""``--sort KEY[,KEY…]`` on report rows: each key best first by its metric's better direction, ``+KEY`` lowest
first, ``-KEY`` highest first; rows without a key's value last."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs

from chipfit.errors import suggest
from chipfit.filters import QueryError


@attrs.frozen
class SortKey:
    """One key of ``--sort``: ``descending`` puts the highest first."""

    key: str
    descending: bool


def parse_sort(text: str, known: Collection[str], higher_is_better: Callable[[str], bool | None], *,
               option: str = "--sort") -> tuple[SortKey, ...]:
    """``KEY[,KEY…]``, each best first (the metric's better direction), ``+KEY`` lowest first, ``-KEY`` highest.

    :raises QueryError: an empty or unknown key.
    """
    keys = []
    for part in text.split(","):
        part = part.strip()
        sign = part[:1] if part[:1] in "+-" else ""
        key = part[len(sign):].strip()
        if not key:
            raise QueryError(f"{option} {text!r}: empty key (e.g. {option} power_w or {option} +latency_s,-batch)")
        if key not in known:
            close = suggest(key, known)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise QueryError(f"{option} {text!r}: unknown metric {key!r}{hint}")
        if sign:
            descending = sign == "-"
        else:
            better = higher_is_better(key)
            descending = bool(better)  # best first; names and keys without a direction: ascending
        keys.append(SortKey(key, descending))
    return tuple(keys)


def sort_rows(rows: Iterable[Any], keys: Sequence[SortKey], values: Callable[[Any], Mapping[str, Any]]) -> list:
    """Rows ordered by the keys in turn; a row without a key's value goes after those with one (stable)."""
    ordered = list(rows)
    for key in reversed(keys):
        present = [row for row in ordered if _sortable(values(row).get(key.key))]
        missing = [row for row in ordered if not _sortable(values(row).get(key.key))]
        numbers = [row for row in present if not isinstance(values(row)[key.key], str)]
        strings = [row for row in present if isinstance(values(row)[key.key], str)]
        numbers.sort(key=lambda row: float(values(row)[key.key]), reverse=key.descending)
        strings.sort(key=lambda row: values(row)[key.key], reverse=key.descending)
        ordered = numbers + strings + missing
    return ordered


def _sortable(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return isinstance(value, int | float | str)
