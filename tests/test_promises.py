"""Promises under attack (issue 17): each case an adversarial pass broke, reproduced, with its fix's test.

Each test failed before its fix. The fuzz tests that look for the next ones are in ``test_fuzz_inputs.py``.
"""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from support import TWO_GPUS, assert_bad_input, assert_clean


def _store_with_runs(cli, write_spec, tmp_path, runs: int = 3):
    spec = write_spec(TWO_GPUS)
    store = tmp_path / "runs.sqlite"
    for _ in range(runs):
        assert cli("--store", store, "run", spec).exit_code == 0
    return spec, store


def _damage_last_page(path) -> bytes:
    """Random bytes over the last 4 KiB page, as the audit did; the file's bytes afterwards."""
    data = bytearray(path.read_bytes())
    data[-4096:] = random.Random(17).randbytes(4096)
    path.write_bytes(bytes(data))
    with pytest.raises(sqlite3.DatabaseError):
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    return bytes(data)


# --- 2. a damaged store is never written to ------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "resume", "import"])
def test_a_store_that_fails_its_integrity_check_is_never_written_to(cli, write_spec, tmp_path, command):
    spec, store = _store_with_runs(cli, write_spec, tmp_path)
    export = tmp_path / "export.json"
    assert cli("--store", store, "runs", "export", "-o", export).exit_code == 0
    data = json.loads(export.read_text())
    for entry in data["runs"]:
        entry["uid"] = "f" * 31 + entry["uid"][-1]
    export.write_text(json.dumps(data))
    damaged = _damage_last_page(store)
    args = {"run": ["run", spec], "resume": ["run", spec, "--resume", "1"], "import": ["runs", "import", export]}
    result = cli("--store", store, *args[command])
    assert_bad_input(result, str(store), "damaged results store")
    assert store.read_bytes() == damaged


# --- 3. a measuring budget must be a finite number of seconds above zero ----------------------------


@pytest.mark.parametrize("budget, fragment", [("nan", "finite number"), ("inf", "finite number"),
                                              ("-inf", "finite number"), ("1e400", "finite number"),
                                              ("0", "finite number of seconds > 0"),
                                              ("-1", "finite number of seconds > 0")])
def test_a_spec_measuring_budget_that_is_not_finite_and_positive_is_refused(cli, write_spec, budget, fragment):
    spec = write_spec(TWO_GPUS.replace('title = "t"', f'title = "t"\nmeasure_budget_s = {budget}'))
    assert_bad_input(cli("--store", spec.parent / "s.sqlite", "run", spec), "line 2", "measure_budget_s", fragment)


# --- 4. claim values that used to raise from deep inside Python -----------------------------------

CLAIM = """
[[claims]]
text = "a claim"
cell = { group = "g", device = "nvidia-h100-sxm5", workload = "gemm-4096" }
value = "VALUE"
"""


@pytest.mark.parametrize("value, fragment", [
    ("1" + " + 1" * 1000, "too long"),
    ("2" + " ** 1" * 1000, "too long"),
    ("-" * 100_000 + "1", "too long"),
    ("-" * 400 + "1", "nested too deeply"),
    ("-(" * 100 + "1" + ")" * 100, "nested too deeply"),
    ("1e400 * latency_s", "1e400 is not finite"),
    ("10 ** 400", "too large"),
])
def test_a_claim_value_that_is_too_big_for_python_is_bad_input(cli, write_spec, value, fragment):
    spec = write_spec(TWO_GPUS + CLAIM.replace("VALUE", value))
    assert_bad_input(cli("--store", spec.parent / "s.sqlite", "run", spec), "claim 'a claim'", fragment)


@pytest.mark.parametrize("operator", ["//", "%", "&", "|", "^", "@", "<<", ">>"])
def test_a_claim_operator_that_is_refused_is_named(cli, write_spec, operator):
    spec = write_spec(TWO_GPUS + CLAIM.replace("VALUE", f"latency_s {operator} 2"))
    assert_bad_input(cli("--store", spec.parent / "s.sqlite", "run", spec), f"operator {operator!r} is not allowed")


@pytest.mark.parametrize("budget", ["nan", "inf", "0", "-1"])
def test_a_measure_budget_option_that_is_not_finite_and_positive_is_refused(cli, tmp_path, budget):
    result = cli("--store", tmp_path / "s.sqlite", "measure", "localhost-cpu", "gemm-4096", "--budget", budget)
    assert_bad_input(result, "--budget", "finite number of seconds > 0")


