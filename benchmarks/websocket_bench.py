"""WebSocket mode vs HTTP streaming on the reference server, and the transcript checker's speed.

Runs the reference server (scripted backend) under uvicorn on a loopback port and measures a
chain of N turns (each continuing the previous by `previous_response_id`): streamed over HTTP
(one keep-alive connection) and over one WebSocket. Prints per-turn latency (median, p90) and
time to the first event; then the transcript checker's records/second on a long transcript.
Benchmarks print; they assert nothing.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _serve() -> tuple[Any, str]:
    import uvicorn

    from reference_server import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def _http_chain(base: str, turns: int) -> tuple[list[float], list[float]]:
    import httpx

    totals, firsts = [], []
    previous = None
    with httpx.Client(base_url=base, timeout=60) as client:
        for i in range(turns):
            body: dict[str, Any] = {"model": "m", "input": f"Turn {i}: say one word.", "stream": True}
            if previous:
                body["previous_response_id"] = previous
            start = time.perf_counter()
            first = None
            with client.stream("POST", "/responses", json=body) as res:
                for line in res.iter_lines():
                    if first is None and line.startswith("data: "):
                        first = time.perf_counter() - start
                    if line.startswith("data: ") and '"response.completed"' in line:
                        previous = json.loads(line[6:])["response"]["id"]
            totals.append(time.perf_counter() - start)
            firsts.append(first or 0.0)
    return totals, firsts


def _ws_chain(base: str, turns: int) -> tuple[list[float], list[float]]:
    from websockets.sync.client import connect

    totals, firsts = [], []
    previous = None
    with connect(base.replace("http://", "ws://") + "/responses", max_size=None) as ws:
        for i in range(turns):
            body: dict[str, Any] = {"type": "response.create", "model": "m", "input": f"Turn {i}: say one word."}
            if previous:
                body["previous_response_id"] = previous
            start = time.perf_counter()
            ws.send(json.dumps(body))
            first = None
            while True:
                event = json.loads(ws.recv())
                if first is None:
                    first = time.perf_counter() - start
                if event["type"] == "response.completed":
                    previous = event["response"]["id"]
                    break
            totals.append(time.perf_counter() - start)
            firsts.append(first or 0.0)
    return totals, firsts


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(values) * 1000:6.2f} ms  p90 {p90 * 1000:6.2f} ms"


def _checker_speed(copies: int) -> None:
    from conformance.transcript import check_transcript

    lines = (ROOT / "fixtures/websocket/positive/sequential.jsonl").read_text().splitlines()
    body = [line for line in lines if '"dir": "close"' not in line]
    transcript = body * copies  # the same two turns again and again on one socket
    start = time.perf_counter()
    result = check_transcript(transcript)
    elapsed = time.perf_counter() - start
    print(f"transcript checker: {len(transcript)} records ({2 * copies} responses) in {elapsed:.2f} s = "
          f"{len(transcript) / elapsed:,.0f} records/s ({len(result.findings)} findings)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks websocket")
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="10 turns, a shorter transcript")
    args = parser.parse_args(argv)
    turns = 10 if args.quick else args.turns
    server, base = _serve()
    try:
        _http_chain(base, 2)  # warm up both paths (imports, first connection)
        _ws_chain(base, 2)
        http_total, http_first = _http_chain(base, turns)
        ws_total, ws_first = _ws_chain(base, turns)
    finally:
        server.should_exit = True
    print(f"{turns} chained turns, scripted backend, loopback:")
    print(f"  HTTP stream  per turn {_ms(http_total)}   first event {_ms(http_first)}")
    print(f"  WebSocket    per turn {_ms(ws_total)}   first event {_ms(ws_first)}")
    _checker_speed(20 if args.quick else 200)
    return 0
