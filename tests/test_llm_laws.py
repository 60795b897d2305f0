"""Laws of the language-model model: generation, memory, parallelism and training at scale."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipfit import model
from chipfit.model.generation import holdings, serve
from chipfit.model.parallelism import Split
from chipfit.model.transformer_cost import RUNTIME_RESERVE
from chipfit.records import Precision, Scenario
from chipfit.testing.reference import reference_device
from chipfit.transformer import Requests, TokenBudget
from chipfit_transformer import configs
from chipfit_transformer.workloads import training
from support import assert_clean
from conftest import IN_TREE_PLUGINS

LLAMA_70B = configs.by_id()["llama-2-70b"]
DEVICE = reference_device()
FP8 = Precision.FP8
SETTINGS = settings(max_examples=25, deadline=None)


@pytest.fixture(scope="module")
def llm_catalogue(tmp_path_factory):
    """The in-tree catalogue, collected once for this module (the laws below only read it)."""
    from chipfit import catalogue as catalogue_module
    from chipfit import plugins

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHIPFIT_LOAD_PLUGINS", ",".join(IN_TREE_PLUGINS))
        patch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path_factory.mktemp("llm-cache")))
        yield catalogue_module.collect(plugins.get_plugin_manager())


@SETTINGS
@given(batch=st.integers(1, 512), scale=st.integers(1, 8), tensor=st.sampled_from([1, 2, 4, 8]))
def test_kv_cache_is_linear_in_sequences_and_context(batch, scale, tensor):
    requests = Requests(input_tokens=100, output_tokens=50)
    longer = Requests(input_tokens=100 * scale, output_tokens=50 * scale)
    split = Split(tensor=tensor)
    one = holdings(DEVICE, LLAMA_70B.config, split, FP8, requests, 1).kv_cache
    assert holdings(DEVICE, LLAMA_70B.config, split, FP8, requests, batch).kv_cache == pytest.approx(one * batch)
    assert holdings(DEVICE, LLAMA_70B.config, split, FP8, longer, batch).kv_cache == \
        pytest.approx(one * batch * scale)


@SETTINGS
@given(batch=st.integers(1, 256), input_tokens=st.integers(1, 8192), output_tokens=st.integers(1, 4096),
       beams=st.sampled_from([1, 2, 4]), tensor=st.sampled_from([1, 2, 4, 8]))
def test_kv_cache_is_held_to_completion(batch, input_tokens, output_tokens, beams, tensor):
    # every admitted sequence keeps room for its whole request: the prompt once per request, then each
    # beam's output tokens (a continuous batch that never pauses a started request)
    from chipfit.model.transformer_cost import kv_bytes_per_token

    split = Split(tensor=tensor)
    requests = Requests(input_tokens=input_tokens, output_tokens=output_tokens, beams=beams)
    held = holdings(DEVICE, LLAMA_70B.config, split, FP8, requests, batch * beams).kv_cache
    assert held == pytest.approx(batch * (input_tokens + beams * output_tokens)
                                 * kv_bytes_per_token(LLAMA_70B.config, split, FP8))


@SETTINGS
@given(input_tokens=st.integers(16, 4096), output_tokens=st.integers(2, 1024), beams=st.sampled_from([1, 4]),
       others=st.integers(1, 64))
def test_only_other_requests_prefills_interleave_with_a_request_s_decode(input_tokens, output_tokens, beams, others):
    requests = Requests(input_tokens, output_tokens, beams=beams)
    alone = serve(DEVICE, LLAMA_70B.config, Split(), FP8, requests, beams)
    assert alone.ttft_s == pytest.approx(alone.prefill_s) and alone.tpot_s == pytest.approx(alone.step_s)
    busy = serve(DEVICE, LLAMA_70B.config, Split(), FP8, requests, beams * (1 + others))
    assert busy.tpot_s > busy.step_s and busy.ttft_s > busy.prefill_s


@SETTINGS
@given(short=st.integers(16, 4096), extra=st.integers(1, 4096))
def test_ttft_grows_with_input_length(short, extra):
    def ttft(tokens):
        return serve(DEVICE, LLAMA_70B.config, Split(), FP8, Requests(tokens, 64), 8).ttft_s
    assert ttft(short + extra) > ttft(short)


@SETTINGS
@given(batch=st.integers(1, 256), pipeline=st.sampled_from([1, 2, 4]))
def test_more_tensor_parallelism_never_raises_memory_per_device(batch, pipeline):
    requests = Requests(input_tokens=512, output_tokens=128)
    totals = [holdings(DEVICE, LLAMA_70B.config, Split(tensor=t, pipeline=pipeline), FP8, requests, batch).total
              for t in (1, 2, 4, 8)]
    assert totals == sorted(totals, reverse=True)


@pytest.mark.parametrize("ident", ["llama-2-70b", "llama-2-70b-openorca", "mixtral-8x7b-mlperf", "gpt-j-6b-cnndm",
                                   "llama-3.1-8b"])
@pytest.mark.parametrize("device", ["nvidia-h100-sxm5", "amd-instinct-mi300x", "nvidia-l4"])
@pytest.mark.parametrize("count", [1, 8])
def test_no_split_exceeds_device_memory(llm_catalogue, ident, device, count):
    catalogue = llm_catalogue
    device_record = catalogue.devices[device]
    row = model.estimate(device_record, catalogue.workloads[ident], Scenario("offline", precision="fp8", count=count))
    if row.ok:
        assert row.metrics["memory_per_device_bytes"] <= device_record.memory_capacity * (1 - RUNTIME_RESERVE)
        parallelism = row.metrics["parallelism"]
        assert parallelism["data"] * parallelism["tensor"] * parallelism["pipeline"] * parallelism["expert"] == count
    else:
        assert "does not fit" in row.reason


@pytest.mark.parametrize("count", [1, 2, 4, 8])
@pytest.mark.parametrize("device", ["nvidia-h100-sxm5", "amd-instinct-mi300x"])
def test_done_when_llama_2_70b_offline_gives_the_generation_metrics(cli, device, count):
    result = cli("estimate", device, "llama-2-70b", "--scenario", "offline", "--count", count, "--precision", "fp8",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["rows"][0]
    metrics = row["metrics"]
    for key in ("output_tokens_per_s", "ttft_s", "tpot_s", "kv_cache_bytes", "batch"):
        assert metrics[key] > 0, key
    assert set(metrics["parallelism"]) == {"data", "tensor", "pipeline", "expert"}


def test_more_devices_never_lower_offline_tokens_per_s(llm_catalogue):
    catalogue = llm_catalogue
    device, workload = catalogue.devices["nvidia-h100-sxm5"], catalogue.workloads["llama-2-70b-openorca"]
    rates = [model.estimate(device, workload, Scenario("offline", precision="fp8", count=n)).metrics
             .get("output_tokens_per_s") or 0.0 for n in (1, 2, 4, 8)]
    assert rates == sorted(rates)


def test_a_server_keeps_the_derived_headroom_of_every_server_row(llm_catalogue):
    """Targets that never bind: the server serves the offline optimum at the derived server load, its
    times stretched by 1 / load (as the graph model's server rows are)."""
    from chipfit.model import defaults

    catalogue = llm_catalogue
    device, workload = catalogue.devices["nvidia-h200-sxm"], catalogue.workloads["llama-2-70b-openorca"]
    offline = model.estimate(device, workload, Scenario("offline", precision="fp8", count=1))
    server = model.estimate(device, workload, Scenario("server", precision="fp8", count=1, ttft_target=1e6,
                                                       tpot_target=1e6))
    load = defaults.SERVER_LOAD
    assert server.metrics["batch"] == offline.metrics["batch"]
    assert server.metrics["output_tokens_per_s"] == pytest.approx(load * offline.metrics["output_tokens_per_s"])
    assert server.metrics["ttft_s"] == pytest.approx(offline.metrics["ttft_s"] / load)
    assert server.metrics["tpot_s"] == pytest.approx(offline.metrics["tpot_s"] / load)
    assert any("loaded to" in line and defaults.DERIVATIONS["SERVER_LOAD"][0] in line for line in server.explain)


def test_server_meets_its_targets_and_single_stream_is_one_request(llm_catalogue):
    catalogue = llm_catalogue
    device, workload = catalogue.devices["nvidia-h100-sxm5"], catalogue.workloads["llama-2-70b-openorca"]
    server = model.estimate(device, workload, Scenario("server", precision="fp8", count=8, ttft_target=2.0,
                                                       tpot_target=0.2))
    offline = model.estimate(device, workload, Scenario("offline", precision="fp8", count=8))
    assert server.metrics["ttft_s"] <= 2.0 and server.metrics["tpot_s"] <= 0.2 and server.metrics["meets_target"]
    assert server.metrics["output_tokens_per_s"] <= offline.metrics["output_tokens_per_s"]
    single = model.estimate(device, workload, Scenario("single-stream", precision="fp8", count=8))
    assert single.metrics["batch"] == 1
    assert single.metrics["latency_s"] == pytest.approx(single.metrics["ttft_s"] + 293.45 * single.metrics["tpot_s"])


def test_the_l4_batch_256_decode_no_longer_fits(cli):
    result = cli("estimate", "nvidia-l4", "llama-3-8b-decode-4096", "--scenario", "server", "--batch", "256",
                 "--target-ms", "1000")
    assert "unsupported" in result.output and "GB of memory" in result.output
    assert_clean(result)


def test_weights_and_kv_cache_are_not_on_chip_unless_they_fit(llm_catalogue):
    catalogue = llm_catalogue
    mi300x = catalogue.devices["amd-instinct-mi300x"]
    workload = catalogue.workloads["llama-3.1-8b"]
    rates = [model.estimate(mi300x, workload, Scenario("offline", batch=b, precision="fp8")).metrics["tpot_s"]
             for b in (1, 8, 64, 256)]
    assert rates == sorted(rates)  # decode never gets faster per token with more sequences: no free cache
    huge = attrs.evolve(mi300x, on_chip_memory=1e12)  # a device whose SRAM holds everything streams nothing
    assert model.estimate(huge, workload, Scenario("offline", batch=8, precision="fp8")).metrics["tpot_s"] < rates[1]


def test_beams_multiply_the_sequences(llm_catalogue):
    catalogue = llm_catalogue
    device, workload = catalogue.devices["nvidia-h100-sxm5"], catalogue.workloads["gpt-j-6b-cnndm"]
    row = model.estimate(device, workload, Scenario("offline", precision="fp8"))
    assert row.ok and row.metrics["batch"] % 4 == 0


@SETTINGS
@given(count=st.sampled_from([8, 16, 64, 256]), micro=st.sampled_from([4, 8, 16]))
def test_mfu_never_exceeds_one(count, micro):
    budget = TokenBudget(tokens=1e9, sequence_length=2048, global_batch=count * micro)
    workload = training(configs.by_id()["llama-3.1-8b"], budget, ident="t", name="t", sources={"token_budget": "test"})
    row = model.estimate(DEVICE, workload, Scenario("training", precision="bf16", count=count))
    assert row.ok, row.reason
    assert 0 < row.metrics["mfu"] <= 1


def test_done_when_405b_training_gives_time_to_train_and_mfu(cli):
    result = cli("estimate", "nvidia-h100-sxm5", "llama-3.1-405b-pretrain", "--scenario", "training", "--count",
                 "16384", "--tp", "8", "--pp", "16", "--format", "json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["rows"][0]["metrics"]
    assert metrics["time_to_train_s"] > 0 and 0 < metrics["mfu"] < 1
    assert metrics["parallelism"] == {"data": 128, "tensor": 8, "pipeline": 16, "expert": 1}


def test_training_that_fits_nowhere_is_unsupported_with_the_reason(llm_catalogue):
    catalogue = llm_catalogue
    row = model.estimate(catalogue.devices["nvidia-h100-sxm5"], catalogue.workloads["llama-3.1-405b-pretrain"],
                         Scenario("training", precision="bf16", count=8))
    assert not row.ok and "no split fits" in row.reason and "per device" in row.reason


def test_a_named_split_that_does_not_divide_the_count_is_unsupported(llm_catalogue):
    catalogue = llm_catalogue
    row = model.estimate(catalogue.devices["nvidia-h100-sxm5"], catalogue.workloads["llama-2-70b"],
                         Scenario("offline", precision="fp8", count=8, tensor_parallel=3))
    assert not row.ok and "no split of 8 devices" in row.reason


@pytest.mark.parametrize("args, message", [
    (["--tp", "0"], "--tp"),
    (["--ttft-ms", "-1"], "--ttft-ms"),
])
def test_bad_split_options_are_bad_input(cli, args, message):
    result = cli("estimate", "nvidia-h100-sxm5", "llama-2-70b", "--scenario", "offline", *args)
    assert result.exit_code == 2 and message in result.output
    assert_clean(result)


def test_spec_keys_name_the_split_and_targets(write_spec, cli):
    path = write_spec("""
        title = "serving"
        [[groups]]
        id = "s"
        devices = ["nvidia-h100-sxm5"]
        workloads = ["llama-2-70b-openorca"]
        scenario = "server"
        precision = "fp8"
        count = 8
        tensor_parallel = 2
        ttft_target_ms = 2000
        tpot_target_ms = 200
    """)
    result = cli("run", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["rows"][0]
    assert row["metrics"]["parallelism"]["tensor"] == 2
    assert row["scenario"]["tpot_target_s"] == pytest.approx(0.2)


def test_spec_with_a_bad_split_key_names_the_line(write_spec, cli):
    path = write_spec("""
        title = "serving"
        [[groups]]
        id = "s"
        devices = ["nvidia-h100-sxm5"]
        workloads = ["llama-2-70b"]
        scenario = "offline"
        tensor_parallel = 0
    """)
    result = cli("run", str(path))
    assert result.exit_code == 2 and "line" in result.output and "tensor_parallel" in result.output
    assert_clean(result)


def test_llm_serving_spec_runs_and_says_where_the_model_does_not_fit(cli):
    from pathlib import Path

    spec = Path(__file__).resolve().parent.parent / "specs" / "llm-serving.toml"
    result = cli("run", str(spec), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    ok = [row for row in rows if row["status"] == "ok"]
    assert {row["device"] for row in ok} >= {"nvidia-jetson-agx-orin-64gb", "apple-m2-max", "nvidia-h100-sxm5"}
    assert all(row["metrics"]["energy_per_token_j"] > 0 for row in ok)
    nano = next(row for row in rows if row["device"] == "nvidia-jetson-orin-nano-8gb")
    assert nano["status"] == "unsupported" and "does not fit" in nano["reason"]
