"""The cells the conformance kit asks a plugin for: scenarios per cell, and the conformance run's groups."""

from __future__ import annotations

from chipfit.records import Capability, Device, Phase, Scenario, Workload


def scenarios_for(device: Device, workload: Workload) -> list[Scenario]:
    """The scenarios the kit asks for one cell: each kind that applies, at a precision the device has."""
    precision = None
    if workload.phase is not Phase.GENERAL and device.peak_ops and workload.precision not in device.peak_ops:
        precision = next(iter(device.peak_ops))
    if workload.phase is Phase.GENERAL:
        return [Scenario("single-stream")]
    if workload.phase is Phase.TRAINING:
        scenarios = [Scenario("training", precision=precision, batch=8)]
        if device.interconnect_bandwidth:
            scenarios.append(Scenario("training", precision=precision, batch=8, count=2))
        return scenarios
    return [
        Scenario("single-stream", precision=precision),
        Scenario("single-stream", precision=precision, latency_target=0.01),
        Scenario("offline", precision=precision),
        Scenario("offline", precision=precision, batch=4),
        Scenario("server", precision=precision, latency_target=0.1),
    ]


def conformance_groups(devices: list[Device], workloads: list[Workload], reference: Device) -> list:
    """The groups of the conformance spec: the plugin's DEVICES on the reference workloads (each precision,
    capability and scenario that applies), its WORKLOADS on the REFERENCE device and its own devices, and the
    reference cell."""
    from chipfit.spec import GroupSpec

    groups = []
    for index, device in enumerate(devices):
        cells = []
        if device.peak_ops and device.can(Capability.INFERENCE):
            first = str(next(iter(device.peak_ops)))
            cells += [("single-stream", "chipfit-reference-dense", str(precision), None)
                      for precision in device.peak_ops]
            cells.append(("offline", "chipfit-reference-dense", first, 8))
        if device.peak_ops and device.can(Capability.TRAINING):
            cells.append(("training", "chipfit-reference-dense-train", str(next(iter(device.peak_ops))), 8))
        if device.can(Capability.GENERAL_PURPOSE):
            cells.append(("single-stream", "chipfit-reference-general", None, None))
        for number, (scenario, workload, precision, batch) in enumerate(cells):
            groups.append(GroupSpec(id=f"device-{index}-{number}", devices=[device.id], workloads=[workload],
                                    scenario=scenario, precision=precision, batch=batch))
    others = [device.id for device in devices]
    for index, workload in enumerate(workloads):
        scenarios = {Phase.INFERENCE: [("single-stream", None), ("offline", None)],
                     # 1024 devices: a language model trained at scale fits on no fewer
                     Phase.TRAINING: [("training", 1), ("training", 2), ("training", 1024)],
                     Phase.GENERAL: [("single-stream", None)]}[workload.phase]
        for number, (scenario, count) in enumerate(scenarios):
            devices = [reference.id, *others] if count == 1 else [reference.id]
            groups.append(GroupSpec(id=f"workload-{index}-{number}", devices=devices, workloads=[workload.id],
                                    scenario=scenario, count=count or 1))
    groups.append(GroupSpec(id="reference", devices=[reference.id],
                            workloads=["chipfit-reference-dense"], scenario="offline"))
    return groups
