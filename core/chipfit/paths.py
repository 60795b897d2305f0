"""Where chipfit keeps files of its own: the cache folder, the data folder, and writing a file there atomically.

One rule for each folder, read by the core and the plugins alike:

``CHIPFIT_CACHE_DIR``  the cache (default ``$XDG_CACHE_HOME/chipfit``, ``~/.cache/chipfit``): what can be made again, only slower
                       (parsed datasheets, reference-model counts, measured STREAM figures, model files
                       a cluster node was sent). Deleting it loses no result.
``CHIPFIT_DATA_DIR``   the data folder (default ``$XDG_DATA_HOME/chipfit``, ``~/.local/share/chipfit``): what cannot (the results
                       store, calibration profiles).

Neither folder is made here: a writer makes it (:func:`write_atomically`), and a reader of a cache
treats a missing folder as an empty cache.
"""

from __future__ import annotations

import os
from pathlib import Path


class NoHomeFolder(OSError):
    """No folder variable is set and no home folder can be found (``Path.home`` failed: a user id with no
    passwd entry and no ``HOME``). An :class:`OSError`, so every reader and writer that already treats an
    unreadable or unwritable folder as "no cache" treats this alike."""


def _under(variable: str, *home: str) -> Path:
    """``$variable`` when it is an absolute path (the XDG rule: a relative one is ignored), else under home."""
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    try:
        return Path.home().joinpath(*home)
    except RuntimeError as error:
        raise NoHomeFolder(f"no {variable} and no home folder: {error}") from None


def cache_dir() -> Path:
    """The cache folder: ``$CHIPFIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/chipfit``, else ``~/.cache/chipfit``
    (it may not exist yet).

    :raises NoHomeFolder: none of those is set and no home folder can be found.
    """
    if os.environ.get("CHIPFIT_CACHE_DIR"):
        return Path(os.environ["CHIPFIT_CACHE_DIR"])
    return _under("XDG_CACHE_HOME", ".cache") / "chipfit"


def data_dir() -> Path:
    """The data folder: ``$CHIPFIT_DATA_DIR``, else ``$XDG_DATA_HOME/chipfit``, else ``~/.local/share/chipfit``
    (it may not exist yet).

    :raises NoHomeFolder: none of those is set and no home folder can be found.
    """
    if os.environ.get("CHIPFIT_DATA_DIR"):
        return Path(os.environ["CHIPFIT_DATA_DIR"])
    return _under("XDG_DATA_HOME", ".local", "share") / "chipfit"


def _umask() -> int:
    """This process's umask (read by setting it and setting it back: once, at import)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The umask at import: a written file gets the mode an ordinary ``open`` would give it.
_UMASK = _umask()


def write_atomically(path: Path, content: bytes | str) -> Path:
    """Write ``content`` to ``path`` (making its folder) so that no reader ever sees half a file.

    The content goes to a temporary file of its own beside it (:func:`tempfile.mkstemp`: unique across
    threads, processes and machines sharing the folder), which then replaces ``path``; writers of the same
    file leave one whole copy.

    :raises OSError: the folder cannot be made or written (the temporary file is removed).
    """
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            if hasattr(os, "fchmod"):  # mkstemp makes it 0600: give it what open() would (0666 less the umask)
                os.fchmod(file.fileno(), 0o666 & ~_UMASK)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
