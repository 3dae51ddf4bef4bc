"""Sampling: inverse-CDF sampling over a uniform grid reproduces the masked, tempered softmax
exactly (a deterministic quadrature instead of a statistical test), nucleus keeps exactly the
head, and a row's token never depends on the other rows of the batch. Every property is checked
on both paths: the whole-vocabulary one (dense) and logits of the allowed tokens only (sparse)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reference_server.sources.backends.torch.sampling import (
    LogitsTable,
    ModelHeads,
    Sampler,
    allowed_counts,
    pack_allowed,
)

N = 4000
PATHS = {"dense": 0, "sparse": 1 << 30}  # sparse_limit: 0 = always the whole vocabulary


def _counts(logits: torch.Tensor, blocked: torch.Tensor, temp: float, top_p: float, path: str,
            subsets: tuple[np.ndarray, ...] = ()) -> torch.Tensor:
    """Token frequencies over a uniform grid of N draws."""
    grid = [(k + 0.5) / N for k in range(N)]
    vocab = logits.shape[0]
    sampler = Sampler(vocab, 500, sparse_limit=PATHS[path], subsets=subsets)
    counts = torch.zeros(vocab)
    for chunk in range(0, N, 500):
        us = grid[chunk : chunk + 500]
        table = LogitsTable(logits.repeat(len(us), 1))
        words = pack_allowed(~blocked.repeat(len(us), 1).numpy())
        picks = sampler.sample(table, words, [temp] * len(us), [top_p] * len(us), us)
        counts += torch.bincount(torch.tensor(picks), minlength=vocab).float()
    return counts / N


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("vocab", [96, 101])  # a whole number of 32-blocks, and not
@pytest.mark.parametrize("temp", [1.0, 0.5, 5000.0])  # 5000: a dense mask's 10^4 offset shrinks to 2
def test_inverse_cdf_matches_the_distribution(vocab: int, temp: float, path: str) -> None:
    logits = torch.randn(vocab, generator=torch.Generator().manual_seed(vocab)) * 2
    blocked = torch.zeros(vocab, dtype=torch.bool)
    blocked[::3] = True
    expected = torch.softmax(logits.masked_fill(blocked, float("-inf")) / temp, dim=-1)
    got = _counts(logits, blocked, temp, 1.0, path)
    assert torch.all(got[blocked] == 0)
    assert (got - expected).abs().max() <= 2.0 / N + 1e-6


@pytest.mark.parametrize("temp", [1.0, 0.5])
@pytest.mark.parametrize("top_p", [1.0, 0.7])
def test_rows_inside_a_subset_sample_the_same_distribution(temp: float, top_p: float) -> None:
    """A row whose allowed tokens lie in a registered sub-vocabulary is sampled over that subset's
    columns (some of them blocked): same masked, tempered distribution, blocked tokens never."""
    vocab = 101
    logits = torch.randn(vocab, generator=torch.Generator().manual_seed(11)) * 2
    ids = np.arange(vocab)
    blocked = torch.from_numpy(ids % 3 == 0)
    subset = ids[(ids % 3 != 0) | (ids % 6 == 0)]  # the allowed tokens and some blocked ones
    elsewhere = ids[ids % 2 == 0]  # a smaller subset that does not hold the row: never used
    probs = torch.softmax(logits.masked_fill(blocked, float("-inf")) / temp, dim=-1)
    values, order = torch.sort(probs, descending=True)
    head = order[: int((torch.cumsum(values, 0) - values < top_p).sum())]
    expected = torch.zeros(vocab)
    expected[head] = probs[head] / probs[head].sum()
    got = _counts(logits, blocked, temp, top_p, "dense", subsets=(subset, elsewhere))
    assert torch.all(got[blocked] == 0)
    assert (got - expected).abs().max() <= 2.0 / N + 1e-6
    assert got.sum().item() == pytest.approx(1.0)


def test_subset_rows_pick_what_the_whole_vocabulary_picks(tiny_model: torch.nn.Module) -> None:
    """The real unembedding over a subset's gathered weights: greedy rows pick the masked argmax
    of the model's own logits, mixed with rows outside the subset in one batch; a batch gives
    each row what it gets alone."""
    vocab = tiny_model.cfg.vocab_size
    rng = np.random.default_rng(2)
    subset = np.flatnonzero(rng.random(vocab) < 0.3)
    rows = 6
    allowed = np.zeros((rows, vocab), dtype=bool)
    allowed[:, subset] = True
    allowed[1, subset[::7]] = False  # a subset row with some of the subset blocked
    allowed[3] = True  # outside the subset: the whole vocabulary
    allowed[3, 199998:] = False
    words = pack_allowed(allowed)
    hidden = torch.randn(rows, tiny_model.cfg.hidden_size, generator=torch.Generator().manual_seed(9))
    temps, top_ps = [0.0, 0.0, 1.0, 0.0, 0.8, 1.0], [1.0, 1.0, 1.0, 1.0, 0.9, 0.5]
    sampler = Sampler(vocab, rows, subsets=(subset,))
    uniforms = [float(u) for u in rng.random(rows)]
    heads = _SpyHeads(tiny_model, hidden)
    together = sampler.sample(heads, words, temps, top_ps, uniforms)
    assert sorted(heads.calls) == [(1, None), (5, subset.size)]  # one matmul per space
    for r in (0, 1, 3):
        full = tiny_model.logits(hidden[r]).masked_fill(torch.from_numpy(~allowed[r]), float("-inf"))
        assert together[r] == int(full.argmax())
    assert all(allowed[r, t] for r, t in enumerate(together))
    back = sampler.sample(ModelHeads(tiny_model, hidden.flip(0)), words[::-1].copy(), temps[::-1],
                          top_ps[::-1], uniforms[::-1])
    assert back[::-1] == together


class _SpyHeads(ModelHeads):
    """Records (rows, subset size or None) of every dense unembedding."""

    def __init__(self, model: torch.nn.Module, hidden: torch.Tensor) -> None:
        super().__init__(model, hidden)  # type: ignore[arg-type]
        self.calls: list[tuple[int, int | None]] = []

    def dense(self, rows, out, ids=None):  # type: ignore[no-untyped-def]
        self.calls.append((len(rows), None if ids is None else int(ids.shape[0])))
        return super().dense(rows, out, ids)


def test_subsets_must_lie_in_the_vocabulary() -> None:
    sampler = Sampler(10, 1)
    with pytest.raises(ValueError, match="inside the vocabulary"):
        sampler.add_subset(np.array([3, 10]))
    with pytest.raises(ValueError, match="non-empty"):
        sampler.add_subset(np.zeros(10, dtype=bool))


@pytest.mark.parametrize("path", PATHS)
def test_nucleus_keeps_only_the_head(path: str) -> None:
    logits = torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0, -1.0] + [-8.0] * 58)
    blocked = torch.zeros(64, dtype=torch.bool)
    probs = torch.softmax(logits, dim=-1)
    head = int((torch.cumsum(probs, 0) - probs < 0.8).sum())
    got = _counts(logits, blocked, 1.0, 0.8, path)
    assert set(torch.nonzero(got).flatten().tolist()) == set(range(head))
    renormed = probs[:head] / probs[:head].sum()
    assert (got[:head] - renormed).abs().max() <= 2.0 / N + 1e-6


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("top_p", [0.3, 0.9])
def test_nucleus_spanning_many_buckets_is_exact(path: str, top_p: float) -> None:
    # Spread-out logits put the nucleus over many exponent buckets, with masked tokens among them.
    vocab = 700
    logits = torch.randn(vocab, generator=torch.Generator().manual_seed(7)) * 2.5
    blocked = torch.zeros(vocab, dtype=torch.bool)
    blocked[torch.argsort(logits, descending=True)[1:40:4]] = True  # a few of the likeliest
    probs = torch.softmax(logits.masked_fill(blocked, float("-inf")) / 0.8, dim=-1)
    values, order = torch.sort(probs, descending=True)
    head = order[: int((torch.cumsum(values, 0) - values < top_p).sum())]
    expected = torch.zeros(vocab)
    expected[head] = probs[head] / probs[head].sum()
    got = _counts(logits, blocked, 0.8, top_p, path)
    assert set(torch.nonzero(got).flatten().tolist()) <= set(head.tolist())
    assert (got - expected).abs().max() <= 2.0 / N + 1e-6


@pytest.mark.parametrize("path", PATHS)
def test_greedy_ignores_blocked_maximum(path: str) -> None:
    logits = torch.tensor([[0.0, 9.0, 1.0], [5.0, 1.0, 2.0]])
    allowed = np.array([[True, False, True], [True, True, True]])
    sampler = Sampler(3, 2, sparse_limit=PATHS[path])
    assert sampler.sample(LogitsTable(logits), pack_allowed(allowed), [0.0, 0.7], [1.0, 0.0], [0.3, 0.3]) == [2, 0]


def test_forced_and_dead_rows() -> None:
    sampler = Sampler(70, 2, sparse_limit=0)
    only = np.zeros((1, 70), dtype=bool)
    only[0, 65] = True
    logits = LogitsTable(torch.zeros(1, 70))
    assert sampler.sample(logits, pack_allowed(only), [1.0], [1.0], [0.99]) == [65]
    with pytest.raises(ValueError, match="allows no token"):
        sampler.sample(logits, pack_allowed(np.zeros((1, 70), dtype=bool)), [1.0], [1.0], [0.5])


# Mixed settings in one batch: greedy, plain at several temperatures, nucleus.
SETTINGS = [(0.0, 1.0), (1.0, 1.0), (0.7, 1.0), (1.3, 0.9), (1.0, 0.5), (0.5, 0.0), (2.0, 1.0), (0.9, 0.95)]


def _mixed_masks(vocab: int, rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    allowed = rng.random((rows, vocab)) < 0.9  # dense rows: most tokens allowed
    for r in range(1, rows, 3):  # every third row allows only a few tokens
        allowed[r] = False
        allowed[r, rng.choice(vocab, 40, replace=False)] = True
    return allowed


# All rows dense, or some sparse; all rows' passes together, or 3 rows at a time.
@pytest.mark.parametrize(("sparse_limit", "group"), [(0, 1000), (64, 1000), (0, 3), (64, 3)])
def test_batched_rows_sample_as_if_alone(sparse_limit: int, group: int) -> None:
    vocab, rows = 3000, len(SETTINGS)
    logits = torch.randn(rows, vocab, generator=torch.Generator().manual_seed(3)) * 3
    words = pack_allowed(_mixed_masks(vocab, rows, 4))
    temps, top_ps = [s[0] for s in SETTINGS], [s[1] for s in SETTINGS]
    sampler = Sampler(vocab, rows, sparse_limit=sparse_limit, cache_bytes=group * 3008 * 4)
    for trial in range(5):
        uniforms = [float(u) for u in np.random.default_rng(trial).random(rows)]
        together = sampler.sample(LogitsTable(logits), words, temps, top_ps, uniforms)
        alone = [sampler.sample(LogitsTable(logits[r : r + 1]), words[r : r + 1], temps[r : r + 1],
                                top_ps[r : r + 1], uniforms[r : r + 1])[0] for r in range(rows)]
        assert together == alone
        # Reversed batch order: same tokens per row.
        back = sampler.sample(LogitsTable(logits.flip(0)), words[::-1].copy(), temps[::-1], top_ps[::-1],
                              uniforms[::-1])
        assert back[::-1] == together
        allowed = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :vocab]
        assert all(allowed[r, t] for r, t in enumerate(together))


def test_model_rows_sample_independently(tiny_model: torch.nn.Module) -> None:
    """The real unembedding: each row of a batch of hidden states gets the same token whatever
    the order of the batch. (Exactly "as if alone" is checked above on given logits: a matmul of
    one row rounds differently from one of several, and that difference is the model's.)"""
    vocab = tiny_model.cfg.vocab_size
    rows = len(SETTINGS)
    hidden = torch.randn(rows, tiny_model.cfg.hidden_size, generator=torch.Generator().manual_seed(5))
    allowed = np.ones((rows, vocab), dtype=bool)
    allowed[:, 199998:] = False  # like free text: the special tokens blocked
    allowed[2] = False
    allowed[2, 1000:1300] = True  # a sparse row
    words = pack_allowed(allowed)
    temps, top_ps = [s[0] for s in SETTINGS], [s[1] for s in SETTINGS]
    sampler = Sampler(vocab, rows)
    for trial in range(3):
        uniforms = [float(u) for u in np.random.default_rng(trial).random(rows)]
        together = sampler.sample(ModelHeads(tiny_model, hidden), words, temps, top_ps, uniforms)
        back = sampler.sample(ModelHeads(tiny_model, hidden.flip(0)), words[::-1].copy(), temps[::-1],
                              top_ps[::-1], uniforms[::-1])
        assert back[::-1] == together
        assert all(t < 199998 for t in together) and 1000 <= together[2] < 1300
        # Greedy is the masked argmax of the model's own logits, and a sparse row alone is exact.
        assert together[0] == int(tiny_model.logits(hidden[0])[:199998].argmax())
        assert sampler.sample(ModelHeads(tiny_model, hidden[2:3]), words[2:3], temps[2:3], top_ps[2:3],
                              uniforms[2:3]) == [together[2]]


@pytest.mark.parametrize("temp", [1.0, 0.7, 1.6])
def test_draws_are_the_inverse_cdf_of_the_exact_softmax(temp: float) -> None:
    """The batched path (one softmax kernel per row, block sums, two searches) draws for each
    uniform the token that a float64 inverse CDF of exp((x - max) / T) draws, the way the
    sampler computed its weights before; they may differ only where the uniform falls within
    rounding (1e-5 of the mass) of a boundary between tokens."""
    vocab, rows, draws = 3000, 4, 1500
    gen = torch.Generator().manual_seed(21)
    logits = torch.randn(rows, vocab, generator=gen) * 3
    allowed = np.random.default_rng(5).random((rows, vocab)) < 0.8
    allowed[1] = True  # nothing blocked
    words = pack_allowed(allowed)
    exact = (logits.double() - logits.double().max(dim=-1, keepdim=True).values) / temp
    exact = exact.exp() * torch.from_numpy(allowed)
    cdf = torch.cumsum(exact, dim=-1)
    sampler = Sampler(vocab, rows * 250, sparse_limit=0)
    uniforms = np.random.default_rng(6).random(draws).tolist()
    near = 0
    for chunk in range(0, draws, 250):
        us = uniforms[chunk : chunk + 250]
        for r in range(rows):
            table = LogitsTable(logits[r : r + 1].repeat(len(us), 1))
            got = sampler.sample(table, np.repeat(words[r : r + 1], len(us), axis=0), [temp] * len(us),
                                 [1.0] * len(us), us)
            targets = torch.tensor(us, dtype=torch.float64) * cdf[r, -1]
            expected = torch.searchsorted(cdf[r], targets, right=True).tolist()
            for u, target, a, b in zip(us, targets.tolist(), got, expected, strict=True):
                assert allowed[r, a], (r, u)
                if a != b:  # every boundary between the two picks lies within rounding of the target
                    lo, hi = min(a, b), max(a, b)
                    assert (cdf[r, lo:hi] - target).abs().max().item() <= 1e-5 * cdf[r, -1].item(), (r, u, a, b)
                    near += 1
    assert near <= draws * rows // 100  # a rounding coincidence, not a habit


def test_rows_with_equal_fingerprints_keep_their_own_masks() -> None:
    """Mask rows are remembered by the sum of their words and confirmed by comparing them: two
    different masks with the same sum, in one batch, each keep their own allowed tokens."""
    vocab = 3000
    first = np.zeros(vocab, dtype=bool)
    first[:1500] = True
    words = pack_allowed(first)
    swapped = words.copy()
    swapped[0, [3, 50]] = swapped[0, [50, 3]]  # same word sum, other tokens
    swapped[0, 3] = 0
    swapped[0, 50] = -1
    assert int(words.sum(dtype=np.int64)) == int(swapped.sum(dtype=np.int64))
    batch = np.concatenate([words, swapped, words, swapped])
    logits = torch.arange(vocab, dtype=torch.float32).repeat(4, 1)  # greedy: the highest allowed id
    sampler = Sampler(vocab, 4, sparse_limit=0)
    for _ in range(2):  # remembered the second time
        picks = sampler.sample(LogitsTable(logits), batch, [0.0] * 4, [1.0] * 4, [0.5] * 4)
        assert picks == [1499, 50 * 32 + 31, 1499, 50 * 32 + 31]


@pytest.mark.parametrize("width", [1, 3, 4, 6284])
def test_allowed_counts_count_every_bit(width: int) -> None:
    rng = np.random.default_rng(width)
    words = rng.integers(-(2**31), 2**31, size=(5, width), dtype=np.int64).astype(np.int32)
    expected = np.unpackbits(words.view(np.uint8), axis=1).sum(axis=1)
    assert allowed_counts(words).tolist() == expected.tolist()
    assert allowed_counts(words[:, ::-1]).tolist() == expected.tolist()  # not contiguous
