"""A run's claims: each claim's cells resolved before anything runs, and checked against the rows.

The arithmetic of one claim is :mod:`chipfit.claims`; this module places claims in a run: which
cells they read, and the spec line an error names.
"""

from __future__ import annotations

from collections.abc import Iterable

from chipfit import claims as claim_checks
from chipfit import tomlfile
from chipfit.errors import SpecError
from chipfit.records import Result, Source
from chipfit.spec import Spec


def claim_cells(spec: Spec, entries: dict[str, dict[str, str]], text: str, where: str) -> list[tuple]:
    """Each claim's (cell, versus) as (group, device, workload id) keys, resolved before anything runs.

    :param entries: per group, each workload entry of the spec -> the workload id it became.
    :raises UnknownIdError: a claim naming a device or workload its group lacks (file, line, key).
    """
    from chipfit.run.plan import resolve

    groups = {group.id: group for group in spec.groups}
    out = []
    for index, claim in enumerate(spec.claims):
        at = ["claims", index]
        keys = []
        for key, ref in (("cell", claim.cell), ("versus", claim.versus)):
            if ref is None:
                keys.append(None)
                continue
            resolve(ref.device, dict.fromkeys(groups[ref.group].devices), "device", text, where, [*at, key, "device"])
            workload_id = resolve(ref.workload, entries[ref.group], "workload", text, where, [*at, key, "workload"])
            keys.append((ref.group, ref.device, workload_id))
        out.append(tuple(keys))
    return out


def check_claims(spec: Spec, cells: Iterable[tuple], rows: Iterable[Result], text: str, where: str, *,
                 defer: frozenset[str] = frozenset()) -> list:
    """Every claim checked against the report's modelled cells (one pass, however many claims).

    :param cells: each claim's keys, from :func:`claim_cells`.
    :param defer: metrics only measurement adds (``model_error``): a claim that needs one the cell lacks yet
        is left for the check after measuring, instead of failing.
    :raises SpecError: a claim whose arithmetic does not compute (naming the spec's line).
    """
    by_cell = {(row.group, row.device, row.workload): row for row in rows if row.source is not Source.MEASURED}
    cells = list(cells)
    checks = []
    for index, claim in enumerate(spec.claims):
        found = [None if key is None else by_cell.get(key) for key in cells[index]]
        try:
            checks.append(claim_checks.check(claim, found[0], found[1], defer=defer))
        except claim_checks.Deferred:
            continue
        except SpecError as error:
            line = tomlfile.locate(text, ["claims", index, "value"])
            raise SpecError(str(error).removeprefix("<spec>: "), path=where or None, line=line) from None
    return checks
