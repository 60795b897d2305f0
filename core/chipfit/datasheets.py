"""Datasheet files: a vendor plugin's devices as cited TOML, in display units, read into SI records.

A datasheet file holds ``[[device]]`` tables; units are in the key names (``power_w``,
``memory_bandwidth_gb_s``, ``peak_tops``); a device with no memory of its own (weights streamed
from the host) leaves out ``memory_capacity_gb`` and gives its host link as the bandwidth; a device
whose maker publishes no power figure (Google's Cloud TPU v5p and v6e) leaves out ``power_w``, and its
energy metrics are then unavailable rather than guessed. Each figure names its source in ``[device.sources]``
(key: the field, or ``peak_tops.<precision>``), a computed figure shows its arithmetic in
``[device.derived]``, and ``unconfirmed = [...]`` lists figures no primary source confirmed.
A vendor plugin's whole hook can be::

    @chipfit.hookimpl
    def chipfit_register_devices(register):
        for device in load_devices(files(__package__) / "devices.toml"):
            register(device)

A file read without error is kept, as the plain data of its :class:`DatasheetFile`, in the cache
folder (:mod:`chipfit.textcache`), keyed by its text and by the code that read it; the next command
takes it from there instead of parsing and checking it again (``python benchmarks/startup.py``
prints what that saves: its ``chipfit devices (no cache)`` row). Every figure is still checked as a :class:`~chipfit.records.Device`.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

import attrs

from chipfit import textcache, tomlfile
from chipfit.errors import SpecError
from chipfit.records import Device, Efficiency
from chipfit.units import GIGA, MEGA, TERA

#: Device field -> datasheet key, for pointing an error at the key a person wrote.
_KEYS = {
    "peak_ops": "peak_tops",
    "memory_bandwidth": "memory_bandwidth_gb_s",
    "memory_capacity": "memory_capacity_gb",
    "power": "power_w",
    "price": "price_usd",
    "interconnect_bandwidth": "interconnect_bandwidth_gb_s",
    "general_ops": "general_tops",
    "sparse_peak_ops": "sparse_peak_tops",
    "on_chip_memory": "on_chip_memory_mb",
    "invocation_overhead": "invocation_overhead_us",
    "cloud_price_per_hour": "cloud_usd_per_hour",
}


@attrs.frozen
class DatasheetEfficiency:
    """Sustained fractions of peak a vendor states or measured; ``overhead_us`` per operator."""

    compute: float
    memory: float
    overhead_us: float = 0.0
    source: str = ""


@attrs.frozen
class DatasheetNotes:
    """Free text shown with a device."""

    text: str = ""


@attrs.frozen
class DatasheetEntry:
    """One ``[[device]]`` table, in the units its keys name."""

    id: str
    name: str
    vendor: str
    kind: str
    segment: str
    year: int
    memory_bandwidth_gb_s: float
    capabilities: list[str]
    power_w: float | None = None
    memory_capacity_gb: float | None = None
    peak_tops: dict[str, float] = attrs.field(factory=dict)
    runtimes: list[str] = attrs.field(factory=list)
    price_usd: float | None = None
    interconnect_bandwidth_gb_s: float | None = None
    general_tops: float | None = None
    sparse_peak_tops: dict[str, float] = attrs.field(factory=dict)
    on_chip_memory_mb: float | None = None
    invocation_overhead_us: float | None = None
    power_kind: str = ""
    price_date: str = ""
    cloud_usd_per_hour: float | None = None
    cloud_price_date: str = ""
    unconfirmed: list[str] = attrs.field(factory=list)
    unusual: list[str] = attrs.field(factory=list)
    sources: dict[str, str] = attrs.field(factory=dict)
    derived: dict[str, str] = attrs.field(factory=dict)
    notes: DatasheetNotes = DatasheetNotes()
    efficiency: DatasheetEfficiency | None = None

    def to_device(self) -> Device:
        """The record, in SI units; datasheet key names in citations become record field names."""
        efficiency = None
        if self.efficiency is not None:
            efficiency = Efficiency(self.efficiency.compute, self.efficiency.memory, self.efficiency.overhead_us * 1e-6)
        scaled = lambda value, scale: None if value is None else value * scale  # noqa: E731
        return Device(
            id=self.id,
            name=self.name,
            vendor=self.vendor,
            kind=self.kind,
            segment=self.segment,
            peak_ops={precision: tops * TERA for precision, tops in self.peak_tops.items()},
            memory_bandwidth=self.memory_bandwidth_gb_s * GIGA,
            memory_capacity=scaled(self.memory_capacity_gb, GIGA),
            power=self.power_w,
            year=self.year,
            capabilities=self.capabilities,
            runtimes=self.runtimes,
            price=self.price_usd,
            interconnect_bandwidth=scaled(self.interconnect_bandwidth_gb_s, GIGA),
            general_ops=scaled(self.general_tops, TERA),
            sparse_peak_ops={precision: tops * TERA for precision, tops in self.sparse_peak_tops.items()},
            on_chip_memory=scaled(self.on_chip_memory_mb, MEGA),
            invocation_overhead=scaled(self.invocation_overhead_us, 1e-6),
            power_kind=self.power_kind,
            price_date=self.price_date,
            cloud_price_per_hour=self.cloud_usd_per_hour,
            cloud_price_date=self.cloud_price_date,
            efficiency=efficiency,
            sources={_field(key): text for key, text in self.sources.items()},
            derivations={_field(key): text for key, text in self.derived.items()},
            unconfirmed={_field(key) for key in self.unconfirmed},
            unusual={_field(key) for key in self.unusual},
            notes=self.notes.text,
        )


@attrs.frozen
class DatasheetFile:
    """A whole datasheet file: its devices."""

    device: list[DatasheetEntry]

    @classmethod
    def from_plain(cls, plain: dict) -> DatasheetFile:
        """A sheet from its plain data (:func:`chipfit.tomlfile.unstructure` of one), unchecked: only for
        data this module's own reader checked and unstructured (a cache entry, :func:`load_devices`).

        :raises TypeError, KeyError, AttributeError: the data is not a sheet's.
        """
        entries = []
        for entry in plain["device"]:
            efficiency = entry["efficiency"]
            entries.append(DatasheetEntry(**{
                **entry,
                "notes": DatasheetNotes(**entry["notes"]),
                "efficiency": None if efficiency is None else DatasheetEfficiency(**efficiency),
            }))
        return cls(entries)


_FIELDS = {key: field for field, key in _KEYS.items()}


def datasheet_key(field: str) -> str:
    """``peak_ops.fp32`` -> ``peak_tops.fp32``; ``power`` -> ``power_w``: the key a datasheet file uses."""
    head, dot, rest = field.partition(".")
    return _KEYS.get(head, head) + dot + rest


def _field(key: str) -> str:
    """``peak_tops.fp32`` -> ``peak_ops.fp32``; ``power_w`` -> ``power``."""
    head, dot, rest = key.partition(".")
    return _FIELDS.get(head, head) + dot + rest


def load_devices(path: str | Path) -> list[Device]:
    """Read a datasheet file into devices (from the cache when this very text was read before: see the module's docs).

    :raises SpecError: naming the file, the line and the key, for bad TOML, an unknown key, a
        wrong type, a missing figure or a figure a device rejects (negative, unknown precision…).
    """
    text = tomlfile.read_text(path)
    sheet = _read_sheet(Path(path), text)
    devices = []
    first: dict[str, int] = {}
    for index, entry in enumerate(sheet.device):
        if entry.id in first:
            line = tomlfile.locate(text, ["device", first[entry.id], "id"])
            raise SpecError(f"device[{index}]: id {entry.id!r} is also device[{first[entry.id]}]'s"
                            f"{f' (line {line})' if line else ''}: each device once", path=str(path),
                            line=tomlfile.locate(text, ["device", index, "id"]))
        first[entry.id] = index
        try:
            devices.append(entry.to_device())
        except ValueError as error:
            match = re.search(r"field '([\w.]+)'", str(error))
            key = datasheet_key(match.group(1)).split(".", 1) if match else []
            line = tomlfile.locate(text, ["device", index, *key])
            raise SpecError(f"device[{index}] ({entry.id}): {error}", path=str(path), line=line) from None
    return devices


#: The cache folder's subfolder of read datasheets (:mod:`chipfit.textcache`).
CACHE_FOLDER = "datasheets"


@functools.cache
def _reader_key() -> tuple[bytes, ...] | None:
    """What a read sheet depends on besides the file's text: the code that parses and checks it (this
    module and :mod:`chipfit.tomlfile`, by their source files) and cattrs' version. None where those
    cannot be read (a zipped install): then no sheet is cached."""
    from importlib import metadata

    try:
        sources = tuple(Path(module.__file__).read_bytes() for module in (sys.modules[__name__], tomlfile))
        return (*sources, metadata.version("cattrs").encode())
    except (OSError, TypeError, metadata.PackageNotFoundError):
        return None


def _read_sheet(path: Path, text: str) -> DatasheetFile:
    """The sheet in ``text``: kept from an earlier read of this very text by this very code, else parsed
    and checked (and kept, when that raised nothing).

    :raises SpecError: bad TOML, an unknown key, a wrong type or a missing figure (never cached).
    """
    reader = _reader_key()
    key = None if reader is None else (text, *reader)
    if key is not None and (kept := textcache.lookup(CACHE_FOLDER, path, key)) is not None:
        try:
            return DatasheetFile.from_plain(kept)
        except (TypeError, KeyError, AttributeError):  # not a sheet's data after all: read the file
            pass
    sheet = tomlfile.structure(tomlfile.parse(text, str(path)), DatasheetFile, text=text, where=str(path))
    if key is not None:
        textcache.keep(CACHE_FOLDER, path, key, tomlfile.unstructure(sheet))
    return sheet


@attrs.frozen
class BrokenDatasheet:
    """A plugin's datasheet file that could not be read: its devices are left out, and named when asked for."""

    plugin: str
    path: str
    error: str
    ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} could not read its datasheet: {self.error}"


