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


def cache_dir() -> Path:
    """The cache folder: ``$CHIPFIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/chipfit``, else ``~/.cache/chipfit``
    (it may not exist yet).

    :raises RuntimeError: none of those is set and no home folder can be found (``Path.home``).
    """
    if os.environ.get("CHIPFIT_CACHE_DIR"):
        return Path(os.environ["CHIPFIT_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chipfit"


def data_dir() -> Path:
    """The data folder: ``$CHIPFIT_DATA_DIR``, else ``$XDG_DATA_HOME/chipfit``, else ``~/.local/share/chipfit``
    (it may not exist yet).

    :raises RuntimeError: none of those is set and no home folder can be found (``Path.home``).
    """
    if os.environ.get("CHIPFIT_DATA_DIR"):
        return Path(os.environ["CHIPFIT_DATA_DIR"])
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "chipfit"


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
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
