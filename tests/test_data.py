"""The data the in-tree plugins ship: every figure cited, and the YOLOv3 network checked against
darknet's published totals."""

from __future__ import annotations

import attrs
import pytest

from chipfit_yolo import PUBLISHED_GFLOPS, darknet

from conftest import IN_TREE_PLUGINS

OPTIONAL_FIGURES = ("memory_capacity", "price", "interconnect_bandwidth", "general_ops", "on_chip_memory")


def _figures(device) -> list[str]:
    fields = [f"peak_ops.{precision}" for precision in device.peak_ops]
    fields += ["memory_bandwidth"]
    # power and year are optional (None: not known, as for this machine's own CPU); cited when set
    fields += [field for field in ("power", "year") if getattr(device, field) is not None]
    fields += [field for field in OPTIONAL_FIGURES if getattr(device, field, None) is not None]
    return fields


def test_there_are_in_tree_devices_from_every_vendor_plugin(catalogue):
    plugins = {catalogue.plugin_of("device", ident) for ident in catalogue.devices}
    assert plugins >= {"nvidia", "amd", "intel", "flexlogix"}
    assert plugins <= set(IN_TREE_PLUGINS)


def test_every_device_figure_has_a_source_or_derivation(catalogue):
    missing = [f"{device.id}: {field}" for device in catalogue.devices.values()
               for field in _figures(device) if not (device.citation(field) or "").strip()]
    assert not missing, "figures without a citation:\n" + "\n".join(missing)


def test_every_peak_is_cited_for_its_own_precision(catalogue):
    """A citation of ``peak_ops`` as a whole would hide which precision a figure came from."""
    missing = [f"{device.id}: peak_ops.{precision}" for device in catalogue.devices.values()
               for precision in device.peak_ops
               if not (device.sources.get(f"peak_ops.{precision}") or device.derivations.get(f"peak_ops.{precision}"))]
    assert not missing


def test_unconfirmed_names_real_figures(catalogue):
    fields = {field.name for field in attrs.fields(type(next(iter(catalogue.devices.values()))))}
    for device in catalogue.devices.values():
        for name in device.unconfirmed:
            head, _, precision = name.partition(".")
            assert head in fields, f"{device.id}: unconfirmed {name!r} is not a field"
            if head == "peak_ops" and precision:
                assert precision in {str(p) for p in device.peak_ops}, f"{device.id}: {name}"


def test_every_citation_key_names_a_figure(catalogue):
    fields = {field.name for field in attrs.fields(type(next(iter(catalogue.devices.values()))))}
    for device in catalogue.devices.values():
        for key in [*device.sources, *device.derivations]:
            assert key.partition(".")[0] in fields, f"{device.id}: citation for unknown field {key!r}"


def test_device_ids_start_with_the_vendor(catalogue):
    for device in catalogue.devices.values():
        assert device.id.split("-")[0] in device.vendor.lower().replace(" ", ""), device.id


def test_workload_costs_are_cited(catalogue):
    for workload in catalogue.workloads.values():
        assert workload.citation("ops_per_sample") or workload.citation("operators"), workload.id


# --- YOLOv3 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "gflops"), [(320, 38.97), (416, 65.86), (608, 140.69)])
def test_yolov3_conv_flops_match_darknet(size, gflops):
    assert darknet.conv_flops(darknet.yolov3_layers(size)) / 1e9 == pytest.approx(gflops, abs=0.01)
    assert PUBLISHED_GFLOPS[size] == gflops


def test_yolov3_trainable_parameters():
    assert darknet.trainable_parameters(darknet.yolov3_layers(416)) == 61_949_149


def test_yolov3_has_107_layers_of_darknets_kinds():
    layers = darknet.yolov3_layers(416)
    assert len(layers) == 107
    kinds = [layer.kind for layer in layers]
    assert {kind: kinds.count(kind) for kind in set(kinds)} == {
        "conv": 75, "shortcut": 23, "route": 4, "upsample": 2, "yolo": 3}
    yolo = [layer for layer in layers if layer.kind == "yolo"]
    assert [(layer.out_h, layer.out_w) for layer in yolo] == [(13, 13), (26, 26), (52, 52)]
    assert all(layer.out_c == 255 for layer in yolo)


def test_yolov3_input_must_be_a_multiple_of_32():
    with pytest.raises(ValueError, match="multiple of 32"):
        darknet.yolov3_layers(400)


def test_yolov3_workloads_are_built_from_the_network(catalogue):
    layers = darknet.yolov3_layers(608)
    workload = catalogue.workload("yolov3-608")
    assert len(workload.operators) == 107
    assert workload.ops_per_sample >= darknet.conv_flops(layers)
    assert workload.ops_per_sample == pytest.approx(darknet.conv_flops(layers), rel=0.01)
    assert workload.parameters == 61_949_149
    # fp32 weights plus a bias per filter
    assert workload.weight_bytes == pytest.approx(4 * 61_949_149, rel=0.01)


def test_yolov3_training_recipe(catalogue):
    training = catalogue.workload("yolov3-coco-train")
    assert training.phase == "training"
    assert training.dataset_samples * training.epochs == pytest.approx(500_200 * 64)
    assert training.backward_factor == 2.0
    # multi-scale 320..608: the mean forward cost lies between the two extremes
    assert 38.97e9 < training.ops_per_sample < 140.69e9


def test_yolov3_1080p_scales_with_pixels(catalogue):
    small, large = catalogue.workload("yolov3-416"), catalogue.workload("yolov3-1080p")
    ratio = (1920 * 1088) / (416 * 416)
    assert large.ops_per_sample / small.ops_per_sample == pytest.approx(ratio, rel=0.01)
