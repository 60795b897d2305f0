"""Where chipfit keeps files of its own: the cache folder, the data folder, and writing a file there atomically.

One rule for each folder, read by the core and the plugins alike:

``CHIPFIT_CACHE_DIR``  the cache (default ``~/.cache/chipfit``): what can be made again, only slower
                       (parsed datasheets, reference-model counts, measured STREAM figures, model files
                       a cluster node was sent). Deleting it loses no result.
``CHIPFIT_DATA_DIR``   the data folder (default ``~/.local/share/chipfit``): what cannot (the results
                       store, calibration profiles).

Neither folder is made here: a writer makes it (:func:`write_atomically`), and a reader of a cache
treats a missing folder as an empty cache.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache folder: ``$CHIPFIT_CACHE_DIR``, else ``~/.cache/chipfit`` (it may not exist yet)."""
    return Path(os.environ.get("CHIPFIT_CACHE_DIR") or Path.home() / ".cache" / "chipfit")


def data_dir() -> Path:
    """The data folder: ``$CHIPFIT_DATA_DIR``, else ``~/.local/share/chipfit`` (it may not exist yet)."""
    return Path(os.environ.get("CHIPFIT_DATA_DIR") or Path.home() / ".local" / "share" / "chipfit")


def write_atomically(path: Path, content: bytes | str) -> Path:
    """Write ``content`` to ``path`` (making its folder) so that no reader ever sees half a file.

    The content goes to a temporary file beside it (named with this process's id), which then
    replaces ``path``; two processes writing the same file leave one whole copy.

    :raises OSError: the folder cannot be made or written (the temporary file is removed).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(content, str):
            temporary.write_text(content, encoding="utf-8")
        else:
            temporary.write_bytes(content)
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    return path
