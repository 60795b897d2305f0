"""The vectorised model equals the scalar one (the reference) on random devices and workloads."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from chipfit import model, vectorised
from chipfit.records import Device, Efficiency, Operator, Precision, Scenario, Workload

PRECISIONS = [Precision.FP32, Precision.FP16, Precision.INT8]
figures = st.floats(min_value=1e9, max_value=1e16)


@st.composite
def devices(draw):
    peaks = draw(st.dictionaries(st.sampled_from(PRECISIONS), figures, min_size=1))
    efficiency = draw(st.one_of(st.none(), st.builds(
        Efficiency, st.floats(0.05, 1.0), st.floats(0.05, 1.0), st.floats(0, 1e-4),
        by_op_class=st.dictionaries(st.sampled_from(["conv", "matmul", "other"]), st.floats(0.05, 1.0)))))
    return Device(
        id=f"acme-{draw(st.integers(0, 10**6))}", name="Acme", vendor="Acme", kind=draw(st.sampled_from(
            ["cpu", "gpu", "asic", "npu"])), segment="datacenter", peak_ops=peaks,
        memory_bandwidth=draw(figures), memory_capacity=draw(st.one_of(st.none(), st.floats(1e6, 1e12))),
        power=100.0, year=2024, capabilities=["inference", "training"],
        interconnect_bandwidth=draw(st.one_of(st.none(), figures)),
        on_chip_memory=draw(st.one_of(st.none(), st.floats(1e4, 1e9))), efficiency=efficiency)


operators = st.builds(Operator, st.sampled_from(["Conv", "MatMul", "Relu", "Add"]), st.floats(1, 1e11),
                      st.floats(0, 1e8), st.floats(0, 1e8), repeat=st.integers(1, 4))
workloads = st.builds(Workload, st.just("w"), st.just("w"), st.just("d"), st.just("training"),
                      st.lists(operators, min_size=1, max_size=6), precision=st.sampled_from(PRECISIONS),
                      dataset_samples=st.floats(1e3, 1e7), epochs=st.floats(1, 100))


@settings(max_examples=80, deadline=None)
@given(st.lists(devices(), min_size=1, max_size=3), workloads, st.lists(st.integers(1, 512), min_size=1, max_size=4),
       st.floats(1.0, 4.0))
def test_batch_times_equal_the_scalar_roofline(device_list, workload, batches, work_factor):
    kernels = vectorised.KernelArrays.of(workload)
    rows = vectorised.DeviceArrays.of(device_list, workload, PRECISIONS, kernels)
    times = vectorised.batch_times(rows, kernels, np.array(batches), work_factor)
    for d, device in enumerate(device_list):
        for p, precision in enumerate(PRECISIONS):
            for b, batch in enumerate(batches):
                got = times[d * len(PRECISIONS) + p, b]
                if precision not in device.peak_ops:
                    assert math.isnan(got)
                    continue
                want = model.batch_cost(device, workload, precision, batch, work_factor).time_s
                assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-300), (device, precision, batch)


@settings(max_examples=60, deadline=None)
@given(st.lists(devices(), min_size=1, max_size=2), workloads, st.lists(st.integers(1, 256), min_size=1, max_size=3),
       st.lists(st.integers(1, 64), min_size=1, max_size=4))
def test_training_times_equal_the_scalar_model(device_list, workload, batches, counts):
    kernels = vectorised.KernelArrays.of(workload, training=True)
    rows = vectorised.DeviceArrays.of(device_list, workload, PRECISIONS, kernels, training=True)
    step = vectorised.batch_times(rows, kernels, np.array(batches), 1 + workload.backward_factor)
    train = vectorised.training_times(rows, step, workload, PRECISIONS, np.array(batches), np.array(counts))
    fits = vectorised.fits_memory(rows, vectorised.footprints(workload, PRECISIONS, batches, True), len(PRECISIONS))
    for d, device in enumerate(device_list):
        for p, precision in enumerate(PRECISIONS):
            row = d * len(PRECISIONS) + p
            for b, batch in enumerate(batches):
                for n, count in enumerate(counts):
                    result = model.estimate(device, workload, Scenario("training", batch, precision, count))
                    got = train[row, b, n]
                    if not result.ok:  # the scalar model refuses: the arrays say so too (no precision,
                        # no interconnect for many devices, or the memory does not hold the batch)
                        assert math.isnan(got) or not fits[row, b] or not step[row, b] > 0
                        continue
                    assert fits[row, b]
                    assert math.isclose(got, result.metrics["time_to_train_s"], rel_tol=1e-9), (device, batch, count)


inference_workloads = st.builds(Workload, st.just("w"), st.just("w"), st.just("d"), st.just("inference"),
                                st.lists(operators, min_size=1, max_size=6), precision=st.sampled_from(PRECISIONS))


@settings(max_examples=60, deadline=None)
@given(st.lists(devices(), min_size=1, max_size=2), inference_workloads,
       st.lists(st.integers(1, 256), min_size=1, max_size=3), st.sampled_from([[1], [1, 2], [1, 2, 4], [2, 8]]),
       st.sampled_from([[1], [1, 2], [1, 4], [3]]), st.integers(1, 16))
def test_split_inference_equals_the_scalar_model(device_list, workload, batches, tensors, pipelines, count):
    kernels = vectorised.KernelArrays.of(workload)
    rows = vectorised.DeviceArrays.of(device_list, workload, PRECISIONS, kernels)
    split = vectorised.split_inference(rows, kernels, workload, PRECISIONS, np.array(batches), tensors, pipelines)
    throughput = split.throughput(count)
    for d, device in enumerate(device_list):
        for p, precision in enumerate(PRECISIONS):
            row = d * len(PRECISIONS) + p
            for b, batch in enumerate(batches):
                for t, tensor in enumerate(tensors):
                    for q, pipeline in enumerate(pipelines):
                        # a named split is costed as given; unnamed, the model would pick among equals
                        # (tensor 3 and data 3 can tie on throughput): name it wherever the device can split
                        named = tensor > 1 or pipeline > 1 or device.interconnect_bandwidth is not None
                        scenario = Scenario("offline", batch, precision, count,
                                            tensor_parallel=tensor if named else None,
                                            pipeline_parallel=pipeline if named else None)
                        result = model.estimate(device, workload, scenario)
                        got = throughput[row, b, t, q]
                        if not result.ok:  # the scalar model refuses: so do the arrays
                            assert math.isnan(got), (result.reason, device, tensor, pipeline, count)
                            continue
                        assert math.isclose(got, result.metrics["throughput_sps"], rel_tol=1e-9), \
                            (device, batch, tensor, pipeline, count)
                        assert math.isclose(split.latency_s[row, b, t, q], result.metrics["latency_s"], rel_tol=1e-9)
