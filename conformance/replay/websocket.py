"""Replay a WebSocket transcript (conformance.transcript's format) as a server, and probe it with
openai-python's `responses.connect()`.

`transcript_app(records)` is an ASGI app with a WebSocket route at `/v1/responses` (and
`/responses`) that plays one recorded socket: it waits for each client message the transcript
has, sends each server message's exact text, and closes as recorded. `speed` scales the recorded
gaps between server messages (1.0: as recorded, 0: as fast as possible, 2.0: twice as fast).

`probe_openai_python(records)` serves that app on a loopback port, connects with the installed
openai-python, sends the recorded client messages and parses every server message with the
SDK. Rule `client.openai-python`: the SDK raises, or yields other event types than recorded.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

from conformance.findings import Finding
from conformance.transcript import parse_record

RULE_ID = "client.openai-python"


TRANSCRIPT_PATTERN = "ws-*.jsonl"  # a recorded scenario's sockets, in its folder, in order


def load_transcripts(folder: str | Path) -> dict[str, list[list[dict[str, Any]]]]:
    """The recorded sockets of every scenario below `folder` (`<scenario>/ws-NN.jsonl`)."""
    out: dict[str, list[list[dict[str, Any]]]] = {}
    for path in sorted(Path(folder).glob(f"*/{TRANSCRIPT_PATTERN}")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        out.setdefault(path.parent.name, []).append(records)
    return out


async def play(ws: Any, records: list[dict[str, Any]], *, speed: float = 0.0, delay: float = 0.0) -> None:
    """Play one recorded socket on an accepted Starlette WebSocket: recorded gaps scaled by
    `speed` (0: none), or a fixed `delay` (seconds) before every server message after the first."""
    from starlette.websockets import WebSocketDisconnect

    last_t: float | None = None
    try:
        for raw in records:
            direction = raw.get("dir")
            if direction == "client":
                await ws.receive_text()  # whatever the client sends stands for the recorded one
            elif direction == "server":
                t = raw.get("t")
                if delay and last_t is not None:
                    await asyncio.sleep(delay)
                if delay:
                    last_t = 0.0
                elif speed and isinstance(t, int | float):
                    if last_t is not None and t > last_t:
                        await asyncio.sleep((t - last_t) / speed)
                    last_t = t
                text = raw["text"] if isinstance(raw.get("text"), str) else json.dumps(raw.get("data"))
                await ws.send_text(text)
            elif direction == "close":
                if raw.get("by") == "server":
                    await ws.close(code=int(raw.get("code") or 1000), reason=str(raw.get("reason") or ""))
                else:
                    await ws.receive()  # the client closes
                return
        await ws.close()
    except WebSocketDisconnect:
        return


def transcript_app(records: list[dict[str, Any]], *, speed: float = 0.0) -> Any:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    if speed < 0:
        raise ValueError("speed must be >= 0")

    async def serve(ws: WebSocket) -> None:
        await ws.accept()
        await play(ws, records, speed=speed)

    return Starlette(routes=[WebSocketRoute("/v1/responses", serve), WebSocketRoute("/responses", serve)])


class _Serve:
    """uvicorn on 127.0.0.1:<free port> in a thread (the SDK needs a real socket)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> _Serve:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def probe_openai_python(records: list[dict[str, Any]], *, timeout: float = 20.0) -> list[Finding]:
    """Findings (client.openai-python) where openai-python's WebSocket client breaks on the transcript."""
    from conformance.registry import make_finding

    try:
        import openai
    except ImportError:
        return []
    parsed = [parse_record(r, i) for i, r in enumerate(records)]
    expected = [r.type for r in parsed if r.dir == "server"]
    client_messages = [r.message for r in parsed if r.dir == "client" and isinstance(r.message, dict)]
    findings: list[Finding] = []
    got: list[str | None] = []
    with _Serve(transcript_app(records)) as served:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{served.port}/v1", api_key="replay", max_retries=0,
                               timeout=timeout)
        try:
            with client.responses.connect(max_retries=0) as conn:
                sent = 0
                for record in parsed:
                    if record.dir == "client" and sent < len(client_messages):
                        conn.send(client_messages[sent])  # type: ignore[arg-type]
                        sent += 1
                    elif record.dir == "server":
                        event = conn.recv()
                        got.append(getattr(event, "type", None))
                        response = getattr(event, "response", None)
                        if response is not None and hasattr(response, "output_text"):
                            _ = response.output_text  # the accessors clients use must work too
                    elif record.dir == "close":
                        break
        except Exception as exc:  # the client's failure is the finding
            findings.append(make_finding(RULE_ID, f"openai-python {openai.__version__} raised after {len(got)} "
                                                  f"messages: {type(exc).__name__}: {exc}"[:500]))
            return findings
    if got != expected:
        first = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), min(len(got),
                                                                                                   len(expected)))
        findings.append(make_finding(RULE_ID, f"openai-python parsed message {first} as "
                                              f"{got[first] if first < len(got) else None!r}, recorded "
                                              f"{expected[first] if first < len(expected) else None!r}"))
    return findings