# --- 4. bad input on the command line, in export files and in the store ----------------------------


def test_a_dim_value_of_a_superscript_digit_is_bad_input(cli, tmp_path):
    assert_bad_input(cli("inspect", "--dim", "seq=²", tmp_path / "m.onnx"), "--dim 'seq=²'", "POSITIVE_INTEGER")


def test_a_run_id_beyond_any_integer_is_no_run(cli, write_spec, tmp_path):
    _, store = _store_with_runs(cli, write_spec, tmp_path, runs=1)
    assert_bad_input(cli("--store", store, "runs", "diff", "99999999999999999999999", "1"), "no run")
    assert_bad_input(cli("--store", store, "runs", "show", "²"), "no run")


def _export(cli, store, tmp_path):
    path = tmp_path / "export.json"
    assert cli("--store", store, "runs", "export", "-o", path).exit_code == 0
    return path, json.loads(path.read_text())


@pytest.mark.parametrize("content, fragment", [
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_an_export_file_that_is_not_json_text_is_bad_input(cli, tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    assert_bad_input(cli("--store", tmp_path / "s.sqlite", "runs", "import", path), str(path), fragment)


@pytest.mark.parametrize("change, fragment", [
    (lambda data: data["runs"][0]["report"]["rows"][0]["scenario"].update(count=10 ** 400), "rows[0]"),
    (lambda data: data.update(version="1"), "must be a whole number"),
    (lambda data: data["runs"][0]["report"]["spec"].update(groups="abc"), "'groups' has the wrong type"),
    (lambda data: data["runs"][0]["report"]["spec"].update(groups=[{"id": "g", "columns": "latency_s"}]),
     "'columns' has the wrong type"),
])
def test_a_malformed_export_is_bad_input_naming_the_place(cli, write_spec, tmp_path, change, fragment):
    _, store = _store_with_runs(cli, write_spec, tmp_path, runs=1)
    path, data = _export(cli, store, tmp_path)
    data["runs"][0]["uid"] = "0" * 32
    change(data)
    path.write_text(json.dumps(data))
    before = store.read_bytes()
    assert_bad_input(cli("--store", store, "runs", "import", path), str(path), fragment)
    assert store.read_bytes() == before


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],                 # cut short
    lambda text: text.replace(b'"', b"\x00", 1),         # a flipped byte that breaks the JSON
    lambda text: text.replace(b'"', b'\xff', 3),         # bytes that are not UTF-8
    lambda text: b"[1, 2]",                              # JSON, but not an object
])
@pytest.mark.parametrize("column", ["row", "report"])
def test_a_store_row_whose_json_is_damaged_is_an_error_naming_the_run(cli, write_spec, tmp_path, damage, column):
    _, store = _store_with_runs(cli, write_spec, tmp_path, runs=2)
    with sqlite3.connect(store) as db:
        table, where = ("rows", "run_id = 1 AND position = 0") if column == "row" else ("runs", "id = 1")
        (text,) = db.execute(f"SELECT CAST({column} AS BLOB) FROM {table} WHERE {where}").fetchone()
        db.execute(f"UPDATE {table} SET {column} = CAST(? AS TEXT) WHERE {where}", (damage(bytes(text)),))
    assert_clean(listed := cli("--store", store, "runs", "list"))
    assert listed.exit_code == 0
    for args in (["runs", "show", "1"], ["runs", "diff", "1", "2"], ["runs", "export"], ["report", "--runs", "1"]):
        assert_bad_input(cli("--store", store, *args), str(store), "damaged run 1")
    assert cli("--store", store, "runs", "show", "2").exit_code == 0


def test_a_store_title_with_bytes_that_are_not_utf8_is_listed(cli, write_spec, tmp_path):
    _, store = _store_with_runs(cli, write_spec, tmp_path, runs=1)
    with sqlite3.connect(store) as db:
        db.execute("UPDATE runs SET title = CAST(? AS TEXT)", (b"t\xff\xfe",))
    result = cli("--store", store, "runs", "list")
    assert_clean(result)
    assert result.exit_code == 0 and "t\ufffd" in result.output


# --- 6. non-finite or negative values never reach a report -----------------------------------------

_METRIC_PLUGIN = """
import chipfit
from chipfit.metrics import DerivedMetric

@chipfit.hookimpl
def chipfit_register_metrics(register):
    register(DerivedMetric(IDENT, "s", False, lambda metrics: VALUE))
"""


