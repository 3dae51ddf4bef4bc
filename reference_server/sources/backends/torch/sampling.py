"""Sampling one token per row from hidden states under packed grammar bitmasks: greedy at
temperature 0, otherwise temperature + nucleus (top_p) with one caller-supplied uniform per row.

A row's token depends only on its own logits, mask, settings and uniform, never on the other
rows of the batch (each row's uniform comes from its request's own seeded RNG). The batch is
vectorised where that is cheap on a CPU: one unembedding matmul into a reused buffer, all masks
applied by one `index_fill_` of the blocked token ids, per-row temperatures as a [rows,1] tensor,
one in-place softmax and block sums a few cache-sized rows at a time, greedy rows by one `max`. A pass over the
201088-token vocabulary costs about as much as the whole tiny transformer, so the code avoids
passes: no full-vocabulary cumsum or sort (nucleus rows sort one exponent bucket), a row whose
mask allows few tokens (JSON structure) gets logits for those tokens only, and rows confined to a
registered sub-vocabulary (readable text) get logits for that set only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np
import torch

if TYPE_CHECKING:
    from .model import GptOss

GREEDY_BELOW = 1e-5  # temperatures this small are greedy (dividing by them overflows)
BLOCK = 32  # the inverse CDF first picks a block of 32 tokens, then a token inside it
CACHE_BYTES = 9 << 19  # logits softmaxed and block-summed together (best measured: 16 readable rows, 5 whole)
SPARSE_LIMIT = 4096  # a row allowing at most this many tokens gets logits for them only
DENSE_MASK_FRACTION = 4  # masks with a blocked bit in over 1/4 of their words are applied densely
BLOCKED_OFFSET = 1e4  # what a dense mask subtracts from blocked logits
ROW_CACHE_ENTRIES = 64  # distinct mask rows whose space and blocked columns are remembered
# Nucleus buckets: the float32 bits of a weight in (0, 1] shifted right by 20 are its binary
# exponent and 3 mantissa bits, i.e. 8 buckets per power of two (~0.09 nats wide), monotonic.
_BUCKET_SHIFT = 20
_BUCKETS = (128 << (23 - _BUCKET_SHIFT)) + 1  # key of 1.0 is 127 << 3 = 1016; 1024 is plenty


class Unembedding(Protocol):
    """Where logits come from: `dense(rows, out)` returns the float32 logits of the first
    `out.shape[1]` tokens for the given batch rows in a tensor of out's shape (`out` itself,
    written in place, or a new one), or with `ids` (int64, ascending, at most `out.shape[1]`)
    the logits of those tokens in the first `len(ids)` columns (the other columns hold
    anything); `sparse(row, tokens)` returns the logits of just `tokens` for one row."""

    def dense(self, rows: Sequence[int], out: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor: ...

    def sparse(self, row: int, tokens: torch.Tensor) -> torch.Tensor: ...


class ModelHeads:
    """The model's unembedding applied to a batch of hidden states [n,H]."""

    def __init__(self, model: GptOss, hidden: torch.Tensor) -> None:
        self.model = model
        self.hidden = hidden

    def dense(self, rows: Sequence[int], out: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.hidden if list(rows) == list(range(self.hidden.shape[0])) else self.hidden[list(rows)]
        return self.model.logits_into(hidden, out, columns=ids)

    def sparse(self, row: int, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.logits_at(self.hidden[row], tokens)


class LogitsTable:
    """Given logits [n,V] as an `Unembedding` (tests, and callers that already have logits)."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits

    def dense(self, rows: Sequence[int], out: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        if ids is None:
            out.copy_(self.logits[list(rows), : out.shape[1]])
        else:
            out[:, : ids.shape[0]] = self.logits[list(rows)][:, ids.to(self.logits.device)]
        return out

    def sparse(self, row: int, tokens: torch.Tensor) -> torch.Tensor:
        return self.logits[row, tokens].float()


def allowed_counts(words: np.ndarray) -> np.ndarray:
    """Allowed tokens per row of int32 bitmask words [n, W]. Counted 64 bits at a time where the
    rows allow it and summed in int32: a third of the time of per-word counts summed in int64."""
    if words.shape[1] % 2 == 0 and words.flags.c_contiguous:
        return np.bitwise_count(words.view(np.uint64)).sum(axis=1, dtype=np.int32)
    return np.bitwise_count(words.view(np.uint32)).sum(axis=1, dtype=np.int32)


def pack_allowed(allowed: np.ndarray) -> np.ndarray:
    """Bool [n,V] (True = allowed) -> int32 [n, ceil(V/32)] words in llguidance's layout
    (bit t % 32 of word t // 32)."""
    allowed = np.atleast_2d(np.asarray(allowed, dtype=bool))
    pad = (-allowed.shape[1]) % 32
    if pad:
        allowed = np.pad(allowed, ((0, 0), (0, pad)))
    return np.packbits(allowed, axis=1, bitorder="little").view(np.int32)


class _Space:
    """The columns a dense pass computes: the whole vocabulary (`ids` None, column = token id)
    or a registered sub-vocabulary (column c = token ids[c]), padded to whole 32-token blocks,
    with its own logits buffer."""

    def __init__(self, vocab: int, ids: np.ndarray | None, max_rows: int, device: torch.device,
                 cache_bytes: int) -> None:
        self.size = vocab if ids is None else int(ids.size)
        self.width = max(32, (self.size + 31) // 32 * 32)
        self.ids = None if ids is None else np.asarray(ids, dtype=np.int64)
        self.ids_t = None if self.ids is None else torch.from_numpy(self.ids).to(device)
        words = (vocab + 31) // 32
        if self.ids is None:
            self.words = None
            self.position = None
        else:
            bits = np.zeros(words * 32, dtype=bool)
            bits[self.ids] = True
            self.words = np.packbits(bits, bitorder="little").view(np.int32)  # its tokens, packed
            self.outside = ~self.words
            self.position = np.full(words * 32, -1, dtype=np.int64)  # token id -> column
            self.position[self.ids] = np.arange(self.size)
        self.buf = torch.full((max_rows, self.width), float("-inf"), device=device)
        self.block_sums = torch.zeros((max_rows * (self.width // BLOCK), 1), device=device)
        self.block_cdf = torch.zeros((max_rows, self.width // BLOCK), dtype=torch.float64, device=device)
        self.group = max(1, cache_bytes // (self.width * 4))

    def contains(self, row_words: np.ndarray) -> bool:
        """Whether every token the row allows is in this space."""
        return self.words is None or not np.any(row_words & self.outside)


class _Row:
    """What the sampler derived from one distinct mask row: the space it samples in (index into
    the subsets, -1 = whole vocabulary) and, once a dense pass needed them, the space's columns
    the mask blocks and how many mask words have a blocked bit."""

    __slots__ = ("allowed", "columns", "columns_t", "partial", "space", "words")

    def __init__(self, words: np.ndarray, space: int) -> None:
        self.words = words
        self.space = space
        self.columns: np.ndarray | None = None
        self.columns_t: torch.Tensor | None = None  # the same, as a tensor on the device
        self.partial = 0
        self.allowed: Allowed | None = None  # for exact rows: the tokens the mask allows


class Sampler:
    """Reusable buffers for sampling up to `max_rows` rows over a `vocab_size`-token vocabulary.

    `subsets`: sub-vocabularies many rows are confined to (the readable-text masks of random
    weights: a third of the vocabulary). A row whose allowed tokens all lie in one gets logits
    for that subset only (a narrower matmul, no mask pass over the rest); the smallest fitting
    subset wins, and rows fitting none use the whole vocabulary."""

    def __init__(self, vocab_size: int, max_rows: int, device: torch.device | str = "cpu",
                 sparse_limit: int = SPARSE_LIMIT, cache_bytes: int = CACHE_BYTES,
                 subsets: Sequence[np.ndarray] = ()) -> None:
        self.vocab = vocab_size
        self.words = (vocab_size + 31) // 32
        self.width = self.words * 32
        self.sparse_limit = sparse_limit
        self.device = torch.device(device)
        self._max_rows = max_rows
        self._cache_bytes = cache_bytes
        self._full = _Space(vocab_size, None, max_rows, self.device, cache_bytes)
        self._ones = torch.ones((BLOCK, 1), device=self.device)
        self._subsets: list[_Space] = []
        # Masks repeat: every step of a prose body has the same grammar mask, and the rows of a
        # batch often share one. What a row's mask implies (its space, its blocked columns) is
        # kept by content, found by a cheap fingerprint and confirmed by comparing the words.
        self._rows: dict[int, _Row] = {}
        self._last_row: _Row | None = None  # the one mask of the last batch's last row
        for ids in subsets:
            self.add_subset(ids)
        tail = self.vocab - (self.words - 1) * 32  # live bits of the last word
        self._last_word = np.array((1 << tail) - 1 if tail < 32 else -1, dtype=np.int64).astype(np.int32)

    def add_subset(self, ids: np.ndarray) -> None:
        """Register a sub-vocabulary: token ids (int) or a bool mask over the vocabulary."""
        ids = np.asarray(ids)
        if ids.dtype == bool:
            ids = np.flatnonzero(ids[: self.vocab])
        ids = np.unique(ids.astype(np.int64))
        if ids.size == 0 or ids[0] < 0 or ids[-1] >= self.vocab:
            raise ValueError("add_subset: token ids must be non-empty and inside the vocabulary")
        self._subsets.append(_Space(self.vocab, ids, self._max_rows, self.device, self._cache_bytes))
        self._subsets.sort(key=lambda space: space.size)
        self._rows.clear()  # remembered rows name their space by its index
        self._last_row = None

    def sample(
        self,
        logits: Unembedding,
        words: np.ndarray,
        temperatures: Sequence[float],
        top_ps: Sequence[float],
        uniforms: Sequence[float],
    ) -> list[int]:
        """One token per row. words: int32 [n, >= ceil(V/32)] allowed-token bitmasks, at least
        one allowed token per row (ValueError otherwise); uniforms in [0, 1)."""
        n = len(uniforms)
        if not n == len(temperatures) == len(top_ps) == words.shape[0]:
            raise ValueError("sample: one mask, temperature, top_p and uniform per row")
        if n > self._max_rows:
            raise ValueError(f"sample: {n} rows, the sampler was sized for {self._max_rows}")
        words = np.array(words[:, : self.words], dtype=np.int32)  # a copy: tail bits are cleared
        words[:, -1] &= self._last_word
        counts = allowed_counts(words)
        out = [0] * n
        dense: list[int] = []
        for i, count in enumerate(counts.tolist()):
            if count == 0:
                raise ValueError(f"sample: row {i} allows no token")
            if count == 1:  # forced: no logits needed
                word = int(np.flatnonzero(words[i])[0])
                out[i] = word * 32 + int(words[i, word].view(np.uint32)).bit_length() - 1
            elif count <= self.sparse_limit:
                out[i] = self._sparse(logits, i, words[i], temperatures[i], top_ps[i], uniforms[i])
            else:
                dense.append(i)
        rows: list[_Row | None] = [None] * n
        # Per space: rows of each kind (plain, nucleus, greedy).
        kinds: dict[int, tuple[list[int], list[int], list[int]]] = {}
        for i, row in zip(dense, self._rows_of(words, dense), strict=True):
            rows[i] = row
            plain, nucleus, greedy = kinds.setdefault(row.space, ([], [], []))
            if _is_greedy(temperatures[i], top_ps[i]):
                greedy.append(i)
            elif top_ps[i] < 1.0:
                nucleus.append(i)
            else:
                plain.append(i)
        for key, (plain, nucleus, greedy) in kinds.items():
            space = self._full if key < 0 else self._subsets[key]
            order = plain + nucleus + greedy  # each kind is a contiguous slice of the buffer
            picks = self._dense(logits, space, order, words, [rows[i] for i in order],  # type: ignore[misc]
                                temperatures, top_ps, uniforms, len(plain), len(nucleus))
            tokens = picks if space.ids is None else space.ids[picks].tolist()
            for i, token in zip(order, tokens, strict=True):
                out[i] = token
        return out

    def exact_logits(self, logits: Unembedding, words: np.ndarray,
                     penalties: Sequence[tuple[float, float, dict[int, int] | None]]) -> list[tuple[torch.Tensor, Allowed]]:
        """For rows that need more than a draw (penalties, logprobs; `draw_exact` draws): each
        row's logits over the space its mask fits in (a registered subset, else the whole
        vocabulary), one matmul per space for all its rows, penalised by the row's (presence,
        frequency, counts): `presence + frequency * count` off the logit of every token
        generated `count` > 0 times so far (OpenAI's definition); and the tokens its mask
        allows with their columns in that space. words: [n, >= ceil(V/32)], at least two
        allowed tokens per row."""
        n = words.shape[0]
        if n > self._max_rows or len(penalties) != n:
            raise ValueError("exact_logits: one mask and one penalty per row, at most max_rows rows")
        words = np.array(words[:, : self.words], dtype=np.int32)
        words[:, -1] &= self._last_word
        rows = self._rows_of(words, list(range(n)))
        by_space: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            by_space.setdefault(row.space, []).append(i)
        out: list[tuple[torch.Tensor, Allowed] | None] = [None] * n
        for key, group in by_space.items():
            space = self._full if key < 0 else self._subsets[key]
            width = self.vocab if space.ids_t is None else space.width
            values = logits.dense(group, torch.empty((len(group), width), device=self.device), space.ids_t)
            for j, i in enumerate(group):
                presence, frequency, counts = penalties[i]
                if counts and (presence or frequency):
                    _penalise(values[j], space.position, counts, presence, frequency)
                row = rows[i]
                if row.allowed is None:
                    row.allowed = _allowed_in(row.words, space.position, self.vocab, self.device)
                out[i] = (values[j], row.allowed)
        return out  # type: ignore[return-value]

    def _rows_of(self, words: np.ndarray, dense: list[int]) -> list[_Row]:
        """The remembered `_Row` of each of the mask rows `dense`. The rows of a batch usually
        share a mask: one fingerprint pass for them all, and one comparison per distinct
        fingerprint against the remembered words (a row at a time cost ~10 us each)."""
        if not dense:
            return []
        chosen = words if len(dense) == words.shape[0] else words[dense]
        last = self._last_row
        if last is not None and (chosen == last.words).all():  # the previous step's mask, for all
            return [last] * len(dense)
        found: list[_Row | None] = [None] * len(dense)
        sharing: dict[int, list[int]] = {}
        for k, fingerprint in enumerate(chosen.sum(axis=1, dtype=np.int64).tolist()):
            sharing.setdefault(fingerprint, []).append(k)
        for fingerprint, ks in sharing.items():
            known = self._rows.get(fingerprint)
            if known is not None:
                same = (chosen[ks] == known.words).all(axis=1).tolist()
                for k, equal in zip(ks, same, strict=True):
                    if equal:
                        found[k] = known
            for k in ks:
                if found[k] is None:  # not remembered yet, or another mask with this fingerprint
                    found[k] = self._row(chosen[k])
        self._last_row = found[-1]
        return found  # type: ignore[return-value]

    def _row(self, row_words: np.ndarray) -> _Row:
        fingerprint = int(row_words.sum(dtype=np.int64))
        row = self._rows.get(fingerprint)
        if row is not None and np.array_equal(row.words, row_words):
            return row
        space = next((k for k, sub in enumerate(self._subsets) if sub.contains(row_words)), -1)
        if len(self._rows) >= ROW_CACHE_ENTRIES:  # a few distinct masks at a time; never unbounded
            self._rows.clear()
        row = self._rows[fingerprint] = _Row(row_words.copy(), space)
        return row

    # -- rows with many allowed tokens: the whole vocabulary, or a registered subset ----------
    def _dense(self, logits: Unembedding, space: _Space, order: list[int], words: np.ndarray,
               rows: list[_Row], temperatures: Sequence[float], top_ps: Sequence[float], uniforms: Sequence[float],
               n_plain: int, n_nucleus: int) -> list[int]:
        """Columns (of `space`) picked for the rows `order`."""
        d = len(order)
        buf = space.buf[:d]
        target = buf if space.ids_t is not None else buf[:, : self.vocab]
        result = logits.dense(order, target, space.ids_t)
        if result.shape == buf.shape:  # written in place, or a new tensor used as it is
            buf = result
        elif result is not target:
            target.copy_(result)
        if space.size < space.width:  # padding columns: never picked
            buf[:, space.size :] = float("-inf")
        keep = self._apply_masks(space, buf, words[order], rows)
        picks: list[int] = []
        s = n_plain + n_nucleus
        if n_plain:
            blocks = space.width // BLOCK
            for r in range(0, n_plain, space.group):
                w = buf[r : min(r + space.group, n_plain)]
                self._softmax_block_cdf(w, [float(temperatures[i]) for i in order[r : r + w.shape[0]]],
                                        None if keep is None else keep[r : r + w.shape[0]],
                                        space.block_sums[r * blocks : (r + w.shape[0]) * blocks],
                                        space.block_cdf[r : r + w.shape[0]])
            picks += _blocked_inverse_cdf(buf[:n_plain], space.block_cdf[:n_plain],
                                          [float(uniforms[i]) for i in order[:n_plain]])
        for r in range(n_plain, s):
            i = order[r]
            w = buf[r : r + 1]
            total = _nucleus_weights(w, float(temperatures[i]), None if keep is None else keep[r : r + 1])
            picks.append(_nucleus(w[0], total, float(top_ps[i]), float(uniforms[i])))
        if d > s:
            # max(dim) gives the first maximal index, like argmax, at a fraction of its cost.
            picks += buf[s:].max(dim=-1).indices.tolist()
        return picks

    def _softmax_block_cdf(self, w: torch.Tensor, temperatures: list[float], keep: torch.Tensor | None,
                           block_sums: torch.Tensor, block_cdf: torch.Tensor) -> None:
        """Logits w [rows, width] (blocked: -inf, or lowered by 10^4 where `keep` is 0) become
        their softmax, in place, and block_cdf [rows, width/32] the float64 cumsum of its sums
        of 32-token blocks."""
        if any(t != 1.0 for t in temperatures):
            # The max first, then the division: dividing first would round large logits (small
            # temperatures) before the difference that matters is taken.
            w.sub_(w.amax(dim=-1, keepdim=True))
            w.div_(torch.tensor(temperatures, device=self.device)[:, None])  # per-row temperature
        # One kernel per row (max, exp(x - max), sum, scale) with the row in cache. torch's CPU
        # softmax uses a faster vectorised exp than `torch.exp`, whose pass alone cost as much as
        # this whole call, and takes -inf and underflowing entries at full speed.
        torch.softmax(w, dim=-1, out=w)
        if keep is not None:  # the 10^4 offset underflows, unless a high temperature shrank it
            w.mul_(keep)
        # Block sums as a matrix-vector product: faster than a reduction over an innermost 32.
        torch.mm(w.view(-1, BLOCK), self._ones, out=block_sums)
        torch.cumsum(block_sums.view(w.shape[0], -1).double(), dim=-1, out=block_cdf)

    def _apply_masks(self, space: _Space, buf: torch.Tensor, words: np.ndarray,
                     rows: list[_Row]) -> torch.Tensor | None:
        """-inf at every blocked column of buf [d, width] under words [d, V/32] (row r's mask
        is rows[r]): one index_fill_ for the batch. A row's blocked columns are found once per
        distinct mask: only the words with a blocked bit are unpacked (free text blocks ~1400
        tokens in ~280 of 6284 words); in a subset, blocked means in the subset and not allowed,
        mapped to the subset's columns.

        A mask blocking tokens all over the space (readable text without a subset) is applied
        densely instead: blocked logits are lowered by 10^4 (below any allowed one, for max) and
        the returned 0/1 float mask [d, width] zeroes their weights after exp (see `_dense`)."""
        fresh = [r for r, row in enumerate(rows) if row.columns is None]
        if fresh:
            new = words[fresh]
            blocked = ~new if space.words is None else space.words & ~new
            partial = np.flatnonzero(blocked)
            bits = np.flatnonzero(np.unpackbits(blocked.ravel()[partial].view(np.uint8), bitorder="little"))
            which, token = np.divmod(partial[bits >> 5] * 32 + (bits & 31), self.words * 32)
            column = token if space.position is None else space.position[token]
            ends = np.searchsorted(which, np.arange(len(fresh) + 1))
            per_row = np.bincount(partial // blocked.shape[1], minlength=len(fresh))
            for k, r in enumerate(fresh):
                rows[r].columns = column[ends[k] : ends[k + 1]]
                rows[r].partial = int(per_row[k])
        partial_words = sum(row.partial for row in rows)
        if partial_words == 0:
            return None
        if partial_words * DENSE_MASK_FRACTION > words.shape[0] * words.shape[1]:
            allowed = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")
            if space.ids is not None:
                allowed = np.pad(allowed[:, space.ids], ((0, 0), (0, space.width - space.size)))
            keep = torch.from_numpy(np.ascontiguousarray(allowed)).to(device=self.device, dtype=buf.dtype)
            buf.add_(keep - 1.0, alpha=BLOCKED_OFFSET)  # kept logits exactly as they were
            return keep
        first = rows[0]
        if all(row is first for row in rows):  # one mask for the whole batch (a prose body)
            if first.columns_t is None:
                first.columns_t = torch.from_numpy(first.columns).to(self.device)  # type: ignore[arg-type]
            buf.index_fill_(1, first.columns_t, float("-inf"))
            return None
        flat = np.concatenate([row.columns + r * space.width for r, row in enumerate(rows)])  # type: ignore[operator]
        buf.view(-1).index_fill_(0, torch.from_numpy(flat).to(self.device), float("-inf"))
        return None

    # -- rows with few allowed tokens: logits for those only ----------------------------------
    def _sparse(self, logits: Unembedding, row: int, row_words: np.ndarray, temperature: float,
                top_p: float, uniform: float) -> int:
        tokens = _token_ids(row_words)
        values = logits.sparse(row, torch.from_numpy(tokens).to(self.device))
        if _is_greedy(temperature, top_p):
            return int(tokens[int(values.max(dim=0).indices)])  # the first maximum, like argmax
        weights = values - values.max()
        if temperature != 1.0:
            weights = weights / temperature
        weights = weights.exp().cpu()
        if top_p < 1.0:
            pick = _nucleus(weights, float(weights.double().sum()), float(top_p), float(uniform))
        else:
            pick = _inverse_cdf(weights.numpy(), float(uniform))
        return int(tokens[pick])


def _is_greedy(temperature: float, top_p: float) -> bool:
    return temperature < GREEDY_BELOW or top_p <= 0.0


def _nucleus_weights(w: torch.Tensor, temperature: float, keep: torch.Tensor | None) -> float:
    """Logits w [1, width] become exp((x - max) / T) in place (max 1: the scale `_nucleus`'s
    exponent buckets were laid out for, so a seed keeps drawing the same tokens); returns their
    sum. Nucleus rows are rarer than plain ones and keep the separate passes."""
    w.sub_(w.amax(dim=-1, keepdim=True))
    if temperature != 1.0:
        w.div_(temperature)
    if keep is not None:
        # exp() of values far below -88 (underflow) takes a slow path on CPUs: blocked entries
        # go through exp(-80) and are then zeroed by the 0/1 mask.
        w.clamp_(min=-80.0)
    w.exp_()
    if keep is not None:
        w.mul_(keep)
    # Summed as before (block sums, then a float64 running sum), so the total keeps its bits.
    return float(torch.cumsum(w.view(-1, BLOCK).sum(dim=-1).double(), dim=0)[-1])


def _blocked_inverse_cdf(weights: torch.Tensor, block_cdf: torch.Tensor, uniforms: list[float]) -> list[int]:
    """Inverse-CDF draws from weights [m, width] (width a multiple of BLOCK) without a
    full-vocabulary cumsum (slow on CPUs): a binary search in the cumsum of block sums picks
    the block, one in the 32-long cumsum of that block the token. A handful of batched calls
    for the whole batch; `right=True` skips blocked (zero) entries, whose CDF step is empty."""
    m = weights.shape[0]
    targets = block_cdf[:, -1:] * torch.tensor(uniforms, dtype=torch.float64, device=block_cdf.device)[:, None]
    chosen = torch.searchsorted(block_cdf, targets, right=True).clamp_(max=block_cdf.shape[1] - 1)  # [m, 1]
    before = block_cdf.gather(1, (chosen - 1).clamp_(min=0)).masked_fill_(chosen == 0, 0.0)
    inner = weights.view(m, -1, BLOCK).gather(1, chosen[:, :, None].expand(m, 1, BLOCK))[:, 0].double()
    inner_cdf = torch.cumsum(inner, dim=1).add_(before)
    offsets = torch.searchsorted(inner_cdf, targets, right=True).clamp_(max=BLOCK - 1)
    picks = (chosen * BLOCK + offsets)[:, 0].tolist()
    for r in torch.nonzero(inner.gather(1, offsets)[:, 0] <= 0.0).flatten().tolist():
        # rounding pushed past the block's last live token
        picks[r] = picks[r] // BLOCK * BLOCK + int(torch.nonzero(inner[r]).max())
    return picks


def _inverse_cdf(weights: np.ndarray, u: float) -> int:
    """Index drawn from 1-D non-negative weights (in their order) by one uniform number."""
    cdf = np.cumsum(weights, dtype=np.float64)
    # side="right" never lands on a zero-weight (disallowed) entry, except by rounding at the end.
    pick = min(int(np.searchsorted(cdf, cdf[-1] * u, side="right")), cdf.size - 1)
    if weights[pick] <= 0.0:
        pick = int(np.flatnonzero(weights).max())
    return pick


def _nucleus(weights: torch.Tensor, total: float, top_p: float, u: float) -> int:
    """Index drawn from the nucleus of 1-D weights in [0, 1] (0 = blocked): the most likely
    entries whose combined weight first reaches top_p of `total` (the sum of all weights).

    Sorting 201088 weights is slow on a CPU. Instead the weights are bucketed by their float
    exponent (8 buckets per power of two, straight from the bits: no log pass); whole buckets
    join the nucleus from the top until the mass would pass top_p, and only the bucket where
    that happens is sorted. The draw then picks a bucket, and a token inside it. The small
    vectors are handled in numpy (a torch call costs several microseconds more)."""
    w = weights.cpu()
    keys_t = w.view(torch.int32) >> _BUCKET_SHIFT
    mass = torch.bincount(keys_t, weights=w.double(), minlength=_BUCKETS).numpy()[::-1]  # top first
    keys, wn = keys_t.numpy(), w.numpy()
    from_top = np.cumsum(mass)
    target = top_p * total
    k = min(int(np.searchsorted(from_top, target)), from_top.size - 1)  # the edge bucket
    above = float(from_top[k - 1]) if k > 0 else 0.0
    # Inside the edge bucket, the largest entries until the nucleus reaches top_p.
    edge = _bucket_members(keys, wn, _BUCKETS - 1 - k)
    values = wn[edge].astype(np.float64)
    order = np.argsort(-values, kind="stable")  # descending; ties by position
    edge, values = edge[order], values[order]
    cum = above + np.cumsum(values)
    taken = int(np.count_nonzero(cum - values < target))
    nucleus_mass = float(cum[taken - 1]) if taken else above
    t = u * nucleus_mass
    if taken and (t >= above or k == 0):  # inside the edge bucket's part, in descending order
        return int(edge[min(int(np.searchsorted(cum[:taken], t, side="right")), taken - 1)])
    # One of the whole buckets above the edge (the first whose CDF passes t), then a token
    # inside it, in position order.
    j = min(int(np.searchsorted(from_top[:k], t, side="right")), k - 1)
    members = _bucket_members(keys, wn, _BUCKETS - 1 - j)
    start = float(from_top[j - 1]) if j > 0 else 0.0
    inside = (t - start) / float(mass[j])  # where t falls inside the bucket, 0..1
    return int(members[_inverse_cdf(wn[members], min(max(inside, 0.0), 1.0))])


def _bucket_members(keys: np.ndarray, weights: np.ndarray, bucket: int) -> np.ndarray:
    if bucket == 0:  # bucket 0 also holds the blocked (zero) entries
        return np.flatnonzero((keys == 0) & (weights > 0))
    return np.flatnonzero(keys == bucket)


# -- rows that need the whole distribution: penalties, logprobs ---------------------------------
Logprob = tuple[float, tuple[tuple[int, float], ...]]  # (chosen token's logprob, top alternatives)


class Allowed(NamedTuple):
    """The tokens a mask row allows (ascending ids) and their columns in the space its logits
    are computed over (the ids themselves for the whole vocabulary)."""

    tokens: np.ndarray
    columns: torch.Tensor


def _token_ids(row_words: np.ndarray) -> np.ndarray:
    """The token ids a packed mask row allows, ascending."""
    live = np.flatnonzero(row_words)  # only the words with an allowed bit are unpacked
    bits = np.flatnonzero(np.unpackbits(row_words[live].view(np.uint8), bitorder="little"))
    return live[bits >> 5] * 32 + (bits & 31)


def _allowed_in(row_words: np.ndarray, position: np.ndarray | None, vocab: int,
                device: torch.device) -> Allowed:
    """The row's allowed tokens and their columns (`position`: a subset's token -> column map;
    None for the whole vocabulary, where the column is the token)."""
    tokens = _token_ids(row_words)
    tokens = tokens[tokens < vocab]
    columns = tokens if position is None else position[tokens]
    return Allowed(tokens, torch.from_numpy(np.ascontiguousarray(columns)).to(device))


def _penalise(values: torch.Tensor, position: np.ndarray | None, counts: dict[int, int], presence: float,
              frequency: float) -> None:
    ids = np.fromiter(counts, dtype=np.int64, count=len(counts))
    seen = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    if position is not None:  # a token outside the subset is not allowed anyway
        columns = position[ids]
        inside = columns >= 0
        ids, seen = columns[inside], seen[inside]
    if ids.size:
        amount = torch.from_numpy(-(frequency * seen + presence)).to(values.device, values.dtype)
        values.index_add_(0, torch.from_numpy(ids).to(values.device), amount)


def draw_exact(values: torch.Tensor, allowed: Allowed, *, temperature: float, top_p: float, uniform: float,
               top_logprobs: int | None = None) -> tuple[int, Logprob | None]:
    """One token from a row of `Sampler.exact_logits`, and with `top_logprobs` (not None) the
    chosen token's log-probability and the `top_logprobs` most likely alternatives.

    Log-probabilities are those of the distribution the token is drawn from before temperature
    and top_p: the model's logits, penalised, renormalised over the tokens the grammar allows.
    Everything runs over the allowed tokens' logits alone (in token order): blocked entries as
    -inf made every pass slow (exp and logsumexp of -inf take a slow path on CPUs). The draw is
    the batched path's: an inverse CDF over 32-token block sums, then inside the block."""
    tokens = allowed.tokens
    if tokens.size == 0:
        raise ValueError("sample_exact: the row allows no token")
    live = values.index_select(0, allowed.columns)
    top, first = live.max(dim=0)  # the first maximum, like argmax
    if not torch.isfinite(top):
        raise ValueError("sample_exact: the row's logits are not finite")
    if _is_greedy(temperature, top_p):
        pick = int(first)
    else:
        weights = live - top
        if temperature != 1.0:
            weights.div_(temperature)
        weights = weights.exp_().cpu()
        if top_p < 1.0:
            pick = _nucleus(weights, float(weights.double().sum()), float(top_p), float(uniform))
        else:
            pad = -weights.shape[0] % BLOCK
            blocked = torch.nn.functional.pad(weights, (0, pad))[None] if pad else weights[None]
            block_cdf = torch.cumsum(blocked.view(1, -1, BLOCK).sum(dim=-1).double(), dim=-1)
            pick = _blocked_inverse_cdf(blocked, block_cdf, [float(uniform)])[0]
    token = int(tokens[pick])
    if top_logprobs is None:
        return token, None
    # log p = logit - logsumexp (float64) where it is reported: a log_softmax of the whole row
    # and a top-k over its float64 result cost more than the rest of the row.
    total = float(torch.logsumexp(live.double(), dim=0))
    k = min(max(top_logprobs, 0), live.shape[0])
    best = torch.topk(live, k) if k else None  # the logits' order is the log-probabilities'
    alternatives = () if best is None else tuple(
        (int(tokens[i]), v - total) for i, v in zip(best.indices.tolist(), best.values.tolist(), strict=True))
    return token, (float(live[pick]) - total, alternatives)


def sample_exact(
    logits: Unembedding,
    row: int,
    row_words: np.ndarray,
    vocab: int,
    *,
    temperature: float,
    top_p: float,
    uniform: float,
    presence_penalty: float = 0.0,
    frequency_penalty: float = 0.0,
    counts: dict[int, int] | None = None,
    top_logprobs: int | None = None,
) -> tuple[int, Logprob | None]:
    """What `Sampler.exact_logits` + `draw_exact` give one row, over the whole vocabulary."""
    device = logits_device(logits)
    values = logits.dense([row], torch.empty((1, vocab), device=device))[0]
    if counts and (presence_penalty or frequency_penalty):
        _penalise(values, None, counts, presence_penalty, frequency_penalty)
    return draw_exact(values, _allowed_in(row_words, None, vocab, device), temperature=temperature, top_p=top_p,
                      uniform=uniform, top_logprobs=top_logprobs)


def logits_device(logits: Unembedding) -> torch.device:
    hidden = getattr(logits, "hidden", None)
    if isinstance(hidden, torch.Tensor):
        return hidden.device
    table = getattr(logits, "logits", None)
    return table.device if isinstance(table, torch.Tensor) else torch.device("cpu")
