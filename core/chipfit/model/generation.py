"""Generation: a language model serving requests (prefill, then decode with the KV cache growing),
with continuous batching limited by memory, on one device or split over many.

A request of ``I`` input and ``O`` output tokens is prefilled (one forward pass over its ``I`` tokens),
then decoded one token a step; each step re-reads the weights of the device's share of the model and
the KV cache of every sequence in the batch. Continuous (in-flight) batching keeps ``B`` sequences in
decode on each replica and slots a new request's prefill in as one finishes (Yu et al., "Orca",
OSDI'22; vLLM, Kwon et al., SOSP'23), so in the steady state a replica spends, per completed request,
its prefill time plus ``O / B`` decode steps::

    requests/s per replica  R    = 1 / (T_prefill + O x T_step(B) / B)
    output tokens/s              = data replicas x R x O
    TPOT (time per output token) = T_step(B) + (n - 1) x T_prefill / O (the other requests' prefills
                                   interleave with its decode: n = B / w requests in flight, of which
                                   n - 1 are admitted while it decodes, by Little's law)
    TTFT (time to first token)   = T_prefill(one request) + T_step(B)  (it waits for the step under way;
                                   a request alone, n = 1, waits for none: TTFT = T_prefill)

``T_step`` of a pipeline of ``p`` stages runs ``p`` micro-batches of ``B/p`` sequences so every stage is
busy: a token step is ``p`` stage-steps plus the hand-offs. The batch ``B`` grows until memory stops
it: weights, the KV cache of ``B`` sequences *to completion* (``I + O`` tokens each, see
:func:`holdings`) for every layer the device holds, activations, and a runtime reserve,
per device after the split; a step's attention reads each sequence's cache at its mean context
(``I + O/2``). Beams: ``w`` sequences
decode per request (the prompt's cache is shared). Offline: the batch and split with the best
throughput; server: the best within ``ttft_target``/``tpot_target`` with the devices kept at the derived
server load (:func:`under_load`); single-stream: one request alone.
"""

from __future__ import annotations

import attrs

from chipfit.model.common import _common, _figure, _source, _unsupported
from chipfit.model import defaults
from chipfit.model.defaults import efficiency_for
from chipfit.model.parallelism import Split, candidate_splits
from chipfit.model.transformer_cost import (
    ACTIVATION_BYTES,
    NODE_SIZE,
    RUNTIME_RESERVE,
    Holdings,
    kv_bytes_per_token,
    stage_forward,
    stage_handoff_s,
    usable_memory,
    weight_bytes_per_device,
)
from chipfit.records import Device, Precision, Result, Scenario, ScenarioKind, Status, Workload
from chipfit.transformer import Requests, TransformerConfig
from chipfit.units import duration, si_number

#: Tokens of prompt one prefill batches together when requests are prefilled at throughput (chunked
#: prefill; a labelled assumption of the order of vLLM's ``max_num_batched_tokens``, which its versions
#: set between 2,048 and 8,192: 2,048 is the conservative end).
PREFILL_CHUNK_TOKENS = 2048


@attrs.frozen
class Serving:
    """One split and batch, costed: the metrics of a generation row."""

    split: Split
    batch: int
    holdings: Holdings
    prefill_s: float
    prefill_per_request_s: float
    step_s: float
    ttft_s: float
    tpot_s: float
    requests_per_s: float
    output_tokens_per_s: float
    bound: str
    ops_per_s: float


def under_load(serving: Serving, load: float) -> Serving:
    """A server's :class:`Serving`: devices kept at ``load`` of their capacity, as every server row of the
    model is (:data:`chipfit.model.defaults.SERVER_LOAD`, derived from MLPerf's ResNet-50 server row:
    Poisson arrivals leave headroom for the latency tail). Every time stretches by ``1 / load`` (so TTFT
    and TPOT are checked against the targets at that load) and the throughput is ``load`` of the best."""
    return attrs.evolve(serving, prefill_s=serving.prefill_s / load,
                        prefill_per_request_s=serving.prefill_per_request_s / load, step_s=serving.step_s / load,
                        ttft_s=serving.ttft_s / load, tpot_s=serving.tpot_s / load,
                        requests_per_s=serving.requests_per_s * load,
                        output_tokens_per_s=serving.output_tokens_per_s * load, ops_per_s=serving.ops_per_s * load)


