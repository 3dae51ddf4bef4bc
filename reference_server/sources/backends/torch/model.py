"""The gpt-oss decoder in torch: RMSNorm, GQA with attention sinks, alternating sliding-window
attention, YaRN rotary embeddings, top-k routed experts with clamped SwiGLU.

One forward serves every mode: the caller passes a `KVProvider` that decides which keys each
layer attends to (the sequence itself for a full recompute, a KV cache for incremental decoding).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .config import ModelConfig, yarn_band

# (layer, keys [B,T,Hkv,D], values [B,T,Hkv,D], positions [B,T]) ->
#   (keys to attend [B,Hkv,K,D], values [B,Hkv,K,D], their positions [B,K], -1 = empty)
# Head-major keys let attention's batched matmuls read a cache slice in place: with the heads
# after the positions, every decode step copied all keys and values of every row (16 rows at
# 3000 tokens of context: 7.3 ms per step, 10x one row).
KVProvider = Callable[
    [int, torch.Tensor, torch.Tensor, torch.Tensor],
    tuple[torch.Tensor, torch.Tensor, torch.Tensor],
]

SWIGLU_ALPHA = 1.702
PACKED_UNEMBEDDING_BYTES = 256 << 20  # larger unembeddings are not kept twice
PACKED_BATCH_HINT = 16  # oneDNN's layout hint: rows per call (any number of rows works)
RMS_EPS = 1e-5


class RMSNorm(nn.Module):
    def __init__(self, size: int, device: torch.device | None = None) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(size, device=device, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.float()
        t = t * torch.rsqrt(t.pow(2).mean(dim=-1, keepdim=True) + RMS_EPS)
        return (t * self.scale).to(x.dtype)


class Rotary:
    """YaRN-scaled rotary embedding on the two halves of each head (gpt-oss layout)."""

    def __init__(self, cfg: ModelConfig, device: torch.device) -> None:
        half = cfg.head_dim // 2
        dims = torch.arange(half, dtype=torch.float32, device=device)
        wavelength_base = cfg.rope_theta ** (2 * dims / cfg.head_dim)
        extrapolated = 1.0 / wavelength_base
        s = cfg.rope_scaling_factor
        if s > 1.0:
            low, high = yarn_band(cfg)
            # 1 on fast-rotating dims (kept as trained), 0 on slow ones (stretched by s).
            keep = 1.0 - ((dims - low) / (high - low)).clamp(0.0, 1.0)
            self.inv_freq = extrapolated * keep + (extrapolated / s) * (1.0 - keep)
            # YaRN's attention temperature, folded into both q and k.
            self.concentration = 1.0 + 0.1 * math.log(s)
        else:
            self.inv_freq = extrapolated
            self.concentration = 1.0

    def cos_sin(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angles = positions.to(torch.float32)[..., None] * self.inv_freq
        return angles.cos() * self.concentration, angles.sin() * self.concentration

    @staticmethod
    def apply(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """x: [B, T, heads..., D]; cos/sin: [B, T, D/2] (broadcast over the head axes)."""
        extra = x.dim() - cos.dim()
        shape = cos.shape[:2] + (1,) * extra + cos.shape[2:]
        cos = cos.reshape(shape).to(x.dtype)
        sin = sin.reshape(shape).to(x.dtype)
        first, second = x.chunk(2, dim=-1)
        return torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    sinks: torch.Tensor,
    allowed: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Softmax attention where each head also spends probability mass on its learned sink.

    q [B,Tq,Hkv,M,D], k/v [B,Hkv,Tk,D], sinks [Hkv,M], allowed [B,Tq,Tk] -> [B,Tq,Hkv*M*D].
    """
    b, tq, hkv, m, _ = q.shape
    scores = torch.einsum("bqhmd,bhkd->bhmqk", q.float(), k.float()) * scale
    scores = scores.masked_fill(~allowed[:, None, None, :, :], float("-inf"))
    sink = sinks.float().reshape(1, hkv, m, 1, 1).expand(b, hkv, m, tq, 1)
    # The sink column joins the normalisation and is then dropped: heads may attend "nowhere".
    weights = torch.softmax(torch.cat((scores, sink), dim=-1), dim=-1)[..., :-1]
    out = torch.einsum("bhmqk,bhkd->bqhmd", weights, v.float())
    return out.reshape(b, tq, -1).to(q.dtype)


