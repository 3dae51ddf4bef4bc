"""KV caches for incremental decoding: per-slot caches shared by a batch, and an LRU of finished
sequences' caches for prefix reuse.

Layout (see docs/torch-backend.md): every sequence owns a *slot*. Full-attention layers keep
all its keys in `[slots, kv_heads, capacity, head_dim]` (capacity grows by doubling); sliding-
window layers keep a ring `[slots, kv_heads, window, head_dim]` where position p lives at
index p % window, so their memory is bounded. Heads come before positions so that a batch's
keys are a view attention's matmuls read in place (model.KVProvider). Keys are stored after rotary embedding, so a
key's position only matters for masking, never for its value.

Every method that allocates or writes cache tensors runs under `torch.inference_mode()`: the
forward passes (engine.py) run in it, and a tensor created there is an *inference tensor*, which
torch refuses to update in place outside that mode. Growing the cache during a prefill and then
restoring a prefix into it from the scheduler used to do exactly that, and killed the model thread.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import torch

from .config import ModelConfig


def ring_positions(last: torch.Tensor, window: int) -> torch.Tensor:
    """Absolute positions held by each ring index after writing up to position `last` [B].

    Index j holds the newest position <= last that is congruent to j (mod window); -1 if none.
    """
    j = torch.arange(window, device=last.device)
    pos = last[:, None] - torch.remainder(last[:, None] - j[None, :], window)
    return torch.where(pos >= 0, pos, torch.full_like(pos, -1))


@dataclass
class PrefixEntry:
    """A finished sequence's cache: full-layer keys for all its tokens, and sliding-layer rings
    (plus the last hidden state, to get next-token logits without recompute) at a few lengths."""

    tokens: tuple[int, ...]
    full: dict[int, tuple[torch.Tensor, torch.Tensor]]  # layer -> (K [Hkv,n,D], V)
    snapshots: dict[int, Snapshot] = field(default_factory=dict)  # length -> snapshot

    def nbytes(self) -> int:
        total = sum(k.numel() * k.element_size() * 2 for k, _ in self.full.values())
        for snap in self.snapshots.values():
            total += sum(k.numel() * k.element_size() * 2 for k, _ in snap.rings.values())
        return total


@dataclass
class Snapshot:
    rings: dict[int, tuple[torch.Tensor, torch.Tensor]]  # sliding layer -> (K [Hkv,W,D], V)
    hidden: torch.Tensor | None  # normed hidden state of the token at length-1


class SlotKVCache:
    """Caches of up to `slots` sequences; the scheduler keeps the occupied slots compact (0..n-1)."""

    @torch.inference_mode()
    def __init__(self, cfg: ModelConfig, slots: int, device: torch.device, dtype: torch.dtype,
                 capacity: int = 256) -> None:
        self.cfg = cfg
        self.slots = slots
        self.device = device
        self.dtype = dtype
        self.capacity = capacity
        self.lengths = [0] * slots
        heads, dim = cfg.num_key_value_heads, cfg.head_dim
        self.full: dict[int, list[torch.Tensor]] = {}
        self.rings: dict[int, list[torch.Tensor]] = {}
        for layer in range(cfg.num_hidden_layers):
            if cfg.is_sliding(layer):
                size = (slots, heads, cfg.sliding_window, dim)
                self.rings[layer] = [torch.zeros(size, device=device, dtype=dtype) for _ in range(2)]
            else:
                size = (slots, heads, capacity, dim)
                self.full[layer] = [torch.zeros(size, device=device, dtype=dtype) for _ in range(2)]

    # -- capacity -------------------------------------------------------------------------
    @torch.inference_mode()
    def ensure_capacity(self, needed: int) -> None:
        if needed <= self.capacity:
            return
        new_cap = max(needed, 2 * self.capacity)
        new_cap = (new_cap + 63) // 64 * 64
        grown: dict[int, list[torch.Tensor]] = {}
        for layer, pair in self.full.items():
            grown[layer] = []
            for t in pair:
                g = torch.zeros((self.slots, t.shape[1], new_cap, t.shape[3]), device=self.device, dtype=self.dtype)
                g[:, :, : self.capacity] = t
                grown[layer].append(g)
        # Swapped in only once every layer has grown (an allocation failure leaves the old cache).
        self.full.update(grown)
        self.capacity = new_cap

    # -- the two attention modes ---------------------------------------------------------
    def prefill_layer(self, layer: int, slot: int, k: torch.Tensor, v: torch.Tensor, p0: int):
        """Store keys of positions p0.. of one slot ([1,T,Hkv,D]); return what they attend to."""
        t = k.shape[1]
        k, v = k.transpose(1, 2), v.transpose(1, 2)  # [1,Hkv,T,D]
        if layer in self.full:
            kc, vc = self.full[layer]
            kc[slot, :, p0 : p0 + t] = k[0]
            vc[slot, :, p0 : p0 + t] = v[0]
            key_pos = torch.arange(p0 + t, device=self.device)[None]
            return kc[slot : slot + 1, :, : p0 + t], vc[slot : slot + 1, :, : p0 + t], key_pos
        window = self.cfg.sliding_window
        kr, vr = self.rings[layer]
        # The ring still holds the previous window; new queries attend to it and to each other.
        past = ring_positions(torch.tensor([p0 - 1], device=self.device), window)
        new_pos = torch.arange(p0, p0 + t, device=self.device)[None]
        keys = torch.cat((kr[slot : slot + 1], k), dim=2)
        values = torch.cat((vr[slot : slot + 1], v), dim=2)
        key_pos = torch.cat((past, new_pos), dim=1)
        keep = min(t, window)  # only the last window of the new keys survives
        idx = torch.remainder(new_pos[0, t - keep :], window)
        kr[slot, :, idx] = k[0, :, t - keep :]
        vr[slot, :, idx] = v[0, :, t - keep :]
        return keys, values, key_pos

    def decode_layer(self, layer: int, slots: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     pos: torch.Tensor, contiguous: bool):
        """One new key per decoding slot (k [n,1,Hkv,D], pos [n]); return what they attend to.

        `contiguous` means slots == 0..n-1, which lets the reads be views instead of gathers.
        """
        n = slots.shape[0]

        def rows(t: torch.Tensor) -> torch.Tensor:
            return t[:n] if contiguous else t.index_select(0, slots)

        # Two advanced indices around a slice: the indexed view is [n,Hkv,D], like k[:, 0].
        if layer in self.full:
            kc, vc = self.full[layer]
            kc[slots, :, pos] = k[:, 0]
            vc[slots, :, pos] = v[:, 0]
            span = int(pos.max()) + 1
            # Entries beyond a shorter sequence's position are masked as "future" keys.
            key_pos = torch.arange(span, device=self.device)[None].expand(n, span)
            return rows(kc)[:, :, :span], rows(vc)[:, :, :span], key_pos
        window = self.cfg.sliding_window
        kr, vr = self.rings[layer]
        idx = torch.remainder(pos, window)
        kr[slots, :, idx] = k[:, 0]
        vr[slots, :, idx] = v[:, 0]
        return rows(kr), rows(vr), ring_positions(pos, window)

    # -- slot management -----------------------------------------------------------------
    @torch.inference_mode()
    def move(self, src: int, dst: int) -> None:
        """Copy slot src into dst (used to keep the active slots compact)."""
        if src == dst:
            return
        n = self.lengths[src]
        for kc, vc in self.full.values():
            kc[dst, :, :n] = kc[src, :, :n]
            vc[dst, :, :n] = vc[src, :, :n]
        for kr, vr in self.rings.values():
            kr[dst] = kr[src]
            vr[dst] = vr[src]
        self.lengths[dst] = n

    @torch.inference_mode()
    def snapshot(self, slot: int, hidden: torch.Tensor | None) -> Snapshot:
        rings = {layer: (kr[slot].clone(), vr[slot].clone()) for layer, (kr, vr) in self.rings.items()}
        return Snapshot(rings=rings, hidden=None if hidden is None else hidden.detach().clone())

    @torch.inference_mode()
    def export(self, slot: int, tokens: tuple[int, ...]) -> PrefixEntry:
        n = self.lengths[slot]
        assert len(tokens) == n, "the exported tokens must be exactly the cached ones"
        full = {layer: (kc[slot, :, :n].clone(), vc[slot, :, :n].clone()) for layer, (kc, vc) in self.full.items()}
        return PrefixEntry(tokens=tokens, full=full)

    @torch.inference_mode()
    def restore(self, slot: int, entry: PrefixEntry, length: int) -> torch.Tensor | None:
        """Load the first `length` tokens of `entry` into `slot`; returns the snapshot's hidden
        state at that length (None when the entry holds none)."""
        self.ensure_capacity(length)
        for layer, (k, v) in entry.full.items():
            kc, vc = self.full[layer]
            kc[slot, :, :length] = k[:, :length]
            vc[slot, :, :length] = v[:, :length]
        snap = entry.snapshots.get(length)
        if self.rings:
            assert snap is not None, "sliding layers need a ring snapshot at the reuse length"
            for layer, (k, v) in snap.rings.items():
                kr, vr = self.rings[layer]
                kr[slot] = k
                vr[slot] = v
        self.lengths[slot] = length
        return None if snap is None else snap.hidden


class PrefixCache:
    """LRU of finished sequences, searched for the longest reusable prefix of a new prompt.

    Full-attention keys can be cut at any length, but a sliding-window ring only describes the
    exact length it was taken at. So an entry is reusable at the lengths where it holds a ring
    snapshot (the end of its prompt and the end of its generation), or at any length when the
    model has no sliding layers.
    """

    def __init__(self, cfg: ModelConfig, max_entries: int = 32, max_bytes: int = 512 << 20) -> None:
        self.cfg = cfg
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.entries: OrderedDict[int, PrefixEntry] = OrderedDict()
        self._next = 0
        self.has_rings = any(cfg.is_sliding(i) for i in range(cfg.num_hidden_layers))

    def add(self, entry: PrefixEntry) -> None:
        if self.max_entries <= 0 or not entry.tokens:
            return
        # An entry that is a prefix of the new one (same conversation, earlier turn) is redundant
        # except for its snapshot lengths, which the new entry takes over.
        for key, old in list(self.entries.items()):
            n = len(old.tokens)
            if n <= len(entry.tokens) and old.tokens == entry.tokens[:n]:
                for length, snap in old.snapshots.items():
                    entry.snapshots.setdefault(length, snap)
                del self.entries[key]
        self.entries[self._next] = entry
        self._next += 1
        total = sum(e.nbytes() for e in self.entries.values())
        while self.entries and (len(self.entries) > self.max_entries or total > self.max_bytes):
            _, dropped = self.entries.popitem(last=False)
            total -= dropped.nbytes()

    def lookup(self, prompt: tuple[int, ...]) -> tuple[PrefixEntry, int] | None:
        """The entry and length giving the longest reuse for `prompt` (None if nothing helps)."""
        best: tuple[PrefixEntry, int, int] | None = None
        for key, entry in self.entries.items():
            common = _common_prefix(entry.tokens, prompt)
            usable = 0
            for length, snap in entry.snapshots.items():
                # Reusing the whole prompt needs the hidden state for the next-token logits.
                if length <= common and (length < len(prompt) or snap.hidden is not None):
                    usable = max(usable, length)
            if not self.has_rings:
                usable = max(usable, min(common, len(prompt) - 1))
            if usable > 0 and (best is None or usable > best[1]):
                best = (entry, usable, key)
        if best is None:
            return None
        self.entries.move_to_end(best[2])
        return best[0], best[1]


def _common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # binary search on tuple-slice equality: C-speed comparisons
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
