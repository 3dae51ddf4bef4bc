"""A load-generating client for the HTTP benchmarks: N concurrent streaming `POST /v1/responses`
per level, each read to its terminal event; aggregate output tokens/s and mean time to first delta.

Run in-process (`run_levels`) or as its own process, the way a real client is
(`python -m benchmarks.sse_load URL MODEL TOKENS N [N ...]`). As a process it speaks a line
protocol on stdin/stdout so the parent can sample the server's counters around each level
exactly: it prints `ready N`, waits for a line on stdin, runs the level, prints one JSON line
of results (including this process's own CPU seconds), and ends with `done`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Hook = Callable[[int], Awaitable[None]]


async def _one(client: Any, url: str, model: str, new_tokens: int, i: int) -> tuple[int, float]:
    """(output tokens reported by the terminal event, seconds to the first delta) of one stream."""
    body = {"model": model, "input": f"Question {i}: tell me something.", "stream": True,
            "max_output_tokens": new_tokens}
    started = time.perf_counter()
    first = None
    usage = 0
    # SSE lines end at \n only: httpx's aiter_lines also splits at U+2028, U+0085, ..., which
    # random text contains (JSON leaves them unescaped).
    pending = b""
    async with client.stream("POST", f"{url}/v1/responses", json=body) as resp:
        async for chunk in resp.aiter_bytes():
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if not line.startswith(b"data: "):
                    continue
                event = json.loads(line[6:])
                if first is None and event["type"].endswith(".delta"):
                    first = time.perf_counter() - started
                if event["type"] in ("response.completed", "response.incomplete"):
                    usage = event["response"]["usage"]["output_tokens"]
    return usage, first or 0.0


async def run_levels(url: str, model: str, concurrency: Sequence[int], new_tokens: int,
                     before: Hook | None = None, after: Hook | None = None) -> dict[int, dict[str, float]]:
    """Warm-up (one stream, then two at once: a batch of several rows builds its own
    unembedding copies once, which would otherwise be charged to the first multi-stream level),
    then each level; `before(n)` / `after(n)` run right around a level's timed part (the caller
    samples the server's counters there)."""
    import httpx

    out: dict[int, dict[str, float]] = {}
    async with httpx.AsyncClient(timeout=300) as client:
        await _one(client, url, model, new_tokens, -1)
        await asyncio.gather(*(_one(client, url, model, new_tokens, -2 - i) for i in range(2)))
        for n in concurrency:
            if before is not None:
                await before(n)
            cpu = time.process_time()
            started = time.perf_counter()
            results = await asyncio.gather(*(_one(client, url, model, new_tokens, i) for i in range(n)))
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            if after is not None:
                await after(n)
            tokens = sum(r[0] for r in results)
            out[n] = {"tokens": tokens, "seconds": elapsed, "tokens_per_s": tokens / elapsed,
                      "ttft_ms": statistics.mean(r[1] for r in results) * 1000,
                      "client_cpu_us_per_token": cpu / max(1, tokens) * 1e6}
    return out


async def _serve_levels(url: str, model: str, new_tokens: int, concurrency: Sequence[int]) -> None:
    loop = asyncio.get_running_loop()

    async def before(n: int) -> None:
        print(f"ready {n}", flush=True)
        if not await loop.run_in_executor(None, sys.stdin.readline):
            raise SystemExit("sse_load: the parent closed stdin")

    async def after(n: int) -> None:
        print(f"finished {n}", flush=True)

    results = await run_levels(url, model, concurrency, new_tokens, before, after)
    for n, r in results.items():
        print(json.dumps({"level": n, **r}), flush=True)
    print("done", flush=True)


def main(argv: Sequence[str]) -> int:
    if len(argv) < 4:
        print("usage: python -m benchmarks.sse_load URL MODEL TOKENS N [N ...]", file=sys.stderr)
        return 2
    try:
        new_tokens, concurrency = int(argv[2]), [int(n) for n in argv[3:]]
    except ValueError:
        print("sse_load: TOKENS and N must be integers", file=sys.stderr)
        return 2
    asyncio.run(_serve_levels(argv[0], argv[1], new_tokens, concurrency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
