"""This machine, measured: its CPU as a device, and real runs of any workload that has a graph.

``chipfit_register_devices`` registers ``localhost-cpu`` (detected and derived figures, the cached
measured memory bandwidth, calibrated efficiencies once ``chipfit calibrate`` has run); it runs no
benchmark. ``chipfit_estimate`` answers for ``localhost-cpu`` only while its memory bandwidth is not
measured yet: it measures STREAM then (cached for later runs) and models with the measured figure.
``chipfit_measure`` runs a workload's ONNX graph in ONNX Runtime in a child process and returns a
``measured`` row: latency percentiles, throughput, the samples' summary, the machine's load during
the run (a warning when it was high), and energy only where RAPL was readable. ``--precision int8``
runs the graph quantised by ONNX Runtime (static, QDQ).
"""

from __future__ import annotations

import chipfit
from chipfit.records import Result, Scenario, ScenarioKind, Source, Status
from chipfit.units import duration, si_number

#: Uses chipfit_register_commands (plugin API 1.1).
CHIPFIT_API = ">=1.1,<2"


@chipfit.hookimpl
def chipfit_register_devices(register):
    """``localhost-cpu``: this machine's CPU; ``localhost-gpu`` (…-1, …) for each NVIDIA GPU NVML reports."""
    import importlib.util

    from chipfit_localhost.profile import local_cpu

    register(local_cpu())
    if importlib.util.find_spec("pynvml") is not None:  # the gpu extra: nothing of the GPU path loads without it
        from chipfit_localhost.gpu import local_gpus

        for device in local_gpus():
            register(device)


@chipfit.hookimpl
def chipfit_estimate(device, workload, scenario):
    """``localhost-cpu`` before its memory bandwidth is measured: measure it now (cached), then model."""
    from chipfit_localhost.profile import DEVICE_ID, with_measured_bandwidth

    if device.id != DEVICE_ID or device.memory_bandwidth is not None:
        return None
    from chipfit import model

    return model.estimate(with_measured_bandwidth(device), workload, scenario)


@chipfit.hookimpl
def chipfit_register_commands(cli):
    """``chipfit calibrate``: fit the model to this machine (:mod:`chipfit_localhost.commands`)."""
    from chipfit_localhost.commands import calibrate

    cli.add_command(calibrate)


#: How INT8 runs are quantised (ONNX Runtime's static QDQ quantisation; dynamic is the other choice).
INT8_QUANTISATION = "static"


def _row(device, workload, scenario: Scenario, status: Status, reason: str = "", **fields) -> Result:
    return Result(device.id, workload.id, scenario, Source.MEASURED, status, reason=reason,
                  plugin="chipfit_localhost", **fields)


@chipfit.hookimpl
def chipfit_measure(device, workload, scenario, budget):
    """Run the workload's graph on this machine's CPU; None for devices this plugin does not own."""
    from chipfit_localhost.profile import DEVICE_ID
    from chipfit_localhost.run import RunFailure, run_graph

    gpu = device.id.startswith("localhost-gpu") and device.kind == "gpu"
    if device.id != DEVICE_ID and not gpu:
        return None
    if scenario.kind is ScenarioKind.TRAINING:
        if gpu:
            return _row(device, workload, scenario, Status.UNSUPPORTED, "measured training steps run on the CPU only")
        return _training_row(device, workload, scenario, budget)
    if not workload.graph:
        return _row(device, workload, scenario, Status.UNSUPPORTED,
                    f"{workload.name} has no runnable graph (its plugin gives none): it can be modelled, not measured")
    precision = scenario.precision or workload.precision
    quantise = None
    if precision != workload.precision:
        if not (precision == "int8" and workload.precision == "fp32"):
            return _row(device, workload, scenario, Status.UNSUPPORTED,
                        f"the graph runs in {workload.precision}; measured runs take it as it is, or quantised "
                        "from fp32 to int8 (--precision int8)")
        quantise = INT8_QUANTISATION
    batch = 1 if scenario.kind is ScenarioKind.SINGLE_STREAM else (scenario.batch or workload.batch)
    require_run_extra()
    try:
        if gpu:
            if quantise:
                return _row(device, workload, scenario, Status.UNSUPPORTED, "INT8 runs are measured on the CPU only")
            outcome = _run_on_gpu(device, workload.graph, batch, budget)
        else:
            outcome = run_graph(workload.graph, batch=batch, budget_s=budget, quantise=quantise)
    except RunFailure as failure:
        return _row(device, workload, scenario, Status.FAILED, str(failure))
    return _inference_row(device, workload, scenario, outcome, batch, precision, quantise)


def _run_on_gpu(device, graph: str, batch: int, budget: float) -> dict:
    from chipfit_localhost.gpu import measure_on_gpu
    from chipfit_localhost.run import STARTUP_ALLOWANCE_S, run_in_child

    index = int(device.id.removeprefix("localhost-gpu").lstrip("-") or 0)
    return run_in_child(measure_on_gpu, (graph, batch, budget, index), timeout_s=budget * 3 + STARTUP_ALLOWANCE_S)


