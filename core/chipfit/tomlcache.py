"""Parsed TOML kept in the cache folder, so a datasheet file is parsed once per content, not once per command.

tomllib is slow on the plugins' datasheets (long citation strings): about 17 ms for the eight of
them, most of a light command's own work. :func:`parse` keeps what it parsed in
``$CHIPFIT_CACHE_DIR/toml/`` (:func:`chipfit.paths.cache_dir`), one file per TOML file's path,
written with :mod:`marshal` (the format of Python's own ``.pyc`` files, read in well under a millisecond).

The key is the whole text and the Python version (its ``tomllib`` and ``marshal``), compared
exactly, not a hash of them: a cached entry is used only for the very text it was parsed from, so it
cannot go stale, and an edited file is parsed again (and its entry replaced). A checksum (CRC-32)
over the parsed data catches a damaged file. Anything wrong with the cache (no folder, an unwritable
one, a file that is not an entry, an entry for other text or another Python) is a miss: the text is
parsed as if there were no cache. Only a successful parse is kept, so a bad file is parsed, and its
error (file, line, column) raised, every time, exactly as without a cache.

Like ``__pycache__``, the folder is trusted as the user's own: :mod:`marshal` is not meant for data
someone else wrote.
"""

from __future__ import annotations

import marshal
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chipfit.paths import cache_dir, write_atomically

#: The first item of every entry: a file that does not start with it is not an entry of this format.
FORMAT = "chipfit-toml-cache-1"


def entry_path(source: Path) -> Path:
    """The cache file of a TOML file: named after its folder and name, and a checksum of its absolute path."""
    where = str(source.absolute())
    return cache_dir() / "toml" / f"{source.parent.name}-{source.name}-{zlib.crc32(where.encode()):08x}.marshal"


def lookup(source: Path, text: str) -> dict[str, Any] | None:
    """The tables cached for exactly this text of ``source`` (by this Python), or None (a miss)."""
    try:
        entry = marshal.loads(entry_path(source).read_bytes())
        fmt, version, cached_text, checksum, payload = entry
        if fmt != FORMAT or version != sys.version or cached_text != text or zlib.crc32(payload) != checksum:
            return None
        tables = marshal.loads(payload)
    except (OSError, EOFError, ValueError, TypeError):  # no entry, a damaged one, or not an entry at all
        return None
    return tables if isinstance(tables, dict) else None


def keep(source: Path, text: str, tables: dict[str, Any]) -> None:
    """Cache the tables parsed from this text of ``source``; a cache that cannot be written is left alone.

    Tables :mod:`marshal` cannot write (a TOML date or time) are not cached.
    """
    try:
        payload = marshal.dumps(tables)
        write_atomically(entry_path(source), marshal.dumps((FORMAT, sys.version, text, zlib.crc32(payload), payload)))
    except (OSError, ValueError):
        pass


def parse(source: Path, text: str, parser: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """``parser(text)``, from the cache when this text was parsed before (see the module's docs).

    Whatever ``parser`` raises is raised, and nothing is cached.
    """
    tables = lookup(source, text)
    if tables is None:
        tables = parser(text)
        keep(source, text, tables)
    return tables
