"""The model and its caches: incremental decoding equals a full recompute (both attention types,
across the sliding-window boundary); batched decoding equals one-at-a-time decoding."""

from __future__ import annotations

import torch

from reference_server.sources.backends.torch import engine
from reference_server.sources.backends.torch.cache import PrefixCache, SlotKVCache, ring_positions
from reference_server.sources.backends.torch.config import preset
from reference_server.sources.backends.torch.model import GptOss, Rotary, init_random, swiglu

ATOL = 1e-4


def _tokens(n: int, seed: int) -> list[int]:
    return torch.randint(0, 200_000, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


def test_the_tiny_model_has_both_attention_kinds(tiny_model: GptOss) -> None:
    cfg = tiny_model.cfg
    assert [cfg.is_sliding(i) for i in range(cfg.num_hidden_layers)] == [True, False]
    assert tiny_model.block[0].attn.window == 8 and tiny_model.block[1].attn.window == 0


def test_incremental_decoding_matches_full_recompute(tiny_model: GptOss) -> None:
    toks = _tokens(40, seed=1)
    full = tiny_model(torch.tensor(toks))  # [40, V], no cache
    cache = SlotKVCache(tiny_model.cfg, slots=2, device=tiny_model.device, dtype=tiny_model.dtype, capacity=8)
    got = {}
    # A short prefill, a chunk longer than the window (8), then token-by-token decoding that
    # wraps the ring several times; the cache capacity (8) has to grow on the way.
    h = engine.prefill(tiny_model, cache, 1, toks[:3])
    got[2] = tiny_model.logits(h)
    h = engine.prefill(tiny_model, cache, 1, toks[3:17])
    got[16] = tiny_model.logits(h)
    for i in range(17, 40):
        h = engine.decode(tiny_model, cache, [1], [toks[i]])
        got[i] = tiny_model.logits(h[0])
    for pos, logits in got.items():
        assert torch.allclose(logits, full[pos], atol=ATOL, rtol=1e-4), f"position {pos}"
    assert cache.rings[0][0].shape[2] == 8  # the sliding layer kept only its window
    assert cache.capacity >= 40


def test_full_recompute_depends_on_the_window() -> None:
    # Guard against a test that would pass with the window ignored: a different window changes
    # late logits but not the first ones (positions < window see the same keys).
    toks = torch.tensor(_tokens(24, seed=2))
    a = init_random(GptOss(preset("tiny", sliding_window=8)), seed=3)
    wide = GptOss(preset("tiny", sliding_window=64))
    wide.load_state_dict(a.state_dict())
    la, lw = a(toks), wide(toks)
    assert torch.allclose(la[:8], lw[:8], atol=ATOL)
    assert not torch.allclose(la[20], lw[20], atol=1e-3)


def test_batched_decoding_matches_one_at_a_time(tiny_model: GptOss) -> None:
    prompts = [_tokens(n, seed=10 + n) for n in (5, 13, 2)]
    steps = 20

    def greedy(cache: SlotKVCache, slots: list[int], first: list[int], batched: bool) -> list[list[int]]:
        out = [[t] for t in first]
        for _ in range(steps):
            if batched:
                hidden = engine.decode(tiny_model, cache, slots, [o[-1] for o in out])
            else:
                hidden = torch.stack([engine.decode(tiny_model, cache, [s], [o[-1]])[0]
                                      for s, o in zip(slots, out, strict=True)])
            for o, row in zip(out, tiny_model.logits(hidden), strict=True):
                o.append(int(row.argmax()))
        return out

    results = []
    for batched in (True, False):
        cache = SlotKVCache(tiny_model.cfg, slots=4, device=tiny_model.device, dtype=tiny_model.dtype)
        # Non-contiguous slots exercise the gather path as well as the view path.
        slots = [0, 1, 2] if batched else [3, 1, 0]
        first = []
        for slot, p in zip(slots, prompts, strict=True):
            first.append(int(tiny_model.logits(engine.prefill(tiny_model, cache, slot, p)).argmax()))
        results.append(greedy(cache, slots, first, batched))
    assert results[0] == results[1]
    # The three sequences really are different (not one sequence copied three times).
    assert len({tuple(r) for r in results[0]}) == 3


def test_a_batch_attends_to_its_cached_keys_in_place(tiny_model: GptOss) -> None:
    """Decoding a contiguous batch hands attention views of the cache whose batch and head axes
    merge into one, the batched matmul's batch, so no row's keys are copied per step (the
    copy grew with rows x context: 16 rows at 3000 tokens took ten times one row's forward)."""
    cfg = tiny_model.cfg
    cache = SlotKVCache(cfg, slots=4, device=tiny_model.device, dtype=tiny_model.dtype, capacity=64)
    for slot in range(3):
        engine.prefill(tiny_model, cache, slot, _tokens(20 + slot, seed=30 + slot))
    seen = []

    def record(layer: int, k: torch.Tensor, v: torch.Tensor, pos: torch.Tensor):
        keys, values, key_pos = cache.decode_layer(layer, torch.arange(3), k, v, pos[:, 0], True)
        seen.append((layer, keys, values))
        return keys, values, key_pos

    toks = torch.tensor([[1], [2], [3]])
    with torch.inference_mode():
        tiny_model.hidden(toks, torch.tensor([[20], [21], [22]]), record)
    assert {layer for layer, _, _ in seen} == {0, 1}  # the ring and the full-attention layer
    for layer, keys, values in seen:
        stored = cache.rings[layer] if layer in cache.rings else cache.full[layer]
        for got, store in zip((keys, values), stored, strict=True):
            n, heads, span, dim = got.shape
            assert (n, heads, dim) == (3, cfg.num_key_value_heads, cfg.head_dim)
            merged = got.view(n * heads, span, dim)  # raises if the axes do not merge
            assert merged.data_ptr() == store.data_ptr()  # the cache itself, not a copy


def test_slot_move_keeps_a_sequence(tiny_model: GptOss) -> None:
    toks = _tokens(12, seed=5)
    cache = SlotKVCache(tiny_model.cfg, slots=3, device=tiny_model.device, dtype=tiny_model.dtype)
    engine.prefill(tiny_model, cache, 2, toks[:11])
    cache.move(2, 0)
    h = engine.decode(tiny_model, cache, [0], [toks[11]])
    assert torch.allclose(tiny_model.logits(h[0]), tiny_model(torch.tensor(toks))[11], atol=ATOL)


def test_ring_positions() -> None:
    # window 4, last written position 5: index 0 holds 4, 1 holds 5, 2 holds 2, 3 holds 3.
    assert ring_positions(torch.tensor([5]), 4).tolist() == [[4, 5, 2, 3]]
    assert ring_positions(torch.tensor([1]), 4).tolist() == [[0, 1, -1, -1]]
    assert ring_positions(torch.tensor([-1]), 4).tolist() == [[-1, -1, -1, -1]]


def test_prefix_cache_reuses_only_where_a_ring_snapshot_exists(tiny_model: GptOss) -> None:
    cfg = tiny_model.cfg
    toks = tuple(_tokens(20, seed=7))
    cache = SlotKVCache(cfg, slots=1, device=tiny_model.device, dtype=tiny_model.dtype)
    h10 = engine.prefill(tiny_model, cache, 0, toks[:10])
    snap10 = cache.snapshot(0, h10)
    h20 = engine.prefill(tiny_model, cache, 0, toks[10:])
    entry = cache.export(0, toks)
    entry.snapshots[10] = snap10
    entry.snapshots[20] = cache.snapshot(0, h20)
    lru = PrefixCache(cfg)
    lru.add(entry)
    assert lru.lookup((*toks[:15], 1, 2)) == (entry, 10)  # diverges at 15: best snapshot is 10
    assert lru.lookup((*toks, 5)) == (entry, 20)
    assert lru.lookup(toks)[1] == 20  # whole prompt: the stored hidden state gives the logits
    assert lru.lookup((*toks[:9], 3)) is None
    # Restoring at 10 and feeding the rest reproduces the uncached logits.
    fresh = SlotKVCache(cfg, slots=1, device=tiny_model.device, dtype=tiny_model.dtype)
    fresh.restore(0, entry, 10)
    h = engine.prefill(tiny_model, fresh, 0, toks[10:])
    assert torch.allclose(tiny_model.logits(h), tiny_model.logits(h20), atol=ATOL)


def test_prefix_cache_lru_bound(tiny_model: GptOss) -> None:
    cfg = tiny_model.cfg
    lru = PrefixCache(cfg, max_entries=2)
    cache = SlotKVCache(cfg, slots=1, device=tiny_model.device, dtype=tiny_model.dtype)
    for seed in range(3):
        cache.lengths[0] = 0
        toks = tuple(_tokens(4, seed=100 + seed))
        engine.prefill(tiny_model, cache, 0, toks)
        lru.add(cache.export(0, toks))
    assert len(lru.entries) == 2


def test_swiglu_clamps_and_gates() -> None:
    h = torch.tensor([[100.0, 100.0, -3.0, 0.0]])  # (gate, linear) pairs
    out = swiglu(h, limit=7.0)
    gate = torch.tensor(7.0)
    assert torch.allclose(out[0, 0], gate * torch.sigmoid(1.702 * gate) * 8.0)  # both clamped, +1
    assert torch.allclose(out[0, 1], -3.0 * torch.sigmoid(torch.tensor(-3.0 * 1.702)) * 1.0)


def test_yarn_keeps_fast_dimensions_and_stretches_slow_ones(tiny_model: GptOss) -> None:
    cfg = tiny_model.cfg
    rot = Rotary(cfg, torch.device("cpu"))
    plain = 1.0 / cfg.rope_theta ** (torch.arange(cfg.head_dim // 2) * 2 / cfg.head_dim)
    assert torch.allclose(rot.inv_freq[0], plain[0])
    assert torch.allclose(rot.inv_freq[-1], plain[-1] / cfg.rope_scaling_factor)
    assert rot.concentration > 1.0


def test_random_initialisation_is_deterministic(tiny_model: GptOss) -> None:
    again = init_random(GptOss(preset("tiny")), seed=0)  # window does not change any weight
    other = init_random(GptOss(preset("tiny")), seed=1)
    for (name, a), (_, b), (_, c) in zip(tiny_model.named_parameters(), again.named_parameters(),
                                         other.named_parameters(), strict=True):
        assert torch.equal(a, b), name
        if not name.endswith("norm.scale"):
            assert not torch.equal(a, c), name
