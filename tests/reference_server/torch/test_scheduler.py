"""The scheduler: prefix reuse, cancellation, continuous batching, a free event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reference_server.protocol.token_backend import OutputSpec
from reference_server.sources.backends.torch.backend import TorchBackend
from reference_server.sources.backends.torch.model import GptOss

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
        while b.scheduler.active_count and time.monotonic() - closed_at < 60:  # a hang guard
            await asyncio.sleep(0.002)
        print(f"slot freed {(time.monotonic() - closed_at) * 1000:.0f} ms after the close")
        # Freed without generating on: the stream would never end by itself.
        assert b.scheduler.active_count == 0
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


async def test_generation_does_not_block_the_event_loop(backend: TorchBackend, encoding: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The model runs on the scheduler's own thread: while a step is held open, the event loop
    keeps taking turns. The loop's longest stall during generation is printed, not asserted."""
    loop_thread = threading.get_ident()
    step_threads: set[int] = set()
    in_step, loop_turned = threading.Event(), threading.Event()
    turned_while_held: list[bool] = []
    step = backend.scheduler._step

    def observed_step() -> None:
        step_threads.add(threading.get_ident())
        if not in_step.is_set():
            in_step.set()
            turned_while_held.append(loop_turned.wait(60))  # 60 s: a hang guard only
        step()

    monkeypatch.setattr(backend.scheduler, "_step", observed_step)
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def turn_once_a_step_is_held() -> None:
        while not in_step.is_set():
            await asyncio.sleep(0.001)
        loop_turned.set()

    tick = asyncio.create_task(ticker())
    prompts = [prompt_tokens(encoding, user="x" * (200 + i)) for i in range(3)]
    await asyncio.gather(asyncio.wait_for(turn_once_a_step_is_held(), 60),
                         *(collect(backend, request(p, temperature=1.0, seed=i)) for i, p in enumerate(prompts)))
    done.set()
    await tick
    print(f"longest event-loop stall during generation: {max(gaps) * 1000:.0f} ms ({len(gaps)} ticks)")
    assert turned_while_held == [True], "the event loop did not run while the model was in a step"
    assert step_threads and loop_thread not in step_threads


async def test_closing_the_backend_fails_waiting_streams(tiny_model: GptOss, encoding: Any) -> None:
    from reference_server.protocol.token_backend import BackendError

    b = make_backend(tiny_model, message_token_budget=100_000)
    stream = b.generate(request(prompt_tokens(encoding), max_new_tokens=100_000))
    await stream.__anext__()
    await b.aclose()
    with pytest.raises(BackendError, match="closed"):
        async for _ in stream:
            pass
    with pytest.raises(BackendError, match="closed"):
        b.generate(request(prompt_tokens(encoding)))


async def test_a_step_wakes_each_event_loop_once() -> None:
    from reference_server.sources.backends.torch.scheduler import Outbox, asyncio_deliverer

    loop = asyncio.get_running_loop()
    queues: list[asyncio.Queue[tuple[str, Any]]] = [asyncio.Queue() for _ in range(3)]
    direct: list[tuple[str, Any]] = []
    wakeups = 0
    real = loop.call_soon_threadsafe

    def counting(*args: Any) -> Any:
        nonlocal wakeups
        wakeups += 1
        return real(*args)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    try:
        outbox = Outbox()
        delivers = [asyncio_deliverer(loop, q) for q in queues]
        for step in range(2):
            for i, deliver in enumerate(delivers):
                outbox.put(deliver, "token", 10 * step + i)
        outbox.put(lambda kind, value: direct.append((kind, value)), "end", None)  # not a loop's queue
        outbox.put(delivers[0], "end", None)
        flusher = threading.Thread(target=outbox.flush)  # another thread, like the scheduler's
        flusher.start()
        flusher.join()
        await asyncio.sleep(0)
    finally:
        del loop.call_soon_threadsafe
    assert wakeups == 1  # 7 items for one loop: one callback
    assert direct == [("end", None)]
    got = [[q.get_nowait() for _ in range(q.qsize())] for q in queues]
    assert got[0] == [("token", 0), ("token", 10), ("end", None)]  # in order, per stream
    assert got[1:] == [[("token", 1), ("token", 11)], [("token", 2), ("token", 12)]]
    outbox.flush()  # nothing left: no callback
    assert wakeups == 1


