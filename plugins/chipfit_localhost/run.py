"""Running a workload's graph for real, in a child process that a crash or a hang cannot take down.

The child builds the graph (``reference:ID`` with random weights, or a model file), opens an ONNX
Runtime session on the CPU execution provider, feeds a batch of inputs and times it with
:func:`chipfit_localhost.timing.measure`. Energy comes from RAPL when the package counter is
readable, and is reported unavailable otherwise: it is never estimated here.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import queue
import sys
import time
from pathlib import Path
from typing import Any

#: Seconds a child may spend beyond its measuring budget (building the graph, opening the session).
STARTUP_ALLOWANCE_S = 120.0

_RAPL = Path("/sys/class/powercap/intel-rapl:0/energy_uj")
_RAPL_RANGE = Path("/sys/class/powercap/intel-rapl:0/max_energy_range_uj")


class RunFailure(RuntimeError):
    """A run that crashed, hung past its timeout, or could not start; the message says which."""


def parse_locator(graph: str) -> tuple[str, dict[str, int]]:
    """``path/model.onnx?seq=128`` -> (``path/model.onnx``, ``{"seq": 128}``)."""
    from chipfit.records import split_locator

    return split_locator(graph)


def _load(graph: str):
    import onnx

    target, dims = parse_locator(graph)
    if target.startswith("reference:"):
        from chipfit_onnx.reference import build

        return build(target.removeprefix("reference:"), weights="random"), dims
    return onnx.load(target), dims


def _feeds(model, batch: int, dims: dict[str, int]) -> dict[str, Any]:
    import numpy as np
    from onnx import helper

    initializers = {tensor.name for tensor in model.graph.initializer}
    rng = np.random.default_rng(0)
    feeds = {}
    for graph_input in model.graph.input:
        if graph_input.name in initializers:
            continue
        tensor_type = graph_input.type.tensor_type
        shape = []
        for index, dim in enumerate(tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                shape.append(dim.dim_value)
            elif dim.dim_param in dims:
                shape.append(dims[dim.dim_param])
            elif index == 0:
                shape.append(batch)
            else:
                raise RunFailure(f"input {graph_input.name!r} has an unbound dimension "
                                 f"{dim.dim_param or index!r}: bind it (dims)")
        dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        if np.issubdtype(dtype, np.integer):
            feeds[graph_input.name] = np.zeros(shape, dtype=dtype)
        else:
            feeds[graph_input.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def _energy_counter() -> float | None:
    try:
        return float(_RAPL.read_text()) * 1e-6
    except (OSError, ValueError):
        return None


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this child when the process that started it dies (a worker killed by
    a cluster's cancel, a crash): a measurement never goes on alone, holding a device nobody accounts for."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


#: How a graph is quantised to INT8 for a measured INT8 run (ONNX Runtime's quantisation tool).
QUANTISATIONS = ("static", "dynamic")

#: Batches of random inputs static quantisation calibrates its activation ranges on. The ranges matter
#: for accuracy, not for speed: an INT8 run times the same kernels whatever the ranges.
_CALIBRATION_BATCHES = 4


def _quantised(model, feeds: dict, mode: str, folder: str) -> str:
    """The model quantised to INT8 by ONNX Runtime (``static``: QDQ, activations and weights int8 with
    ranges calibrated on random inputs; ``dynamic``: weights int8, activation ranges computed per
    call); returns the quantised model's path."""
    import numpy as np
    import onnx
    from onnxruntime import quantization

    source, target = os.path.join(folder, "model.onnx"), os.path.join(folder, f"model-int8-{mode}.onnx")
    onnx.save(model, source)
    if mode == "dynamic":
        quantization.quantize_dynamic(source, target, weight_type=quantization.QuantType.QInt8)
        return target

    class RandomInputs(quantization.CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(1)
            self.batches = iter([{name: (rng.standard_normal(value.shape).astype(value.dtype)
                                         if np.issubdtype(value.dtype, np.floating) else value)
                                  for name, value in feeds.items()} for _ in range(_CALIBRATION_BATCHES)])

        def get_next(self):
            return next(self.batches, None)

    quantization.quantize_static(source, target, RandomInputs(), quant_format=quantization.QuantFormat.QDQ,
                                 activation_type=quantization.QuantType.QInt8,
                                 weight_type=quantization.QuantType.QInt8)
    return target


def _child_main(target, args: tuple, results) -> None:
    """A child process: run ``target(*args)`` and put its answer (or the error it raised) on ``results``."""
    _die_with_parent()
    try:
        results.put(target(*args))
    except BaseException as error:  # report anything; the parent turns it into a failed row
        results.put({"error": f"{type(error).__name__}: {error}"})


def _measure_graph(graph: str, batch: int, budget_s: float, threads: int, quantise: str | None = None) -> dict:
    """In the child: build, (quantise,) open, feed, time; the samples' summary, energy and environment."""
    import tempfile

    import numpy
    import onnxruntime

    from chipfit_localhost.timing import measure

    model, dims = _load(graph)
    feeds = _feeds(model, batch, dims)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if quantise:
        with tempfile.TemporaryDirectory(prefix="chipfit-int8-") as folder:
            session = onnxruntime.InferenceSession(_quantised(model, feeds, quantise, folder), options,
                                                   providers=["CPUExecutionProvider"])
    else:
        session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
    session.run(None, feeds)  # the first run allocates: not timed
    energy_before, wall_before = _energy_counter(), time.perf_counter()
    samples = measure(lambda: session.run(None, feeds), budget_s=budget_s)
    energy_after, wall = _energy_counter(), time.perf_counter() - wall_before
    energy = None
    if energy_before is not None and energy_after is not None:
        used = energy_after - energy_before
        if used < 0:  # the counter wrapped
            used += float(_RAPL_RANGE.read_text()) * 1e-6
        energy = {"joules": used, "seconds": wall, "calls": len(samples.seconds)}
    return {
        "summary": samples.summary(),
        "energy": energy,
        "environment": {
            "runtime": f"onnxruntime {onnxruntime.__version__}",
            "provider": "CPUExecutionProvider",
            "threads": threads,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
            "rapl": "readable" if energy is not None else "not readable: energy unavailable",
            **({"quantisation": f"onnxruntime.quantization {quantise}: int8 weights"
                + (" and activations (QDQ, ranges calibrated on random inputs)" if quantise == "static"
                   else ", activations quantised per call")} if quantise else {}),
        },
    }


def available_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_graph(graph: str, *, batch: int, budget_s: float, threads: int | None = None,
              timeout_s: float | None = None, quantise: str | None = None) -> dict[str, Any]:
    """Time a graph at a batch size in a child process; the child's summary, or :class:`RunFailure`.

    ``quantise`` (``static`` or ``dynamic``) runs the graph quantised to INT8 by ONNX Runtime. The
    outcome's ``load`` is the machine's load during the run (:mod:`chipfit_localhost.load`).
    """
    if quantise is not None and quantise not in QUANTISATIONS:
        raise RunFailure(f"quantisation {quantise!r}: one of {', '.join(QUANTISATIONS)}")
    threads = threads or available_cores()
    return run_in_child(_measure_graph, (graph, batch, budget_s, threads, quantise),
                        timeout_s=timeout_s or budget_s * 3 + STARTUP_ALLOWANCE_S)


def run_in_child(target, args: tuple, *, timeout_s: float) -> dict[str, Any]:
    """Run ``target(*args)`` (a module-level function returning a dict) in a spawned child process.

    The child dies with this process; a child that crashes, hangs past ``timeout_s`` or raises is a
    :class:`RunFailure` saying which. The answer gains ``load``: the machine's load while it ran.
    """
    from chipfit_localhost.load import LoadWatch

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_child_main, args=(target, args, results), daemon=True)
    watch = LoadWatch().start()
    child.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                outcome = results.get(timeout=0.25)
                break
            except queue.Empty:
                if not child.is_alive():  # died without a word: a crash (segfault, out of memory)
                    raise RunFailure(f"the run crashed (exit code {child.exitcode})") from None
                if time.monotonic() > deadline:
                    raise RunFailure(f"the run did not finish within {timeout_s:g} s and was stopped") from None
    finally:
        if child.is_alive():
            child.join(timeout=2)
        if child.is_alive():
            child.kill()
            child.join()
    if "error" in outcome:
        raise RunFailure(outcome["error"])
    outcome["load"] = watch.stop()
    return outcome
