"""Transformer language models described by their configuration, and the requests they serve.

A :class:`TransformerConfig` is the handful of numbers a model card or a Hugging Face
``config.json`` gives (layers, widths, heads, FFN kind, vocabulary, experts); from it follow the
parameter count, the key/value cache per token and the arithmetic of one token. A
:class:`Requests` record says what one request is (input and output tokens, beams) and a
:class:`TokenBudget` what a training run is (tokens, sequence length, global batch). These records
know no device; :mod:`chipfit.model.generation` and :mod:`chipfit.model.llm_training` cost them.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

__all__ = ["Requests", "TokenBudget", "TransformerConfig"]


def _whole(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{type(instance).__name__}: field {attribute.name!r} must be a whole number >= 1, "
                         f"got {value!r}")


def _whole_or_zero(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{type(instance).__name__}: field {attribute.name!r} must be a whole number >= 0, "
                         f"got {value!r}")


def _one_of(*choices: str):
    def check(instance: Any, attribute: attrs.Attribute, value: str) -> None:
        if value not in choices:
            raise ValueError(f"{type(instance).__name__}: field {attribute.name!r} must be one of "
                             f"{', '.join(choices)}, got {value!r}")

    return check


def _positive_number(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{type(instance).__name__}: field {attribute.name!r} must be a finite number > 0, "
                         f"got {value!r}")


@attrs.frozen
class TransformerConfig:
    """A decoder-only transformer's shape, as its model card or ``config.json`` states it.

    ``kv_heads`` below ``heads`` is grouped-query attention (1: multi-query); ``head_dim`` of 0
    means ``hidden // heads``. ``ffn_gated``: the FFN has gate, up and down projections (SwiGLU),
    else up and down (GELU). ``experts`` > 1 is a mixture of experts that routes each token to
    ``experts_per_token`` of them. ``parallel_block``: attention and FFN read the same normed input
    (GPT-J), so a block has one norm, not two. ``positional`` ``learned`` adds a table of
    ``max_positions`` embeddings; rotary positions have no parameters.
    """

    layers: int = attrs.field(validator=_whole)
    hidden: int = attrs.field(validator=_whole)
    heads: int = attrs.field(validator=_whole)
    ffn: int = attrs.field(validator=_whole)
    vocab: int = attrs.field(validator=_whole)
    kv_heads: int = attrs.field(default=0, validator=_whole_or_zero)
    head_dim: int = attrs.field(default=0, validator=_whole_or_zero)
    ffn_gated: bool = True
    tied_embeddings: bool = False
    experts: int = attrs.field(default=1, validator=_whole)
    experts_per_token: int = attrs.field(default=1, validator=_whole)
    norm: str = attrs.field(default="rmsnorm", validator=_one_of("rmsnorm", "layernorm"))
    positional: str = attrs.field(default="rope", validator=_one_of("rope", "learned", "alibi", "none"))
    max_positions: int = attrs.field(default=2048, validator=_whole)
    attention_bias: bool = False
    mlp_bias: bool = False
    lm_head_bias: bool = False
    parallel_block: bool = False

    def __attrs_post_init__(self) -> None:
        if self.kv_heads and self.heads % self.kv_heads:
            raise ValueError(f"TransformerConfig: field 'kv_heads' ({self.kv_heads}) must divide 'heads' "
                             f"({self.heads})")
        if self.experts_per_token > self.experts:
            raise ValueError(f"TransformerConfig: field 'experts_per_token' ({self.experts_per_token}) exceeds "
                             f"'experts' ({self.experts})")
        if not self.head_dim and self.hidden % self.heads:
            raise ValueError(f"TransformerConfig: 'hidden' ({self.hidden}) is not a multiple of 'heads' "
                             f"({self.heads}); give 'head_dim'")

    # --- shape --------------------------------------------------------------------------------

    @property
    def key_value_heads(self) -> int:
        """Key/value heads (``heads`` for plain multi-head attention)."""
        return self.kv_heads or self.heads

    @property
    def head_width(self) -> int:
        """Width of one attention head."""
        return self.head_dim or self.hidden // self.heads

    @property
    def moe(self) -> bool:
        """Whether the FFN is a mixture of experts."""
        return self.experts > 1

    # --- parameters ---------------------------------------------------------------------------

    def _norm_parameters(self) -> int:
        return self.hidden * (2 if self.norm == "layernorm" else 1)  # scale (and bias)

    def attention_parameters(self) -> int:
        """Parameters of one layer's attention: Q, K, V and output projections (and biases)."""
        q = self.heads * self.head_width
        kv = self.key_value_heads * self.head_width
        weights = self.hidden * (q + 2 * kv) + q * self.hidden
        biases = (q + 2 * kv + self.hidden) if self.attention_bias else 0
        return weights + biases

    def expert_parameters(self) -> int:
        """Parameters of one FFN (one expert of a mixture): up/gate/down projections and biases."""
        matrices = 3 if self.ffn_gated else 2
        weights = matrices * self.hidden * self.ffn
        biases = ((matrices - 1) * self.ffn + self.hidden) if self.mlp_bias else 0
        return weights + biases

    def router_parameters(self) -> int:
        """Parameters of one layer's expert router (0 for a dense FFN)."""
        return self.hidden * self.experts if self.moe else 0

    def layer_parameters(self, *, active: bool = False) -> int:
        """Parameters of one decoder layer; ``active``: only the experts one token uses."""
        experts = self.experts_per_token if active else self.experts
        norms = (1 if self.parallel_block else 2) * self._norm_parameters()
        return self.attention_parameters() + experts * self.expert_parameters() + self.router_parameters() + norms

    def embedding_parameters(self) -> int:
        """The token embedding table (plus a learned position table)."""
        positions = self.max_positions * self.hidden if self.positional == "learned" else 0
        return self.vocab * self.hidden + positions

    def head_parameters(self) -> int:
        """The output projection to the vocabulary (0 when tied to the embedding) and the final norm."""
        head = 0 if self.tied_embeddings else self.vocab * self.hidden + (self.vocab if self.lm_head_bias else 0)
        return head + self._norm_parameters()

    def parameters(self, *, active: bool = False) -> int:
        """Every parameter of the model (``active``: those one token uses, for a mixture of experts)."""
        return (self.embedding_parameters() + self.layers * self.layer_parameters(active=active)
                + self.head_parameters())

    # --- per token ----------------------------------------------------------------------------

    def kv_values_per_token(self) -> int:
        """Values of key/value cache one token adds: 2 (K and V) x layers x KV heads x head width."""
        return 2 * self.layers * self.key_value_heads * self.head_width

    def matmul_flops_per_token(self) -> float:
        """Multiply-add FLOPs (2 per weight) of one token through the weights it uses, the vocabulary
        projection included (the embedding lookup is a gather: no FLOPs)."""
        matrix_weights = self.parameters(active=True) - self.embedding_parameters()
        if self.tied_embeddings:
            matrix_weights += self.vocab * self.hidden  # the tied table is also the output projection
        return 2.0 * matrix_weights

    def attention_flops_per_token(self, context: float) -> float:
        """FLOPs of one token attending over ``context`` positions: QK^T and the weighted sum of V,
        2 x 2 x heads x head width x context per layer."""
        return 4.0 * self.layers * self.heads * self.head_width * context