def _sequences_per_request(requests: Requests) -> int:
    return requests.beams


def holdings(device: Device, config: TransformerConfig, split: Split, precision: Precision,
             requests: Requests, batch: int) -> Holdings:
    """What one device holds serving ``batch`` sequences per replica: weights, the KV cache of every
    sequence to completion (the prompt's cache shared by a request's beams), activations of one step.

    Why the cache is held at its full length ``I + O``, not at its mean ``I + O/2``: a continuous batch
    admits a request only when the cache can hold it to completion, so that a started request is never
    paused or evicted. This is TensorRT-LLM's default capacity policy (``GUARANTEED_NO_EVICT``, "to
    guarantee that a started request is never paused": NVIDIA, TensorRT-LLM documentation, performance
    tuning guide, "Useful Runtime Options"), and what any engine needs for requests of equal length, which
    start and finish together and all reach ``I + O`` at once. Evidence: NVIDIA's published
    ``trtllm-bench`` throughputs for Llama 3.3 70B FP8 at ten fixed input/output lengths on one H200 and
    on two H100s (TensorRT-LLM ``docs/source/performance/perf-overview.md``) are matched to a
    geometric-mean 8% (H200) and 12% (H100) with the cache held to completion, against 15% and 22% at
    the mean context (``python benchmarks/llm_fixed_shapes.py`` prints the comparison). The same document's
    Llama 3.1 405B (eight H200s, eight H100s) and 8B (one of each) tables, added after this rule was
    chosen, check it independently: 9% and 5%, 9% and 5%.
    """
    per_token = kv_bytes_per_token(config, split, precision)
    requests_in_flight = batch / _sequences_per_request(requests)
    kv_tokens = requests_in_flight * (requests.input_tokens + requests.beams * requests.output_tokens)
    prefill_tokens = max(requests.input_tokens, PREFILL_CHUNK_TOKENS)
    activations = prefill_tokens * max(config.hidden, config.ffn * (2 if config.ffn_gated else 1) / split.tensor) \
        * ACTIVATION_BYTES * 2
    return Holdings(weight_bytes_per_device(config, split, precision), kv_tokens * per_token, activations,
                    usable_memory(device))


def _resident(device: Device, held: Holdings) -> bool:
    return bool(device.on_chip_memory) and held.weights + held.kv_cache <= device.on_chip_memory


def _step_s(device, config, split, precision, batch, context, resident) -> tuple[float, float, str]:
    """One decode step of the whole pipeline for ``batch`` sequences: seconds, ops, bound."""
    p = split.pipeline
    micro = batch / p
    stage = stage_forward(device, config, split, precision, sequences=micro, new_tokens=1, context=context,
                          resident=resident)
    return p * (stage.time_s + stage_handoff_s(device, config, split, micro)), stage.ops * p, str(stage.bound)


def _prefill_s(device, config, split, precision, sequences, tokens, resident) -> float:
    """Prefilling ``sequences`` prompts of ``tokens`` each, through every stage in turn."""
    stage = stage_forward(device, config, split, precision, sequences=sequences, new_tokens=tokens,
                          context=0.0, resident=resident)
    return split.pipeline * (stage.time_s + stage_handoff_s(device, config, split, sequences * tokens))


def _prefills(device, config, split, precision, requests, resident) -> tuple[float, float]:
    """Prefilling one request alone, and per request when prefilled in chunks (they do not depend on the batch)."""
    prefill_s = _prefill_s(device, config, split, precision, 1, requests.input_tokens, resident)
    chunk = max(1, round(PREFILL_CHUNK_TOKENS / requests.input_tokens))
    per_request = _prefill_s(device, config, split, precision, chunk, requests.input_tokens, resident) / chunk
    # a pipeline prefills a chunk per stage at once: stages work on different chunks
    return prefill_s, per_request / split.pipeline


