"""Costs a buyer uses: owned (hardware + electricity over a service life) and cloud, per million samples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chipfit import spec as spec_module
from chipfit.errors import SpecError
from chipfit.records import ScenarioKind
from chipfit.tco import YEAR_S, CostInputs, cost_metrics
import attrs

from chipfit.testing import reference_device


def make_device(**changes):
    return attrs.evolve(reference_device(), **changes)


def test_owned_and_cloud_cost_per_million_samples():
    device = make_device(cloud_price_per_hour=2.0)
    metrics = {"throughput_sps": 1000.0, "power_w": 500.0, "hardware_cost_usd": 10_000.0}
    added, explain = cost_metrics(metrics, device, 1, ScenarioKind.OFFLINE, CostInputs(0.10, 2.0))
    life = 2 * YEAR_S
    electricity = 500 * life / 3.6e6 * 0.10
    assert added["energy_cost_usd"] == pytest.approx(electricity)
    assert added["usd_per_million_samples"] == pytest.approx((10_000 + electricity) / (1000 * life) * 1e6)
    assert added["cloud_usd_per_million_samples"] == pytest.approx(2.0 / (1000 * 3600) * 1e6)
    assert any(line.startswith("owned:") for line in explain) and any(line.startswith("cloud:") for line in explain)


def test_tokens_priced_where_a_row_has_a_token_rate_and_nothing_invented():
    added, _ = cost_metrics({"throughput_sps": 2.0, "output_tokens_per_s": 500.0, "hardware_cost_usd": 100.0},
                            make_device(), 1, ScenarioKind.SERVER, CostInputs())
    assert "usd_per_million_tokens" in added and "energy_cost_usd" not in added  # electricity not priced
    assert "cloud_usd_per_million_tokens" not in added  # no cloud price on the device
    assert cost_metrics({"throughput_sps": 2.0}, make_device(), 1, ScenarioKind.OFFLINE, CostInputs()) == ({}, [])


def test_training_cloud_cost():
    added, _ = cost_metrics({"time_to_train_s": 7200.0, "energy_j": 3.6e6}, make_device(cloud_price_per_hour=3.0), 8,
                            ScenarioKind.TRAINING, CostInputs(0.2))
    assert added["cloud_usd_per_hour"] == 24.0
    assert added["cloud_train_cost_usd"] == pytest.approx(48.0)
    assert added["energy_cost_usd"] == pytest.approx(0.2)


@given(st.floats(1, 1e6), st.floats(1, 1e6), st.floats(1, 1e5), st.floats(0.5, 10))
def test_owned_cost_falls_as_throughput_rises(throughput, factor, hardware, years):
    def cost(rate):
        return cost_metrics({"throughput_sps": rate, "hardware_cost_usd": hardware, "power_w": 100.0}, make_device(),
                            1, ScenarioKind.OFFLINE, CostInputs(0.1, years))[0]["usd_per_million_samples"]
    assert cost(throughput * (1 + factor)) <= cost(throughput)


@pytest.mark.parametrize("key, value", [("electricity_usd_per_kwh", -1), ("service_life_years", 0)])
def test_bad_cost_inputs_in_a_spec_name_the_key_and_line(tmp_path, key, value):
    path = tmp_path / "spec.toml"
    path.write_text(f'title = "t"\n{key} = {value}\n[[groups]]\nid = "g"\ndevices = ["x"]\nworkloads = ["y"]\n')
    with pytest.raises(SpecError, match=rf"line 2: {key} must be a positive number"):
        spec_module.load(path)


def test_cloud_price_in_a_datasheet(tmp_path):
    from chipfit.datasheets import load_devices

    path = tmp_path / "devices.toml"
    path.write_text('''[[device]]
id = "acme-one"
name = "Acme One"
vendor = "Acme"
kind = "gpu"
segment = "datacenter"
year = 2024
power_w = 300
memory_bandwidth_gb_s = 1000
capabilities = ["inference"]
peak_tops = { fp16 = 100 }
cloud_usd_per_hour = 1.5
cloud_price_date = "2026-11-09"
[device.sources]
cloud_usd_per_hour = "Acme cloud price list, read 2026-11-09"
''')
    (device,) = load_devices(path)
    assert device.cloud_price_per_hour == 1.5 and device.cloud_price_date == "2026-11-09"
    assert device.citation("cloud_price_per_hour").startswith("Acme cloud")
