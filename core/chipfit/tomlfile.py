"""Reading TOML files into records strictly: an unknown key, a wrong type or a bad value is a
:class:`~chipfit.errors.SpecError` that names the file, the line and the key.

One private cattrs converter serves every file chipfit reads (comparison specs, datasheets):
extra keys are forbidden, numbers must be numbers (``true`` is not a batch size), and each
error is traced back from its path (``groups[1].precision``) to the line that holds it. tomllib and
cattrs are imported, and the converter built, on first use: a command whose datasheets come from
the cache (:mod:`chipfit.datasheets`) never loads them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from chipfit.errors import SpecError, suggest

T = TypeVar("T")
PathStep = str | int


def _number(kind: type):
    def structure(value: Any, _type: type) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        if kind is int and not float(value).is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        return kind(value)

    return structure


def _string(value: Any, _type: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _strings(value: Any, _type: type) -> list[str]:
    # a bare string would otherwise be read as a list of its characters
    if not isinstance(value, list):
        raise ValueError(f"expected a list of strings, got {value!r}")
    return [_string(item, str) for item in value]


@functools.cache
def _converter():
    """The converter (made once, on first use: importing cattrs costs a light command start-up time)."""
    import cattrs

    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(int, _number(int))
    converter.register_structure_hook(float, _number(float))
    converter.register_structure_hook(str, _string)
    converter.register_structure_hook_func(lambda type_: type_ == list[str], _strings)
    return converter


def read_text(path: str | Path) -> str:
    """A text file's text (UTF-8).

    :raises SpecError: the file cannot be read, or is not UTF-8.
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"cannot read file: {error.strerror if isinstance(error, OSError) else error}",
                        path=str(path)) from None


def read(path: str | Path) -> tuple[str, dict[str, Any]]:
    """Read a TOML file: its text and its parsed tables.

    :raises SpecError: the file cannot be read, or is not valid TOML (naming line and column).
    """
    text = read_text(path)
    return text, parse(text, str(path))


def parse(text: str, where: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes a :class:`SpecError` with its line."""
    import tomllib

    try:
        return tomllib.loads(text)
    except RecursionError:
        raise SpecError("invalid TOML: nested too deeply", path=where) from None
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        line = int(match.group(1)) if match else None
        if match:
            message += f" (column {match.group(2)})"
        raise SpecError(f"invalid TOML: {message}", path=where, line=line) from None


def structure(data: dict[str, Any], cls: type[T], *, text: str, where: str) -> T:
    """Build ``cls`` from parsed TOML; the first problem becomes a :class:`SpecError` with its line."""
    from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

    try:
        return _converter().structure(data, cls)
    except (ClassValidationError, IterableValidationError) as error:
        leaves = list(error_leaves(error, []))
        # a misspelt key ([[group]]) also leaves the key meant missing: name the misspelling, with the suggestion
        path, leaf = next((found for found in leaves if isinstance(found[1], ForbiddenExtraKeysError)
                           and any(isinstance(other, KeyError) and other_path[:-1] == found[0]
                                   for other_path, other in leaves)), leaves[0])
        raise _spec_error(path, leaf, text=text, where=where) from None


def error_leaves(error: BaseException, path: list[PathStep]):
    """Each failure inside a cattrs error, with its path (``['groups', 1, 'batch']``), in order."""
    from cattrs.errors import (AttributeValidationNote, ClassValidationError, IterableValidationError,
                               IterableValidationNote)

    if isinstance(error, (ClassValidationError, IterableValidationError)):
        for sub in error.exceptions:
            step: list[PathStep] = []
            for note in getattr(sub, "__notes__", ()):
                if isinstance(note, AttributeValidationNote):
                    step = [note.name]
                elif isinstance(note, IterableValidationNote):
                    step = [note.index]
            yield from error_leaves(sub, path + step)
    else:
        yield path, error


def dotted(path: Sequence[PathStep]) -> str:
    """``['groups', 1, 'batch']`` as ``groups[1].batch``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "the top level"


def _spec_error(path: list[PathStep], error: BaseException, *, text: str, where: str) -> SpecError:
    from cattrs.errors import ForbiddenExtraKeysError

    if isinstance(error, ForbiddenExtraKeysError):
        key = sorted(error.extra_fields)[0]
        fields = [field.name for field in error.cl.__attrs_attrs__]
        message = f"unknown key {key!r} in {dotted(path)}"
        close = suggest(key, fields)
        message += f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(fields)})"
        return SpecError(message, path=where, line=locate(text, [*path, key]), key=(*path, key))
    if isinstance(error, KeyError):
        return SpecError(f"missing required key {dotted(path)!r}", path=where, line=locate(text, path),
                         key=tuple(path))
    detail = str(error.args[0]) if error.args else type(error).__name__
    return SpecError(f"bad value for {dotted(path)!r}: {detail}", path=where, line=locate(text, path),
                     key=tuple(path))


_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*=""")


def _key_parts(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", key)]


def _within_arrays(parts: list[str], counts: dict[tuple[str, ...], int]) -> list[PathStep]:
    """``[device.peak_tops]`` after the third ``[[device]]`` is ``device[2].peak_tops``."""
    out: list[PathStep] = []
    for depth, part in enumerate(parts):
        out.append(part)
        seen = counts.get(tuple(parts[: depth + 1]))
        if seen and depth < len(parts) - 1:
            out.append(seen - 1)
    return out


def locate(text: str, path: Sequence[PathStep]) -> int | None:
    """The line (1-based) of the deepest part of ``path`` that the text names, or None.

    Follows table headers, arrays of tables (counting them) and keys; good enough to point a
    person at ``batch = true`` in the second ``[[groups]]``. The text is indexed once (and the index
    kept for the next call), so locating every claim of a long spec costs one pass, not one per claim.
    """
    index = _line_index(text)
    target = tuple(path)
    for depth in range(len(target), 0, -1):
        line = index.get(target[:depth])
        if line is not None:
            return line
    return None


@functools.lru_cache(maxsize=8)
def _line_index(text: str) -> dict[tuple[PathStep, ...], int]:
    """Every table, array entry and key the text names, as a path, with the first line naming it."""
    table: list[PathStep] = []
    counts: dict[tuple[str, ...], int] = {}
    index: dict[tuple[PathStep, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _ARRAY_TABLE.match(line):
            name = tuple(_key_parts(match.group(1)))
            position = counts.get(name, 0)
            table = [*_within_arrays(list(name), counts), position]
            counts[name] = position + 1
            candidate = table
            index.setdefault(tuple(table[:-1]), number)  # the array itself: its first [[header]]
        elif match := _TABLE.match(line):
            table = _within_arrays(_key_parts(match.group(1)), counts)
            candidate = table
        elif match := _KEY.match(line):
            candidate = [*table, *_key_parts(match.group(1))]
        else:
            continue
        index.setdefault(tuple(candidate), number)
    return index


def unstructure(record: Any) -> Any:
    """A record as plain dicts and lists (the spec as it is kept in a report)."""
    return _converter().unstructure(record)