@attrs.frozen
class Requests:
    """What one generation request is: its input and output tokens (means over a data set, or fixed)
    and beams. ``input_max``/``output_max`` bound the KV cache a request may need; 0 means the mean.
    ``ttft_target``/``tpot_target`` (seconds): the benchmark's own server limits, used when a scenario
    names none."""

    input_tokens: float = attrs.field(validator=_positive_number)
    output_tokens: float = attrs.field(validator=_positive_number)
    beams: int = attrs.field(default=1, validator=_whole)
    input_max: int = attrs.field(default=0, validator=_whole_or_zero)
    output_max: int = attrs.field(default=0, validator=_whole_or_zero)
    dataset: str = ""
    ttft_target: float | None = None
    tpot_target: float | None = None

    @property
    def context_max(self) -> float:
        """The longest context a request reaches (input plus output), for sizing its KV cache."""
        return (self.input_max or self.input_tokens) + (self.output_max or self.output_tokens)


@attrs.frozen
class TokenBudget:
    """A training run of a language model: ``tokens`` in total, in sequences of ``sequence_length``,
    ``global_batch`` sequences per optimizer step. ``trainable_fraction`` below 1 is fine-tuning of
    adapters (LoRA): the frozen weights need no gradients or optimizer state."""

    tokens: float = attrs.field(validator=_positive_number)
    sequence_length: int = attrs.field(validator=_whole)
    global_batch: int = attrs.field(validator=_whole)
    trainable_fraction: float = attrs.field(default=1.0, validator=_positive_number)

    @property
    def sequences(self) -> float:
        """Sequences the run trains on."""
        return self.tokens / self.sequence_length

    @property
    def steps(self) -> float:
        """Optimizer steps."""
        return self.sequences / self.global_batch
