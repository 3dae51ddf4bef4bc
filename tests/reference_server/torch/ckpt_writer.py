"""Writes a model in the gpt-oss on-disk format (config.json + safetensors, bf16 tensors, MXFP4
expert weights), independently of the loader, so the loader is tested against a second reading
of the format rather than against itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from reference_server.sources.backends.torch.model import GptOss

FP4_MAGNITUDES = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


def quantize_mxfp4(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[..., C] float -> (blocks uint8 [..., C/32, 16], scales uint8 [..., C/32], the values the
    blocks encode [..., C] float32)."""
    *lead, cols = weight.shape
    groups = weight.float().reshape(*lead, cols // 32, 32)
    amax = groups.abs().amax(dim=-1)
    # The smallest power of two that brings the group's largest magnitude within E2M1's 6.0.
    exponent = torch.where(amax > 0, torch.ceil(torch.log2(amax / 6.0)), torch.zeros_like(amax))
    exponent = exponent.clamp(-127, 127)
    scaled = groups / torch.pow(2.0, exponent)[..., None]
    index = (scaled.abs()[..., None] - FP4_MAGNITUDES).abs().argmin(dim=-1)
    negative = scaled < 0
    nibbles = (index | (negative.long() << 3)).to(torch.uint8)
    blocks = nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)
    values = FP4_MAGNITUDES[index] * torch.where(negative, -1.0, 1.0) * torch.pow(2.0, exponent)[..., None]
    scales = (exponent + 127).to(torch.uint8)
    return blocks, scales, values.reshape(*lead, cols)


def snap_to_disk_precision(model: GptOss) -> None:
    """Round the in-memory model the way the writer stores it (bf16, MXFP4 experts)."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(("mlp1_weight", "mlp2_weight")):
                param.copy_(quantize_mxfp4(param)[2])
            else:
                param.copy_(param.to(torch.bfloat16).float())


def checkpoint_tensors(model: GptOss) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        if name.endswith(("mlp1_weight", "mlp2_weight")):
            blocks, scales, _ = quantize_mxfp4(param.detach())
            out[f"{name}.blocks"] = blocks.contiguous()
            out[f"{name}.scales"] = scales.contiguous()
        else:
            out[name] = param.detach().to(torch.bfloat16).contiguous()
    return out


def write_checkpoint(model: GptOss, folder: Path, *, drop: tuple[str, ...] = (),
                     replace: dict[str, torch.Tensor] | None = None,
                     config: dict | None = None) -> Path:
    """Write `model` to `folder`: embeddings in one file, the blocks in another (the loader
    must merge files)."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = checkpoint_tensors(model)
    tensors.update(replace or {})
    for name in drop:
        tensors.pop(name)
    embed = {k: v for k, v in tensors.items() if not k.startswith("block.")}
    blocks = {k: v for k, v in tensors.items() if k.startswith("block.")}
    save_file(embed, str(folder / "model-00001.safetensors"))
    save_file(blocks, str(folder / "model-00002.safetensors"))
    (folder / "config.json").write_text(json.dumps(config if config is not None else model.cfg.to_dict()))
    return folder
