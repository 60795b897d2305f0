"""Text for a terminal of a given width: tables that fit it, lines wrapped to it.

The width is ``COLUMNS`` when set (as shells and ``less`` set it), else the terminal's when standard
output is one, else unlimited (a file or a pipe keeps every table whole on one line per row).
A table wider than that first moves its ``note`` column under the table as numbered notes, then
wraps its column labels, then splits into several tables that each repeat the row's key columns
(device, workload): every cell is still shown, none is cut.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Sequence

#: Narrower than this, splitting a table no longer helps: a COLUMNS below it is taken as this.
MIN_WIDTH = 40


def terminal_width() -> int | None:
    """The width text output should fit: ``COLUMNS``, else the terminal's, else None (unlimited)."""
    value = os.environ.get("COLUMNS", "").strip()
    if value:
        try:
            return max(int(value), MIN_WIDTH)
        except ValueError:
            pass  # a COLUMNS that is not a number is ignored, as shells do
    stream = sys.stdout
    try:
        if stream is not None and stream.isatty():
            return max(os.get_terminal_size(stream.fileno()).columns, MIN_WIDTH)
    except (OSError, ValueError, AttributeError):
        pass
    return None


def _widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _render(headers: Sequence[str], body: Sequence[Sequence[str]], tablefmt: str, header_width: int | None) -> str:
    import tabulate  # imported here: only rendering pays for it

    if header_width:
        headers = [header_lines(header, header_width) for header in headers]
    return tabulate.tabulate(body, headers=list(headers), tablefmt=tablefmt, disable_numparse=True)


def fit_table(headers: Sequence[str], body: Sequence[Sequence[str]], *, width: int | None, keys: int = 1,
              note_column: int | None = None, tablefmt: str = "simple") -> str:
    """A table as text no wider than ``width`` (None: as wide as it is), keeping every cell.

    ``keys`` leading columns name a row and are repeated when the table is split; ``note_column``
    (an index) holds free text that moves under the table as ``[n]`` notes when space is short.
    """
    whole = _render(headers, body, tablefmt, None)
    if width is None or _widest(whole) <= width:
        return whole
    headers, body, notes = list(headers), [list(row) for row in body], []
    if note_column is not None and not any(row[note_column] for row in body):  # nothing to say: no column
        headers.pop(note_column)
        for row in body:
            row.pop(note_column)
    elif note_column is not None:
        for row in body:
            if row[note_column]:
                notes.append(row[note_column])
                row[note_column] = f"[{len(notes)}]"
    footer = [textwrap.fill(note, width=width, initial_indent=f"[{n}] ", subsequent_indent=" " * (len(str(n)) + 3))
              for n, note in enumerate(notes, start=1)]
    for header_width in (None, 12, 8):
        table = _render(headers, body, tablefmt, header_width)
        if _widest(table) <= width:
            return "\n".join([table, *footer])
    # still too wide: split the columns after the keys into tables that each fit
    rest = list(range(keys, len(headers)))
    chunks: list[list[int]] = [[]]
    for column in rest:
        trial = chunks[-1] + [column]
        indices = list(range(keys)) + trial
        text = _render([headers[i] for i in indices], [[row[i] for i in indices] for row in body], tablefmt, 8)
        if _widest(text) > width and chunks[-1]:
            chunks.append([column])
        else:
            chunks[-1] = trial
    tables = []
    for chunk in chunks:
        indices = list(range(keys)) + chunk
        tables.append(_render([headers[i] for i in indices], [[row[i] for i in indices] for row in body],
                              tablefmt, 8))
    return "\n\n".join(tables) + ("\n" + "\n".join(footer) if footer else "")


def wrap(line: str, width: int | None, indent: str = "") -> str:
    """One line of prose or arithmetic wrapped to ``width`` (unchanged when it fits or width is None)."""
    if width is None or len(line) <= width:
        return line
    lead = len(line) - len(line.lstrip(" "))
    return textwrap.fill(line.strip(), width=width, initial_indent=" " * lead,
                         subsequent_indent=" " * lead + indent, break_long_words=False, break_on_hyphens=False)


def reflow(text: str, width: int | None) -> str:
    """Paragraphs (separated by blank lines) refilled to ``width`` where a line is longer; as they are otherwise."""
    if width is None or all(len(line) <= width for line in text.splitlines()):
        return text
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n")]
    return "\n\n".join(textwrap.fill(part, width=width, break_long_words=False, break_on_hyphens=False)
                       for part in paragraphs)


def header_lines(header: str, width: int) -> str:
    """A column label broken onto lines of at most ``width`` characters, between words where it can."""
    return "\n".join(textwrap.wrap(header, width=width)) or header
