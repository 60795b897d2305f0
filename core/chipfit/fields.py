"""Validators and converters of record fields: ids, finite figures, fractions, peaks per precision,
read-only mappings, and the citation of a figure.

Each validator's message names the record (and its id) and the field, so a bad datasheet figure or a
plugin's bad record is reported where it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from chipfit.frozen import FrozenDict
from chipfit.vocabulary import Precision, to_precision


def owner(instance: Any) -> str:
    """How a message names a record: its type, and its id where it has one (``Device 'acme-a1'``)."""
    ident = getattr(instance, "id", None)
    return f"{type(instance).__name__} {ident!r}" if ident else type(instance).__name__


def _finite(instance: Any, attribute: attrs.Attribute, value: float | None, *, minimum: float = 0.0,
            strict: bool = False) -> None:
    if value is None:
        return
    bad = (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < minimum
        or (strict and value == minimum)
    )
    if bad:
        need = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(
            f"{owner(instance)}: field {attribute.name!r} must be a finite number {need}, got {value!r}"
        )


def non_negative(instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    """Validator: a finite number that is zero or more (None passes: the figure is optional)."""
    _finite(instance, attribute, value)


def positive(instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    """Validator: a finite number greater than zero (None passes: the figure is optional)."""
    _finite(instance, attribute, value, strict=True)


def fraction(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    """Validator: a finite number in (0, 1]."""
    _finite(instance, attribute, value, strict=True)
    if value > 1:
        raise ValueError(f"{owner(instance)}: field {attribute.name!r} must be in (0, 1], got {value!r}")


def fractions(instance: Any, attribute: attrs.Attribute, value: Mapping[Any, float]) -> None:
    """Validator: every value of a mapping a fraction in (0, 1], each named ``field.key`` when it is not."""
    for key, share in value.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not math.isfinite(share) \
                or not 0 < share <= 1:
            raise ValueError(f"{owner(instance)}: field '{attribute.name}.{key}' must be a fraction in (0, 1], "
                             f"got {share!r}")


def optional(convert):
    """A converter that passes None through and converts anything else with ``convert``."""
    return lambda value: None if value is None else convert(value)


def precision_map(value: Mapping[Any, float]) -> FrozenDict:
    """Converter: figures by precision (names or :class:`Precision`) as a read-only mapping by :class:`Precision`."""
    peaks = {}
    for precision, ops in dict(value).items():
        try:
            peaks[to_precision(precision)] = ops
        except ValueError as error:
            raise ValueError(f"field 'peak_ops.{precision}': {error}") from None
    return FrozenDict(peaks)


def check_peak_ops(instance: Any, attribute: attrs.Attribute, value: Mapping[Precision, float]) -> None:
    """Validator: every figure of a ``peak_ops`` mapping a finite number > 0."""
    for precision, ops in value.items():
        if isinstance(ops, bool) or not isinstance(ops, (int, float)) or not math.isfinite(ops) or ops <= 0:
            raise ValueError(
                f"{owner(instance)}: field 'peak_ops.{precision}' must be a finite number > 0, got {ops!r}"
            )


def citation(record: Any, field: str) -> str | None:
    """A record's source for a field and its derivation; ``peak_ops.fp32`` falls back to ``peak_ops``."""
    source, derivation = record.sources.get(field), record.derivations.get(field)
    parts = [source] if source else []
    if derivation:
        parts.append(f"derived: {derivation}")
    if not parts and "." in field:
        return citation(record, field.split(".", 1)[0])
    return "; ".join(parts) or None


def text_map(value: Mapping[str, str] | None) -> FrozenDict:
    """Converter: a mapping of text to text (``sources``, ``derivations``; None: empty), read-only."""
    return FrozenDict({str(key): str(text) for key, text in dict(value or {}).items()})

