"""What a configuration costs a buyer: hardware, electricity over a service life, or cloud rental.

Two ways to pay, each per million samples (or output tokens, where a row has ``output_tokens_per_s``)::

    owned:  (hardware_cost_usd + power_w x life x electricity price) / (throughput x life)
    cloud:  cloud price per device-hour x devices / (throughput x 3600 s)

Both assume the configuration runs at its modelled throughput the whole time it is paid for (a
fully loaded server; an idle one costs more per sample). Electricity without a price given is
left out of the owned cost, and the row says so. The inputs come from a spec's top-level keys
(``electricity_usd_per_kwh``, ``service_life_years``) or the command line, and the report shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from chipfit.records import Device, Result, ScenarioKind
from chipfit.units import si_number

#: Seconds in a year of 365.25 days.
YEAR_S = 365.25 * 86400

#: Joules in a kilowatt-hour.
KWH_J = 3.6e6

#: The service life used when none is given: three years, a common depreciation period for
#: servers (an input a buyer sets, not a measured figure; reports show it).
DEFAULT_SERVICE_LIFE_YEARS = 3.0

#: The metric keys this module adds (units in their names).
COST_KEYS = ("cloud_usd_per_hour", "tco_usd", "usd_per_million_samples", "cloud_usd_per_million_samples",
             "usd_per_million_tokens", "cloud_usd_per_million_tokens", "cloud_train_cost_usd", "energy_cost_usd")


def _positive(instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and not (value > 0 and value < float("inf")):
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


@attrs.frozen
class CostInputs:
    """The buyer's inputs: electricity price (USD/kWh; None: not priced) and service life (years)."""

    electricity_usd_per_kwh: float | None = attrs.field(default=None, validator=_positive)
    service_life_years: float = attrs.field(default=DEFAULT_SERVICE_LIFE_YEARS, validator=_positive)

    def describe(self) -> str:
        """One line for a report: what the cost metrics assume."""
        power = ("electricity not priced (give electricity_usd_per_kwh)" if self.electricity_usd_per_kwh is None
                 else f"electricity ${self.electricity_usd_per_kwh:g}/kWh")
        return (f"costs: service life {self.service_life_years:g} years at full load, {power}; cloud prices are "
                "on-demand, per device-hour, as each device's datasheet cites them")


def inputs_of(spec: Mapping[str, Any]) -> CostInputs:
    """The cost inputs a report's spec (as a dict) names; the defaults where it names none."""
    life = spec.get("service_life_years")
    return CostInputs(spec.get("electricity_usd_per_kwh"), DEFAULT_SERVICE_LIFE_YEARS if life is None else life)


def cost_metrics(metrics: Mapping[str, Any], device: Device | None, count: int, kind: ScenarioKind,
                 inputs: CostInputs) -> tuple[dict[str, float], list[str]]:
    """The cost metrics of an ``ok`` row and the arithmetic behind them (empty where nothing is priced)."""
    added: dict[str, float] = {}
    explain: list[str] = []
    cloud_hour = None
    if device is not None and device.cloud_price_per_hour is not None:
        cloud_hour = device.cloud_price_per_hour * count
        added["cloud_usd_per_hour"] = cloud_hour
    price_kwh = inputs.electricity_usd_per_kwh
    power = metrics.get("power_w")
    if kind is ScenarioKind.TRAINING:
        time_s = metrics.get("time_to_train_s")
        if time_s:
            if cloud_hour is not None:
                added["cloud_train_cost_usd"] = cloud_hour * time_s / 3600
                explain.append(f"cloud: ${cloud_hour:,.2f}/h x {time_s / 3600:.4g} h = "
                               f"${added['cloud_train_cost_usd']:,.0f} to train")
            if price_kwh is not None and metrics.get("energy_j"):
                added["energy_cost_usd"] = metrics["energy_j"] / KWH_J * price_kwh
        return added, explain
    life_s = inputs.service_life_years * YEAR_S
    hardware = metrics.get("hardware_cost_usd")
    rates = [("samples", metrics.get("throughput_sps")), ("tokens", metrics.get("output_tokens_per_s"))]
    if hardware:
        energy_cost = power * life_s / KWH_J * price_kwh if (price_kwh is not None and power) else 0.0
        if price_kwh is not None and power:
            added["energy_cost_usd"] = energy_cost
        added["tco_usd"] = hardware + energy_cost
        energy_text = (f" + {si_number(power, 'W')} x {inputs.service_life_years:g} years x ${price_kwh:g}/kWh "
                       f"= ${energy_cost:,.0f} of electricity" if "energy_cost_usd" in added
                       else " (electricity not priced)")
        explain.append(f"owned: ${hardware:,.0f} of hardware{energy_text}, over {inputs.service_life_years:g} years "
                       "at full load")
        for unit, rate in rates:
            if rate:
                added[f"usd_per_million_{unit}"] = added["tco_usd"] / (rate * life_s) * 1e6
                explain.append(f"  = ${added['tco_usd']:,.0f} / ({si_number(rate, unit + '/s')} x "
                               f"{inputs.service_life_years:g} years) = ${added[f'usd_per_million_{unit}']:.4g} "
                               f"per million {unit}")
    if cloud_hour is not None:
        for unit, rate in rates:
            if rate:
                added[f"cloud_usd_per_million_{unit}"] = cloud_hour / (rate * 3600) * 1e6
                explain.append(f"cloud: ${cloud_hour:,.2f}/h / ({si_number(rate, unit + '/s')} x 3600 s) = "
                               f"${added[f'cloud_usd_per_million_{unit}']:.4g} per million {unit}")
    return added, explain


def priced(row: Result, device: Device | None, inputs: CostInputs) -> Result:
    """The row with its cost metrics and their arithmetic (rows without numbers are returned as they are)."""
    if not row.ok:
        return row
    count = int(row.metrics.get("count") or row.scenario.count)
    added, explain = cost_metrics(row.metrics, device, count, row.scenario.kind, inputs)
    if not added:
        return row
    return attrs.evolve(row, metrics={**row.metrics, **added}, explain=(*row.explain, *explain))
