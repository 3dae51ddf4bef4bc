"""Torch backend benchmark: decode speed with and without the KV cache, aggregate throughput of
concurrent streams (through the backend, and through the HTTP server with its client in a
process of its own), time to first token, the server's CPU per streamed token.

`python -m benchmarks.torch_bench [--quick] [--no-http | --http-only]`; prints numbers, asserts
nothing about time.
docs/torch-backend.md records the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

# Targets: cached decoding >= 20x a full recompute; 16 streams >= 4x one through the backend and
# >= 8x one through HTTP; sampling (unembedding, masks, draw) costs no more than the forward.
TARGET_CACHE_SPEEDUP = 20.0
TARGET_BATCH_SPEEDUP = 4.0
TARGET_HTTP_SPEEDUP = 8.0
TARGET_SAMPLE_OVER_FORWARD = 1.0


def _line(label: str, value: str) -> None:
    print(f"  {label:<52} {value}")


def bench_cache(context: int, tokens: int) -> dict[str, float]:
    """Same weights, same prompt: per-token decode time of (a) full recompute (all logits, the
    reference way), (a') full recompute computing only the last position's logits, (b) cached."""
    import torch

    from reference_server.sources.backends.torch import engine
    from reference_server.sources.backends.torch.cache import SlotKVCache
    from reference_server.sources.backends.torch.config import preset
    from reference_server.sources.backends.torch.model import GptOss, init_random, uncached

    model = init_random(GptOss(preset("tiny")), seed=0)
    gen = torch.Generator().manual_seed(0)
    prompt = torch.randint(0, 200_000, (context,), generator=gen).tolist()

    def full_step(seq: list[int], last_only: bool) -> int:
        with torch.inference_mode():
            if not last_only:
                return int(model(torch.tensor(seq))[-1].argmax())
            toks = torch.tensor([seq])
            pos = torch.arange(len(seq))[None]
            hidden = model.hidden(toks, pos, uncached)
            return int(model.logits(hidden[0, -1]).argmax())

    results: dict[str, float] = {}
    for key, last_only, n in (("full_tps", False, max(2, tokens // 16)), ("full_last_tps", True, max(4, tokens // 4))):
        seq = list(prompt)
        full_step(seq, last_only)  # warm-up
        started = time.perf_counter()
        for _ in range(n):
            seq.append(full_step(seq, last_only))
        results[key] = n / (time.perf_counter() - started)

    cache = SlotKVCache(model.cfg, slots=1, device=model.device, dtype=model.dtype)
    started = time.perf_counter()
    hidden = engine.prefill(model, cache, 0, prompt)
    results["prefill_tps"] = context / (time.perf_counter() - started)
    token = int(model.logits(hidden).argmax())
    started = time.perf_counter()
    for _ in range(tokens):
        hidden = engine.decode(model, cache, [0], [token])[0]
        token = int(model.logits(hidden).argmax())
    results["cached_tps"] = tokens / (time.perf_counter() - started)
    return results


def bench_forward_context(contexts: Sequence[int], rows: Sequence[int], steps: int) -> dict[int, dict[int, float]]:
    """Model-thread CPU of one batched decode forward (the fastest of `steps`: other processes'
    memory traffic slows single steps by 2-3x on a shared machine) when every row has
    `context` tokens cached: attention reads each row's keys and values, so this is where a
    cache layout that needs copying shows (it grows with rows x context)."""
    from reference_server.sources.backends.torch import engine
    from reference_server.sources.backends.torch.cache import SlotKVCache
    from reference_server.sources.backends.torch.config import preset
    from reference_server.sources.backends.torch.model import GptOss, init_random

    cfg = preset("tiny")
    model = init_random(GptOss(cfg), seed=0)
    out: dict[int, dict[int, float]] = {}
    for context in contexts:
        out[context] = {}
        for n in rows:
            cache = SlotKVCache(cfg, n, model.device, model.dtype, capacity=context + steps + 1)
            for slot in range(n):
                prompt = [(1000 + 7 * slot + j) % 200_000 for j in range(context)]
                for start in range(0, context, 512):  # the scheduler's prefill chunk
                    engine.prefill(model, cache, slot, prompt[start:start + 512])
            times = []
            for i in range(steps):
                started = time.thread_time()
                engine.decode(model, cache, list(range(n)), [2000 + i] * n)
                times.append(time.thread_time() - started)
            out[context][n] = min(times) * 1000
    return out


def bench_sampling(rows: Sequence[int], repeats: int) -> dict[str, dict[int, float]]:
    """Milliseconds of the model thread's CPU for one sampling step (unembedding, masks, draw) of
    `n` rows: free-text masks (the real harmony grammar's) under several settings, and JSON-like
    masks allowing 60 tokens (logits for those tokens only)."""
    import numpy as np
    import torch

    from reference_server.protocol.token_backend import OutputSpec
    from reference_server.sources.backends.torch.config import preset
    from reference_server.sources.backends.torch.constraint import compile_matcher
    from reference_server.sources.backends.torch.model import GptOss, init_random
    from reference_server.sources.backends.torch.sampling import ModelHeads, Sampler, pack_allowed
    from reference_server.sources.backends.torch.tokenizer import harmony_tokenizer

    model = init_random(GptOss(preset("tiny")), seed=0)
    vocab = model.cfg.vocab_size
    tok = harmony_tokenizer()
    matcher = compile_matcher(tok, OutputSpec(), budget=1000)
    for token in tok.encoding.encode("<|channel|>final<|message|>Hello", allowed_special="all"):
        matcher.consume_token(token)
    text = np.frombuffer(matcher.compute_bitmask(), dtype=np.int32)[: (vocab + 31) // 32]
    few = np.zeros(vocab, dtype=bool)
    few[np.random.default_rng(0).choice(199_998, 60, replace=False)] = True
    json_like = pack_allowed(few)[0]
    readable = np.zeros(text.size * 32, dtype=bool)
    readable[: len(tok.readable)] = tok.readable
    readable_text = text & np.packbits(readable, bitorder="little").view(np.int32)
    modes = {"plain (T=1, top_p=1)": (1.0, 1.0, text), "T=0.7": (0.7, 1.0, text), "greedy": (0.0, 1.0, text),
             "top_p=0.9": (1.0, 0.9, text), "JSON-like mask, 60 tokens allowed": (1.0, 1.0, json_like),
             "readable-text subset (random presets), T=1": (1.0, 1.0, readable_text)}
    sampler = Sampler(vocab, max(rows), subsets=(readable[:vocab],))
    out: dict[str, dict[int, float]] = {}
    for name, (temp, top_p, words) in modes.items():
        for n in rows:
            hidden = torch.randn(n, model.cfg.hidden_size, generator=torch.Generator().manual_seed(n))
            masks = np.tile(words, (n, 1))
            times = []
            # A warm-up: the first call builds the transposed or gathered unembedding copies.
            sampler.sample(ModelHeads(model, hidden), masks, [temp] * n, [top_p] * n, [0.5] * n)
            for _ in range(repeats):
                started = time.thread_time()
                sampler.sample(ModelHeads(model, hidden), masks, [temp] * n, [top_p] * n, [0.5] * n)
                times.append(time.thread_time() - started)
            out.setdefault(name, {})[n] = statistics.median(times) * 1000
    return out


def _cpu_per_step(before: dict[str, float], after: dict[str, float], steps: float) -> dict[str, float]:
    """The model thread's CPU milliseconds per step in the forward and in sampling."""
    return {f"{key}_cpu_ms_per_step": (after[f"{key}_cpu_seconds"] - before[f"{key}_cpu_seconds"]) / max(1, steps) * 1000
            for key in ("forward", "sample")}


def _breakdown(r: dict[str, float]) -> str:
    """`forward 3.1 ms, sampling 2.9 ms CPU (0.9x)` for one level."""
    fwd, smp = r["forward_cpu_ms_per_step"], r["sample_cpu_ms_per_step"]
    return f"forward {fwd:5.2f} ms, sampling {smp:5.2f} ms CPU per step ({smp / max(fwd, 1e-9):4.2f}x)"


async def _one_stream(backend: Any, req: Any) -> tuple[int, float, float]:
    started = time.perf_counter()
    first = None
    count = 0
    stream = backend.generate(req)
    async for _ in stream:
        if first is None:
            first = time.perf_counter() - started
        count += 1
    return count, first or 0.0, time.perf_counter() - started


async def bench_streams(concurrency: Sequence[int], new_tokens: int, *, readable_text: bool = True,
                        **sampling: Any) -> dict[int, dict[str, float]]:
    """Aggregate tokens/s of N concurrent constrained streams (free text that runs to
    max_new_tokens) through the backend interface. `sampling`: extra GenerationRequest fields
    (penalties, logprobs: the per-row exact path)."""
    from reference_server.protocol.token_backend import GenerationRequest
    from reference_server.protocol.vocab import harmony_encoding
    from reference_server.sources.backends.torch import create_backend

    enc = harmony_encoding()
    backend = create_backend(max_batch=max(concurrency), message_token_budget=100_000, prefix_cache_entries=0,
                             readable_text=readable_text)
    backend.wait_ready(120)
    out: dict[int, dict[str, float]] = {}
    try:

        def requests(n: int, tokens: int) -> list[GenerationRequest]:
            reqs = []
            for i in range(n):
                text = (f"<|start|>system<|message|>You are a helpful assistant.<|end|><|start|>user"
                        f"<|message|>Question number {i}: tell me something.<|end|><|start|>assistant")
                reqs.append(GenerationRequest(
                    prompt_tokens=tuple(enc.encode(text, allowed_special="all")),
                    max_new_tokens=tokens, stop_token_ids=frozenset({200002, 200012}),
                    temperature=1.0, seed=i, **sampling))
            return reqs

        # Warm-up: one stream, then two, far enough into a text body that the unembedding copies
        # the sampler uses (transposed or gathered for one row, oneDNN-packed for several; built
        # once per process, 10-100 ms each) exist before anything is timed.
        for n in (1, 2):
            await asyncio.gather(*(_one_stream(backend, r) for r in requests(n, 16)))
        for n in concurrency:
            reqs = requests(n, new_tokens)
            stats_before = dict(backend.scheduler.stats.as_dict())
            started = time.perf_counter()
            results = await asyncio.gather(*(_one_stream(backend, r) for r in reqs))
            elapsed = time.perf_counter() - started
            stats = backend.scheduler.stats.as_dict()
            steps = stats["steps"] - stats_before["steps"]
            total = sum(r[0] for r in results)
            out[n] = {
                "tokens_per_s": total / elapsed,
                "ttft_ms": statistics.mean(r[1] for r in results) * 1000,
                "step_ms": elapsed / max(1, steps) * 1000,
                "mask_ms_per_step": (stats["mask_seconds"] - stats_before["mask_seconds"]) / max(1, steps) * 1000,
                "mask_wait_ms_per_step": (stats["mask_wait_seconds"] - stats_before["mask_wait_seconds"]) / max(1, steps) * 1000,
                "forward_ms_per_step": (stats["forward_seconds"] - stats_before["forward_seconds"]) / max(1, steps) * 1000,
                "sample_ms_per_step": (stats["sample_seconds"] - stats_before["sample_seconds"]) / max(1, steps) * 1000,
                **_cpu_per_step(stats_before, stats, steps),
            }
    finally:
        await backend.aclose()
    return out


def _thread_cpu(thread: Any) -> float:
    """CPU seconds of another thread of this process (0.0 where the platform cannot tell)."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    except (AttributeError, OSError, TypeError):
        return 0.0


def _server_counters(stats: Any, loop_thread: Any) -> dict[str, float]:
    """The scheduler's step statistics, this process's CPU time (the whole server when the
    client is another process) and the CPU time of the server's event loop thread (HTTP,
    harmony parsing, events, SSE)."""
    return {**(stats.as_dict() if stats is not None else {}), "process_cpu": time.process_time(),
            "loop_cpu": _thread_cpu(loop_thread)}


def _add_server_figures(r: dict[str, float], before: dict[str, float], after: dict[str, float]) -> None:
    """Add the step breakdown and the server's CPU per streamed token to one level's result."""
    tokens = max(1, r["tokens"])
    r["process_cpu_us_per_token"] = (after["process_cpu"] - before["process_cpu"]) / tokens * 1e6
    r["loop_cpu_us_per_token"] = (after["loop_cpu"] - before["loop_cpu"]) / tokens * 1e6
    if "steps" not in after:  # no model thread
        return
    steps = max(1, after["steps"] - before["steps"])
    r["step_ms"] = r["seconds"] / steps * 1000
    for key in ("forward", "sample", "mask_wait"):
        r[f"{key}_ms_per_step"] = (after[f"{key}_seconds"] - before[f"{key}_seconds"]) / steps * 1000
    r.update(_cpu_per_step(before, after, steps))
    model_cpu = sum(after[f"{k}_cpu_seconds"] - before[f"{k}_cpu_seconds"] for k in ("forward", "sample"))
    r["model_cpu_us_per_token"] = model_cpu / tokens * 1e6


async def _client_in_process(url: str, model: str, concurrency: Sequence[int], new_tokens: int,
                             read: Callable[[], dict[str, float]]) -> dict[int, dict[str, float]]:
    """The load generator in this process: it shares the GIL and the cores with the server."""
    from benchmarks.sse_load import run_levels

    marks: dict[int, list[dict[str, float]]] = {}

    async def mark(n: int) -> None:
        marks.setdefault(n, []).append(read())

    results = await run_levels(url, model, concurrency, new_tokens, mark, mark)
    for n, r in results.items():
        _add_server_figures(r, *marks[n])
    return results


async def _client_process(url: str, model: str, concurrency: Sequence[int], new_tokens: int,
                          read: Callable[[], dict[str, float]]) -> dict[int, dict[str, float]]:
    """The load generator as its own process (`benchmarks.sse_load`), as a real client is; its
    levels are paced over stdin/stdout so the server's counters are read right around each."""
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.sse_load", url, model, str(new_tokens), *map(str, concurrency),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.stdin is not None and proc.stdout is not None
    results: dict[int, dict[str, float]] = {}
    marks: dict[int, list[dict[str, float]]] = {}
    try:
        while line := (await proc.stdout.readline()).decode().strip():
            if line.startswith(("ready ", "finished ")):
                marks.setdefault(int(line.split()[1]), []).append(read())
                if line.startswith("ready "):
                    proc.stdin.write(b"go\n")
                    await proc.stdin.drain()
            elif line.startswith("{"):
                r = json.loads(line)
                results[int(r.pop("level"))] = r
            elif line == "done":
                break
    finally:
        proc.stdin.close()
        await proc.wait()
    if proc.returncode != 0 or set(results) != set(concurrency):
        raise RuntimeError(f"the benchmark client process failed (exit status {proc.returncode})")
    for n, r in results.items():
        _add_server_figures(r, *marks[n])
    return results


async def bench_http(concurrency: Sequence[int], new_tokens: int,
                     client: str = "process") -> dict[int, dict[str, float]] | None:
    """The same through the HTTP server (streaming), if the server package is importable. The
    load-generating client runs in its own process (`client="process"`: the server alone is
    measured, as deployed) or in this one (`"inline"`: it shares the GIL with the server)."""
    try:
        import httpx  # noqa: F401

        from reference_server import create_app
        from reference_server.sources.backends.torch import create_backend
        from tests.reference_server.helpers import serve
    except ImportError as exc:
        print(f"  (HTTP benchmark skipped: {exc})")
        return None
    backend = create_backend(max_batch=max(concurrency), message_token_budget=100_000, prefix_cache_entries=0)
    backend.wait_ready(120)
    try:
        with serve(create_app(backend=backend)) as server:
            def read() -> dict[str, float]:
                return _server_counters(backend.scheduler.stats, server.thread)

            run = _client_process if client == "process" else _client_in_process
            return await run(server.url, backend.model_id, concurrency, new_tokens, read)
    finally:
        await backend.aclose()


class _PacedBackend:
    """A `TokenBackend` without a model: every stream gets the same harmony answer, one token
    per `step` seconds, all streams' tokens at the same moment (one timer per step, as the
    scheduler hands a step over), so only the server's own work is left to measure."""

    name = "paced"
    model_id = "paced-answer"

    def __init__(self, new_tokens: int, step: float) -> None:
        from reference_server.protocol.vocab import harmony_encoding

        enc = harmony_encoding()
        words = enc.encode(" the server streams one more word" * new_tokens)
        head = enc.encode("<|channel|>final<|message|>", allowed_special="all")
        tail = enc.encode("<|return|>", allowed_special="all")
        self.tokens = [*head, *words[:max(1, new_tokens - len(head) - len(tail))], *tail]
        self.step = step
        self._tick: asyncio.Future[None] | None = None

    async def _next_step(self) -> None:
        if self._tick is None or self._tick.done():
            loop = asyncio.get_running_loop()
            self._tick = loop.create_future()
            loop.call_later(self.step, self._tick.set_result, None)
        await asyncio.shield(self._tick)

    async def _stream(self) -> Any:
        for token in self.tokens:
            await self._next_step()
            yield token

    def generate(self, request: Any) -> Any:
        return self._stream()

    async def aclose(self) -> None:
        pass


async def bench_http_edge(streams: int, new_tokens: int, step: float = 0.005) -> dict[str, float] | None:
    """The server without a model (`_PacedBackend`: a token per stream every `step` seconds),
    the client in its own process: what the server spends per streamed token on HTTP, harmony
    parsing, events and SSE when no model thread competes for the GIL and the cores."""
    try:
        from reference_server import create_app
        from tests.reference_server.helpers import serve
    except ImportError as exc:
        print(f"  (HTTP benchmark skipped: {exc})")
        return None
    backend = _PacedBackend(new_tokens, step)
    with serve(create_app(backend=backend)) as server:
        def read() -> dict[str, float]:
            return _server_counters(None, server.thread)

        results = await _client_process(server.url, backend.model_id, (streams,), new_tokens, read)
    return results[streams]


def _print_http(http: dict[int, dict[str, float]], concurrency: Sequence[int]) -> None:
    for n, r in http.items():
        _line(f"{n:>2} stream(s)", f"{r['tokens_per_s']:8.1f} tokens/s  ttft {r['ttft_ms']:6.1f} ms  "
              f"step {r['step_ms']:5.1f} ms (forward {r['forward_ms_per_step']:.1f}, sample "
              f"{r['sample_ms_per_step']:.1f}, waited {r['mask_wait_ms_per_step']:.2f}; the rest is "
              "waiting for the GIL or a core)")
        _line("", _breakdown(r))
    scale = http[concurrency[-1]]["tokens_per_s"] / http[concurrency[0]]["tokens_per_s"]
    _line(f"{concurrency[-1]} streams / {concurrency[0]} stream",
          f"{scale:8.1f}x (target >= {TARGET_HTTP_SPEEDUP:.0f}x; "
          + ", ".join(f"{n}: {r['tokens_per_s']:.0f}" for n, r in http.items()) + " tokens/s)")
    # A stream gets one token per decode step, so N streams over 1 cannot beat N x step(1) /
    # step(N), whatever the server and the client cost; nor, with sampling free, N x forward(1)
    # / forward(N).
    lo, hi = http[concurrency[0]], http[concurrency[-1]]
    times = concurrency[-1] / concurrency[0]
    fwd_lo, fwd_hi = lo["forward_cpu_ms_per_step"], hi["forward_cpu_ms_per_step"]
    step_lo, step_hi = fwd_lo + lo["sample_cpu_ms_per_step"], fwd_hi + hi["sample_cpu_ms_per_step"]
    _line("  ceiling from the decode step", f"{times * step_lo / max(step_hi, 1e-9):8.1f}x (model-thread CPU per step: "
          f"{step_lo:.2f} -> {step_hi:.2f} ms); with sampling free {times * fwd_lo / max(fwd_hi, 1e-9):.1f}x "
          f"(forward {fwd_lo:.2f} -> {fwd_hi:.2f} ms)")


def report_http(concurrency: Sequence[int], new_tokens: int) -> None:
    """Streams through the HTTP server, the client in its own process and then in this one,
    and the server's CPU per streamed token."""
    http = None
    for client, title in (
            ("process", "the client in its own process, as deployed: the server is measured"),
            ("inline", "the client in the server's process (shares its GIL and cores)")):
        print(f"the same through the HTTP server (streaming SSE), {title}:")
        result = asyncio.run(bench_http(concurrency, new_tokens, client=client))
        if not result:
            break
        _print_http(result, concurrency)
        http = http or result
    edge = asyncio.run(bench_http_edge(concurrency[-1], new_tokens))
    if edge:
        print("the server without a model (the same answer for every stream, a token each every 5 ms; client in its own process):")
        _line(f"{concurrency[-1]} streams", f"{edge['process_cpu_us_per_token']:6.1f} us CPU per streamed token "
              f"(event loop thread {edge['loop_cpu_us_per_token']:.1f}; client {edge['client_cpu_us_per_token']:.0f} us)")
    if http:
        print("server CPU per streamed token (client in its own process; robust on a busy machine):")
        for n, r in http.items():
            _line(f"{n:>2} stream(s)", f"{r['process_cpu_us_per_token']:6.0f} us (event loop thread "
                  f"{r['loop_cpu_us_per_token']:4.0f}, model thread {r['model_cpu_us_per_token']:4.0f}; "
                  f"client {r['client_cpu_us_per_token']:4.0f} us)")


def bench_tokenizer() -> dict[str, float]:
    from reference_server.sources.backends.torch.tokenizer import harmony_tokenizer

    return {"tokenizer_build_s": harmony_tokenizer().build_seconds}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.torch_bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer tokens (a smoke run)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP server measurement")
    parser.add_argument("--http-only", action="store_true", help="only the HTTP server measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch is not installed: the torch backend benchmark needs it")
        return 1
    torch.set_num_threads(args.threads)
    context, tokens = (128, 32) if args.quick else (512, 128)
    new_tokens = 48 if args.quick else 128
    concurrency = (1, 4, 16)

    print(f"torch backend benchmark (tiny preset, CPU, {args.threads} torch thread(s), "
          f"load average {os.getloadavg()[0]:.2f})")
    if args.http_only:
        report_http(concurrency, new_tokens)
        return 0
    tok = bench_tokenizer()
    _line("harmony llguidance tokenizer build (once per process)", f"{tok['tokenizer_build_s']:.2f} s")

    print(f"decode at {context} tokens of context, same weights and prompt:")
    cache = bench_cache(context, tokens)
    _line("(a) full recompute per token, all logits (reference)", f"{cache['full_tps']:8.1f} tokens/s")
    _line("(a') full recompute per token, last logits only", f"{cache['full_last_tps']:8.1f} tokens/s")
    _line("(b) KV-cached decoding", f"{cache['cached_tps']:8.1f} tokens/s")
    _line("prefill (cached path)", f"{cache['prefill_tps']:8.1f} tokens/s")
    ratio = cache["cached_tps"] / cache["full_tps"]
    _line("(b)/(a)", f"{ratio:8.1f}x (target >= {TARGET_CACHE_SPEEDUP:.0f}x)")
    _line("(b)/(a')", f"{cache['cached_tps'] / cache['full_last_tps']:8.1f}x")

    print("one batched decode forward by context length, model-thread CPU, fastest step:")
    rows = (1, 16)
    for ctx, by_rows in bench_forward_context((128, 2048), rows, 8 if args.quick else 24).items():
        _line(f"{ctx:>5} tokens cached per row", "  ".join(f"{n:>2} row(s) {ms:6.2f} ms" for n, ms in by_rows.items())
              + f"  ({by_rows[rows[-1]] / by_rows[rows[0]]:.1f}x)")

    print("one sampling step (unembedding + grammar masks + draw), model-thread CPU, median:")
    for name, by_rows in bench_sampling((1, 4, 16), 5 if args.quick else 15).items():
        _line(name, "  ".join(f"{n:>2} row(s) {ms:6.2f} ms" for n, ms in by_rows.items()))

    print(f"concurrent constrained streams through the backend ({new_tokens} tokens each):")
    streams = asyncio.run(bench_streams(concurrency, new_tokens))
    for n, r in streams.items():
        _line(f"{n:>2} stream(s)", f"{r['tokens_per_s']:8.1f} tokens/s  ttft {r['ttft_ms']:6.1f} ms  "
              f"step {r['step_ms']:5.1f} ms (forward {r['forward_ms_per_step']:.1f}, sample "
              f"{r['sample_ms_per_step']:.1f}, mask {r['mask_ms_per_step']:.2f} overlapped, "
              f"waited {r['mask_wait_ms_per_step']:.2f})")
    scale = streams[concurrency[-1]]["tokens_per_s"] / streams[1]["tokens_per_s"]
    _line(f"{concurrency[-1]} streams / 1 stream", f"{scale:8.1f}x (target >= {TARGET_BATCH_SPEEDUP:.0f}x)")

    print(f"options, {concurrency[-1]} streams through the backend ({new_tokens} tokens each):")
    variants: dict[str, dict[str, Any]] = {
        "no readable-text mask (checkpoint behaviour)": {"readable_text": False},
        "readable-text mask (random presets' default)": {},
        "presence_penalty 0.5 + 5 logprobs per token (exact rows)": {"presence_penalty": 0.5, "logprobs": 5},
    }
    for label, options in variants.items():
        r = asyncio.run(bench_streams((concurrency[-1],), new_tokens, **options))[concurrency[-1]]
        _line(label, f"{r['tokens_per_s']:8.1f} tokens/s  step {r['step_ms']:5.1f} ms "
              f"(sample {r['sample_ms_per_step']:.1f})")

    print(f"step breakdown, model-thread CPU per decode step (target: sampling <= "
          f"{TARGET_SAMPLE_OVER_FORWARD:.0f}x forward):")
    for n, r in streams.items():
        _line(f"{n:>2} stream(s), readable-text mask", _breakdown(r))
    plain = asyncio.run(bench_streams(concurrency, new_tokens, readable_text=False))
    for n, r in plain.items():
        _line(f"{n:>2} stream(s), no readable-text mask", _breakdown(r))

    if not args.no_http:
        report_http(concurrency, new_tokens)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
