"""The scheduler: prefix reuse, cancellation, continuous batching, a free event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reference_server.backends.base import OutputSpec
from reference_server.backends.torch.backend import TorchBackend
from reference_server.backends.torch.model import GptOss

from .conftest import collect, make_backend, prompt_tokens, request

END = 200007


@pytest.fixture(scope="module")
def uncached(tiny_model: GptOss) -> Iterator[TorchBackend]:
    b = make_backend(tiny_model, max_batch=8, message_token_budget=24, prefix_cache_entries=0)
    yield b
    b.scheduler.stop()


def _as_history(tokens: list[int]) -> list[int]:
    # In the next prompt, a finished answer's <|return|> is rendered as <|end|>.
    return [*tokens[:-1], END] if tokens and tokens[-1] == 200002 else list(tokens)


async def test_continued_conversation_reuses_the_prefix(backend: TorchBackend, uncached: TorchBackend,
                                                        encoding: Any) -> None:
    first_prompt = prompt_tokens(encoding, user="Hello there")
    first, _ = await collect(backend, request(first_prompt, temperature=0.0))
    follow_up = encoding.encode("<|start|>user<|message|>And tomorrow?<|end|><|start|>assistant",
                                allowed_special="all")
    second_prompt = (*first_prompt, *_as_history(first), *follow_up)
    second, cached = await collect(backend, request(second_prompt, temperature=0.0))
    # The first prompt at least (its ring snapshot) is reused; never more than the prompt.
    assert len(first_prompt) <= cached < len(second_prompt)
    reference, none_cached = await collect(uncached, request(second_prompt, temperature=0.0))
    assert none_cached == 0
    assert second == reference


async def test_repeated_prompt_is_fully_cached(backend: TorchBackend, uncached: TorchBackend, encoding: Any) -> None:
    prompt = prompt_tokens(encoding, user="Same question twice")
    spec = OutputSpec(reasoning_effort="medium")
    a, _ = await collect(backend, request(prompt, spec, temperature=0.0))
    b, cached = await collect(backend, request(prompt, spec, temperature=0.0))
    assert cached == len(prompt)
    c, _ = await collect(uncached, request(prompt, spec, temperature=0.0))
    assert a == b == c


async def test_cancellation_frees_the_slot_promptly(tiny_model: GptOss, encoding: Any) -> None:
    b = make_backend(tiny_model, message_token_budget=100_000)  # free text that never ends by itself
    try:
        stream = b.generate(request(prompt_tokens(encoding), max_new_tokens=100_000, temperature=1.0, seed=1))
        got = [await stream.__anext__() for _ in range(3)]
        assert len(got) == 3 and b.scheduler.active_count == 1
        closed_at = time.monotonic()
        await stream.aclose()
        while b.scheduler.active_count and time.monotonic() - closed_at < 2.0:
            await asyncio.sleep(0.002)
        assert b.scheduler.active_count == 0
        assert time.monotonic() - closed_at < 1.0
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
    finally:
        b.scheduler.stop()


async def test_concurrent_streams_are_decoded_together(tiny_model: GptOss, encoding: Any) -> None:
    b = make_backend(tiny_model, max_batch=4, message_token_budget=24)
    try:
        prompts = [prompt_tokens(encoding, user=f"question {i}") for i in range(6)]
        solo = [await collect(b, request(p, temperature=0.0)) for p in prompts[:2]]
        before = b.scheduler.stats.max_decode_batch
        results = await asyncio.gather(*(collect(b, request(p, temperature=0.0)) for p in prompts))
        assert all(tokens[-1] == 200002 for tokens, _ in results)
        assert b.scheduler.stats.max_decode_batch == 4 > before  # 6 requests, 4 slots
        # Batched greedy decoding gives what one-at-a-time decoding gave.
        assert [r[0] for r in results[:2]] == [s[0] for s in solo]
        assert b.scheduler.active_count == 0 and b.scheduler.waiting_count == 0
    finally:
        b.scheduler.stop()


async def test_generation_does_not_block_the_event_loop(backend: TorchBackend, encoding: Any) -> None:
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    prompts = [prompt_tokens(encoding, user="x" * (200 + i)) for i in range(3)]
    await asyncio.gather(*(collect(backend, request(p, temperature=1.0, seed=i)) for i, p in enumerate(prompts)))
    done.set()
    await tick
    assert len(gaps) > 5
    assert max(gaps) < 0.25, f"the loop stalled for {max(gaps):.3f}s"


async def test_closing_the_backend_fails_waiting_streams(tiny_model: GptOss, encoding: Any) -> None:
    from reference_server.backends.base import BackendError

    b = make_backend(tiny_model, message_token_budget=100_000)
    stream = b.generate(request(prompt_tokens(encoding), max_new_tokens=100_000))
    await stream.__anext__()
    await b.aclose()
    with pytest.raises(BackendError, match="closed"):
        async for _ in stream:
            pass
    with pytest.raises(BackendError, match="closed"):
        b.generate(request(prompt_tokens(encoding)))
