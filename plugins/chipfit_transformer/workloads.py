"""Workloads made of a transformer configuration: generation (requests) and training (a token budget).

A generation workload's sample is one request. Its ``operators`` state the request's cost coarsely
(every weight used once per token, attention over the growing context) so that listings, ``inspect``
and plain per-operator models have figures; :mod:`chipfit.model.generation` costs it properly from
the configuration (prefill, then decode steps that re-read the weights and the KV cache).
"""

from __future__ import annotations

import attrs

from chipfit.records import Operator, Phase, Workload
from chipfit.transformer import Requests, TokenBudget, TransformerConfig

from chipfit_transformer.configs import Model

#: Bytes per value of the precision the workloads state their bytes in (bf16).
_BF16 = 2.0

_DERIVED = ("derived from the configuration by chipfit_transformer: 2 FLOPs per weight per token, attention "
            "4 x layers x heads x head width x context per token (Kaplan et al., arXiv:2001.08361, Table 1)")

#: The request shape of a configuration-only workload: an assumption, not a data set's statistics
#: (MLPerf's shapes are the ``-openorca``/``-cnndm``/``-mlperf`` workloads).
DEFAULT_REQUESTS = Requests(input_tokens=1024, output_tokens=256, dataset="assumed: 1,024 in, 256 out")


def request_operators(config: TransformerConfig, requests: Requests) -> tuple[Operator, ...]:
    """One request's cost as operators, at bf16: the weight matmuls over all its tokens, and attention."""
    tokens = requests.input_tokens + requests.output_tokens * requests.beams  # the prompt is prefilled once
    weights = config.parameters() * _BF16
    mean_context = requests.input_tokens / 2  # prefill: a token attends to half the prompt on average
    attention_prefill = config.attention_flops_per_token(mean_context) * requests.input_tokens
    decode_context = requests.input_tokens + requests.output_tokens / 2
    attention_decode = config.attention_flops_per_token(decode_context) * requests.output_tokens
    kv_read = config.kv_values_per_token() * _BF16 * decode_context * requests.output_tokens
    return (
        Operator("MatMul", config.matmul_flops_per_token() * tokens, weight_bytes=weights,
                 activation_bytes=2 * config.hidden * _BF16 * tokens * config.layers, name="weights",
                 op_class="matmul"),
        Operator("Attention", attention_prefill + attention_decode * requests.beams,
                 activation_bytes=kv_read * requests.beams, name="attention", op_class="matmul"),
    )


def generation(model: Model, requests: Requests = DEFAULT_REQUESTS, *, ident: str | None = None,
               name: str | None = None, sources: dict | None = None, unconfirmed=(), notes: str = "") -> Workload:
    """An inference workload: the model serving requests of this shape."""
    return Workload(
        id=ident or model.id, name=name or model.name, domain="language: LLM", phase=Phase.INFERENCE,
        operators=request_operators(model.config, requests), parameters=float(model.config.parameters()),
        precision="bf16", batch=1, transformer=model.config, requests=requests,
        sources={**model.sources, "operators": _DERIVED, **(sources or {})}, unconfirmed=frozenset(unconfirmed),
        notes=notes or model.note or (f"requests: {requests.dataset}" if requests.dataset else ""),
    )


def training(model: Model, budget: TokenBudget, *, ident: str, name: str, sources: dict,
             unconfirmed=(), notes: str = "") -> Workload:
    """A training workload: the model trained on a token budget (one sample = one sequence)."""
    one_sequence = Requests(input_tokens=budget.sequence_length, output_tokens=1)
    return Workload(
        id=ident, name=name, domain="language: LLM", phase=Phase.TRAINING,
        operators=request_operators(model.config, one_sequence), parameters=float(model.config.parameters()),
        precision="bf16", batch=budget.global_batch, dataset_samples=budget.sequences, epochs=1.0,
        transformer=model.config, token_budget=budget, sources={**model.sources, "operators": _DERIVED, **sources},
        unconfirmed=frozenset(unconfirmed), notes=notes,
        derivations={"dataset_samples": f"{budget.tokens:.4g} tokens / {budget.sequence_length} tokens a sequence",
                     "epochs": "one pass over the token budget"},
    )


def with_requests(workload: Workload, requests: Requests) -> Workload:
    """The same model serving requests of another shape."""
    return attrs.evolve(workload, requests=requests, operators=request_operators(workload.transformer, requests))
