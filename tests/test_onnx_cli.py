"""ONNX model files through the command line: ``chipfit inspect MODEL.onnx``, model files in specs, and
bad input (exit 2, the file named, no traceback)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from support import assert_bad_input, assert_clean

from chipfit_onnx import models
from chipfit_onnx.counting import count_graph


def _json(result):
    assert_clean(result)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _small_resnet(weights: str = "random") -> onnx.ModelProto:
    return models.resnet50(size=64, width=8, blocks=(1, 1, 1, 1), classes=10, weights=weights)


@pytest.fixture
def resnet_file(tmp_path):
    path = tmp_path / "small_resnet.onnx"
    onnx.save(_small_resnet(), str(path))
    return path


def _seq_model() -> onnx.ModelProto:
    """(batch, seq, 8) x (8, 3): a batch dimension and a second symbolic one."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "w"], ["y"], name="mm")], "seq",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", "seq", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ones((8, 3), np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.fixture
def seq_file(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(_seq_model(), str(path))
    return path


# --- chipfit inspect MODEL.onnx ----------------------------------------------------------------------


def test_inspect_a_model_file_json(cli, resnet_file):
    report = _json(cli("inspect", resnet_file, "--format", "json"))
    count = count_graph(_small_resnet())
    assert report["id"] == "small-resnet"
    assert report["phase"] == "inference" and report["precision"] == "fp32"
    assert report["ops_per_sample"] == count.ops
    assert report["parameters"] == count.parameters
    assert report["weight_bytes"] == count.weight_bytes
    assert report["uncosted"] == {}
    assert report["by_op_type"][0]["op_type"] == "Conv"
    assert sum(row["ops"] for row in report["by_op_type"]) == pytest.approx(report["ops_per_sample"])


def test_inspect_a_model_file_text_and_csv(cli, resnet_file):
    result = cli("inspect", resnet_file)
    assert_clean(result)
    assert result.exit_code == 0, result.output
    assert "small_resnet.onnx (small-resnet), inference, fp32" in result.stdout
    assert "Conv" in result.stdout and "NOT COSTED" not in result.stdout
    csv = cli("inspect", resnet_file, "--format", "csv")
    assert csv.exit_code == 0
    assert csv.stdout.splitlines()[0] == "op_type,count,ops,share,weight_bytes,activation_bytes,ops_per_byte"


def _uncosted_file(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["X"], ["r"], name="relu"),
         helper.make_node("RoiAlign", ["r", "rois", "idx"], ["y"], name="roi", output_height=2, output_width=2),
         helper.make_node("RoiAlign", ["r", "rois", "idx"], ["y2"], name="roi2", output_height=2, output_width=2),
         helper.make_node("MyOp", ["r"], ["c"], name="custom", domain="com.example")],
        "uncosted", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 2, 8, 8])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in ("y", "y2", "c")],
        [numpy_helper.from_array(np.zeros((3, 4), np.float32), "rois"),
         numpy_helper.from_array(np.zeros(3, np.int64), "idx")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    model.ir_version = 8
    path = tmp_path / "uncosted.onnx"
    onnx.save(model, str(path))
    return path


def test_inspect_lists_uncosted_operators(cli, tmp_path):
    path = _uncosted_file(tmp_path)
    result = cli("inspect", path)
    assert_clean(result)
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if "NOT COSTED" in line]
    assert "RoiAlign x2" in line and "com.example.MyOp x1" in line
    report = _json(cli("inspect", path, "--format", "json"))
    assert report["uncosted"] == {"RoiAlign": 2, "com.example.MyOp": 1}
    rows = {row["op_type"]: row for row in report["by_op_type"]}
    assert rows["RoiAlign"]["count"] == 2 and rows["RoiAlign"]["ops"] == 0
    assert rows["RoiAlign"]["activation_bytes"] > 0  # bytes still counted


# --- symbolic dimensions -------------------------------------------------------------------------------


def test_unbound_dimension_suggests_dim(cli, seq_file):
    assert_bad_input(cli("inspect", seq_file), str(seq_file), "seq", "--dim seq=")


def test_bound_dimension_counts(cli, seq_file):
    report = _json(cli("inspect", seq_file, "--dim", "seq=8", "--format", "json"))
    assert report["ops_per_sample"] == 2 * 8 * 8 * 3  # batch bound to 1: (1, 8, 8) x (8, 3)