def serve(device: Device, config: TransformerConfig, split: Split, precision: Precision, requests: Requests,
          batch: int, prefills: dict | None = None) -> Serving:
    """Cost serving at ``batch`` concurrent sequences per replica on ``split`` (see the module docs).

    ``prefills``: a dict the caller keeps across batches of one device, model, precision and requests,
    so the prefill times (the same at every batch) are computed once per split."""
    held = holdings(device, config, split, precision, requests, batch)
    resident = _resident(device, held)
    context = requests.input_tokens + requests.output_tokens / 2
    step_s, step_ops, bound = _step_s(device, config, split, precision, batch, context, resident)
    if prefills is None:
        prefill_s, per_request = _prefills(device, config, split, precision, requests, resident)
    else:
        key = (split, resident)
        if key not in prefills:
            prefills[key] = _prefills(device, config, split, precision, requests, resident)
        prefill_s, per_request = prefills[key]
    steps_per_request = requests.output_tokens * requests.beams / batch
    request_s = per_request + steps_per_request * step_s
    rate = split.data / request_s
    in_flight = batch / requests.beams
    tpot = step_s + per_request * (in_flight - 1) / requests.output_tokens
    ttft = prefill_s + (step_s if in_flight > 1 else 0.0)
    ops = (step_ops / step_s) if step_s else 0.0
    return Serving(split, batch, held, prefill_s, per_request, step_s, ttft, tpot, rate,
                   rate * requests.output_tokens, bound, ops * split.count)


