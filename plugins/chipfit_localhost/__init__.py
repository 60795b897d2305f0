"""This machine, measured: its CPU as a device, and real runs of any workload that has a graph.

``chipfit_register_devices`` registers ``localhost-cpu`` (detected and derived figures, measured
memory bandwidth, calibrated efficiencies once ``chipfit calibrate`` has run).
``chipfit_measure`` runs a workload's ONNX graph in ONNX Runtime in a child process and returns a
``measured`` row: latency percentiles, throughput, the samples' summary, and energy only where RAPL
was readable.
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


def _row(device, workload, scenario: Scenario, status: Status, reason: str = "", **fields) -> Result:
    return Result(device.id, workload.id, scenario, Source.MEASURED, status, reason=reason,
                  plugin="chipfit_localhost", **fields)


@chipfit.hookimpl
def chipfit_measure(device, workload, scenario, budget):
    """Run the workload's graph on this machine's CPU; None for devices this plugin does not own."""
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
    if precision != workload.precision:
        return _row(device, workload, scenario, Status.UNSUPPORTED,
                    f"the graph runs in {workload.precision}; measuring it in {precision} needs a quantised graph")
    batch = 1 if scenario.kind is ScenarioKind.SINGLE_STREAM else (scenario.batch or workload.batch)
    try:
        outcome = run_graph(workload.graph, batch=batch, budget_s=budget)
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
    explain = (
        f"measured: {summary['n']} samples of batch {batch} in {environment['runtime']} "
        f"({environment['provider']}, {environment['threads']} threads): median {duration(latency)} "
        f"(95% CI {duration(low)}..{duration(high)}), p90 {duration(summary['p90_s'])}, CV {summary['cv']:.1%}",
        f"sustained {si_number(metrics['ops_available_per_s'], 'ops/s')} on {si_number(workload.ops_per_sample, 'ops')}"
        "/sample; energy " + (f"{si_number(metrics['energy_per_sample_j'], 'J')}/sample from RAPL" if energy
                              else "unavailable (RAPL not readable)"),
    )
    return _row(device, workload, scenario, Status.OK, metrics=metrics, explain=explain,
                measurement={**summary, "environment": environment, "graph": parse_locator(workload.graph)[0]})
