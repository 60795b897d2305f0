"""chipfit's wire format: records as JSON-ready data and back, through one cattrs converter.

Everything chipfit writes or sends goes through :func:`unstructure` and comes back through
:func:`structure`: ``--format json`` reports, the results store's rows and runs, ``chipfit runs
export``/``import`` files, and the payloads of executors that send cells to other machines (the
Ray executor sends workloads and scenarios and gets rows back as this data, not as pickled
classes, so a node may run another chipfit version). :func:`dumps` and :func:`loads` add the JSON text.

The data keeps the keys DESIGN.md names: a row is ``group, device, workload, scenario, source,
status, reason, plugin, metrics, explain, measurement``; a scenario's times are ``latency_target_s``,
``ttft_target_s``, ``tpot_target_s``; a report is ``title, description, created, baseline,
interrupted, environment, spec, rows, claims`` and each claim adds its ``ratio``. Devices and
workloads keep their field names. Quantities stay floats in SI units; enums are their names;
sets are sorted lists; non-finite floats are kept as they are (the JSON renderer writes them as
``null``, :func:`finite`; the store keeps them, as JSON's ``NaN``).

Reading is strict about types (``true`` is not a batch, ``"3"`` is not a count) and lenient about
keys it does not know (a newer chipfit's additions are skipped); a problem is a
:class:`WireError` naming the place (``runs.json: runs[1].report.rows[0].scenario.kind: ...``).
"""

from __future__ import annotations

import enum
import functools
import json
import math
from collections.abc import Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_origin

import attrs

from chipfit.errors import ChipfitError
from chipfit.frozen import FrozenDict, kind_name, thaw
from chipfit.records import ClaimCheck, Report, Result, Scenario, ScenarioKind

if TYPE_CHECKING:
    import cattrs

# cattrs is imported when the converter is first made (:func:`_wire`): renderers import this module,
# and ``chipfit --help`` should not pay for cattrs

__all__ = ["WireError", "dumps", "finite", "loads", "structure", "unstructure"]

T = TypeVar("T")


class WireError(ChipfitError):
    """Data that is not the record it should be: names the place and the field."""


# --- values -------------------------------------------------------------------------------------


def _number(kind: type):
    def structure_number(value: Any, _type: type) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {_shown(value)}")
        if kind is int:
            if not isinstance(value, int):
                raise ValueError(f"expected a whole number, got {value!r}")
            return value
        return float(value)

    return structure_number


def _exact(kind: type, what: str):
    def structure_exact(value: Any, _type: type) -> Any:
        if not isinstance(value, kind):
            raise ValueError(f"expected {what}, got {_shown(value)}")
        return value

    return structure_exact


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def _enum(value: Any, type_: type[enum.Enum]) -> enum.Enum:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {_shown(value)}")
    try:
        return type_(value)
    except ValueError:
        known = ", ".join(member.value for member in type_)
        label = "scenario" if type_ is ScenarioKind else type_.__name__.lower()
        raise ValueError(f"unknown {label} {value!r} (known: {known})") from None


def _json_object(value: Any, _type: type) -> FrozenDict:
    """A free-form JSON object (metrics, measurement, spec, environment): any JSON inside, text keys."""
    if not isinstance(value, Mapping):
        raise ValueError(f"expected an object, got {_shown(value)}")
    for key in value:
        if not isinstance(key, str):
            raise ValueError(f"expected text keys, got {key!r}")
    return FrozenDict(value)


def _items(type_: type, converter: cattrs.Converter):
    """Structure a homogeneous tuple or frozenset from a JSON list only (text is not a list of letters)."""
    element = get_args(type_)[0]
    build = frozenset if get_origin(type_) in (frozenset, set, Set) else tuple

    from cattrs.errors import IterableValidationError, IterableValidationNote

    def structure_items(value: Any, _type: type) -> Any:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"expected a list, got {_shown(value)}")
        hook = converter.get_structure_hook(element)
        out, errors = [], []
        for index, item in enumerate(value):
            try:
                out.append(hook(item, element))
            except Exception as error:  # noqa: BLE001 - gathered, with their places, as cattrs does
                error.__notes__ = [*getattr(error, "__notes__", []),
                                   IterableValidationNote(f"Structuring {type_} @ index {index}", index, element)]
                errors.append(error)
        if errors:
            raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
        return build(out)

    return structure_items


