"""Sampling: inverse-CDF sampling over a uniform grid reproduces the masked, tempered softmax
exactly (a deterministic quadrature instead of a statistical test); nucleus keeps the head."""

from __future__ import annotations

import pytest
import torch

from reference_server.backends.torch.sampling import sample

N = 4000


def _counts(logits: torch.Tensor, blocked: torch.Tensor, temp: float, top_p: float) -> torch.Tensor:
    grid = [(k + 0.5) / N for k in range(N)]
    vocab = logits.shape[0]
    counts = torch.zeros(vocab)
    for chunk in range(0, N, 500):
        us = grid[chunk : chunk + 500]
        rows = logits.repeat(len(us), 1)
        picks = sample(rows, blocked.repeat(len(us), 1), [temp] * len(us), [top_p] * len(us), us)
        counts += torch.bincount(torch.tensor(picks), minlength=vocab).float()
    return counts / N


@pytest.mark.parametrize("vocab", [96, 101])  # a whole number of 32-blocks, and not
@pytest.mark.parametrize("temp", [1.0, 0.5])
def test_inverse_cdf_matches_the_distribution(vocab: int, temp: float) -> None:
    logits = torch.randn(vocab, generator=torch.Generator().manual_seed(vocab)) * 2
    blocked = torch.zeros(vocab, dtype=torch.bool)
    blocked[::3] = True
    expected = torch.softmax(logits.masked_fill(blocked, float("-inf")) / temp, dim=-1)
    got = _counts(logits, blocked, temp, 1.0)
    assert torch.all(got[blocked] == 0)
    assert (got - expected).abs().max() <= 2.0 / N + 1e-6


def test_nucleus_keeps_only_the_head() -> None:
    logits = torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0, -1.0] + [-8.0] * 58)
    blocked = torch.zeros(64, dtype=torch.bool)
    probs = torch.softmax(logits, dim=-1)
    head = int((torch.cumsum(probs, 0) - probs < 0.8).sum())
    got = _counts(logits, blocked, 1.0, 0.8)
    assert set(torch.nonzero(got).flatten().tolist()) == set(range(head))
    renormed = probs[:head] / probs[:head].sum()
    assert (got[:head] - renormed).abs().max() <= 2.0 / N + 1e-6


def test_greedy_ignores_blocked_maximum() -> None:
    logits = torch.tensor([[0.0, 9.0, 1.0], [5.0, 1.0, 2.0]])
    blocked = torch.tensor([[False, True, False], [False, False, False]])
    assert sample(logits, blocked, [0.0, 0.0], [1.0, 1.0], [0.3, 0.3]) == [2, 0]
