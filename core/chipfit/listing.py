"""The rows of ``chipfit devices`` and ``chipfit workloads``: catalogues as tables."""

from __future__ import annotations

from collections.abc import Iterable

from chipfit.catalogue import Catalogue
from chipfit.errors import ChipfitError, suggest
from chipfit.records import Precision
from chipfit.units import duration, money, si_number


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def keeps(value: str, wanted: Iterable[str]) -> bool:
    """Whether a filter keeps a value: no filter, or a match ignoring case, spaces and hyphens."""
    wanted = [_slug(w) for w in wanted]
    return not wanted or _slug(value) in wanted


def figure(device, name: str) -> float | None:
    """A device's figure by name: ``power``, ``year``, ``peak_ops.int8`` … (None when it has none)."""
    head, _, precision = name.partition(".")
    if head in ("peak_ops", "sparse_peak_ops"):
        return getattr(device, head).get(precision)
    value = getattr(device, head, None)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


SORTABLE = ("power", "price", "memory_bandwidth", "memory_capacity", "year", "general_ops", "interconnect_bandwidth",
            "on_chip_memory", *(f"peak_ops.{p}" for p in Precision))


def _sort_hint(name: str) -> str:
    """What a misspelt ``--sort`` figure meant: figures it begins (``peak`` -> ``peak_ops.*``) before look-alikes."""
    begun = [figure for figure in SORTABLE if figure.startswith(name)]
    if len(begun) == 1:
        return f"; did you mean {begun[0]!r}?"
    if begun:
        return f"; did you mean one of: {', '.join(begun)}?"
    close = suggest(name, SORTABLE)
    return f"; did you mean {close[0]!r}?" if close else f" (one of: {', '.join(SORTABLE)})"


def _selected(catalogue: Catalogue, kind, segment, vendor, precision, capability, sort_by):
    devices = [
        device for device in catalogue.devices.values()
        if keeps(device.kind, kind) and keeps(device.segment, segment) and keeps(device.vendor, vendor)
        and all(p in {str(q) for q in device.peak_ops} for p in precision)
        and all(c in {str(k) for k in device.capabilities} for c in capability)
    ]
    if sort_by:
        ascending = sort_by.startswith("+")
        name = sort_by.lstrip("+-")
        if name not in SORTABLE:
            raise ChipfitError(f"--sort: unknown figure {name!r}{_sort_hint(name)}")
        present = [d for d in devices if figure(d, name) is not None]
        present.sort(key=lambda d: figure(d, name), reverse=not ascending)
        devices = present + [d for d in devices if figure(d, name) is None]
    return devices


def device_rows(catalogue: Catalogue, *, kind=(), segment=(), vendor=(), precision=(), capability=(), sort_by=None,
                sources=False, machine=False):
    """Headers and rows for the device catalogue; ``machine`` keeps SI numbers for json/csv.

    A figure that no primary source confirmed is marked with ``*`` (text) or listed under
    ``unconfirmed`` (json/csv). Devices without the sorted figure come last.
    """
    headers = ["id", "name", "kind", "segment", "year", "peak", "memory_bandwidth", "memory_capacity",
               "power", "price", "capabilities", "runtimes", "plugin"]
    if machine:
        headers.append("unconfirmed")
    if sources and machine:
        headers.append("sources")
    rows = []
    for device in _selected(catalogue, kind, segment, vendor, precision, capability, sort_by):
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
                       ("n/a" if device.power is None else si_number(device.power, "W")) + mark("power"),
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
        if not keeps(workload.phase, phase):
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


