"""What chipfit read out of a file, kept in the cache folder, keyed exactly by the file's text and the code that read it.

Reading the plugins' datasheets (tomllib is slow on their long citation strings; cattrs checks every
key) was the largest part of a light command's start-up (``python benchmarks/startup.py`` prints the
cost: its ``chipfit devices (no cache)`` row). :func:`lookup` and :func:`keep` let a reader
keep its plain result (dicts, lists, strings, numbers) in ``$CHIPFIT_CACHE_DIR/<folder>/``
(:func:`chipfit.paths.cache_dir`), one file per file read, written with :mod:`marshal` (the format of
Python's own ``.pyc`` files, read back in well under a millisecond).

The key is compared exactly, not by a hash: the whole text read, whatever else the reader says its
result depends on (the source of the code that read it, a library's version), and this Python's
version. So an entry is used only for the very text, and the very code, it was made from: it cannot
go stale, and an edited file (or an edited reader) is read again, its entry replaced. A checksum
(CRC-32) over the value catches a damaged file. Anything wrong with the cache (no folder, an
unwritable one, a file that is not an entry, an entry for another key) is a miss, and the reader
reads as if there were no cache. A reader keeps only what it read without error, so a bad file is
read, and its error raised, every time, exactly as without a cache.

Like ``__pycache__``, the folder is trusted as the user's own: :mod:`marshal` is not meant for data
someone else wrote (it cannot run code, but damaged data may fail in any way it likes).
"""

from __future__ import annotations

import marshal
import sys
import zlib
from pathlib import Path
from typing import Any

from chipfit.paths import cache_dir, write_atomically

#: The first item of every entry: a file that does not start with it is not an entry of this format.
FORMAT = "chipfit-text-cache-1"

#: A cache key: the text read and what else the result depends on (strings and bytes, compared exactly).
Key = tuple[str | bytes, ...]


def entry_path(folder: str, source: Path) -> Path:
    """The cache file of ``source`` in the cache's ``folder``: named after the file's own folder and name,
    and a checksum of its absolute path (two files of one name do not share an entry)."""
    where = str(source.absolute()).encode("utf-8", "surrogateescape")
    return cache_dir() / folder / f"{source.parent.name}-{source.name}-{zlib.crc32(where):08x}.marshal"


def lookup(folder: str, source: Path, key: Key) -> Any | None:
    """The value kept for ``source`` under exactly this key (by this Python), or None: a miss."""
    try:
        fmt, version, kept_key, checksum, payload = marshal.loads(entry_path(folder, source).read_bytes())
        if fmt != FORMAT or version != sys.version or kept_key != key or zlib.crc32(payload) != checksum:
            return None
        return marshal.loads(payload)
    except (OSError, EOFError, ValueError, TypeError):  # no entry, a damaged one, not an entry, or no cache
        return None  # folder at all (chipfit.paths.NoHomeFolder is an OSError)


def keep(folder: str, source: Path, key: Key, value: Any) -> None:
    """Keep the value read from ``source`` under ``key``; a cache that cannot be written is left alone.

    A value :mod:`marshal` cannot write (a date, a record) is not kept: keep plain data.
    """
    try:
        payload = marshal.dumps(value)
        entry = marshal.dumps((FORMAT, sys.version, key, zlib.crc32(payload), payload))
        write_atomically(entry_path(folder, source), entry)
    except (OSError, ValueError):  # an unwritable cache, or none (chipfit.paths.NoHomeFolder)
        pass
