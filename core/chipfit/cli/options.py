"""Options several commands share: filtering and sorting a report's rows, and a buyer's cost inputs."""

from __future__ import annotations

import click


def _apply(command, options):
    for option in reversed(options):
        command = option(command)
    return command


def filter_options(command):
    """``--where EXPR`` and ``--sort KEYS``: which rows a report shows, in which order (:mod:`chipfit.query`)."""
    return _apply(command, [
        click.option("--where", metavar="EXPR", help="Show only the rows this holds for, e.g. "
                     "\"meets_target and power_w < 20\" (metric keys, and/or/not, < <= > >= == !=, units: "
                     "10 ms, 1.5 kW, $2000, 50%)."),
        click.option("--sort", "sort_by", metavar="KEYS", help="Order rows within each group by metric keys, best "
                     "first (+KEY lowest first, -KEY highest first), e.g. --sort usd_per_million_samples,-batch."),
    ])


def cost_options(command):
    """``--electricity-usd-per-kwh`` and ``--service-life-years``: the buyer's inputs to the cost metrics."""
    return _apply(command, [
        click.option("--electricity-usd-per-kwh", "electricity", type=float, metavar="USD",
                     help="Price electricity in the owned cost per million samples/tokens (default: not priced)."),
        click.option("--service-life-years", "service_life", type=float, metavar="YEARS",
                     help="Years the hardware cost is spread over in cost per million samples/tokens (default 3)."),
    ])


def cost_inputs(electricity: float | None, service_life: float | None):
    """The :class:`chipfit.tco.CostInputs` of the command line; bad values are bad input naming the option."""
    from chipfit.errors import ChipfitError
    from chipfit.tco import DEFAULT_SERVICE_LIFE_YEARS, CostInputs

    for option, value in (("--electricity-usd-per-kwh", electricity), ("--service-life-years", service_life)):
        if value is not None and not 0 < value < float("inf"):
            raise ChipfitError(f"{option} must be a positive number, got {value:g}")
    return CostInputs(electricity, DEFAULT_SERVICE_LIFE_YEARS if service_life is None else service_life)