def test_unknown_dimension_is_an_error(cli, seq_file):
    assert_bad_input(cli("inspect", seq_file, "--dim", "seq=8", "--dim", "sequence=4"), str(seq_file), "sequence")


@pytest.mark.parametrize("dim", ["seq", "seq=abc", "seq=0", "seq=-1", "=8"])
def test_malformed_dim(cli, seq_file, dim):
    assert_bad_input(cli("inspect", seq_file, "--dim", dim), "--dim", "NAME=POSITIVE_INTEGER")


# --- bad model files -----------------------------------------------------------------------------------


def test_text_file_is_not_a_model(cli, tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("these are notes, not an ONNX model\n")
    assert_bad_input(cli("inspect", path), str(path), "ONNX")


def test_truncated_model(cli, tmp_path, resnet_file):
    path = tmp_path / "truncated.onnx"
    path.write_bytes(resnet_file.read_bytes()[:1000])
    assert_bad_input(cli("inspect", path), str(path))


def test_empty_file(cli, tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    assert_bad_input(cli("inspect", path), str(path), "ONNX")


def test_missing_model_file(cli, tmp_path):
    path = tmp_path / "absent.onnx"
    assert_bad_input(cli("inspect", path), str(path), "no such file")


def test_shapes_that_cannot_be_inferred(cli, tmp_path):
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "w"], ["y"], name="mm")], "bad",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 4, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ones((8, 3), np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "incompatible.onnx"
    onnx.save(model, str(path))
    assert_bad_input(cli("inspect", path), str(path), "shapes cannot be inferred")


# --- weights stored outside the model file ----------------------------------------------------------------


def test_external_data_model_counts(cli, tmp_path):
    inline = _json(cli("inspect", _write(tmp_path / "inline", _small_resnet()), "--format", "json"))
    folder = tmp_path / "external"
    folder.mkdir()
    path = folder / "net.onnx"
    onnx.save(_small_resnet(), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location="w.bin", size_threshold=0)
    assert (folder / "w.bin").stat().st_size > path.stat().st_size
    external = _json(cli("inspect", path, "--format", "json"))
    for key in ("ops_per_sample", "parameters", "weight_bytes", "activation_bytes_per_sample", "by_op_type"):
        assert external[key] == inline[key], key
    # the weights are never read: without the .bin the counts are the same
    (folder / "w.bin").unlink()
    missing = _json(cli("inspect", path, "--format", "json"))
    assert missing["by_op_type"] == inline["by_op_type"]
    assert missing["parameters"] == inline["parameters"]


def test_shapes_only_graph_counts_from_a_file(cli, tmp_path):
    """A graph built with weights="shapes" (data marked external, never written) counts like the real one."""
    shapes = _json(cli("inspect", _write(tmp_path / "shapes", _small_resnet("shapes")), "--format", "json"))
    real = _json(cli("inspect", _write(tmp_path / "real", _small_resnet("random")), "--format", "json"))
    assert shapes["by_op_type"] == real["by_op_type"]


def _write(folder, model) -> str:
    folder.mkdir()
    path = folder / "net.onnx"
    onnx.save(model, str(path))
    return str(path)


# --- model files in specs --------------------------------------------------------------------------------


SPEC = """
title = "A model file"

[[groups]]
id = "file"
devices = ["nvidia-h100-sxm5"]
workloads = ["m.onnx", "resnet-50"]
scenario = "single-stream"
dims = { seq = 8 }
"""


def test_spec_naming_a_model_file_runs(cli, write_spec, seq_file):
    spec = write_spec(SPEC)
    assert spec.parent == seq_file.parent
    report = _json(cli("run", spec, "--format", "json"))
    rows = {row["workload"]: row for row in report["rows"]}
    assert set(rows) == {"m", "resnet-50"}
    assert rows["m"]["status"] == "ok", rows["m"]
    assert rows["m"]["metrics"]["latency_s"] > 0


def test_spec_model_file_without_its_dims_names_the_line(cli, write_spec, seq_file):
    spec = write_spec(SPEC.replace("dims = { seq = 8 }\n", ""))
    assert_bad_input(cli("run", spec), str(spec), "line 6", "seq", "--dim")


def test_spec_model_file_that_is_missing(cli, write_spec, tmp_path):
    spec = write_spec(SPEC)
    assert_bad_input(cli("run", spec), str(spec), "m.onnx", "no such file")


@pytest.mark.parametrize("value", ["0", "-3"])
def test_spec_dims_must_be_positive(cli, write_spec, seq_file, value):
    spec = write_spec(SPEC.replace("seq = 8", f"seq = {value}"))
    assert_bad_input(cli("run", spec), str(spec), "seq")


def test_model_dims_give_each_model_file_its_own(cli, write_spec, seq_file):
    """dims apply to every model file of a group; model_dims give one file its own (issue 17)."""
    import shutil

    shutil.copy(seq_file, seq_file.parent / "long.onnx")
    text = SPEC.replace('"m.onnx", "resnet-50"', '"m.onnx", "long.onnx"').replace(
        "dims = { seq = 8 }\n", 'dims = { seq = 8 }\nmodel_dims = { "long.onnx" = { seq = 64 } }\n')
    rows = {row["workload"]: row for row in _json(cli("run", write_spec(text), "--format", "json"))["rows"]}
    assert set(rows) == {"m", "long"}
    assert rows["long"]["metrics"]["ops_total"] == pytest.approx(8 * rows["m"]["metrics"]["ops_total"])


def test_model_dims_for_a_file_not_in_the_group_names_it(cli, write_spec, seq_file):
    text = SPEC.replace("dims = { seq = 8 }\n", 'dims = { seq = 8 }\nmodel_dims = { "n.onnx" = { seq = 64 } }\n')
    spec = write_spec(text)
    assert_bad_input(cli("run", spec), str(spec), "line 9", "model_dims", "'n.onnx'", "did you mean 'm.onnx'")


def test_model_dims_must_be_positive(cli, write_spec, seq_file):
    text = SPEC.replace("dims = { seq = 8 }\n", 'model_dims = { "m.onnx" = { seq = 0 } }\n')
    spec = write_spec(text)
    assert_bad_input(cli("run", spec), str(spec), "model_dims.m.onnx.seq", "positive")


CLAIM = """
[[claims]]
text = "the model file runs fast"
cell = { group = "file", device = "nvidia-h100-sxm5", workload = "m.onnx" }
value = "latency_s"
"""


def test_claim_on_a_model_file_cell(cli, write_spec, seq_file):
    report = _json(cli("run", write_spec(SPEC + CLAIM), "--format", "json"))
    [claim] = report["claims"]
    assert not claim["verdict"].startswith("cannot check"), claim["verdict"]
    row = next(row for row in report["rows"] if row["workload"] == "m")
    assert claim["value"] == row["metrics"]["latency_s"]


def test_model_file_named_like_a_catalogue_workload(cli, write_spec, tmp_path):
    onnx.save(_small_resnet("shapes"), str(tmp_path / "resnet-50.onnx"))
    text = SPEC.replace('"m.onnx", "resnet-50"', '"resnet-50.onnx", "resnet-50"').replace("dims = { seq = 8 }\n", "")
    spec = write_spec(text)
    result = cli("run", spec, "--format", "json")
    if result.exit_code == 2:  # refusing the clash, naming the file, is fine too
        assert_bad_input(result, "resnet-50.onnx")
        return
    rows = _json(result)["rows"]
    assert len({row["workload"] for row in rows}) == 2


# --- chipfit inspect of reference workloads --------------------------------------------------------------


def test_inspect_resnet50_json(cli):
    report = _json(cli("inspect", "resnet-50", "--format", "json"))
    assert report["id"] == "resnet-50"
    assert report["parameters"] == 25_557_032
    rows = report["by_op_type"]
    assert rows[0]["op_type"] == "Conv"
    assert rows[0]["share"] > 0.95
    assert all("ops_per_byte" in row for row in rows)
    assert rows[0]["ops_per_byte"] == pytest.approx(rows[0]["ops"] / (rows[0]["weight_bytes"]
                                                                      + rows[0]["activation_bytes"]))
    assert report["uncosted"] == {}


def test_inspect_llama_decode_has_low_intensity(cli):
    report = _json(cli("inspect", "llama-3-8b-decode-4096", "--format", "json"))
    matmul = next(row for row in report["by_op_type"] if row["op_type"] == "MatMul")
    assert matmul["ops_per_byte"] < 2  # one token: every weight read for one multiply-add


@pytest.mark.parametrize(("ident", "close"), [("resnet-5", "resnet-50"),
                                              ("llama-3-8b-decode", "llama-3-8b-decode-4096"),
                                              ("mobilenetv2", "mobilenet-v2")])
def test_inspect_unknown_id_suggests_close_ids(cli, ident, close):
    assert_bad_input(cli("inspect", ident), repr(ident), "did you mean", repr(close))
