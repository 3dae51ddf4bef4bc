"""The model thread never dies silently: a failure in one sequence fails that sequence alone, and
a scheduler that cannot go on says so (streams get an error, /health and new requests a 503)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reference_server import create_app
from reference_server.protocol.token_backend import BackendError
from reference_server.sources.backends.torch import engine
from reference_server.sources.backends.torch.backend import TorchBackend
from reference_server.sources.backends.torch.model import GptOss

from ..helpers import assert_conformant, serve, sse_events
from .conftest import collect, make_backend, prompt_tokens, request


@pytest.fixture
def fresh(tiny_model: GptOss) -> Iterator[TorchBackend]:
    """A backend of its own: these tests break its scheduler on purpose."""
    b = make_backend(tiny_model, max_batch=8, message_token_budget=16)
    yield b
    b.scheduler.stop()


def _poisoned_token(encoding: Any) -> tuple[tuple[int, ...], int]:
    """A prompt holding a token that no clean prompt of these tests holds, and that token."""
    poisoned = prompt_tokens(encoding, user="Zanzibar quokka")
    clean = set(prompt_tokens(encoding))
    marker = next(t for t in poisoned if t not in clean)
    return poisoned, marker


async def _outcome(backend: TorchBackend, req: Any) -> tuple[list[int], str | None]:
    try:
        tokens, _ = await collect(backend, req)
        return tokens, None
    except BackendError as exc:
        return [], str(exc)


async def test_a_failing_prefill_fails_only_its_sequence(fresh: TorchBackend, encoding: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    poisoned, marker = _poisoned_token(encoding)
    real = engine.prefill

    def prefill(model: Any, cache: Any, slot: int, tokens: Any) -> Any:
        if marker in tokens:
            raise RuntimeError("injected prefill fault")
        return real(model, cache, slot, tokens)

    monkeypatch.setattr(engine, "prefill", prefill)
    clean = prompt_tokens(encoding)
    reqs = [request(clean, temperature=0.0, max_new_tokens=40) for _ in range(3)]
    results = await asyncio.gather(*(_outcome(fresh, r) for r in [*reqs, request(poisoned, max_new_tokens=40)]))
    *ok, bad = results
    assert bad[1] is not None and "prefill" in bad[1] and "injected prefill fault" in bad[1]
    for tokens, error in ok:
        assert error is None and tokens
    assert ok[0][0] == ok[1][0] == ok[2][0]  # the greedy answer, untouched by the failure next to it
    assert fresh.unavailable is None
    again, error = await _outcome(fresh, request(clean, temperature=0.0, max_new_tokens=40))
    assert error is None and again == ok[0][0]


async def test_a_failing_decode_batch_is_retried_per_sequence(fresh: TorchBackend, encoding: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    clean = prompt_tokens(encoding)
    reference, _ = await collect(fresh, request(clean, temperature=0.0, max_new_tokens=60))
    long_prompt = prompt_tokens(encoding, user="tell me more " * 60)
    threshold = len(long_prompt) + 2  # only the long sequence's cache ever gets this long
    assert len(clean) + 60 < threshold
    real = engine.decode
    failed_batches = 0

    def decode(model: Any, cache: Any, slots: Any, tokens: Any) -> Any:
        nonlocal failed_batches
        if any(cache.lengths[s] >= threshold for s in slots):
            failed_batches += 1
            raise RuntimeError("injected decode fault")
        return real(model, cache, slots, tokens)

    monkeypatch.setattr(engine, "decode", decode)
    outcomes = await asyncio.gather(
        *(_outcome(fresh, request(clean, temperature=0.0, max_new_tokens=60)) for _ in range(3)),
        _outcome(fresh, request(long_prompt, max_new_tokens=60)),
    )
    *ok, bad = outcomes
    assert bad[1] is not None and "decode" in bad[1] and "injected decode fault" in bad[1]
    assert failed_batches >= 1
    for tokens, error in ok:
        assert error is None
        assert tokens == reference  # retried alone, the others decode exactly as without the fault


async def test_a_failing_sample_fails_only_its_row(fresh: TorchBackend, encoding: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sampler = fresh.scheduler._sampler
    real = sampler.sample

    def sample(heads: Any, words: Any, temperatures: Any, top_ps: Any, uniforms: Any) -> Any:
        if 0.75 in list(temperatures):
            raise ValueError("injected sampling fault")
        return real(heads, words, temperatures, top_ps, uniforms)

    monkeypatch.setattr(sampler, "sample", sample)
    clean = prompt_tokens(encoding)
    outcomes = await asyncio.gather(
        *(_outcome(fresh, request(clean, temperature=0.5, seed=i, max_new_tokens=40)) for i in range(3)),
        _outcome(fresh, request(clean, temperature=0.75, max_new_tokens=40)),
    )
    *ok, bad = outcomes
    assert bad[1] is not None and "sampling" in bad[1] and "ValueError" in bad[1]
    assert all(error is None and tokens for tokens, error in ok)


async def test_a_dead_model_thread_fails_every_stream_and_refuses_new_ones(
        fresh: TorchBackend, encoding: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    scheduler = fresh.scheduler

    def broken_bookkeeping() -> None:
        if scheduler.stats.steps >= 3:
            raise RuntimeError("injected scheduler fault")

    clean = prompt_tokens(encoding)
    stream = fresh.generate(request(clean, max_new_tokens=10_000))
    waiting = [fresh.generate(request(clean, max_new_tokens=10_000)) for _ in range(10)]  # > max_batch
    monkeypatch.setattr(scheduler, "_retire_cancelled", broken_bookkeeping)
    outcomes = await asyncio.gather(*(_drain(s) for s in [stream, *waiting]))
    for error in outcomes:
        assert error is not None and "model thread stopped" in error and "injected scheduler fault" in error
    assert fresh.unavailable is not None and "injected scheduler fault" in fresh.unavailable
    _, error = await _outcome(fresh, request(clean, max_new_tokens=5))
    assert error == fresh.unavailable  # answered at once, not queued in a dead inbox


async def _drain(stream: Any) -> str | None:
    try:
        async for _ in stream:
            pass
    except BackendError as exc:
        return str(exc)
    return None


# -- over HTTP ------------------------------------------------------------------------------------

def _assert_failed(events: list[dict[str, Any]]) -> None:
    """`error`, then whatever was open closed, then `response.failed` as the last event."""
    types = [e["type"] for e in events]
    assert types[-1] == "response.failed" and types.count("error") == 1
    assert all(t == "response.output_item.done" or t.endswith(".done") for t in types[types.index("error") + 1:-1])

@pytest.fixture
def http_server(fresh: TorchBackend, encoding: Any) -> Iterator[Any]:
    with serve(create_app(backend=fresh, encoding=encoding)) as srv:
        yield srv


def test_a_step_failure_is_a_failed_response_and_the_server_goes_on(
        http_server: Any, fresh: TorchBackend, encoding: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = engine.prefill
    marker_text = "Zanzibar quokka"
    marker = next(t for t in encoding.encode(marker_text) if t not in set(prompt_tokens(encoding)))

    def prefill(model: Any, cache: Any, slot: int, tokens: Any) -> Any:
        if marker in tokens:
            raise RuntimeError("injected prefill fault")
        return real(model, cache, slot, tokens)

    monkeypatch.setattr(engine, "prefill", prefill)
    url = f"{http_server.url}/v1/responses"
    body = {"model": "test-tiny", "input": marker_text, "max_output_tokens": 40}
    resp = httpx.post(url, json=body, timeout=120)
    assert resp.status_code == 500
    error = resp.json()["error"]
    assert error["type"] == "server_error" and "injected prefill fault" in error["message"]
    data = httpx.post(url, json=body | {"stream": True}, timeout=120).content
    events = sse_events(data)
    _assert_failed(events)
    assert "injected prefill fault" in events[-1]["response"]["error"]["message"]
    assert_conformant(data, request=body | {"stream": True})
    health = httpx.get(f"{http_server.url}/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ok = httpx.post(url, json={"model": "test-tiny", "input": "Hello", "max_output_tokens": 40}, timeout=120)
    assert ok.status_code == 200 and ok.json()["status"] in ("completed", "incomplete")


def test_a_dead_backend_is_reported_by_health_and_refused_with_503(
        http_server: Any, fresh: TorchBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    scheduler = fresh.scheduler

    def broken_bookkeeping() -> None:
        if scheduler.stats.steps >= 3:
            raise RuntimeError("injected scheduler fault")

    monkeypatch.setattr(scheduler, "_retire_cancelled", broken_bookkeeping)
    url = f"{http_server.url}/v1/responses"
    body = {"model": "test-tiny", "input": "Hello", "max_output_tokens": 10_000, "stream": True}
    data = httpx.post(url, json=body, timeout=120).content  # in flight when the thread dies
    events = sse_events(data)
    _assert_failed(events)
    assert "injected scheduler fault" in events[-1]["response"]["error"]["message"]
    health = httpx.get(f"{http_server.url}/health", timeout=30)
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable" and "injected scheduler fault" in health.json()["error"]
    for stream in (True, False):
        refused = httpx.post(url, json=body | {"stream": stream}, timeout=30)
        assert refused.status_code == 503
        err = refused.json()["error"]
        assert err["type"] == "server_error" and "injected scheduler fault" in err["message"]
