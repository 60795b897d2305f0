"""A Hugging Face ``config.json`` read from disk as a :class:`TransformerConfig` (nothing is downloaded).

Understands the keys of the Llama/Mistral/Mixtral/Qwen family (``num_hidden_layers``,
``hidden_size``, ``intermediate_size``, ``num_key_value_heads`` ...) and of GPT-2/GPT-J
(``n_layer``, ``n_embd``, ``n_inner`` ...). A missing or mistyped key is an error naming the file
and the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chipfit.errors import ChipfitError
from chipfit.transformer import TransformerConfig

#: model_type values whose FFN is ungated GELU with biases and LayerNorm (GPT-2 style).
_GPT_STYLE = {"gpt2", "gptj", "gpt_neox", "gpt_neo", "opt", "bloom", "falcon", "gpt_bigcode"}


class ConfigError(ChipfitError):
    """A config.json that does not describe a transformer chipfit can cost."""


def _get(config: dict, where: str, *names: str, default: Any = None, kind: type = int) -> Any:
    for name in names:
        if name in config and config[name] is not None:
            value = config[name]
            if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{where}: key {name!r} must be a whole number, got {value!r}")
            if kind is bool and not isinstance(value, bool):
                raise ConfigError(f"{where}: key {name!r} must be true or false, got {value!r}")
            return value
    if default is None:
        raise ConfigError(f"{where}: missing key {' or '.join(repr(n) for n in names)}")
    return default


def parse(config: Any, where: str = "config.json") -> TransformerConfig:
    """The configuration a parsed ``config.json`` describes.

    :raises ConfigError: a required key is missing or mistyped, or the shape is inconsistent.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(config).__name__}")
    model_type = str(config.get("model_type", ""))
    gpt = model_type in _GPT_STYLE
    hidden = _get(config, where, "hidden_size", "n_embd", "d_model")
    heads = _get(config, where, "num_attention_heads", "n_head")
    ffn = _get(config, where, "intermediate_size", "n_inner", "ffn_dim", default=4 * hidden if gpt else None)
    experts = _get(config, where, "num_local_experts", "num_experts", "n_routed_experts", default=1)
    try:
        return TransformerConfig(
            layers=_get(config, where, "num_hidden_layers", "n_layer", "num_layers"),
            hidden=hidden,
            heads=heads,
            kv_heads=_get(config, where, "num_key_value_heads", default=heads),
            head_dim=_get(config, where, "head_dim", default=0),
            ffn=ffn,
            vocab=_get(config, where, "vocab_size"),
            ffn_gated=not gpt,
            tied_embeddings=_get(config, where, "tie_word_embeddings", default=gpt and model_type != "gptj",
                                 kind=bool),
            experts=experts,
            experts_per_token=_get(config, where, "num_experts_per_tok", "moe_topk", default=1),
            norm="layernorm" if gpt else "rmsnorm",
            positional="learned" if model_type in {"gpt2", "opt", "gpt_bigcode"} else "rope",
            max_positions=_get(config, where, "max_position_embeddings", "n_positions", "n_ctx", default=2048),
            attention_bias=_get(config, where, "attention_bias", default=model_type in {"gpt2", "opt"}, kind=bool),
            mlp_bias=_get(config, where, "mlp_bias", default=gpt, kind=bool),
            lm_head_bias=model_type == "gptj",
            parallel_block=model_type == "gptj",
        )
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None


def load(path: str | Path) -> tuple[TransformerConfig, dict]:
    """Read a ``config.json`` file: its configuration and the raw JSON.

    :raises ConfigError: the file cannot be read, is not JSON, or does not describe a transformer.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}, line {error.lineno}: not valid JSON: {error.msg}") from None
    return parse(data, str(path)), data
