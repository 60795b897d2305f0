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


@chipfit.hookimpl
def chipfit_register_devices(register):
    """``localhost-cpu``: this machine's CPU."""
    from chipfit_localhost.profile import local_cpu

    register(local_cpu())


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
    from chipfit_localhost.load import describe, is_high
    from chipfit_localhost.profile import DEVICE_ID
    from chipfit_localhost.run import RunFailure, parse_locator, run_graph

    if device.id != DEVICE_ID:
        return None
    if scenario.kind is ScenarioKind.TRAINING:
        return _row(device, workload, scenario, Status.UNSUPPORTED, "measured runs cover inference graphs only")
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
        outcome = run_graph(workload.graph, batch=batch, budget_s=budget, quantise=quantise)
    except RunFailure as failure:
        return _row(device, workload, scenario, Status.FAILED, str(failure))
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
        "/sample; energy " + (f"{si_number(metrics['energy_per_sample_j'], 'J')}/sample from RAPL" if energy
                              else "unavailable (RAPL not readable)"),
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


def require_run_extra() -> None:
    """Raise :class:`chipfit.errors.ChipfitError` naming the extra when ONNX Runtime is not installed."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:
        from chipfit.errors import ChipfitError

        raise ChipfitError("measured runs need ONNX Runtime, which is not installed: pip install 'chipfit[run]'")
