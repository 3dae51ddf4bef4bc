"""Overhead of `conformance proxy`: time to first byte and total time of a stream fetched
directly from an upstream and through the proxy, at 1 and 16 concurrent streams.

The upstream is `conformance replay` serving one generated valid stream (one write per event),
so the upstream costs next to nothing and the difference is the proxy's relay plus its checker.
Upstream and proxy run as their own processes; the clients are threads here. Prints medians;
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from benchmarks.checker_bench import long_sse

SCENARIO = "bench"
REQUEST = {"model": "bench", "input": "bench", "stream": True}


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "conformance", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = next((w for w in line.split() if w.startswith("http://")), None)
    if url is None:
        proc.kill()
        raise SystemExit(f"could not start conformance {args[0]}: {line!r}")
    return proc, url.removesuffix("/v1")


def _one(url: str) -> tuple[float, float, int]:
    with httpx.Client(timeout=120) as http:
        start = time.perf_counter()
        with http.stream("POST", url + "/v1/responses", json=REQUEST,
                         headers={"X-Conformance-Scenario": SCENARIO}) as answer:
            first = None
            size = 0
            for chunk in answer.iter_raw():
                first = first or time.perf_counter()
                size += len(chunk)
        end = time.perf_counter()
    return (first or end) - start, end - start, size


def _measure(url: str, streams: int, rounds: int) -> tuple[float, float]:
    ttfb, total = [], []
    with ThreadPoolExecutor(max_workers=streams) as pool:
        for _ in range(rounds):
            for t, d, _size in pool.map(_one, [url] * streams):
                ttfb.append(t)
                total.append(d)
    return statistics.median(ttfb), statistics.median(total)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks proxy")
    p.add_argument("--events", type=int, default=2000, help="events per stream (default 2000)")
    p.add_argument("--rounds", type=int, default=5, help="rounds per measurement (default 5)")
    p.add_argument("--quick", action="store_true", help="200 events, 2 rounds")
    args = p.parse_args(argv)
    events, rounds = (200, 2) if args.quick else (args.events, args.rounds)
    env = {**os.environ, "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "upstream"
        folder.mkdir()
        stream = long_sse(events, 4)
        (folder / f"{SCENARIO}.sse").write_bytes(stream)
        (folder / f"{SCENARIO}.json").write_text(json.dumps({"description": "proxy bench stream", "kind": "sse",
                                                             "expected": {"errors": []}}))
        upstream, up_url = _start(["replay", str(folder), "--port", "0"], env)
        proxy, proxy_url = _start(["proxy", "--upstream-url", up_url, "--port", "0"], env)
        # The proxy prints one line per exchange; nobody reads them here, so drain them.
        drain = ThreadPoolExecutor(max_workers=1)
        drain.submit(lambda: [None for _ in proxy.stdout] if proxy.stdout else None)
        try:
            _one(up_url), _one(proxy_url)  # warm-up: imports, connection setup
            print(f"stream: {events} events, {len(stream) / 1e6:.2f} MB; median of {rounds} rounds")
            print(f"{'streams':>7}  {'path':<6}  {'TTFB ms':>8}  {'total ms':>9}")
            for streams in (1, 16):
                for name, url in (("direct", up_url), ("proxy", proxy_url)):
                    ttfb, total = _measure(url, streams, rounds)
                    print(f"{streams:>7}  {name:<6}  {ttfb * 1000:>8.1f}  {total * 1000:>9.1f}", flush=True)
        finally:
            for proc in (proxy, upstream):
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            drain.shutdown(wait=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