def uncached(_layer: int, k: torch.Tensor, v: torch.Tensor, positions: torch.Tensor):
    """The `KVProvider` of a full recompute: each query attends to the sequence's own keys."""
    return k.transpose(1, 2), v.transpose(1, 2), positions


def visibility(query_pos: torch.Tensor, key_pos: torch.Tensor, window: int) -> torch.Tensor:
    """[B,Tq] x [B,Tk] -> [B,Tq,Tk]: causal, within the window (0 = unbounded), key present."""
    qp = query_pos[:, :, None]
    kp = key_pos[:, None, :]
    ok = (kp >= 0) & (kp <= qp)
    if window > 0:
        ok &= (qp - kp) < window
    return ok


class AttentionBlock(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int, device: torch.device, dtype: torch.dtype) -> None:
        super().__init__()
        self.layer = layer
        self.cfg = cfg
        self.window = cfg.sliding_window if cfg.is_sliding(layer) else 0
        self.norm = RMSNorm(cfg.hidden_size, device=device)
        qkv_dim = cfg.head_dim * (cfg.num_attention_heads + 2 * cfg.num_key_value_heads)
        self.qkv = nn.Linear(cfg.hidden_size, qkv_dim, device=device, dtype=dtype)
        self.sinks = nn.Parameter(torch.zeros(cfg.num_attention_heads, device=device, dtype=dtype))
        self.out = nn.Linear(cfg.head_dim * cfg.num_attention_heads, cfg.hidden_size, device=device, dtype=dtype)
        self.scale = 1.0 / math.sqrt(cfg.head_dim)

    def forward(
        self, x: torch.Tensor, positions: torch.Tensor, rotary: Rotary, kv: KVProvider
    ) -> torch.Tensor:
        cfg = self.cfg
        b, t, _ = x.shape
        hq, hkv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        qkv = self.qkv(self.norm(x))
        q = qkv[..., : hq * d].reshape(b, t, hkv, cfg.q_per_kv, d)
        k = qkv[..., hq * d : (hq + hkv) * d].reshape(b, t, hkv, d)
        v = qkv[..., (hq + hkv) * d :].reshape(b, t, hkv, d)
        cos, sin = rotary.cos_sin(positions)
        q = Rotary.apply(q, cos, sin)
        k = Rotary.apply(k, cos, sin)
        keys, values, key_pos = kv(self.layer, k, v, positions)
        allowed = visibility(positions, key_pos, self.window)
        sinks = self.sinks.reshape(hkv, cfg.q_per_kv)
        return x + self.out(attend(q, keys, values, sinks, allowed, self.scale))


def swiglu(h: torch.Tensor, limit: float) -> torch.Tensor:
    """Clamped SwiGLU over interleaved (gate, linear) pairs, with the +1 on the linear half."""
    gate = h[..., 0::2].clamp(max=limit)
    linear = h[..., 1::2].clamp(min=-limit, max=limit)
    return gate * torch.sigmoid(SWIGLU_ALPHA * gate) * (linear + 1.0)