#: Datasheets of plugins that failed to read this session, by plugin module (see :func:`register_datasheet`).
_BROKEN: dict[str, BrokenDatasheet] = {}


def broken_datasheets() -> list[BrokenDatasheet]:
    """The plugin datasheets that could not be read (their devices are missing from the catalogue)."""
    return list(_BROKEN.values())


def unavailable(ident: str) -> BrokenDatasheet | None:
    """The broken datasheet that would have registered device ``ident`` (None when no broken file names it)."""
    return next((broken for broken in _BROKEN.values() if ident in broken.ids), None)


def _shipped(package: str, filename: str) -> Path:
    """The path of ``filename`` shipped in ``package``: in the folder of an imported package where it is
    there (the usual case, without importlib.resources' machinery, which costs start-up time), else through
    :func:`importlib.resources.files`."""
    folders = list(getattr(sys.modules.get(package), "__path__", None) or ())
    if len(folders) == 1 and (candidate := Path(folders[0]) / filename).is_file():
        return candidate
    from importlib.resources import files

    return Path(str(files(package) / filename))


def register_datasheet(register, package: str, filename: str = "devices.toml") -> None:
    """Register every device of a datasheet file shipped inside ``package`` (a vendor plugin's hook body).

    A file that cannot be read costs only its own devices: a warning names the plugin and the file's
    error, the rest of the catalogue loads, and a spec or command that names one of its devices fails
    naming the plugin and the error (:func:`unavailable`). ``CHIPFIT_STRICT_PLUGINS=1`` makes it an error.
    """
    import os

    path = _shipped(package, filename)
    try:
        devices = load_devices(path)
    except SpecError as error:
        if os.environ.get("CHIPFIT_STRICT_PLUGINS", "").strip():
            raise
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        ids = tuple(re.findall(r'(?m)^\s*id\s*=\s*"([^"\n]+)"', text))
        _BROKEN[package] = BrokenDatasheet(package, str(path), str(error), ids)
        sys.stderr.write(f"chipfit: warning: {_BROKEN[package]}; its devices are left out\n")
        return
    _BROKEN.pop(package, None)
    for device in devices:
        register(device)
