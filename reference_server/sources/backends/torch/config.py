"""Model configuration of the gpt-oss architecture: presets and `config.json` validation.

The field names are the gpt-oss `config.json` keys, so a checkpoint's config loads verbatim.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from reference_server.protocol.token_backend import BackendError

HARMONY_VOCAB = 201088


class ConfigError(BackendError):
    """A model configuration (preset options or `config.json`) is unusable."""


@dataclass(frozen=True)
class ModelConfig:
    num_hidden_layers: int
    num_experts: int
    experts_per_token: int
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    swiglu_limit: float
    head_dim: int
    num_attention_heads: int
    num_key_value_heads: int
    sliding_window: int
    initial_context_length: int
    rope_theta: float
    rope_scaling_factor: float
    rope_ntk_alpha: float
    rope_ntk_beta: float

    @property
    def q_per_kv(self) -> int:
        return self.num_attention_heads // self.num_key_value_heads

    @property
    def max_context(self) -> int:
        # YaRN stretches the trained context by the scaling factor.
        return int(self.initial_context_length * max(1.0, self.rope_scaling_factor))

    def is_sliding(self, layer: int) -> bool:
        """gpt-oss alternates: even layers use the sliding window, odd layers attend fully."""
        return self.sliding_window > 0 and layer % 2 == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> ModelConfig:
        positive = (
            "num_hidden_layers", "num_experts", "experts_per_token", "vocab_size", "hidden_size",
            "intermediate_size", "head_dim", "num_attention_heads", "num_key_value_heads",
            "initial_context_length",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"config: {name} must be a positive integer, got {getattr(self, name)}")
        if self.sliding_window < 0:
            raise ConfigError(f"config: sliding_window must be >= 0, got {self.sliding_window}")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ConfigError(
                f"config: num_attention_heads ({self.num_attention_heads}) must be a multiple of "
                f"num_key_value_heads ({self.num_key_value_heads})"
            )
        if self.experts_per_token > self.num_experts:
            raise ConfigError(
                f"config: experts_per_token ({self.experts_per_token}) exceeds num_experts "
                f"({self.num_experts})"
            )
        if self.head_dim % 2:
            raise ConfigError(f"config: head_dim must be even (rotary halves), got {self.head_dim}")
        if self.vocab_size < HARMONY_VOCAB:
            raise ConfigError(
                f"config: vocab_size {self.vocab_size} is smaller than the harmony vocabulary "
                f"({HARMONY_VOCAB})"
            )
        if self.rope_theta <= 1 or self.rope_scaling_factor <= 0 or self.swiglu_limit <= 0:
            raise ConfigError("config: rope_theta must be > 1, rope_scaling_factor and swiglu_limit > 0")
        if self.rope_scaling_factor > 1.0:
            low, high = yarn_band(self)
            if not 0 < low < high < self.head_dim / 2 - 1:
                raise ConfigError(
                    "config: YaRN band is empty for this head_dim / initial_context_length / "
                    f"rope_ntk_alpha / rope_ntk_beta (low={low:.2f}, high={high:.2f})"
                )
        return self


def yarn_band(cfg: ModelConfig) -> tuple[float, float]:
    """The rotary-dimension range over which YaRN blends interpolation into extrapolation."""
    half = cfg.head_dim / 2

    def dim_for(rotations: float) -> float:
        # The dimension whose wavelength fits `rotations` times into the trained context.
        return half * math.log(cfg.initial_context_length / (rotations * 2 * math.pi)) / math.log(cfg.rope_theta)

    return dim_for(cfg.rope_ntk_beta), dim_for(cfg.rope_ntk_alpha)


# Small enough to decode hundreds of tokens per second on one CPU core; the 201088 x hidden
# embedding and unembedding dominate, so hidden stays small.
PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(
        num_hidden_layers=2,
        num_experts=4,
        experts_per_token=2,
        vocab_size=HARMONY_VOCAB,
        hidden_size=64,
        intermediate_size=64,
        swiglu_limit=7.0,
        head_dim=32,
        num_attention_heads=4,
        num_key_value_heads=2,
        sliding_window=32,
        initial_context_length=4096,
        rope_theta=150000.0,
        rope_scaling_factor=32.0,
        rope_ntk_alpha=1.0,
        rope_ntk_beta=32.0,
    ),
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown model preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    data = PRESETS[name].to_dict() | overrides
    return config_from_dict(data, source=f"preset {name!r}")


_INT_FIELDS = {f.name for f in fields(ModelConfig) if f.type in ("int", int)}


def config_from_dict(data: Any, *, source: str = "config") -> ModelConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
    values: dict[str, Any] = {}
    for f in fields(ModelConfig):
        if f.name not in data:
            raise ConfigError(f"{source}: missing key {f.name!r}")
        raw = data[f.name]
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(f"{source}: {f.name} must be a number, got {raw!r}")
        if f.name in _INT_FIELDS:
            if isinstance(raw, float) and not raw.is_integer():
                raise ConfigError(f"{source}: {f.name} must be an integer, got {raw!r}")
            values[f.name] = int(raw)
        else:
            values[f.name] = float(raw)
    try:
        return ModelConfig(**values).validate()
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}".replace(f"{source}: config: ", f"{source}: ")) from None


def load_config(path: Path) -> ModelConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    return config_from_dict(data, source=str(path))
