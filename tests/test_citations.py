"""Figures are cited to primary documents a user can find, never to files the project does not ship.

The project grew from notes (``SEED-FACTS.md``, ``DATASHEETS.md``) and a search corpus that a user of
chipfit never has: a citation to them is a dead end. This scans every text file the project ships.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from support import ROOT

#: Citations a user cannot follow: the project's own notes files and the search corpus they came from.
DEAD_ENDS = re.compile(r"(?-i:SEED-FACTS|DATASHEETS)|\bcorpus\b|head start", re.IGNORECASE)
SUFFIXES = (".toml", ".py", ".md", ".tmpl", ".txt", ".rst")


def _shipped_text_files():
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.split()
        paths = [ROOT / name for name in listed]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist): walk the tree
        paths = [path for path in ROOT.rglob("*") if ".git" not in path.parts]
    return sorted(path for path in paths if path.is_file() and path.suffix in SUFFIXES
                  and path.name != "test_citations.py" and "venv" not in path.parts)


def test_the_scan_sees_the_catalogue_and_the_specs():
    names = {path.relative_to(ROOT).as_posix() for path in _shipped_text_files()}
    assert "plugins/chipfit_nvidia/devices.toml" in names
    assert "specs/seed-article.toml" in names
    assert "README.md" in names


def test_nothing_is_cited_to_files_the_project_does_not_have():
    found = []
    for path in _shipped_text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for match in DEAD_ENDS.finditer(line):
                context = line[max(0, match.start() - 40):match.end() + 40]
                found.append(f"{path.relative_to(ROOT)}:{number}: ...{context}...")
    assert found == [], ("cite the primary document (title, publisher, date, where, URL) or mark the figure "
                         "unconfirmed:\n" + "\n".join(found))


@pytest.mark.parametrize("text", [
    "as quoted in corpus notes", "the DATASHEETS.md head start", "SEED-FACTS.md claim 3", "not in the search corpus",
])
def test_the_pattern_catches_each_kind_of_dead_end(text):
    assert DEAD_ENDS.search(text)
