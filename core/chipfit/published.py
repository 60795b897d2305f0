"""The public record chipfit is checked against: published results (MLPerf, papers, vendors).

``core/chipfit/data/published.toml`` holds one ``[[result]]`` table per published figure: what was
run (benchmark, chipfit workload, scenario, precision), on what (system, catalogue device, count),
the figure in SI units (``metric`` names a chipfit metric key) and where it was read
(``[result.source]``: document, publisher, date, URL, the result file's path in its repository and
the line in it). :func:`load` reads it strictly; ``chipfit validate --published`` compares the model
against it.

MLPerf Inference v4.0 and v3.1, AMD's MLPerf Inference v4.1 submissions and MLPerf Training v3.0
are kept aside for independent checks of the model: :func:`load` refuses rows from them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import attrs

from chipfit import tomlfile
from chipfit.errors import SpecError

#: chipfit metric key -> the SI unit its ``value`` is in.
METRICS = {
    "throughput_sps": "samples/s",
    "output_tokens_per_s": "tokens/s",
    "latency_s": "s",
    "time_to_train_s": "s",
    "mfu": "fraction of peak",
}
SCENARIOS = ("offline", "server", "single-stream", "training")
DIVISIONS = ("closed", "open", "n/a")
PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4", "fp4")
#: The MLPerf rounds the record may use; any other suite naming MLPerf is refused.
MLPERF_SUITES = (
    "MLPerf Inference v4.1",
    "MLPerf Inference v5.0",
    "MLPerf Inference v5.1",
    "MLPerf Training v4.0",
    "MLPerf Training v4.1",
    "MLPerf Training v5.0",
)
#: Rounds kept aside for independent checks (never used for fitting or validation).
KEPT_ASIDE = ("MLPerf Inference v4.0", "MLPerf Inference v3.1", "MLPerf Training v3.0")
_KEBAB = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")


@attrs.frozen
class Source:
    """Where a published figure was read: the document, and the file and line within it.

    ``path`` is the result file's path in its results repository (empty for a paper);
    ``where`` the line or table cell the value came from, with any unit conversion shown.
    """

    document: str
    publisher: str
    date: str
    url: str
    where: str
    path: str = ""


@attrs.frozen
class PublishedResult:
    """One published figure: a benchmark run on a system of ``count`` catalogue devices.

    ``value`` is in the SI unit of ``metric`` (:data:`METRICS`); ``workload`` and ``device`` are
    chipfit ids (the row is not checked while either is unknown to the catalogue). ``global_batch``
    and ``tokens``, on training rows only, are the submission's own global batch (sequences a step)
    and tokens trained, read from its log: MLPerf Training lets each submitter choose the batch, and
    the tokens to the target follow from it, so the row is modelled with them in place of the
    workload's token budget. ``tensor_parallel`` and ``pipeline_parallel`` are the split the
    submission ran, where its configuration states one (NVIDIA's ``configs/<benchmark>/<scenario>``
    files name ``tensor_parallelism`` and ``pipeline_parallelism``): the row is modelled at that
    split, as the submitter ran it, instead of the one the model would pick.
    """

    id: str
    suite: str
    division: str
    benchmark: str
    workload: str
    scenario: str
    system: str
    submitter: str
    device: str
    count: int
    precision: str
    metric: str
    value: float
    source: Source
    notes: str = ""
    global_batch: int | None = None
    tokens: float | None = None
    tensor_parallel: int | None = None
    pipeline_parallel: int | None = None


@attrs.frozen
class _PublishedFile:
    result: list[PublishedResult]


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda value: None if value in choices else f"{value!r} is not one of {', '.join(choices)}"


def _suite(suite: str) -> str | None:
    if suite in KEPT_ASIDE:
        return f"{suite!r} is kept aside for independent checks and may not be used"
    if "mlperf" in suite.lower() and suite not in MLPERF_SUITES:
        return f"{suite!r} is not one of the MLPerf rounds in use ({', '.join(MLPERF_SUITES)})"
    return None if suite.strip() else "must not be empty"


def _value(row: PublishedResult) -> str | None:
    if not math.isfinite(row.value) or row.value <= 0:
        return f"must be a positive finite number, got {row.value!r}"
    if row.metric == "mfu" and row.value > 1:
        return f"an MFU is a fraction of peak (at most 1), got {row.value!r}"
    return None


def _kept_aside(row: PublishedResult, field: str) -> str | None:
    # AMD's own v4.1 submissions, and (to be safe) any v4.1 row on AMD hardware, such as a partner's MI300X
    amd = row.submitter.lower() == "amd" if field == "submitter" else row.device.startswith("amd-")
    if row.suite == "MLPerf Inference v4.1" and amd:
        return "AMD's MLPerf Inference v4.1 submissions (and v4.1 rows on AMD hardware) are kept aside for independent checks"
    return None


def _run_figure(row: PublishedResult, field: str) -> str | None:
    value = getattr(row, field)
    if value is None:
        return None
    if row.scenario != "training":
        return f"only a training row may give its own {field} (this row's scenario is {row.scenario!r})"
    if not math.isfinite(value) or value <= 0 or (field == "global_batch" and int(value) != value):
        return f"must be a positive {'whole ' if field == 'global_batch' else ''}number, got {value!r}"
    return None


def _split(row: PublishedResult, field: str) -> str | None:
    degree = getattr(row, field)
    if degree is None:
        return None
    if degree < 1:
        return f"must be at least 1, got {degree}"
    split = (row.tensor_parallel or 1) * (row.pipeline_parallel or 1)
    if row.count % split:
        return (f"tensor_parallel x pipeline_parallel = {split} does not divide the row's count of "
                f"{row.count} devices")
    return None


def _nonempty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


#: field -> check of the structured row (None when the row is fine).
_CHECKS: tuple[tuple[str, Callable[[PublishedResult], str | None]], ...] = (
    ("id", lambda row: None if _KEBAB.match(row.id) else f"{row.id!r} is not kebab-case"),
    ("suite", lambda row: _suite(row.suite)),
    ("submitter", lambda row: _kept_aside(row, "submitter")),
    ("device", lambda row: _kept_aside(row, "device")),
    ("division", lambda row: _one_of(DIVISIONS)(row.division)),
    ("scenario", lambda row: _one_of(SCENARIOS)(row.scenario)),
    ("metric", lambda row: _one_of(tuple(METRICS))(row.metric)),
    ("precision", lambda row: _one_of(PRECISIONS)(row.precision)),
    ("count", lambda row: None if row.count >= 1 else f"must be at least 1, got {row.count}"),
    ("value", _value),
    ("global_batch", lambda row: _run_figure(row, "global_batch")),
    ("tokens", lambda row: _run_figure(row, "tokens")),
    ("tensor_parallel", lambda row: _split(row, "tensor_parallel")),
    ("pipeline_parallel", lambda row: _split(row, "pipeline_parallel")),
    *((name, lambda row, name=name: _nonempty(getattr(row, name)))
      for name in ("benchmark", "workload", "system", "submitter", "device")),
    *((f"source.{name}", lambda row, name=name: _nonempty(getattr(row.source, name)))
      for name in ("document", "publisher", "date", "where")),
)


def default_path() -> Path:
    """The published-results file shipped with chipfit."""
    return Path(str(files("chipfit") / "data" / "published.toml"))


def load(path: str | Path | None = None) -> tuple[PublishedResult, ...]:
    """Read the published results (the shipped file unless ``path`` is given).

    :raises SpecError: naming the file, the line, the row (its index and ``id``) and the field,
        for bad TOML, an unknown or missing key, a wrong type, a value out of range, a row from a
        kept-aside round or a duplicate id.
    """
    path = default_path() if path is None else Path(path)
    where = str(path)
    text, data = tomlfile.read(path)
    try:
        table = tomlfile.structure(data, _PublishedFile, text=text, where=where)
    except SpecError as error:
        raise _name_row(error, data) from None
    seen: dict[str, int] = {}
    for index, row in enumerate(table.result):
        for field, check in _CHECKS:
            if (problem := check(row)) is not None:
                raise _row_error(text, where, index, row.id, field, problem)
        if row.id in seen:
            raise _row_error(text, where, index, row.id, "id", f"duplicate id (also result[{seen[row.id]}])")
        seen[row.id] = index
    return tuple(table.result)


def _row_error(text: str, where: str, index: int, ident: str, field: str, problem: str) -> SpecError:
    key = ("result", index, *field.split("."))
    return SpecError(f"result[{index}] (id {ident!r}): field {field!r}: {problem}",
                     path=where, line=tomlfile.locate(text, key), key=key)


def _name_row(error: SpecError, data: dict[str, Any]) -> SpecError:
    """A structuring error, with the row's id added when the error is inside a row."""
    key = error.key
    if len(key) >= 2 and key[0] == "result" and isinstance(key[1], int):
        rows = data.get("result")
        row = rows[key[1]] if isinstance(rows, list) and key[1] < len(rows) else None
        ident = row.get("id") if isinstance(row, dict) else None
        if isinstance(ident, str):
            return SpecError(f"result[{key[1]}] (id {ident!r}): {error.detail}", path=error.path, line=error.line, key=key)
    return error
