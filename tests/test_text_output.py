"""Text output a person reads: numbers to 3 significant figures in a sensible unit, tables that fit
the terminal's width (``COLUMNS``), one CSV column per name, and hints that point at the right key."""

from __future__ import annotations

import csv
import io
import math
import re

import pytest
from hypothesis import given, strategies as st

from chipfit.units import display, duration, ratio, si_number, significant
from support import SEED_SPEC, TWO_GPUS, assert_bad_input, assert_clean

finite_positive = st.floats(min_value=1e-12, max_value=1e21, allow_nan=False, allow_infinity=False)


def _digits(text: str) -> int:
    """Significant digits in a plain number ('0.0123' -> 3, '1130' -> 4 but 3 significant, see callers)."""
    mantissa = text.replace(",", "").lstrip("-").replace(".", "").lstrip("0")
    return len(mantissa.rstrip("0")) or 1


@pytest.mark.parametrize(("seconds", "shown"), [
    (562.341e-6, "562 µs"),      # was '562.341 µs' (format 'g' keeps six digits)
    (1.13, "1.13 s"),            # was '1.13e+03 ms' where a caller scaled by 1e3 before '.3g'
    (0.99996, "1 s"),            # rounds up into the next unit, not '1e+03 ms'
    (999.96e-6, "1 ms"),
    (3.2e-9, "3.2 ns"),
    (76.06, "76.1 s"),
    (3.815 * 86400, "3.82 days"),
])
def test_durations_read_as_a_person_writes_them(seconds, shown):
    assert duration(seconds) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (999.96e9, "1 Tops/s"), (3.35e12, "3.35 Tops/s"), (1130.2, "1.13 kops/s"), (0.000123, "0.000123 ops/s"),
])
def test_si_numbers_never_show_an_exponent(value, shown):
    assert si_number(value, "ops/s") == shown


@given(finite_positive)
def test_a_duration_is_three_significant_figures_under_a_thousand_of_its_unit(seconds):
    text = duration(seconds)
    number, unit = text.split(" ", 1)
    assert "e" not in number
    assert _digits(number) <= 3
    assert unit in {"ns", "µs", "ms", "s", "min", "h", "days"}
    if unit not in {"days", "ns"}:
        assert float(number) < 1000
    assert math.isclose(float(number), float(f"{float(number):.3g}"))


@given(finite_positive)
def test_an_si_number_is_three_significant_figures_without_an_exponent(value):
    number = si_number(value, "W").split(" ")[0]
    assert "e" not in number and _digits(number) <= 3


@given(st.floats(min_value=1e-9, max_value=1e9, allow_nan=False))
def test_significant_keeps_the_value_to_three_figures(value):
    assert float(significant(value)) == pytest.approx(float(f"{value:.3g}"))


def test_ratios_and_unknown_metrics_use_the_same_figures():
    assert ratio(107.6) == "108x"
    assert ratio(1999.4) == "1,999x"
    assert display("some_plugin_metric", 562.341) == "562"


# --- width --------------------------------------------------------------------------------------


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.mark.parametrize("width", [60, 80, 120])
def test_text_report_fits_columns_and_keeps_every_cell(cli, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    result = cli("run", SEED_SPEC)
    assert_clean(result)
    assert result.exit_code == 0, result.output
    long = [line for line in result.stdout.splitlines() if len(line) > width]
    # a heading may be as long as its title; nothing else may pass the width
    assert [line for line in long if not set(line) <= {"-", "="}
            and not any(line == title for title in _titles())] == []
    # nothing was dropped: the reasons of unsupported rows and every column label still show
    assert "is not general-purpose" in result.stdout
    for label in ("latency", "meets", "bound", "vs"):
        assert label in result.stdout


def _titles():
    import tomllib

    spec = tomllib.loads(SEED_SPEC.read_text(encoding="utf-8"))
    return {group.get("title", "") for group in spec["groups"]} | {spec["title"]}


def test_without_columns_and_without_a_terminal_tables_stay_whole(cli, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    result = cli("run", SEED_SPEC)
    assert_clean(result)
    header = next(line for line in result.stdout.splitlines() if line.startswith("device ") and "ops/s needed" in line)
    assert "hardware cost" in header and "note" in header  # one table, one line per row


def test_a_columns_that_is_not_a_number_is_ignored(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "wide")
    result = cli("run", SEED_SPEC)
    assert_clean(result)
    assert result.exit_code == 0


def test_the_seed_report_was_wider_than_a_terminal_before():
    """The case the width rule is for: the seed report's widest table is far over 80 columns."""
    from chipfit.textwidth import fit_table

    headers = ["device", "source", *(f"metric number {n}" for n in range(12)), "note"]
    body = [["nvidia-jetson-agx-xavier-32gb", "modelled", *("123 samples/s" for _ in range(12)),
             "unsupported: a long reason that would push the line far past the edge of the terminal"]]
    assert _widest(fit_table(headers, body, width=None, note_column=len(headers) - 1)) > 200
    fitted = fit_table(headers, body, width=80, note_column=len(headers) - 1)
    assert _widest(fitted) <= 80
    assert fitted.count("nvidia-jetson-agx-xavier-32gb") >= 2       # the key column repeats per part
    assert "[1] unsupported: a long reason" in fitted
    assert fitted.count("123 samples/s") == 12                       # every cell is still there


# --- CSV, --sort -------------------------------------------------------------------------------


def test_csv_has_one_column_per_name_and_the_batch_used(cli, write_spec):
    result = cli("run", write_spec(TWO_GPUS), "--format", "csv")
    assert_clean(result)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header = rows[0]
    assert len(header) == len(set(header)), [name for name in header if header.count(name) > 1]
    batch = header.index("batch")
    assert all(row[batch] for row in rows[1:])  # offline searches the batch: the column says which it used


def test_sort_by_a_prefix_suggests_the_figures_it_begins(cli):
    result = cli("devices", "--sort", "peak")
    assert_bad_input(result, "peak_ops.int8", "peak_ops.fp32")
    assert "'year'" not in result.stderr


def test_sort_by_a_misspelt_figure_still_suggests_the_closest(cli):
    assert_bad_input(cli("devices", "--sort", "peak_ops.in8"), "did you mean 'peak_ops.int8'")
    assert_bad_input(cli("devices", "--sort", "pwer"), "did you mean 'power'")


def test_no_renderer_formats_a_time_by_hand():
    """Times go through units.duration: the hand-made '* 1e6:g} µs' and '* 1e3:.3g} ms' gave 562.341 µs."""
    from support import ROOT

    hand = re.compile(r"\* 1e[36]:[.0-9]*g\} (µs|ms)")
    found = [f"{path.relative_to(ROOT)}:{n}" for path in [*(ROOT / "core").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if hand.search(line)]
    assert found == []