def _inference_row(device, workload, scenario: Scenario, outcome: dict, batch: int, precision, quantise) -> Result:
    """A measured inference row from a run's outcome: latency, throughput, energy where a sensor read it, load."""
    from chipfit_localhost.load import describe, is_high
    from chipfit_localhost.run import parse_locator

    summary = outcome["summary"]
    latency = summary["median_s"]
    throughput = batch / latency
    metrics = {
        "latency_s": latency,
        "throughput_sps": throughput,
        "batch": batch,
        "ops_total": workload.ops_per_sample,
        "ops_available_per_s": workload.ops_per_sample * throughput,
        "peak_ops_per_s": device.peak_ops.get(precision),
        "latency_p90_s": summary["p90_s"],
        "latency_p99_s": summary["p99_s"],
        "latency_cv": summary["cv"],
        "power_w": None,
        "energy_per_sample_j": None,
        "samples_per_j": None,
    }
    energy = outcome.get("energy")
    if energy:
        metrics["power_w"] = energy["joules"] / energy["seconds"]
        metrics["energy_per_sample_j"] = metrics["power_w"] / throughput
        metrics["samples_per_j"] = throughput / metrics["power_w"]
    if workload.latency_target or scenario.latency_target:
        target = scenario.latency_target or workload.latency_target
        metrics["meets_target"] = latency <= target
    low, high = summary["median_ci95_s"]
    environment = outcome["environment"]
    load = outcome.get("load")
    explain = [
        f"measured: {summary['n']} samples of batch {batch} in {environment['runtime']} "
        f"({environment['provider']}, {environment['threads']} threads): median {duration(latency)} "
        f"(95% CI {duration(low)}..{duration(high)}), p90 {duration(summary['p90_s'])}, CV {summary['cv']:.1%}",
        f"sustained {si_number(metrics['ops_available_per_s'], 'ops/s')} on {si_number(workload.ops_per_sample, 'ops')}"
        "/sample; energy " + (f"{si_number(metrics['energy_per_sample_j'], 'J')}/sample measured by "
                              f"{energy.get('sensor', 'RAPL')}" if energy else "unavailable (no energy sensor readable)"),
    ]
    if quantise:
        explain.insert(0, f"int8: the fp32 graph quantised by {environment['quantisation']}")
    if is_high(load):
        explain.append(f"warning: the machine was busy during this run ({describe(load)}): the time is inflated")
    elif summary.get("unstable"):
        explain.append(f"warning: unstable timing (CV {summary['cv']:.0%} > 10%; {describe(load)})")
    return _row(device, workload, scenario, Status.OK, metrics=metrics, explain=tuple(explain),
                measurement={**summary, "environment": environment, "graph": parse_locator(workload.graph)[0],
                             "load": load, "busy": is_high(load), **({"quantisation": quantise} if quantise else {})})


def _training_row(device, workload, scenario: Scenario, budget: float) -> Result:
    """A measured training step (PyTorch's CPU build, the ``train`` extra) of a network built here."""
    import importlib.util

    from chipfit_localhost.load import describe, is_high
    from chipfit_localhost.run import RunFailure
    from chipfit_localhost.training import TRAINABLE, run_training_step

    if workload.graph not in TRAINABLE:
        return _row(device, workload, scenario, Status.UNSUPPORTED,
                    f"a measured training step is built for {', '.join(TRAINABLE)} only, not {workload.graph or workload.id}")
    if (scenario.precision or workload.precision) != "fp32":
        return _row(device, workload, scenario, Status.UNSUPPORTED, "measured training steps run in fp32")
    if importlib.util.find_spec("torch") is None:
        from chipfit.errors import ChipfitError

        raise ChipfitError("a measured training step needs PyTorch's CPU build, which is not installed: "
                           "pip install 'chipfit[train]'")
    batch = scenario.batch or workload.batch
    try:
        outcome = run_training_step(workload.graph, batch=batch, budget_s=budget)
    except RunFailure as failure:
        return _row(device, workload, scenario, Status.FAILED, str(failure))
    summary, environment, load = outcome["summary"], outcome["environment"], outcome.get("load")
    step = summary["median_s"]
    samples = workload.dataset_samples * workload.epochs if workload.dataset_samples else None
    work = workload.ops_per_sample * (1 + workload.backward_factor)
    metrics = {
        "latency_s": step,
        "throughput_sps": batch / step,
        "batch": batch,
        "count": 1,
        "time_to_train_s": samples / batch * step if samples else None,
        "ops_total": work * samples if samples else work * batch,
        "ops_available_per_s": work * batch / step,
        "peak_ops_per_s": device.peak_ops.get("fp32"),
        "latency_p90_s": summary["p90_s"],
        "latency_cv": summary["cv"],
        "power_w": None, "energy_per_sample_j": None, "samples_per_j": None,
    }
    low, high = summary["median_ci95_s"]
    explain = [
        f"measured training step (forward, loss, backward, SGD update) of {workload.name} at batch {batch} in "
        f"{environment['runtime']} ({environment['threads']} threads, random weights and data): median "
        f"{duration(step)} (95% CI {duration(low)}..{duration(high)}) over {summary['n']} steps, CV {summary['cv']:.1%}",
        f"sustained {si_number(metrics['ops_available_per_s'], 'ops/s')} counting forward + "
        f"{workload.backward_factor:g}x backward; time to train = {si_number(samples, '')} samples / {batch} x step"
        if samples else "time to train: the workload states no dataset",
        "energy unavailable (not measured during training steps)",
    ]
    if is_high(load):
        explain.append(f"warning: the machine was busy during this run ({describe(load)}): the time is inflated")
    return _row(device, workload, scenario, Status.OK, metrics=metrics, explain=tuple(explain),
                measurement={**summary, "environment": environment, "load": load, "busy": is_high(load),
                             "parameters": outcome["parameters"]})


def require_run_extra() -> None:
    """Raise :class:`chipfit.errors.ChipfitError` naming the extra when ONNX Runtime is not installed."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:
        from chipfit.errors import ChipfitError

        raise ChipfitError("measured runs need ONNX Runtime, which is not installed: pip install 'chipfit[run]'")