def _is_items(type_: Any) -> bool:
    args = get_args(type_)
    origin = get_origin(type_)
    return (origin is tuple and len(args) == 2 and args[1] is Ellipsis) or (origin in (frozenset, set) and len(args) == 1)


def _is_enum(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, enum.Enum)


def _as_object(build):
    """A record's structure hook that first checks it was given an object (not a list, text or null)."""

    def structure_record(value: Any, type_: type) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected an object, got {_shown(value)}")
        return build(value, type_)

    return structure_record


# --- records ------------------------------------------------------------------------------------

#: A scenario's times carry their unit in their keys.
_SCENARIO_KEYS = {"latency_target": "latency_target_s", "ttft_target": "ttft_target_s", "tpot_target": "tpot_target_s"}
_ROW_KEYS = ("group", "device", "workload", "scenario", "source", "status", "reason", "plugin", "metrics", "explain",
             "measurement")
_REPORT_KEYS = ("title", "description", "created", "baseline", "interrupted", "environment", "spec", "rows", "claims")


def _ordered(converter: cattrs.Converter, cls: type, keys: tuple[str, ...], extra=None):
    """Unstructure ``cls`` with its keys in the order DESIGN.md gives them, plus ``extra(record)``'s keys."""
    from cattrs.gen import make_dict_unstructure_fn

    plain = make_dict_unstructure_fn(cls, converter)

    def unstructure_ordered(record: Any) -> dict[str, Any]:
        data = plain(record)
        return {key: data[key] for key in keys} | (extra(record) if extra else {})

    return unstructure_ordered


@functools.cache
def _wire() -> cattrs.Converter:
    """The converter, made on first use (importing this module stays cheap for ``chipfit --help``)."""
    import cattrs
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    converter = cattrs.Converter(unstruct_collection_overrides={Sequence: list, Set: sorted, Mapping: dict})
    for kind in (int, float):
        converter.register_structure_hook(kind, _number(kind))
    converter.register_structure_hook(str, _exact(str, "text"))
    converter.register_structure_hook(bool, _exact(bool, "true or false"))
    # StrEnum by its own hooks: its MRO puts str before Enum, and str's hooks would take it
    converter.register_structure_hook(enum.StrEnum, _enum)
    converter.register_structure_hook_func(_is_enum, _enum)
    converter.register_unstructure_hook(enum.StrEnum, lambda member: member.value)
    converter.register_structure_hook(FrozenDict, _json_object)
    converter.register_unstructure_hook(FrozenDict, thaw)
    converter.register_structure_hook_factory(_is_items, _items)
    converter.register_structure_hook_factory(
        attrs.has, lambda cls: _as_object(make_dict_structure_fn(cls, converter)))

    renamed = {name: override(rename=key) for name, key in _SCENARIO_KEYS.items()}
    converter.register_unstructure_hook(Scenario, make_dict_unstructure_fn(Scenario, converter, **renamed))
    converter.register_structure_hook(Scenario, _as_object(make_dict_structure_fn(Scenario, converter, **renamed)))
    # in this order: a record's hook is made from the hooks of the records it holds
    converter.register_unstructure_hook(
        ClaimCheck, _ordered(converter, ClaimCheck, tuple(field.name for field in attrs.fields(ClaimCheck)),
                             lambda check: {"ratio": check.ratio}))
    converter.register_unstructure_hook(Result, _ordered(converter, Result, _ROW_KEYS))
    converter.register_unstructure_hook(Report, _ordered(converter, Report, _REPORT_KEYS))
    report_fields = _as_object(make_dict_structure_fn(Report, converter))

    def structure_report(value: Any, type_: type) -> Report:
        report = report_fields(value, type_)
        _check_groups(report.spec)  # where renderers read them
        return report

    converter.register_structure_hook(Report, structure_report)
    return converter