def largest_batch(device: Device, config: TransformerConfig, split: Split, precision: Precision,
                  requests: Requests) -> int:
    """The most sequences one replica can keep in flight before memory runs out (0: not even one).

    A device with no memory of its own (it streams from the host) is limited to 4,096 sequences."""
    beams = _sequences_per_request(requests)
    one = holdings(device, config, split, precision, requests, beams)
    longest = one.weights + one.activations + kv_bytes_per_token(config, split, precision) * (
        requests.input_tokens + beams * requests.output_tokens) if one.usable is not None else 0.0
    if one.usable is not None and (not one.fits or longest > one.usable):
        return 0
    if one.usable is None:
        return 4096
    per_request = one.kv_cache
    spare = one.usable - one.weights - one.activations
    return max(beams, int(spare // per_request) * beams) if per_request > 0 else 4096


def _batches(limit: int, pipeline: int, beams: int) -> list[int]:
    """Batches to try: powers of two (times the beams) up to ``limit``, and ``limit`` itself."""
    sizes, size = set(), beams
    while size <= limit:
        sizes.add(size)
        size *= 2
    sizes.add(limit)
    return sorted(s for s in sizes if s >= max(pipeline, beams))


def splits_for(device: Device, config: TransformerConfig, scenario: Scenario, count: int) -> list[Split]:
    """The splits of ``count`` devices worth trying: named degrees fixed; tensor parallelism within a node
    and dividing the attention heads, pipeline stages up to the layers, experts up to their number."""
    linked = device.interconnect_bandwidth is not None  # without one, only independent replicas
    max_tensor = min(NODE_SIZE, config.heads) if linked else 1
    splits = candidate_splits(count, tensor=scenario.tensor_parallel, pipeline=scenario.pipeline_parallel,
                              expert=scenario.expert_parallel, max_tensor=max_tensor,
                              max_pipeline=config.layers if linked else 1,
                              max_expert=config.experts if config.moe and linked else 1)
    if not linked:
        splits = [s for s in splits if s.tensor == s.pipeline == s.expert == 1]
    return [s for s in splits if config.heads % s.tensor == 0 and (not config.moe or config.experts % s.expert == 0)]


def targets(scenario: Scenario, requests: Requests) -> tuple[float | None, float | None]:
    """The server row's TTFT and TPOT targets: the scenario's, else the requests' own (MLPerf's limits)."""
    if scenario.kind is not ScenarioKind.SERVER:
        return None, None
    return scenario.ttft_target or requests.ttft_target, scenario.tpot_target or requests.tpot_target


def request_latency_s(serving: Serving, requests: Requests) -> float:
    """How long a request stays in flight in the steady state (Little's law over one replica)."""
    return serving.batch / requests.beams / (serving.requests_per_s / serving.split.data)


def best_serving(device: Device, workload: Workload, scenario: Scenario, precision: Precision) -> Serving | str:
    """The best :class:`Serving` for the scenario, or why there is none."""
    config, requests = workload.transformer, workload.requests
    candidates = splits_for(device, config, scenario, scenario.count)
    if not candidates:
        return (f"no split of {scenario.count} devices matches tensor={scenario.tensor_parallel}, "
                f"pipeline={scenario.pipeline_parallel}, expert={scenario.expert_parallel} for {workload.name}")
    best: Serving | None = None
    smallest: tuple[float, Split] | None = None
    prefills: dict = {}  # per (split, resident): the same at every batch
    kind = scenario.kind
    ttft_target, tpot_target = targets(scenario, requests)
    latency_target = (scenario.latency_target or workload.latency_target) if kind is ScenarioKind.SERVER else None
    if kind is ScenarioKind.SERVER and not (ttft_target or tpot_target or latency_target):
        return "the server scenario needs a target: ttft_target_ms / tpot_target_ms or latency_target_ms"
    for split in candidates:
        limit = largest_batch(device, config, split, precision, requests)
        if limit == 0:
            held = holdings(device, config, split, precision, requests, requests.beams)
            if smallest is None or held.total < smallest[0]:
                smallest = (held.total, split)
            continue
        if kind is ScenarioKind.SINGLE_STREAM:
            batches = [requests.beams]
        elif scenario.batch is not None:
            batches = [min(scenario.batch, limit)]
        else:
            batches = _batches(limit, split.pipeline, requests.beams)
        for batch in batches:
            serving = serve(device, config, split, precision, requests, batch, prefills)
            if kind is ScenarioKind.SERVER:
                serving = under_load(serving, defaults.SERVER_LOAD)
            if kind is ScenarioKind.SERVER and ((ttft_target and serving.ttft_s > ttft_target)
                                                or (tpot_target and serving.tpot_s > tpot_target)
                                                or (latency_target and request_latency_s(serving, requests)
                                                    > latency_target)):
                continue
            if best is None or _better(kind, serving, best):
                best = serving
    if best is not None:
        return best
    if smallest is not None and all(largest_batch(device, config, s, precision, requests) == 0 for s in candidates):
        need, split = smallest
        return (f"does not fit: {workload.name} needs {si_number(need, 'B')} per device at best ({split}, one "
                f"request of {requests.input_tokens:g}+{requests.output_tokens:g} tokens, {precision}); "
                f"{device.name} has {si_number(device.memory_capacity, 'B')} less a "
                f"{RUNTIME_RESERVE:.0%} runtime reserve")
    return (f"no batch and split of {scenario.count} x {device.name} meets the targets "
            f"(TTFT {duration(ttft_target) if ttft_target else 'any'}, TPOT {duration(tpot_target) if tpot_target else 'any'})")


def _better(kind: ScenarioKind, a: Serving, b: Serving) -> bool:
    if kind is ScenarioKind.SINGLE_STREAM:
        return a.ttft_s + a.tpot_s < b.ttft_s + b.tpot_s
    return a.output_tokens_per_s > b.output_tokens_per_s * (1 + 1e-9)


def estimate_generation(device: Device, workload: Workload, scenario: Scenario, precision: Precision) -> Result:
    """A generation row: tokens/s, TTFT, TPOT, KV cache, batch and split (or unsupported, with the reason)."""
    found = best_serving(device, workload, scenario, precision)
    if isinstance(found, str):
        return _unsupported(device, workload, scenario, found)
    config, requests = workload.transformer, workload.requests
    s = found
    single = scenario.kind is ScenarioKind.SINGLE_STREAM
    if single:
        latency = s.ttft_s + (requests.output_tokens - 1) * s.tpot_s
        throughput = s.split.data / latency
    else:  # Little's law: a request stays in flight (requests in flight per replica x replicas) / throughput
        throughput = s.requests_per_s
        latency = s.batch / requests.beams * s.split.data / throughput
    tokens_per_s = throughput * requests.output_tokens
    peak = device.peak_ops[precision]
    metrics = {
        "output_tokens_per_s": tokens_per_s,
        "throughput_sps": throughput,
        "ttft_s": s.ttft_s,
        "tpot_s": s.tpot_s,
        "latency_s": latency,
        "batch": 1 if single else s.batch,  # single-stream: one request (its beams are its sequences)
        "kv_cache_bytes": s.holdings.kv_cache,
        "memory_per_device_bytes": s.holdings.total,
        "weight_bytes_per_device": s.holdings.weights,
        "parallelism": s.split.as_dict(),
        "count": scenario.count,
        "ops_total": workload.ops_per_sample,
        "ops_available_per_s": workload.ops_per_sample * throughput,
        "peak_ops_per_s": peak,
        "bound": s.bound,
        "utilization": workload.ops_per_sample * throughput / (peak * scenario.count),
        **_common(device, scenario.count),
    }
    power, cost = metrics["power_w"], metrics["hardware_cost_usd"]
    metrics["energy_per_sample_j"] = power / throughput if power else None
    metrics["samples_per_j"] = throughput / power if power else None
    metrics["samples_per_s_per_usd"] = throughput / cost if cost else None
    metrics["energy_per_token_j"] = power / tokens_per_s if power else None
    target_ttft, target_tpot = targets(scenario, requests)
    target_latency = scenario.latency_target or workload.latency_target
    if scenario.kind is ScenarioKind.SERVER:
        metrics["meets_target"] = (not target_ttft or s.ttft_s <= target_ttft) and \
            (not target_tpot or s.tpot_s <= target_tpot) and (not target_latency or latency <= target_latency)
    efficiency, efficiency_from = efficiency_for(device)
    held = s.holdings
    explain = [
        f"{workload.name}: {config.parameters() / 1e9:.4g}B parameters ({config.parameters(active=True) / 1e9:.4g}B "
        f"active), {config.layers} layers, {config.heads} heads / {config.key_value_heads} KV heads; requests of "
        f"{requests.input_tokens:g} input and {requests.output_tokens:g} output tokens"
        + (f", {requests.beams} beams" if requests.beams > 1 else "") + f" ({requests.dataset or 'fixed'})",
        f"split over {scenario.count} x {device.name}: {s.split}; per device {si_number(held.weights, 'B')} weights "
        f"+ {si_number(held.kv_cache, 'B')} KV cache ({s.batch} sequences held to completion, "
        f"{requests.input_tokens + requests.output_tokens:g} tokens each) + {si_number(held.activations, 'B')} "
        f"activations = "
        f"{si_number(held.total, 'B')} of "
        + (f"{_figure(device, 'memory_capacity', device.memory_capacity, 'B')} less {RUNTIME_RESERVE:.0%} reserve"
           if device.memory_capacity else "host memory"),
        f"{device.name}: {_figure(device, f'peak_ops.{precision}', peak, 'ops/s')} in {precision}, "
        f"{_figure(device, 'memory_bandwidth', device.memory_bandwidth, 'B/s')}; efficiencies {efficiency_from}",
        f"prefill of one request {duration(s.prefill_s)}; batched, {duration(s.prefill_per_request_s)} a request; "
        f"decode step of {s.batch} sequences {duration(s.step_s)} ({s.bound}-bound)",
        (f"TTFT = prefill + one step = {duration(s.ttft_s)}; TPOT = step + (requests in flight - 1) x prefill / "
         f"output tokens = {duration(s.tpot_s)}" if s.batch > requests.beams else
         f"TTFT = prefill = {duration(s.ttft_s)}; TPOT = step = {duration(s.tpot_s)} (no other request in flight)"),
        f"{si_number(tokens_per_s, 'tokens/s')} = {s.split.data} replicas x {s.batch} sequences / "
        f"({duration(s.prefill_per_request_s)} x {s.batch} / {requests.output_tokens:g} + {duration(s.step_s)}); "
        f"a request is in flight {duration(latency)}"
        if not single else f"one request alone: {duration(latency)} = TTFT + {requests.output_tokens - 1:g} x TPOT",
    ]
    if scenario.kind is ScenarioKind.SERVER:  # before the times it stretches
        explain.insert(-3, f"{defaults.server_load_note()}: every time below (prefill, step, TTFT, TPOT) is an "
                           f"unloaded device's / {defaults.SERVER_LOAD:.3g}")
    return Result(device.id, workload.id, scenario, _source(device), Status.OK, metrics, explain=tuple(explain))

