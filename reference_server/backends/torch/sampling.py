"""Sampling from masked logits: greedy at temperature 0, otherwise temperature + nucleus (top_p)
with one caller-supplied uniform number per row, so each sequence's own seeded RNG decides.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

GREEDY_BELOW = 1e-5  # temperatures this small are greedy (dividing by them overflows)
NUCLEUS_BUCKETS = 512  # log-probability buckets of the nucleus search (see _nucleus)
LOG_SPAN = 40.0
BLOCK = 32


def sample(
    logits: torch.Tensor,
    blocked: torch.Tensor,
    temperatures: Sequence[float],
    top_ps: Sequence[float],
    uniforms: Sequence[float],
) -> list[int]:
    """logits [n,V] float32 (overwritten), blocked [n,V] bool (True = not allowed; at least
    one False per row) -> n token ids."""
    masked = logits.masked_fill_(blocked, float("-inf"))
    out: list[int] = [0] * len(uniforms)
    greedy: list[int] = []
    plain: list[int] = []  # rows sampled from the whole (masked) distribution, as a batch
    for row, (temp, top_p, u) in enumerate(zip(temperatures, top_ps, uniforms, strict=True)):
        if temp < GREEDY_BELOW or top_p <= 0.0:
            greedy.append(row)
        elif top_p < 1.0:
            out[row] = _nucleus(torch.softmax(masked[row] / temp, dim=-1), top_p, u)
        else:
            plain.append(row)
    for row in greedy:
        out[row] = int(masked[row].argmax())  # per row: 2-D argmax is much slower on CPU
    if plain:
        rows = masked if len(plain) == len(out) else masked[plain]
        temps = torch.tensor([float(temperatures[r]) for r in plain], device=rows.device)[:, None]
        picks = _blocked_inverse_cdf(rows, temps, [float(uniforms[r]) for r in plain])
        for row, pick in zip(plain, picks, strict=True):
            out[row] = pick
    return out


def _blocked_inverse_cdf(rows: torch.Tensor, temps: torch.Tensor, uniforms: list[float]) -> list[int]:
    """Inverse-CDF sampling of softmax(rows / temps) without a full-vocabulary cumsum (slow on
    CPUs): a cumsum over sums of 32-token blocks picks the block, a 32-long one the token."""
    m, vocab = rows.shape
    pad = (-vocab) % BLOCK
    weights = rows.sub_(rows.amax(dim=-1, keepdim=True))
    if bool((temps != 1.0).any()):
        weights = weights.div_(temps)
    weights = weights.exp_()  # all in place: these passes over the vocabulary dominate
    if pad:
        weights = torch.nn.functional.pad(weights, (0, pad))
    blocks = weights.view(m, -1, BLOCK)
    block_cdf = torch.cumsum(blocks.sum(dim=-1).double(), dim=-1)
    targets = block_cdf[:, -1:] * torch.tensor(uniforms, dtype=torch.float64, device=rows.device)[:, None]
    chosen = torch.searchsorted(block_cdf, targets, right=True).clamp(max=block_cdf.shape[1] - 1)
    before = torch.where(chosen > 0, block_cdf.gather(1, (chosen - 1).clamp(min=0)), 0.0)
    inner = blocks[torch.arange(m, device=rows.device), chosen[:, 0]].double()  # [m, BLOCK]
    inner_cdf = before + torch.cumsum(inner, dim=-1)
    offsets = torch.searchsorted(inner_cdf, targets, right=True).clamp(max=BLOCK - 1)[:, 0].tolist()
    picks = []
    for r, (blk, off) in enumerate(zip(chosen[:, 0].tolist(), offsets, strict=True)):
        if float(inner[r, off]) <= 0.0:  # rounding pushed past the block's last live token
            off = int(torch.nonzero(inner[r]).max())
        picks.append(blk * BLOCK + off)
    return picks


def _inverse_cdf(probs: torch.Tensor, u: float) -> int:
    cdf = torch.cumsum(probs, dim=0)
    # right=True never lands on a zero-probability (disallowed) token.
    return int(torch.searchsorted(cdf, cdf[-1:] * u, right=True).clamp(max=cdf.numel() - 1))


def _nucleus(probs: torch.Tensor, top_p: float, u: float) -> int:
    """Sample among the most likely tokens whose combined mass first reaches top_p.

    Sorting 201088 probabilities per step is slow on a CPU. Instead tokens go into buckets of
    log-probability below the maximum; whole buckets join the nucleus from the top until the
    mass would pass top_p, and only the bucket where that happens is sorted. Tokens more than
    e^-LOG_SPAN below the most likely one share the last bucket (their mass is negligible)."""
    target = top_p * float(probs.sum())
    logp = torch.log(probs)
    bucket = ((float(logp.max()) - logp) * (NUCLEUS_BUCKETS / LOG_SPAN)).clamp(0, NUCLEUS_BUCKETS - 1)
    bucket = torch.nan_to_num(bucket, nan=NUCLEUS_BUCKETS - 1).long()
    mass = torch.zeros(NUCLEUS_BUCKETS, dtype=probs.dtype, device=probs.device).scatter_add_(0, bucket, probs)
    cum = torch.cumsum(mass, dim=0)
    edge = int(torch.searchsorted(cum, torch.tensor([target], dtype=cum.dtype, device=cum.device))
               .clamp(max=NUCLEUS_BUCKETS - 1))
    above = float(cum[edge - 1]) if edge > 0 else 0.0
    # Inside the edge bucket, take the largest tokens until the nucleus reaches top_p.
    members = torch.nonzero(bucket == edge).flatten()
    values, order = torch.sort(probs[members], descending=True)
    before = above + torch.cumsum(values, dim=0) - values
    chosen = members[order[before < target]]
    weights = torch.where(bucket < edge, probs, 0.0)
    weights[chosen] = probs[chosen]
    if float(weights.sum()) <= 0.0:
        return int(probs.argmax())
    return _inverse_cdf(weights, u)