def _check_groups(spec: Mapping[str, Any]) -> None:
    """``groups`` a list of objects with a text ``id``, optional text ``title``/``note``, ``columns`` a list of text."""
    groups = spec.get("groups") or ()
    if not isinstance(groups, tuple):
        raise ValueError(f"spec: 'groups' has the wrong type ({kind_name(groups)})")
    for index, group in enumerate(groups):
        at = f"spec.groups[{index}]"
        if not isinstance(group, Mapping):
            raise ValueError(f"{at}: expected an object, got {_shown(group)}")
        if not isinstance(group.get("id"), str):
            raise ValueError(f"{at}: {'missing' if group.get('id') is None else 'wrong type for'} 'id'")
        columns = group.get("columns") or ()
        if not isinstance(columns, tuple):
            raise ValueError(f"{at}: 'columns' has the wrong type ({kind_name(columns)})")
        if not all(isinstance(column, str) for column in columns):
            raise ValueError(f"{at}: 'columns' must be a list of metric names")
        for key in ("title", "note"):
            if group.get(key) is not None and not isinstance(group[key], str):
                raise ValueError(f"{at}: {key!r} has the wrong type ({kind_name(group[key])})")


# --- the public functions -------------------------------------------------------------------------


def unstructure(record: Any) -> Any:
    """A record (device, workload, scenario, row, claim, report; or a list of them) as JSON-ready data.

    Plain dicts, lists, text, numbers, booleans and None; floats are kept as they are (NaN too).
    """
    return _wire().unstructure(record)


def structure(data: Any, cls: type[T], *, where: str) -> T:
    """The record ``cls`` from data :func:`unstructure` made (or JSON read back).

    :raises WireError: a missing key, a value of the wrong type or a value the record refuses,
        naming ``where`` and the path to it (``where: rows[2]: missing 'device'``).
    """
    from cattrs.errors import ClassValidationError, IterableValidationError

    from chipfit.tomlfile import error_leaves

    converter = _wire()
    try:
        return converter.structure(data, cls)
    except (ClassValidationError, IterableValidationError) as error:
        path, leaf = next(iter(error_leaves(error, [])))
        raise WireError(_message(where, path, leaf)) from None
    except (ValueError, TypeError, OverflowError, AttributeError, RecursionError) as error:
        raise WireError(_message(where, [], error)) from None


def _message(where: str, path: list, error: BaseException) -> str:
    from chipfit.tomlfile import dotted

    if isinstance(error, KeyError):
        *within, key = path or ["?"]
        place = f"{where}: {dotted(within)}" if within else where
        return f"{place}: missing {key!r}"
    if isinstance(error, (AttributeError, TypeError)) and not path:
        return f"{where}: expected an object"
    detail = str(error.args[0]) if error.args else type(error).__name__
    return f"{where}: {dotted(path)}: {detail}" if path else f"{where}: {detail}"


def dumps(record: Any, *, strict: bool = False, **options: Any) -> str:
    """A record as JSON text; ``strict``: non-finite floats written as ``null`` (JSON.parse rejects NaN)."""
    data = unstructure(record)
    if strict:
        return json.dumps(finite(data), allow_nan=False, **options)
    return json.dumps(data, **options)


def loads(text: str | bytes, cls: type[T], *, where: str) -> T:
    """The record ``cls`` from JSON text :func:`dumps` wrote.

    :raises WireError: the text is not JSON, or not that record (naming ``where``).
    """
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        detail = error.msg if isinstance(error, json.JSONDecodeError) else type(error).__name__
        raise WireError(f"{where}: not JSON ({detail})") from None
    return structure(data, cls, where=where)


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, so that it is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value
