"""Cached forward passes: prefill a slot's prompt chunk, or decode one token for every active slot.

Both return final-normed hidden states; the caller turns only the rows it needs into logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .cache import SlotKVCache
from .model import GptOss


@torch.inference_mode()
def prefill(model: GptOss, cache: SlotKVCache, slot: int, tokens: Sequence[int]) -> torch.Tensor:
    """Append `tokens` to `slot`'s sequence; returns the hidden state of the last one [H]."""
    p0 = cache.lengths[slot]
    t = len(tokens)
    cache.ensure_capacity(p0 + t)
    toks = torch.tensor([list(tokens)], device=model.device)
    positions = torch.arange(p0, p0 + t, device=model.device)[None]

    def kv(layer: int, k: torch.Tensor, v: torch.Tensor, _pos: torch.Tensor):
        return cache.prefill_layer(layer, slot, k, v, p0)

    hidden = model.hidden(toks, positions, kv)
    cache.lengths[slot] = p0 + t
    return hidden[0, -1]


@torch.inference_mode()
def decode(model: GptOss, cache: SlotKVCache, slots: Sequence[int], tokens: Sequence[int]) -> torch.Tensor:
    """Feed tokens[i] to slots[i] (one token each, batched); returns hidden [n,H]."""
    n = len(tokens)
    lengths = [cache.lengths[s] for s in slots]
    cache.ensure_capacity(max(lengths) + 1)
    toks = torch.tensor(list(tokens), device=model.device)[:, None]
    pos = torch.tensor(lengths, device=model.device)
    rows = torch.tensor(list(slots), device=model.device)
    contiguous = list(slots) == list(range(n))

    def kv(layer: int, k: torch.Tensor, v: torch.Tensor, _pos: torch.Tensor):
        return cache.decode_layer(layer, rows, k, v, pos, contiguous)

    hidden = model.hidden(toks, pos[:, None], kv)
    for s in slots:
        cache.lengths[s] += 1
    return hidden[:, 0]