def _strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("ident, value, fragment", [
    ("odd_metric", "float('nan')", "not a finite number"),
    ("odd_metric", "float('inf')", "not a finite number"),
    ("odd_metric", "[1]", "not a number"),
])
def test_a_derived_metric_that_clashes_or_is_not_finite_fails_the_rows_naming_its_plugin(
        cli, write_spec, plugin_module, ident, value, fragment):
    name = plugin_module("odd_metrics", _METRIC_PLUGIN.replace("IDENT", repr(ident)).replace("VALUE", value))
    spec = write_spec(TWO_GPUS)
    result = cli("-p", name, "--store", spec.parent / "s.sqlite", "run", spec, "--format", "json")
    assert_clean(result)
    assert result.exit_code == 1
    rows = _strict_json(result.stdout)["rows"]
    assert rows and all(row["status"] == "failed" for row in rows)
    assert all(f"plugin '{name}'" in row["reason"] and fragment in row["reason"] for row in rows)


def test_a_derived_metric_with_the_id_of_a_core_metric_is_refused_naming_its_plugin(cli, write_spec, plugin_module):
    name = plugin_module("odd_metrics", _METRIC_PLUGIN.replace("IDENT", "'latency_s'").replace("VALUE", "1.0"))
    spec = write_spec(TWO_GPUS)
    assert_bad_input(cli("-p", name, "--store", spec.parent / "s.sqlite", "run", spec), f"plugin '{name}'",
                     "'latency_s'")


def test_a_derived_metric_never_replaces_a_metric_the_row_has():
    from chipfit.metrics import DerivedMetric, MetricFailure, apply

    with pytest.raises(MetricFailure, match="the row already has 'power_w'"):
        apply({"power_w": 3.0}, {"power_w": DerivedMetric("power_w", "W", False, lambda metrics: 1.0)})


def test_json_reports_are_strict_json_even_where_a_value_is_not_finite():
    from chipfit.records import Report, Result, Scenario
    from chipfit.render import render_json

    row = Result("a", "b", Scenario(), "measured", "ok", {"latency_s": 1.0},
                 measurement={"samples": [1.0, float("nan")], "spread": float("inf")})
    data = _strict_json(render_json(Report(title="t", rows=[row], environment={"x": float("-inf")})))
    assert data["rows"][0]["measurement"] == {"samples": [1.0, None], "spread": None}
    assert data["environment"] == {"x": None}


@pytest.mark.parametrize("metrics, measurement, fragment", [
    ({"latency_s": -0.001, "power_w": -5.0}, {}, "'latency_s' = -0.001: a negative quantity"),
    ({"latency_s": 0.001, "power_w": -5.0}, {}, "'power_w' = -5.0: a negative quantity"),
    ({"latency_s": 10 ** 400}, {}, "not a finite number"),
    ({"latency_s": 0.001}, {"spread": float("nan")}, "measurement that is not finite JSON"),
    ({"latency_s": 0.001}, {"thing": object()}, "measurement that is not finite JSON"),
])
def test_a_measurement_with_negative_or_non_finite_values_is_a_failed_row_naming_the_plugin(
        pm, register_plugin, catalogue, metrics, measurement, fragment):
    import chipfit
    from chipfit.cells import measure_cell
    from chipfit.records import Result, Scenario

    class Backwards:
        @chipfit.hookimpl
        def chipfit_measure(self, device, workload, scenario, budget):
            return Result(device.id, workload.id, scenario, "measured", "ok", metrics, measurement=measurement)

    register_plugin(pm, Backwards(), "backwards")
    row = measure_cell(pm, catalogue.device("nvidia-h100-sxm5"), catalogue.workload("gemm-4096"), Scenario(), 1.0)
    assert row.status == "failed"
    assert "plugin 'backwards'" in row.reason and fragment in row.reason


@pytest.mark.parametrize("key, value", [("latency_target_ms", "nan"), ("latency_target_ms", "inf")])
def test_a_spec_number_that_is_not_finite_is_refused_naming_its_line(cli, write_spec, key, value):
    spec = write_spec(TWO_GPUS + f"{key} = {value}\n")
    assert_bad_input(cli("--store", spec.parent / "s.sqlite", "run", spec), "line 8", "latency_target", "finite number")


def test_a_claim_expected_value_that_is_not_finite_is_refused(cli, write_spec):
    spec = write_spec(TWO_GPUS + CLAIM.replace("VALUE", "latency_s") + "expected = nan\n")
    assert_bad_input(cli("--store", spec.parent / "s.sqlite", "run", spec), "claims[0].expected", "finite number")


