"""Load a gpt-oss checkpoint directory (`config.json` + `*.safetensors`, public tensor names,
MXFP4 expert weights) into `GptOss`, checking every tensor's presence, dtype and shape first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from reference_server.protocol.token_backend import BackendError

from .config import ModelConfig, load_config
from .model import GptOss
from .mxfp4 import BLOCK, dequantize


class CheckpointError(BackendError):
    """The checkpoint directory is missing, partial or inconsistent with its config."""


@dataclass(frozen=True)
class TensorSpec:
    name: str  # the parameter it fills
    shape: tuple[int, ...]  # the parameter's (dequantised) shape
    mxfp4: bool = False


def expected_tensors(cfg: ModelConfig) -> list[TensorSpec]:
    h, v, e, i = cfg.hidden_size, cfg.vocab_size, cfg.num_experts, cfg.intermediate_size
    d, hq, hkv = cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
    specs = [TensorSpec("embedding.weight", (v, h))]
    for n in range(cfg.num_hidden_layers):
        p = f"block.{n}"
        specs += [
            TensorSpec(f"{p}.attn.norm.scale", (h,)),
            TensorSpec(f"{p}.attn.qkv.weight", ((hq + 2 * hkv) * d, h)),
            TensorSpec(f"{p}.attn.qkv.bias", ((hq + 2 * hkv) * d,)),
            TensorSpec(f"{p}.attn.sinks", (hq,)),
            TensorSpec(f"{p}.attn.out.weight", (h, hq * d)),
            TensorSpec(f"{p}.attn.out.bias", (h,)),
            TensorSpec(f"{p}.mlp.norm.scale", (h,)),
            TensorSpec(f"{p}.mlp.gate.weight", (e, h)),
            TensorSpec(f"{p}.mlp.gate.bias", (e,)),
            TensorSpec(f"{p}.mlp.mlp1_weight", (e, 2 * i, h), mxfp4=True),
            TensorSpec(f"{p}.mlp.mlp1_bias", (e, 2 * i)),
            TensorSpec(f"{p}.mlp.mlp2_weight", (e, h, i), mxfp4=True),
            TensorSpec(f"{p}.mlp.mlp2_bias", (e, h)),
        ]
    specs += [TensorSpec("norm.scale", (h,)), TensorSpec("unembedding.weight", (v, h))]
    return specs


def resolve_dir(path: str | Path) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise CheckpointError(f"checkpoint directory {root} does not exist")
    if not root.is_dir():
        raise CheckpointError(f"checkpoint {root} is not a directory (expected config.json + *.safetensors)")
    # Hugging Face gpt-oss repositories keep this format under original/.
    if not (root / "config.json").is_file() and (root / "original" / "config.json").is_file():
        root = root / "original"
    if not (root / "config.json").is_file():
        raise CheckpointError(f"checkpoint {root} has no config.json")
    return root


class _TensorIndex:
    """Which safetensors file holds which tensor (reads headers only)."""

    def __init__(self, root: Path) -> None:
        from safetensors import safe_open

        self._open = safe_open
        self.files = sorted(root.glob("*.safetensors"))
        if not self.files:
            raise CheckpointError(f"checkpoint {root} has no *.safetensors files")
        self.where: dict[str, Path] = {}
        for file in self.files:
            try:
                with safe_open(str(file), framework="pt") as fh:
                    for key in fh.keys():  # noqa: SIM118 - safe_open is not a mapping
                        self.where[key] = file
            except Exception as exc:  # safetensors raises its own error types
                raise CheckpointError(f"cannot read {file.name}: {exc}") from None

    def get(self, name: str) -> torch.Tensor:
        if name not in self.where:
            raise CheckpointError(f"checkpoint is missing tensor {name!r}")
        with self._open(str(self.where[name]), framework="pt") as fh:
            return fh.get_tensor(name)

    def shape(self, name: str) -> tuple[int, ...]:
        if name not in self.where:
            raise CheckpointError(f"checkpoint is missing tensor {name!r}")
        with self._open(str(self.where[name]), framework="pt") as fh:
            return tuple(fh.get_slice(name).get_shape())


def _check_shapes(index: _TensorIndex, cfg: ModelConfig) -> None:
    """Fail before loading anything: every tensor present with the shape the config implies."""
    for spec in expected_tensors(cfg):
        if spec.mxfp4:
            *lead, cols = spec.shape
            if cols % BLOCK:
                raise CheckpointError(
                    f"{spec.name}: {cols} columns is not a multiple of the MXFP4 block size {BLOCK}"
                )
            want = {
                f"{spec.name}.blocks": (*lead, cols // BLOCK, BLOCK // 2),
                f"{spec.name}.scales": (*lead, cols // BLOCK),
            }
        else:
            want = {spec.name: spec.shape}
        for name, shape in want.items():
            got = index.shape(name)
            if got != shape:
                raise CheckpointError(
                    f"tensor {name!r} has shape {list(got)}, expected {list(shape)} for the "
                    f"config (hidden_size={cfg.hidden_size}, num_experts={cfg.num_experts}, "
                    f"intermediate_size={cfg.intermediate_size}, head_dim={cfg.head_dim})"
                )


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu",
                    dtype: torch.dtype = torch.float32) -> GptOss:
    root = resolve_dir(path)
    cfg = load_config(root / "config.json")
    index = _TensorIndex(root)
    _check_shapes(index, cfg)
    model = GptOss(cfg, device=device, dtype=dtype)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for spec in expected_tensors(cfg):
            if spec.mxfp4:
                blocks = index.get(f"{spec.name}.blocks")
                scales = index.get(f"{spec.name}.scales")
                try:
                    value = dequantize(blocks, scales, dtype=dtype)
                except ValueError as exc:
                    raise CheckpointError(f"{spec.name}: {exc}") from None
            else:
                value = index.get(spec.name)
                if value.dtype in (torch.uint8, torch.int8, torch.int32, torch.int64, torch.bool):
                    raise CheckpointError(
                        f"tensor {spec.name!r} has integer dtype {value.dtype}; expected floating point"
                    )
            params[spec.name].copy_(value.to(device=params[spec.name].device, dtype=params[spec.name].dtype))
    return model