class ExpertsBlock(nn.Module):
    def __init__(self, cfg: ModelConfig, device: torch.device, dtype: torch.dtype) -> None:
        super().__init__()
        self.cfg = cfg
        e, h, i = cfg.num_experts, cfg.hidden_size, cfg.intermediate_size
        self.norm = RMSNorm(h, device=device)
        self.gate = nn.Linear(h, e, device=device, dtype=dtype)
        self.mlp1_weight = nn.Parameter(torch.zeros(e, 2 * i, h, device=device, dtype=dtype))
        self.mlp1_bias = nn.Parameter(torch.zeros(e, 2 * i, device=device, dtype=dtype))
        self.mlp2_weight = nn.Parameter(torch.zeros(e, h, i, device=device, dtype=dtype))
        self.mlp2_bias = nn.Parameter(torch.zeros(e, h, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        t = self.norm(x).reshape(-1, shape[-1])
        top = torch.topk(self.gate(t), k=self.cfg.experts_per_token, dim=-1, sorted=True)
        weights = torch.softmax(top.values.float(), dim=-1).to(t.dtype)
        out = torch.zeros_like(t)
        # Loop over the experts actually chosen: each runs one matmul over its tokens.
        for expert in torch.unique(top.indices).tolist():
            rows, rank = (top.indices == expert).nonzero(as_tuple=True)
            h = t[rows] @ self.mlp1_weight[expert].T + self.mlp1_bias[expert]
            y = swiglu(h, self.cfg.swiglu_limit) @ self.mlp2_weight[expert].T + self.mlp2_bias[expert]
            out.index_add_(0, rows, y * weights[rows, rank, None])
        return x + out.reshape(shape)


class TransformerBlock(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int, device: torch.device, dtype: torch.dtype) -> None:
        super().__init__()
        self.attn = AttentionBlock(cfg, layer, device, dtype)
        self.mlp = ExpertsBlock(cfg, device, dtype)


class GptOss(nn.Module):
    """gpt-oss with the public parameter names (`block.{i}.attn.qkv.weight`, ...)."""

    def __init__(self, cfg: ModelConfig, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        device = torch.device(device)
        self.cfg = cfg
        self.device = device
        self.dtype = dtype
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.hidden_size, device=device, dtype=dtype)
        self.block = nn.ModuleList(
            TransformerBlock(cfg, i, device, dtype) for i in range(cfg.num_hidden_layers)
        )
        self.norm = RMSNorm(cfg.hidden_size, device=device)
        self.unembedding = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False, device=device, dtype=dtype)
        self.rotary = Rotary(cfg, device)
        self._unembed_t: torch.Tensor | None = None
        self._unembed_version = -1
        self._unembed_cols: dict[int, tuple[torch.Tensor, int, int, torch.Tensor]] = {}
        # oneDNN copies of the unembedding (whole, or a sub-vocabulary's rows) in its blocked
        # layout, for batches of several rows; None once oneDNN turned out to be unusable.
        self._unembed_packed: dict[int | None, tuple[torch.Tensor | None, int, int, torch.Tensor]] | None = {}
        self.requires_grad_(False)
        self.eval()

    def hidden(self, tokens: torch.Tensor, positions: torch.Tensor, kv: KVProvider) -> torch.Tensor:
        """tokens/positions [B,T] -> final-normed hidden states [B,T,H]."""
        x = self.embedding(tokens)
        for blk in self.block:
            assert isinstance(blk, TransformerBlock)
            x = blk.attn(x, positions, self.rotary, kv)
            x = blk.mlp(x)
        return self.norm(x)

    def _unembedding_t(self) -> torch.Tensor:
        # h @ W^T with W^T stored contiguously is faster on CPU than linear() on W; the copy is
        # rebuilt whenever the parameter is modified in place (loading, initialisation).
        weight = self.unembedding.weight
        if self._unembed_t is None or self._unembed_version != weight._version:
            self._unembed_t = weight.detach().T.contiguous()
            self._unembed_version = weight._version
        return self._unembed_t

    def _unembedding_columns(self, ids: torch.Tensor, width: int) -> torch.Tensor:
        # A sub-vocabulary the sampler uses every step (readable text): its weights gathered
        # once, padded with zero columns to `width`, rebuilt when the parameter changes.
        weight = self.unembedding.weight
        cache = self._unembed_cols
        hit = cache.get(id(ids))
        if hit is not None and hit[0] is ids and hit[1] == weight._version and hit[2] == width:
            return hit[3]
        gathered = torch.zeros((weight.shape[1], width), dtype=weight.dtype, device=weight.device)
        gathered[:, : ids.shape[0]] = weight.detach().index_select(0, ids.to(weight.device)).T
        if len(cache) >= 8:  # a handful of sets per process; never grows without bound
            cache.clear()
        cache[id(ids)] = (ids, weight._version, width, gathered)
        return gathered

    def _packed_unembedding(self, ids: torch.Tensor | None, width: int) -> torch.Tensor | None:
        # The unembedding (or the rows `ids`, padded with zero rows to `width`) reordered once
        # into oneDNN's blocked layout. With a few rows of hidden states MKL's sgemm repacks the
        # whole [H, width] operand on every call: at 4-16 rows oneDNN on the packed copy takes a
        # third to a half of the time, with the same logits (both sum the H products in order).
        # CPU float32 only, and only while a copy is cheap to keep (the tiny presets: 17-51 MB).
        cache = self._unembed_packed
        weight = self.unembedding.weight
        if (cache is None or weight.device.type != "cpu" or weight.dtype != torch.float32
                or width * weight.shape[1] * 4 > PACKED_UNEMBEDDING_BYTES):
            return None
        key = None if ids is None else id(ids)
        hit = cache.get(key)
        if hit is not None and hit[0] is ids and hit[1] == weight._version and hit[2] == width:
            return hit[3]
        try:
            rows = torch.zeros((width, weight.shape[1]), dtype=weight.dtype)
            if ids is None:
                rows[: weight.shape[0]] = weight.detach()[:width]
            else:
                rows[: ids.shape[0]] = weight.detach().index_select(0, ids)
            packed = torch.ops.mkldnn._reorder_linear_weight(rows, PACKED_BATCH_HINT)
        except (AttributeError, RuntimeError, NotImplementedError):  # a torch built without oneDNN
            self._unembed_packed = None
            return None
        if len(cache) >= 8:  # a handful of sets per process; never grows without bound
            cache.clear()
        cache[key] = (ids, weight._version, width, packed)
        return packed

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return (hidden.to(self.dtype) @ self._unembedding_t()).float()

    def logits_into(self, hidden: torch.Tensor, out: torch.Tensor, columns: torch.Tensor | None = None) -> torch.Tensor:
        """Float32 logits of the first `out.shape[1]` tokens for hidden [k,H], in a [k,n]
        tensor that is returned: `out` (a preallocated buffer: a fresh 13 MB result per step
        costs page faults) or, for several rows on CPU, oneDNN's own result (copying it into
        `out` would cost a pass). With `columns` (token ids, at most n): the logits of those
        tokens in the first columns, the rest 0 (one matmul over a cached copy of their weights)."""
        if hidden.shape[0] > 1 and out.dtype == torch.float32:
            packed = self._packed_unembedding(columns, out.shape[1])
            if packed is not None:
                try:
                    return torch.ops.mkldnn._linear_pointwise(hidden.to(self.dtype), packed, None, "none", [], "")
                except (RuntimeError, NotImplementedError):  # unusable here: MKL from now on
                    self._unembed_packed = None
        weight_t = self._unembedding_t()[:, : out.shape[1]] if columns is None else \
            self._unembedding_columns(columns, out.shape[1])
        if self.dtype == out.dtype:
            torch.mm(hidden.to(self.dtype), weight_t, out=out)
        else:
            out.copy_(hidden.to(self.dtype) @ weight_t)
        return out

    def logits_at(self, hidden: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Float32 logits of the given tokens only, for one hidden state [H] -> [len(tokens)]."""
        rows = self.unembedding.weight.index_select(0, tokens)
        return (rows @ hidden.to(self.dtype)).float()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Full recompute (the reference way): tokens [T] -> logits [T,V], no cache."""
        toks = tokens.reshape(1, -1).to(self.device)
        positions = torch.arange(toks.shape[1], device=self.device)[None]
        with torch.inference_mode():
            return self.logits(self.hidden(toks, positions, uncached))[0]


def init_random(model: GptOss, seed: int) -> GptOss:
    """Deterministic random weights (same seed -> same weights in every process)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            if name.endswith("norm.scale"):
                value = torch.ones(param.shape)
            elif name.endswith("sinks"):
                value = torch.randn(param.shape, generator=gen)
            elif name.endswith("bias"):
                value = torch.randn(param.shape, generator=gen) * 0.02
            else:
                # Unit-variance activations through each matmul; embeddings stay N(0, 1).
                fan_in = 1 if name == "embedding.weight" else param.shape[-1]
                value = torch.randn(param.shape, generator=gen) / math.sqrt(fan_in)
                if name == "unembedding.weight":
                    value *= 3.0  # logits with a spread, so greedy choices are not near ties
            param.copy_(value.to(device=param.device, dtype=param.dtype))
    return model