# --- 7. two model files with one base name --------------------------------------------------------


def _seq_model_file(path):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "w"], ["y"], name="mm")], "seq",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", "seq", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ones((8, 3), np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("second_group", [False, True])
def test_two_model_files_with_one_base_name_are_an_error_naming_both(cli, write_spec, tmp_path, second_group):
    _seq_model_file(tmp_path / "a" / "model.onnx")
    _seq_model_file(tmp_path / "b" / "model.onnx")
    group = '\n[[groups]]\nid = "h"\ndevices = ["nvidia-h100-sxm5"]\nworkloads = ["b/model.onnx"]\ndims = { seq = 4 }\n'
    text = TWO_GPUS.replace('"gemm-4096"', '"a/model.onnx"' if second_group else '"a/model.onnx", "b/model.onnx"')
    spec = write_spec(text + "dims = { seq = 4 }\n" + (group if second_group else ""))
    result = cli("--store", tmp_path / "s.sqlite", "run", spec)
    assert_bad_input(result, "'b/model.onnx'", "becomes workload id 'model'", "'a/model.onnx'", "rename")


def test_one_model_file_in_two_groups_is_one_workload(cli, write_spec, tmp_path):
    _seq_model_file(tmp_path / "a" / "model.onnx")
    group = '\n[[groups]]\nid = "h"\ndevices = ["nvidia-h100-sxm5"]\nworkloads = ["a/model.onnx"]\ndims = { seq = 4 }\n'
    spec = write_spec(TWO_GPUS.replace('"gemm-4096"', '"a/model.onnx"') + "dims = { seq = 4 }\n" + group)
    result = cli("--store", tmp_path / "s.sqlite", "run", spec)
    assert_clean(result)
    assert result.exit_code == 0, result.output


def test_a_model_file_with_a_question_mark_in_its_name_keeps_its_path_and_dims():
    from chipfit.records import graph_locator, split_locator

    for path, dims in [("/m/what?.onnx", {}), ("/m/what?.onnx", {"seq": 4}), ("/m/a.onnx", {"seq": 4}),
                       ("/m/a.onnx", {}), ("/m/a?b?c.onnx", {"x": 1, "y": 2})]:
        assert split_locator(graph_locator(path, dims)) == (path, dims)


# --- 8. claims are checked before any cell is measured; resume takes a spec whose claims changed -------


def test_a_claim_naming_a_missing_metric_is_found_before_any_cell_is_measured(cli, write_spec, tmp_path, monkeypatch):
    import chipfit.executors

    measured = []
    monkeypatch.setattr(chipfit.executors, "measure_cell", lambda *args, **kwargs: measured.append(args))
    text = (TWO_GPUS + CLAIM.replace("VALUE", "no_such * 2")).replace(
        'title = "t"', 'title = "t"\nmeasure = ["localhost-cpu"]').replace(
        'devices = ["nvidia-h100-sxm5", "amd-instinct-mi250x"]', 'devices = ["nvidia-h100-sxm5", "localhost-cpu"]')
    spec = write_spec(text)
    store = tmp_path / "s.sqlite"
    assert_bad_input(cli("--store", store, "run", spec), "no_such", "line")
    assert measured == []
    assert not store.exists() or cli("--store", store, "runs", "list", "--format", "json").stdout.strip() == "[]"


def test_resume_takes_a_spec_whose_claims_changed(cli, write_spec, tmp_path):
    spec = write_spec(TWO_GPUS + CLAIM.replace("VALUE", "latency_s"))
    store = tmp_path / "s.sqlite"
    assert cli("--store", store, "run", spec).exit_code == 0
    spec.write_text(spec.read_text().replace('text = "a claim"', 'text = "a claim, fixed"')
                    .replace('value = "latency_s"', 'value = "latency_s * 1000"'))
    result = cli("--store", store, "run", spec, "--resume", "1")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    assert "a claim, fixed" in result.output
    spec.write_text(spec.read_text().replace('scenario = "offline"', 'scenario = "single-stream"'))
    assert_bad_input(cli("--store", store, "run", spec, "--resume", "1"), "different spec", "groups")


# --- 10. the minor ones -----------------------------------------------------------------------------


