"""The rows of ``chipfit devices`` and ``chipfit workloads``: catalogues as tables."""

from __future__ import annotations

from collections.abc import Iterable

from chipfit.catalogue import Catalogue
from chipfit.records import Precision
from chipfit.units import money, si_number


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _keep(value: str, wanted: Iterable[str]) -> bool:
    """Whether a filter keeps a value: no filter, or a match ignoring case, spaces and hyphens."""
    wanted = [_slug(w) for w in wanted]
    return not wanted or _slug(value) in wanted


def device_rows(catalogue: Catalogue, *, kind=(), segment=(), vendor=(), sources=False, machine=False):
    """Headers and rows for the device catalogue; ``machine`` keeps SI numbers for json/csv.

    A figure that no primary source confirmed is marked with ``*`` (text) or listed under
    ``unconfirmed`` (json/csv).
    """
    headers = ["id", "name", "kind", "segment", "year", "peak", "memory_bandwidth", "memory_capacity",
               "power", "price", "capabilities", "runtimes", "plugin"]
    if machine:
        headers.append("unconfirmed")
    if sources and machine:
        headers.append("sources")
    rows = []
    for device in catalogue.devices.values():
        if not (_keep(device.kind, kind) and _keep(device.segment, segment) and _keep(device.vendor, vendor)):
            continue
        mark = (lambda field: "*" if field in device.unconfirmed else "") if not machine else (lambda field: "")
        if machine:
            peak = {str(p): ops for p, ops in device.peak_ops.items()}
            figures = [device.memory_bandwidth, device.memory_capacity, device.power, device.price]
        else:
            peak = " ".join(f"{p}:{si_number(ops, '')}{mark(f'peak_ops.{p}')}"
                            for p, ops in sorted(device.peak_ops.items(), key=lambda kv: list(Precision).index(kv[0])))
            figures = [si_number(device.memory_bandwidth, "B/s") + mark("memory_bandwidth"),
                       ("host" if device.memory_capacity is None else si_number(device.memory_capacity, "B"))
                       + mark("memory_capacity"),
                       si_number(device.power, "W") + mark("power"),
                       money(device.price) + mark("price")]
        capabilities = sorted(str(c) for c in device.capabilities)
        row = [device.id, device.name, str(device.kind), str(device.segment), device.year, peak, *figures,
               capabilities if machine else ", ".join(capabilities),
               list(device.runtimes) if machine else ", ".join(device.runtimes),
               catalogue.plugin_of("device", device.id)]
        if machine:
            row.append(sorted(device.unconfirmed))
        if sources and machine:
            row.append(citations(device))
        rows.append(row)
    return headers, rows


def citations(device) -> dict[str, str]:
    """Each cited field of a device and its source (with its derivation, and whether unconfirmed)."""
    fields = sorted({*device.sources, *device.derivations})
    return {field: device.citation(field) + (" [unconfirmed]" if field in device.unconfirmed else "")
            for field in fields}


def citation_text(catalogue: Catalogue, ids: Iterable[str]) -> str:
    """The sources of the listed devices as readable blocks (for text and markdown)."""
    import textwrap

    out = []
    for ident in ids:
        out += ["", ident]
        for field, text in citations(catalogue.devices[ident]).items():
            out.append(textwrap.fill(f"{field}: {text}", width=110, initial_indent="  ", subsequent_indent="      "))
    return "\n".join(out) + "\n"


def workload_rows(catalogue: Catalogue, *, phase=(), machine=False):
    """Headers and rows for the workload catalogue."""
    headers = ["id", "name", "domain", "phase", "ops_per_sample", "parameters", "weight_bytes", "precision",
               "operators", "plugin"]
    rows = []
    for workload in catalogue.workloads.values():
        if not _keep(workload.phase, phase):
            continue
        count = sum(op.repeat for op in workload.operators)
        if machine:
            figures = [workload.ops_per_sample, workload.parameters, workload.weight_bytes]
        else:
            figures = [si_number(workload.ops_per_sample, "ops"), si_number(workload.parameters, ""),
                       si_number(workload.weight_bytes, "B")]
        rows.append([workload.id, workload.name, workload.domain, str(workload.phase), *figures,
                     str(workload.precision), count, catalogue.plugin_of("workload", workload.id)])
    return headers, rows


def inspect_rows(workload, *, machine=False):
    """Headers and per-operator-type rows of a workload: count, ops, bytes, arithmetic intensity."""
    table: dict[str, list[float]] = {}
    for op in workload.operators:
        row = table.setdefault(op.op_type, [0, 0.0, 0.0, 0.0])
        row[0] += op.repeat
        row[1] += op.ops * op.repeat
        row[2] += op.weight_bytes * op.repeat
        row[3] += op.activation_bytes * op.repeat
    total_ops = workload.ops_per_sample or 1.0
    headers = ["op_type", "count", "ops", "share", "weight_bytes", "activation_bytes", "ops_per_byte"]
    rows = []
    for op_type, (count, ops, weights, activations) in sorted(table.items(), key=lambda kv: -kv[1][1]):
        intensity = ops / (weights + activations) if weights + activations else None
        if machine:
            rows.append([op_type, count, ops, ops / total_ops, weights, activations, intensity])
        else:
            rows.append([op_type, count, si_number(ops, "ops"), f"{ops / total_ops:.1%}", si_number(weights, "B"),
                         si_number(activations, "B"), "" if intensity is None else f"{intensity:.3g}"])
    return headers, rows


def inspect_summary(workload) -> dict:
    """A workload's totals, as ``chipfit inspect`` shows them (SI units)."""
    return {
        "id": workload.id,
        "name": workload.name,
        "phase": str(workload.phase),
        "precision": str(workload.precision),
        "ops_per_sample": workload.ops_per_sample,
        "parameters": workload.parameters,
        "weight_bytes": workload.weight_bytes,
        "activation_bytes_per_sample": workload.activation_bytes_per_sample,
        "operators": sum(op.repeat for op in workload.operators),
        "uncosted": dict(workload.uncosted),
    }
