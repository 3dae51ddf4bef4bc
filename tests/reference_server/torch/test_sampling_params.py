"""Sampling parameters the torch backend honours: presence/frequency penalties over generated
tokens, and per-token logprobs with the top alternatives."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
import torch

from reference_server.protocol.token_backend import OutputSpec
from reference_server.sources.backends.torch.backend import TorchBackend
from reference_server.sources.backends.torch.sampling import (
    LogitsTable,
    Sampler,
    draw_exact,
    pack_allowed,
    sample_exact,
)
from reference_server.sources.backends.torch.tokenizer import FIRST_SPECIAL

from .conftest import make_backend, parse, prompt_tokens, request

V = 64


def _exact(logits: list[float], allowed: list[bool] | None = None, **kw: Any) -> tuple[int, Any]:
    table = LogitsTable(torch.tensor([logits + [-5.0] * (V - len(logits))]))
    mask = np.array([allowed + [False] * (V - len(allowed))]) if allowed else np.ones((1, V), dtype=bool)
    kw.setdefault("temperature", 0.0)
    kw.setdefault("top_p", 1.0)
    kw.setdefault("uniform", 0.5)
    return sample_exact(table, 0, pack_allowed(mask)[0], V, **kw)


def test_presence_and_frequency_penalties_follow_openai_definition() -> None:
    assert _exact([2.0, 1.9])[0] == 0
    assert _exact([2.0, 1.9], counts={0: 1}, presence_penalty=0.5)[0] == 1
    assert _exact([2.0, 1.9], counts={0: 3}, frequency_penalty=0.05)[0] == 1  # 2.0 - 3 * 0.05 < 1.9
    assert _exact([2.0, 1.9], counts={0: 1}, frequency_penalty=0.05)[0] == 0  # 2.0 - 0.05 > 1.9
    assert _exact([2.0, 1.9], counts={0: 1, 1: 1}, presence_penalty=1.0)[0] == 0  # both lose the same


def test_logprobs_are_the_renormalised_masked_distribution() -> None:
    logits = [3.0, 1.0, 2.0, 0.5]
    token, (chosen, top) = _exact(logits, allowed=[True, False, True, True], top_logprobs=5)
    assert token == 0
    live = torch.tensor([3.0, 2.0, 0.5])
    expected = torch.log_softmax(live.double(), dim=0).tolist()
    assert chosen == pytest.approx(expected[0])
    assert [t for t, _ in top] == [0, 2, 3]  # most likely first; the blocked token never appears
    assert [lp for _, lp in top] == pytest.approx(expected)
    assert math.fsum(math.exp(lp) for _, lp in top) == pytest.approx(1.0)
    assert _exact(logits, top_logprobs=0)[1][1] == ()
    assert _exact(logits)[1] is None  # not asked: not computed


def test_fewer_allowed_tokens_than_asked_leaves_only_those() -> None:
    _, (chosen, top) = _exact([1.0, 4.0, 2.0], allowed=[True, False, True], top_logprobs=5, temperature=1.0)
    assert [t for t, _ in top] == [2, 0] and chosen in {lp for _, lp in top}


@pytest.mark.parametrize("temp", [1.0, 0.6])
def test_exact_draws_are_the_inverse_cdf_of_the_penalised_masked_softmax(temp: float) -> None:
    """The exact rows draw like the batched path (block sums, then inside the block): for each
    uniform the token a float64 inverse CDF of exp((x - max) / T) over the allowed, penalised
    logits draws, except within rounding (1e-5 of the mass) of a boundary between tokens."""
    vocab, draws = 3000, 800
    logits = torch.randn(1, vocab, generator=torch.Generator().manual_seed(3)) * 3
    allowed = np.random.default_rng(7).random(vocab) < 0.7
    counts = {int(t): 1 + int(t) % 3 for t in np.flatnonzero(allowed)[:40]}
    penalised = logits[0].double().clone()
    for t, n in counts.items():
        penalised[t] -= 0.05 * n + 0.4
    weights = ((penalised - penalised[allowed].max()) / temp).exp() * torch.from_numpy(allowed)
    cdf = torch.cumsum(weights, dim=0)
    [(values, row)] = Sampler(vocab, 1).exact_logits(LogitsTable(logits), pack_allowed(allowed[None]),
                                                     [(0.4, 0.05, counts)])
    near = 0
    for u in np.random.default_rng(8).random(draws).tolist():
        got, _ = draw_exact(values, row, temperature=temp, top_p=1.0, uniform=u)
        target = u * cdf[-1].item()
        want = int(torch.searchsorted(cdf, torch.tensor([target], dtype=torch.float64), right=True)[0])
        assert allowed[got], u
        if got != want:
            lo, hi = min(got, want), max(got, want)
            assert (cdf[lo:hi] - target).abs().max().item() <= 1e-5 * cdf[-1].item(), (u, got, want)
            near += 1
    assert near <= draws // 100


def test_exact_rows_together_are_each_row_alone() -> None:
    """The scheduler's exact rows share one unembedding matmul: each row's token and
    log-probabilities are what it gets alone, with its own penalties, mask and settings."""
    vocab, rows = 500, 4
    logits = torch.randn(rows, vocab, generator=torch.Generator().manual_seed(11)) * 2
    subset = np.arange(vocab) % 3 != 0
    allowed = (np.random.default_rng(12).random((rows, vocab)) < 0.6) & subset
    words = pack_allowed(allowed)
    penalties = [(0.0, 0.0, None), (0.7, 0.0, {1: 2, 5: 1}), (0.0, -0.3, {7: 4}), (0.2, 0.1, {9: 1})]
    settings = [dict(temperature=0.0, top_p=1.0, uniform=0.3), dict(temperature=1.0, top_p=1.0, uniform=0.6),
                dict(temperature=0.8, top_p=0.9, uniform=0.1), dict(temperature=1.3, top_p=1.0, uniform=0.95)]
    together = Sampler(vocab, rows).exact_logits(LogitsTable(logits), words, penalties)
    for r in range(rows):
        alone = sample_exact(LogitsTable(logits), r, words[r], vocab, presence_penalty=penalties[r][0],
                             frequency_penalty=penalties[r][1], counts=penalties[r][2], top_logprobs=3,
                             **settings[r])  # type: ignore[arg-type]
        assert draw_exact(*together[r], top_logprobs=3, **settings[r]) == alone  # type: ignore[arg-type]
        assert allowed[r, alone[0]]
    # Confined to a registered sub-vocabulary (readable text), the rows get their logits for it
    # alone, and the same tokens and log-probabilities.
    confined = Sampler(vocab, rows, subsets=[subset]).exact_logits(LogitsTable(logits), words, penalties)
    assert all(values.shape[0] < vocab for values, _ in confined)  # the subset's columns only
    for r in range(rows):
        assert draw_exact(*confined[r], top_logprobs=3, **settings[r]) == \
            draw_exact(*together[r], top_logprobs=3, **settings[r])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def torch_backend(tiny_model: Any) -> Any:
    b = make_backend(tiny_model, message_token_budget=24)
    yield b
    b.scheduler.stop()


async def _run(backend: TorchBackend, req: Any) -> tuple[list[int], list[Any]]:
    stream = backend.generate(req)
    tokens, logprobs = [], []
    async for token in stream:
        tokens.append(token)
        logprobs.append(stream.last_logprob)
    return tokens, logprobs


async def test_penalties_steer_repetition_both_ways(torch_backend: TorchBackend, encoding: Any) -> None:
    prompt = prompt_tokens(encoding, user="Say anything")
    spec = OutputSpec(tool_mode="none")

    async def body(**kw: Any) -> list[int]:
        tokens, _ = await _run(torch_backend, request(prompt, spec, temperature=0.0, **kw))
        (final,) = parse(encoding, tokens)
        assert final.channel == "final"
        start = tokens.index(200008) + 1  # after <|message|>
        return [t for t in tokens[start:] if t < FIRST_SPECIAL]

    plain = await body()
    avoided = await body(presence_penalty=50.0)
    repeated = await body(frequency_penalty=-50.0)  # negative: the same token again and again
    assert not [t for t, n in Counter(avoided).items() if n > 1]
    assert len(set(repeated)) <= 2 < len(set(plain)) and len(repeated) > 4
    print(f"distinct text tokens: plain {len(set(plain))}/{len(plain)}, "
          f"repeated {len(set(repeated))}/{len(repeated)}")


async def test_logprobs_come_with_every_token_when_asked(torch_backend: TorchBackend, encoding: Any) -> None:
    prompt = prompt_tokens(encoding, user="Say anything")
    tokens, logprobs = await _run(torch_backend, request(prompt, OutputSpec(tool_mode="none"), temperature=0.0,
                                                         logprobs=3))
    assert len(logprobs) == len(tokens) and all(lp is not None for lp in logprobs)
    for token, (chosen, top) in zip(tokens, logprobs, strict=True):
        assert chosen <= 1e-9 and 1 <= len(top) <= 3
        assert top[0][0] == token and top[0][1] == pytest.approx(chosen)  # greedy: the most likely one
        assert [lp for _, lp in top] == sorted((lp for _, lp in top), reverse=True)
    _, none = await _run(torch_backend, request(prompt, OutputSpec(tool_mode="none"), temperature=0.0))
    assert all(lp is None for lp in none)


async def test_backend_source_passes_the_parameters(encoding: Any) -> None:
    from reference_server.core.settings import Settings
    from reference_server.protocol.request import parse_create_request
    from reference_server.sources.backend_source import BackendSource

    source = BackendSource(_NoBackend(), encoding, Settings())
    body = {"model": "m", "input": "hi", "include": ["message.output_text.logprobs"], "top_logprobs": 4,
            "presence_penalty": 0.5, "frequency_penalty": -1.5}
    plan = await source.plan(parse_create_request(body), [])
    assert plan.logprobs == 4 and plan.presence_penalty == 0.5 and plan.frequency_penalty == -1.5
    plan = await source.plan(parse_create_request({"model": "m", "input": "hi"}), [])
    assert plan.logprobs is None and plan.presence_penalty == 0.0 and plan.frequency_penalty == 0.0


class _NoBackend:
    name = "none"
    model_id = "m"


def test_logprobs_reach_the_output_text_deltas_over_http(torch_backend: TorchBackend, encoding: Any) -> None:
    import httpx

    from reference_server import create_app

    from ..helpers import assert_conformant, serve, sse_events

    body = {"model": "test-tiny", "input": "Say anything", "stream": True, "max_output_tokens": 40,
            "include": ["message.output_text.logprobs"], "top_logprobs": 2, "presence_penalty": 1.0}
    with serve(create_app(backend=torch_backend, encoding=encoding)) as srv:
        data = httpx.post(f"{srv.url}/v1/responses", json=body, timeout=120).content
    assert_conformant(data, request=body)
    deltas = [e for e in sse_events(data) if e["type"] == "response.output_text.delta"]
    assert deltas and all(e["logprobs"] for e in deltas)
    entries = [lp for e in deltas for lp in e["logprobs"]]
    # A token may hold part of a UTF-8 character: its `token` text then shows U+FFFD, and only its
    # `bytes` (on the part's logprobs, the field that exists for this) join into the text.
    text = "".join(e["delta"] for e in deltas)
    part = next(i for i in sse_events(data)[-1]["response"]["output"] if i["type"] == "message")["content"][0]
    assert part["text"] == text
    assert [lp["token"] for lp in part["logprobs"]] == [lp["token"] for lp in entries]
    assert b"".join(bytes(lp["bytes"]) for lp in part["logprobs"]) == text.encode()
    assert all(lp["token"] == bytes(lp["bytes"]).decode("utf-8", errors="replace") for lp in part["logprobs"])
    for lp in entries:
        assert lp["logprob"] <= 0 and 1 <= len(lp["top_logprobs"]) <= 2