def test_a_latency_target_below_a_nanosecond_is_refused_in_the_spec_not_blamed_on_the_roofline(cli, write_spec):
    spec = write_spec(TWO_GPUS.replace('"offline"', '"server"') + "latency_target_ms = 1e-300\n")
    result = cli("--store", spec.parent / "s.sqlite", "run", spec)
    assert_bad_input(result, "line 8", "latency_target_ms", "at least 1e-06 ms")
    assert "roofline" not in result.stderr


def test_two_imports_of_one_export_at_once_add_each_run_once(cli, write_spec, tmp_path):
    import threading

    from chipfit.runs import read_export
    from chipfit.store import Store

    _, source = _store_with_runs(cli, write_spec, tmp_path, runs=2)
    export, _ = _export(cli, source, tmp_path)
    target = tmp_path / "target.sqlite"
    Store(target).close()
    results, errors = [], []
    barrier = threading.Barrier(2)
    data = read_export(str(export))

    def work():
        try:
            with Store(target) as store:
                barrier.wait()
                results.append(store.import_runs(data, where=str(export)))
        except Exception as error:  # noqa: BLE001 - the test reports it
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(added) for added, _ in results) == [0, 2]
    assert sorted(skipped for _, skipped in results) == [0, 2]


def test_a_datasheet_with_one_device_id_twice_fails_the_check(cli, tmp_path):
    from support import ROOT

    sheet = (ROOT / "plugins" / "chipfit_nvidia" / "devices.toml").read_text(encoding="utf-8")
    first = sheet.index("[[device]]")
    second = sheet.index("[[device]]", first + 1)
    path = tmp_path / "devices.toml"
    path.write_text(sheet + "\n" + sheet[first:second], encoding="utf-8")
    assert_bad_input(cli("check", path), str(path), "is also device[0]'s", "each device once")


def test_a_cyclic_onnx_graph_is_refused_naming_the_node(cli, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", ["loop"], ["y"], name="first"),
             helper.make_node("Relu", ["y"], ["loop"], name="second")]
    graph = helper.make_graph(nodes, "cycle", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "cycle.onnx"
    onnx.save(model, str(path))
    assert_bad_input(cli("inspect", path), str(path), "node 'first' reads 'loop'", "node 'second'", "cycle")


def test_a_misspelt_column_is_an_error_suggesting_the_metric(cli, write_spec):
    spec = write_spec(TWO_GPUS + 'columns = ["latency_s", "throughput_sp"]\n')
    assert_bad_input(cli("--store", spec.parent / "s.sqlite", "run", spec), "line 8", "columns[1]",
                     "'throughput_sp' is not a metric", "did you mean 'throughput_sps'")


def test_markdown_shows_raw_html_from_names_as_text(cli, write_spec):
    spec = write_spec(TWO_GPUS.replace('title = "t"', 'title = "<script>alert(1)</script> & co"'))
    result = cli("--store", spec.parent / "s.sqlite", "run", spec, "--format", "markdown")
    assert result.exit_code == 0
    assert "<script>" not in result.stdout
    assert "&lt;script>alert(1)&lt;/script> &amp; co" in result.stdout


def test_a_misspelt_table_is_named_with_the_key_meant(cli, write_spec):
    spec = write_spec(TWO_GPUS.replace("[[groups]]", "[[group]]"))
    result = cli("--store", spec.parent / "s.sqlite", "run", spec)
    assert_bad_input(result, "line 3", "unknown key 'group'", "did you mean 'groups'")
    assert "missing required key" not in result.stderr


@pytest.mark.parametrize("source, arithmetic", [
    ("(2 ** 1) ** 2", "(2 ^ 1) ^ 2 = 4"),
    ("(-2) ** 2", "(-2) ^ 2 = 4"),
    ("-(1 + 2)", "-(1 + 2) = -3"),
    ("8 / (4 / 2)", "8 / (4 / 2) = 4"),
    ("1 - (2 - 3)", "1 - (2 - 3) = 2"),
    ("2 ** 3 ** 2", "2 ^ 3 ^ 2 = 512"),
])
def test_a_claims_printed_arithmetic_reads_as_it_computes(source, arithmetic):
    """Found by the fuzz test: (2 ^ 1) ^ 2 was printed 2 ^ 1 ^ 2, and -(1 + 2) as -1 + 2."""
    from chipfit.claims import check
    from chipfit.records import Result, Scenario
    from chipfit.spec import CellRef, ClaimSpec

    claim = ClaimSpec(text="c", cell=CellRef("g", "d", "w"), value=source)
    row = Result("d", "w", Scenario(), "modelled", "ok", {"latency_s": 1.0})
    assert check(claim, row, None).arithmetic == arithmetic