def kernel_rows(workload, *, machine=False):
    """Headers and rows of the kernels the workload lowers to (every fusion, :mod:`chipfit.model.lowering`):
    name, leading type, class, the graph nodes it runs, ops and bytes per sample."""
    from chipfit.model.lowering import lower

    headers = ["kernel", "op_type", "class", "nodes", "ops", "weight_bytes", "activation_bytes"]
    rows = []
    for kernel in lower(workload.operators):
        count = f" x{kernel.repeat}" if kernel.repeat > 1 else ""
        if machine:
            rows.append([kernel.name, kernel.op_type, kernel.op_class, list(kernel.nodes), kernel.ops * kernel.repeat,
                         kernel.weight_bytes * kernel.repeat, kernel.activation_bytes * kernel.repeat])
        else:
            nodes = " + ".join(kernel.nodes) if len(kernel.nodes) <= 4 else \
                " + ".join(kernel.nodes[:3]) + f" + {len(kernel.nodes) - 3} more"
            rows.append([kernel.name + count, kernel.op_type, kernel.op_class or "-", nodes,
                         si_number(kernel.ops * kernel.repeat, "ops"), si_number(kernel.weight_bytes * kernel.repeat, "B"),
                         si_number(kernel.activation_bytes * kernel.repeat, "B")])
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


def device_card(catalogue: Catalogue, device) -> str:
    """One device, every figure with its display value and its source (``chipfit show``)."""
    import textwrap

    def line(label: str, value: str, field: str | None = None) -> list[str]:
        mark = " [unconfirmed]" if field and field in device.unconfirmed else ""
        out = [f"  {label:24} {value}{mark}"]
        cited = device.citation(field) if field else None
        if cited:
            out.append(textwrap.fill(cited, width=110, initial_indent=" " * 28, subsequent_indent=" " * 28))
        return out

    out = [f"{device.name} ({device.id})", f"  plugin: {catalogue.plugin_of('device', device.id)}   kind: "
           f"{device.kind}   segment: {device.segment}", ""]
    out += line("year", str(device.year or "n/a"), "year")
    for precision, ops in sorted(device.peak_ops.items(), key=lambda kv: list(Precision).index(kv[0])):
        out += line(f"peak {precision} (dense)", si_number(ops, "ops/s"), f"peak_ops.{precision}")
    for precision, ops in device.sparse_peak_ops.items():
        out += line(f"peak {precision} (sparse)", si_number(ops, "ops/s"), f"sparse_peak_ops.{precision}")
    out += line("memory bandwidth", si_number(device.memory_bandwidth, "B/s"), "memory_bandwidth")
    out += line("memory capacity", "none of its own (weights stream from the host)" if device.memory_capacity is None
                else si_number(device.memory_capacity, "B"), "memory_capacity")
    if device.on_chip_memory is not None:
        out += line("on-chip memory", si_number(device.on_chip_memory, "B"), "on_chip_memory")
    if device.invocation_overhead is not None:
        out += line("per invocation", duration(device.invocation_overhead), "invocation_overhead")
    out += line("power", ("unknown" if device.power is None else si_number(device.power, "W"))
                + (f" ({device.power_kind})" if device.power_kind else ""), "power")
    out += line("price", money(device.price) + (f" ({device.price_date})" if device.price_date else ""), "price")
    if device.cloud_price_per_hour is not None:
        out += line("cloud price", f"${device.cloud_price_per_hour:,.2f}/h per device"
                    + (f" ({device.cloud_price_date})" if device.cloud_price_date else ""), "cloud_price_per_hour")
    if device.interconnect_bandwidth is not None:
        out += line("interconnect", si_number(device.interconnect_bandwidth, "B/s"), "interconnect_bandwidth")
    if device.general_ops is not None:
        out += line("general-purpose rate", si_number(device.general_ops, "ops/s"), "general_ops")
    out += line("capabilities", ", ".join(sorted(str(c) for c in device.capabilities)), "capabilities")
    out += line("runtimes", ", ".join(device.runtimes) or "-", "runtimes")
    if device.efficiency is not None:
        out += line("efficiency", f"compute {device.efficiency.compute:g}, memory {device.efficiency.memory:g}, "
                                  f"{duration(device.efficiency.overhead_s)}/operator", "efficiency")
    if device.notes:
        out += ["", textwrap.fill(f"Notes: {device.notes}", width=110, initial_indent="  ", subsequent_indent="  ")]
    return "\n".join(out) + "\n"
