"""MXFP4 dequantisation: blocks of 32 four-bit E2M1 values sharing one E8M0 power-of-two scale.

On disk a weight `[..., cols]` is `blocks` uint8 `[..., cols/32, 16]` (two values per byte, the
low nibble first) and `scales` uint8 `[..., cols/32]` (exponent + 127).
"""

from __future__ import annotations

import torch

BLOCK = 32
SCALE_BIAS = 127
# E2M1: sign bit, 2 exponent bits, 1 mantissa bit -> these 16 values by nibble.
E2M1_VALUES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0)


def dequantize(blocks: torch.Tensor, scales: torch.Tensor, dtype: torch.dtype = torch.float32,
               chunk_rows: int = 1 << 20) -> torch.Tensor:
    """blocks [..., G, 16] uint8 + scales [..., G] uint8 -> [..., G*32] of `dtype`."""
    if blocks.dtype != torch.uint8 or scales.dtype != torch.uint8:
        raise ValueError(f"MXFP4 blocks and scales must be uint8, got {blocks.dtype} and {scales.dtype}")
    if blocks.shape[-1] != BLOCK // 2 or blocks.shape[:-1] != scales.shape:
        raise ValueError(
            f"MXFP4 blocks shape {tuple(blocks.shape)} does not match scales shape {tuple(scales.shape)} "
            f"(expected blocks = scales + ({BLOCK // 2},))"
        )
    *lead, groups, half = blocks.shape
    rows = blocks.reshape(-1, half)
    exps = scales.reshape(-1).to(torch.int32) - SCALE_BIAS
    table = torch.tensor(E2M1_VALUES, dtype=torch.float32, device=blocks.device)
    out = torch.empty((rows.shape[0], BLOCK), dtype=dtype, device=blocks.device)
    # Chunked so a 20B-parameter checkpoint does not need int64 index copies of every weight.
    for start in range(0, rows.shape[0], chunk_rows):
        part = rows[start : start + chunk_rows]
        values = torch.empty((part.shape[0], BLOCK), dtype=torch.float32, device=blocks.device)
        values[:, 0::2] = table[(part & 0x0F).long()]
        values[:, 1::2] = table[(part >> 4).long()]
        values = torch.ldexp(values, exps[start : start + chunk_rows, None].to(torch.float32))
        out[start : start + chunk_rows] = values.to(dtype)
    return out.reshape(*lead, groups * BLOCK)
