"""Options several commands share: filtering and sorting a report's rows, a buyer's cost inputs, and
the split of a workload over many devices with a language model's serving targets."""

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


#: The options that name a split (``--tp --pp --ep``) and serving targets, as GroupSpec keys.
SPLIT_KEYS = {"tp": "tensor_parallel", "pp": "pipeline_parallel", "ep": "expert_parallel",
              "ttft_ms": "ttft_target_ms", "tpot_ms": "tpot_target_ms"}


def split_options(command):
    """``--tp``, ``--pp``, ``--ep`` (degrees of the split over ``--count`` devices; the model chooses the
    rest) and ``--ttft-ms``/``--tpot-ms`` (server targets of a language model)."""
    return _apply(command, [
        click.option("--tp", type=click.IntRange(min=1), help="Tensor-parallel degree (default: chosen)."),
        click.option("--pp", type=click.IntRange(min=1), help="Pipeline-parallel stages (default: chosen)."),
        click.option("--ep", type=click.IntRange(min=1), help="Expert-parallel degree, mixtures of experts "
                                                              "(default: chosen)."),
        click.option("--ttft-ms", type=click.FloatRange(min=0, min_open=True),
                     help="Time-to-first-token target, ms (server scenario of a language model)."),
        click.option("--tpot-ms", type=click.FloatRange(min=0, min_open=True),
                     help="Time-per-output-token target, ms (server scenario of a language model)."),
    ])


def split_fields(values: dict) -> dict:
    """The GroupSpec keys of the split options a command was given (None where not given)."""
    return {key: values.get(option) for option, key in SPLIT_KEYS.items()}
