"""The vendor's model: it answers first for its own card, adds the host's time, and leaves other devices alone."""

import json
import math

import pytest
from click.testing import CliRunner

from chipfit import Scenario, model
from chipfit.catalogue import call_first
from chipfit.cli import cli
from chipfit.testing import REFERENCE_DEVICE_ID, PluginTester
from chipfit_example_vendor.model import DEVICE_ID, HOST_OVERHEAD_S

plugin = PluginTester("example")
WORKLOAD = "llama-3-8b-ffn-token"


@pytest.fixture
def wormhole():
    return plugin.catalogue.device(DEVICE_ID)


@pytest.fixture
def ffn():
    return plugin.catalogue.workload(WORKLOAD)


def test_host_overhead_reproduces_the_published_throughputs():
    device_s = 16 / 5550  # ResNet-50, batch 16, device throughput
    assert 16 / (device_s + HOST_OVERHEAD_S) == pytest.approx(4300)  # end to end
    assert HOST_OVERHEAD_S == pytest.approx(0.838e-3, rel=1e-3)


def test_the_vendor_model_answers_first_for_its_card(wormhole, ffn):
    result, answered_by = call_first(plugin.pm, "chipfit_estimate", device=wormhole, workload=ffn,
                                     scenario=Scenario("single-stream"))
    assert answered_by == "example"
    roofline = model.estimate(wormhole, ffn, Scenario("single-stream"))
    assert result.metrics["latency_s"] == pytest.approx(roofline.metrics["latency_s"] + HOST_OVERHEAD_S)
    assert any("host" in line for line in result.explain)


def test_other_devices_keep_chipfit_s_roofline(ffn):
    reference = plugin.catalogue.device(REFERENCE_DEVICE_ID)
    _, answered_by = call_first(plugin.pm, "chipfit_estimate", device=reference, workload=ffn,
                                scenario=Scenario("single-stream"))
    assert answered_by == "chipfit.roofline"


def test_offline_batch_is_searched_with_the_host_time(wormhole, ffn):
    result, _ = call_first(plugin.pm, "chipfit_estimate", device=wormhole, workload=ffn, scenario=Scenario("offline"))
    chosen = result.metrics["batch"]
    for batch in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        other, _ = call_first(plugin.pm, "chipfit_estimate", device=wormhole, workload=ffn,
                              scenario=Scenario("offline", batch=batch))
        assert result.metrics["throughput_sps"] >= other.metrics["throughput_sps"] * (1 - 1e-12), batch
    roofline = model.estimate(wormhole, ffn, Scenario("offline", batch=chosen))  # the device time alone
    assert result.metrics["latency_s"] == pytest.approx(roofline.metrics["latency_s"] + HOST_OVERHEAD_S)


def test_decode_is_memory_bound_on_the_card(wormhole, ffn):
    result, _ = call_first(plugin.pm, "chipfit_estimate", device=wormhole, workload=ffn,
                           scenario=Scenario("single-stream"))
    weights = ffn.weight_bytes
    assert weights == 3 * 4096 * 14336 * 2
    # 352 MB of weights do not fit in 108 MB of SRAM: every token streams them from GDDR6
    assert result.metrics["latency_s"] > weights / wormhole.memory_bandwidth


def test_workload_counts_follow_from_the_llama_3_shapes(ffn):
    assert ffn.parameters == 176_160_768
    assert math.isclose(ffn.ops_per_sample, 352_321_536 + 5 * 14336)


def test_the_command_line_sees_the_plugin(monkeypatch, tmp_path):
    monkeypatch.delenv("CHIPFIT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("CHIPFIT_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    runner = CliRunner()
    plugins = json.loads(runner.invoke(cli, ["plugins", "--format", "json"]).stdout)
    assert {"name": "example", "distribution": "chipfit-example-vendor"}.items() <= \
        next(row for row in plugins if row["name"] == "example").items()
    spec = tmp_path / "spec.toml"
    spec.write_text(f'title = "decode"\n[[groups]]\nid = "ffn"\ndevices = ["{DEVICE_ID}", "nvidia-l4"]\n'
                    f'workloads = ["{WORKLOAD}"]\nscenario = "single-stream"\n')
    result = runner.invoke(cli, ["run", str(spec), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["device"]: row for row in json.loads(result.stdout)["rows"]}
    assert rows[DEVICE_ID]["plugin"] == "example"
    assert rows["nvidia-l4"]["plugin"] == "chipfit.roofline"