class _SilentScheduler:
    """Takes sequences and never runs them: what a stream sees of a model thread that is gone."""

    def __init__(self) -> None:
        self.unavailable: str | None = None
        self.submitted: list[Any] = []
        self.cancelled: list[Any] = []

    def submit(self, seq: Any) -> None:
        self.submitted.append(seq)

    def cancel(self, seq: Any) -> None:
        self.cancelled.append(seq)


async def test_a_stream_reads_its_items_in_order_as_the_model_thread_hands_them_over() -> None:
    from reference_server.sources.backends.torch.backend import TorchTokenStream
    from reference_server.sources.backends.torch.scheduler import Outbox

    scheduler = _SilentScheduler()
    stream = TorchTokenStream(scheduler, request((1, 2)))  # type: ignore[arg-type]
    first = asyncio.ensure_future(stream.__anext__())
    while not scheduler.submitted:
        await asyncio.sleep(0)
    seq = scheduler.submitted[0]
    outbox = Outbox()
    for kind, value in (("meta", 5), ("token", 7), ("token", (8, (-0.5, ()))), ("end", None)):
        outbox.put(seq.deliver, kind, value)
    flusher = threading.Thread(target=outbox.flush)  # the model thread hands over a whole step
    flusher.start()
    flusher.join()
    assert await first == 7 and stream.cached_tokens == 5
    assert await stream.__anext__() == 8 and stream.last_logprob == (-0.5, ())
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    await stream.aclose()
    assert scheduler.cancelled == []  # it ended by itself: nothing to cancel


async def test_a_waiting_stream_notices_a_model_thread_that_stopped_silently(monkeypatch: Any) -> None:
    from reference_server.protocol.token_backend import BackendError
    from reference_server.sources.backends.torch import backend as backend_module

    monkeypatch.setattr(backend_module, "WATCHDOG_SECONDS", 0.01)
    scheduler = _SilentScheduler()
    stream = backend_module.TorchTokenStream(scheduler, request((1, 2)))  # type: ignore[arg-type]
    reader = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.05)  # several watchdog rounds while the thread still counts as running
    assert not reader.done()
    scheduler.unavailable = "the model thread stopped: boom"
    with pytest.raises(BackendError, match="boom"):
        await asyncio.wait_for(reader, 30)


async def test_mixed_settings_in_one_batch(tiny_model: GptOss, encoding: Any) -> None:
    # Greedy and seeded sampling side by side, through the per-step hand-off. A row's sampling
    # never depends on the other rows (test_sampling.py checks that exactly); the forward pass
    # itself rounds slightly differently with the batch size, so only greedy is compared alone.
    b = make_backend(tiny_model, max_batch=4, message_token_budget=24)
    try:
        prompt = prompt_tokens(encoding, user="Different settings, one batch")
        settings: list[dict[str, Any]] = [dict(temperature=0.0), dict(temperature=0.8, seed=3),
                                          dict(temperature=1.3, top_p=0.7, seed=4), dict(temperature=1.0, seed=5)]
        greedy_alone, _ = await collect(b, request(prompt, **settings[0]))
        runs = [[t for t, _ in await asyncio.gather(*(collect(b, request(prompt, **s)) for s in settings))]
                for _ in range(2)]
        assert runs[0] == runs[1]  # seeded: the same batch gives the same tokens
        assert runs[0][0] == greedy_alone
        assert len({tuple(t) for t in runs[0]}) == len(settings)
        assert all(t[-1] == 200002 for t in runs[0])  # every stream got all its tokens, to the end
    finally:
        b.scheduler.stop()

