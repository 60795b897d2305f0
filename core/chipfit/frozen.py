"""Read-only values for records: a mapping that cannot change, and deep freezing of JSON-like data.

Records are frozen (:mod:`attrs`), so their fields cannot be rebound; their mappings and lists must
not change either, or a validated record could be edited into an invalid one
(``device.peak_ops["fp32"] = -1``) and a record could not be hashed. Record fields hold
:class:`FrozenDict` for mappings and tuples for lists; :func:`freeze` converts a value all the way
down (a measurement's nested objects too).

A :class:`FrozenDict` is a ``dict`` whose changing methods raise :class:`TypeError`: it compares
equal to a dict with the same items, reads like one (``isinstance(value, dict)``, ``json.dumps``,
``{**value}``) and hashes by its items. To change a record, make a new one with
:func:`attrs.evolve` (``attrs.evolve(device, peak_ops={**device.peak_ops, "fp32": 1e12})``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, NoReturn

__all__ = ["FrozenDict", "freeze", "frozen_mapping", "kind_name", "thaw"]


#: Values that are immutable as they are (checked by exact type: the fast path of :func:`freeze`).
_SCALARS = frozenset({str, float, int, bool, type(None)})


class FrozenDict(dict):
    """A dict that cannot be changed after it is made, and so can be hashed (when its values can).

    Its values are frozen when it is made (:func:`freeze`), so a nested list or dict cannot change either.
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> FrozenDict:
        # filled here, once: __init__ (which Python calls next, and anyone may call again) changes nothing
        self = dict.__new__(cls)
        items = dict(*args, **kwargs)
        if all(type(item) in _SCALARS for item in items.values()):  # the common case (metrics): no copy
            dict.__init__(self, items)
        else:
            dict.__init__(self, {key: freeze(item) for key, item in items.items()})
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"a record's {type(self).__name__} is read-only: make a new record with attrs.evolve")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[type, tuple[dict]]:
        # pickle (Ray, multiprocessing) and copy rebuild it from a plain dict, never item by item
        return type(self), (dict(self),)

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict) -> FrozenDict:
        return self

    def __repr__(self) -> str:  # as a dict: messages that show a value read as they always have
        return dict.__repr__(self)


def freeze(value: Any) -> Any:
    """``value`` made read-only all the way down: mappings become :class:`FrozenDict`, lists tuples, sets frozensets.

    Other values (numbers, text, records) are returned as they are.
    """
    kind = type(value)
    if kind in _SCALARS or kind is FrozenDict:  # a FrozenDict is frozen all the way down when it is made
        return value
    if kind is tuple and all(type(item) in _SCALARS for item in value):
        return value
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(freeze(item) for item in value)
    return value


def frozen_mapping(value: Mapping[Any, Any] | None) -> FrozenDict:
    """An attrs converter: a mapping (None: empty) as a :class:`FrozenDict`, its values frozen too."""
    if type(value) is FrozenDict:
        return value
    return FrozenDict(value if value is not None else {})


def thaw(value: Any) -> Any:
    """The inverse of :func:`freeze` for JSON: mappings as plain dicts, tuples (and lists) as lists, enums as names."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value


def kind_name(value: Any) -> str:
    """What a value is, as a message names it: a frozen list is a ``list``, a frozen mapping a ``dict``."""
    if isinstance(value, tuple):
        return "list"
    if isinstance(value, FrozenDict):
        return "dict"
    return type(value).__name__
