"""Read datasheets kept in the cache folder (chipfit.textcache): a hit gives the same devices as a read,
an edited file (or an edited reader) is read again, and a missing, unwritable or damaged cache is only
slower, never wrong. Errors are never kept: a bad file fails the same way every time."""

from __future__ import annotations

import marshal
import sys
import textwrap
from importlib.resources import files
from pathlib import Path

import pytest

from chipfit import datasheets, paths, textcache, tomlfile
from chipfit.datasheets import CACHE_FOLDER, DatasheetFile, load_devices
from chipfit.errors import SpecError
from test_catalogue import GOOD

IN_TREE_SHEETS = sorted(Path(str(files("chipfit_nvidia"))).parent.glob("chipfit_*/devices.toml"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of this test's own (not yet made)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "vendor" / "devices.toml"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(GOOD), encoding="utf-8")
    return path


@pytest.fixture
def reads(monkeypatch):
    """How many times a datasheet's TOML was parsed (a miss parses; a hit does not)."""
    counted = []
    real = tomlfile.parse

    def parse(text, where):
        counted.append(where)
        return real(text, where)

    monkeypatch.setattr(tomlfile, "parse", parse)
    return counted


def entry(path: Path) -> Path:
    return textcache.entry_path(CACHE_FOLDER, path)


def test_the_suite_never_uses_the_users_cache(cache_dir):
    # conftest points CHIPFIT_CACHE_DIR at a folder of the session's own, so every entry lands there
    assert paths.cache_dir() == Path(cache_dir)
    assert not str(paths.cache_dir()).startswith(str(Path.home() / ".cache"))


@pytest.mark.parametrize("path", IN_TREE_SHEETS, ids=lambda path: path.parent.name)
def test_a_hit_gives_the_devices_a_read_gives(cache, reads, path):
    read = load_devices(path)
    assert entry(path).is_file() and len(reads) == 1
    hit = load_devices(path)
    assert len(reads) == 1, "the second load parsed the file again"
    assert hit == read and [device.id for device in hit] == [device.id for device in read]


@pytest.mark.parametrize("path", IN_TREE_SHEETS, ids=lambda path: path.parent.name)
def test_a_sheet_rebuilt_from_its_plain_data_is_the_sheet(path):
    text, tables = tomlfile.read(path)
    sheet = tomlfile.structure(tables, DatasheetFile, text=text, where=str(path))
    plain = tomlfile.unstructure(sheet)
    assert DatasheetFile.from_plain(marshal.loads(marshal.dumps(plain))) == sheet


def test_an_edited_file_is_read_again(cache, reads, sheet):
    [before] = load_devices(sheet)
    sheet.write_text(textwrap.dedent(GOOD).replace("power_w = 10", "power_w = 12"), encoding="utf-8")
    [after] = load_devices(sheet)
    assert (before.power, after.power) == (10, 12) and len(reads) == 2
    assert load_devices(sheet) == [after] and len(reads) == 2  # the new text's entry replaced the old


def test_an_edited_reader_reads_again(cache, reads, sheet, monkeypatch):
    load_devices(sheet)
    key = datasheets._reader_key()
    monkeypatch.setattr(datasheets, "_reader_key", lambda: (*key[:-1], b"another cattrs"))
    load_devices(sheet)
    assert len(reads) == 2


def test_an_unwritable_cache_folder_still_gives_the_devices(tmp_path, monkeypatch, reads, sheet):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(blocker / "cache"))
    [device] = load_devices(sheet)
    assert device.id == "acme-npu-1" and load_devices(sheet) == [device]
    assert len(reads) == 2 and blocker.read_text() == "not a folder"


@pytest.mark.parametrize("damage", [
    lambda data: b"",
    lambda data: b"garbage, not marshal",
    lambda data: data[: len(data) // 2],
    lambda data: data[:-40] + bytes(40),  # the value's bytes changed: its checksum no longer matches
    lambda data: marshal.dumps(("another-format", sys.version)),
    lambda data: marshal.dumps({"device": []}),
], ids=["empty", "garbage", "truncated", "changed", "other-format", "not-an-entry"])
def test_a_damaged_cache_file_is_read_around_and_replaced(cache, reads, sheet, damage):
    [device] = load_devices(sheet)
    path = entry(sheet)
    path.write_bytes(damage(path.read_bytes()))
    assert load_devices(sheet) == [device] and len(reads) == 2
    assert load_devices(sheet) == [device] and len(reads) == 2  # replaced by a good entry


def test_an_entry_whose_value_is_not_a_sheet_is_read_around(cache, reads, sheet):
    [device] = load_devices(sheet)
    key = (textwrap.dedent(GOOD), *datasheets._reader_key())
    textcache.keep(CACHE_FOLDER, sheet, key, {"device": [{"id": "acme-npu-1"}]})  # a well-formed entry, wrong value
    assert load_devices(sheet) == [device] and len(reads) == 2


@pytest.mark.parametrize("change, words", [
    (("power_w = 10", "power_w = [10"), ["invalid TOML", "line"]),
    (("power_w = 10", 'power_w = "ten"'), ["power_w", "line"]),
    (("power_w = 10", "power_watts = 10"), ["power_watts", "did you mean 'power_w'"]),
])
def test_a_bad_file_is_never_kept_and_fails_the_same_every_time(cache, sheet, change, words):
    sheet.write_text(textwrap.dedent(GOOD).replace(*change), encoding="utf-8")
    messages = []
    for _ in range(2):
        with pytest.raises(SpecError) as error:
            load_devices(sheet)
        messages.append(str(error.value))
    assert messages[0] == messages[1] and all(word in messages[0] for word in words), messages[0]
    assert str(sheet) in messages[0]
    assert not entry(sheet).exists()


def test_a_bad_file_after_a_good_one_is_not_taken_from_the_cache(cache, sheet):
    load_devices(sheet)
    sheet.write_text(textwrap.dedent(GOOD).replace("power_w = 10", 'power_w = "ten"'), encoding="utf-8")
    with pytest.raises(SpecError, match="power_w"):
        load_devices(sheet)


def test_two_files_of_one_name_keep_two_entries(cache, tmp_path, sheet):
    other = tmp_path / "other" / "vendor" / "devices.toml"
    other.parent.mkdir(parents=True)
    other.write_text(textwrap.dedent(GOOD).replace('id = "acme-npu-1"', 'id = "acme-npu-2"'), encoding="utf-8")
    assert [device.id for device in load_devices(sheet)] == ["acme-npu-1"]
    assert [device.id for device in load_devices(other)] == ["acme-npu-2"]
    assert entry(sheet) != entry(other)
    assert [device.id for device in load_devices(sheet)] == ["acme-npu-1"]


# --------------------------------------------------------------------------------- textcache itself


def test_textcache_hits_only_the_exact_key(cache, tmp_path):
    source = tmp_path / "file.txt"
    textcache.keep("things", source, ("text", b"code"), {"a": [1, 2.5, "x"]})
    assert textcache.lookup("things", source, ("text", b"code")) == {"a": [1, 2.5, "x"]}
    assert textcache.lookup("things", source, ("text ", b"code")) is None
    assert textcache.lookup("things", source, ("text", b"code", b"more")) is None
    assert textcache.lookup("other", source, ("text", b"code")) is None


def test_textcache_misses_an_entry_another_python_wrote(cache, tmp_path, monkeypatch):
    source = tmp_path / "file.txt"
    textcache.keep("things", source, ("text",), [1])
    monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    assert textcache.lookup("things", source, ("text",)) is None


def test_textcache_keeps_nothing_marshal_cannot_write(cache, tmp_path):
    import datetime

    source = tmp_path / "file.txt"
    textcache.keep("things", source, ("text",), {"when": datetime.date(2025, 1, 1)})
    assert not textcache.entry_path("things", source).exists()
    assert textcache.lookup("things", source, ("text",)) is None


def test_from_plain_rebuilds_every_nested_record_of_an_entry():
    """``DatasheetFile.from_plain`` rebuilds ``notes`` and ``efficiency`` by hand: a nested record field added
    to ``DatasheetEntry`` later would come back from the cache as a plain dict, so this names the set."""
    import typing

    from chipfit.datasheets import DatasheetEntry

    hints = typing.get_type_hints(DatasheetEntry)
    assert {name for name, hint in hints.items() if "Datasheet" in repr(hint)} == {"notes", "efficiency"}
