"""WebSocket relay: one client socket in front of one upstream socket, frame by frame.

Each message goes on unchanged (text stays text, binary stays binary) in both directions, and
is written down in the transcript format (conformance.transcript). When either side closes, the
other side gets the same close code, and the transcript is checked like `conformance check`
checks a `.jsonl` file. The judge runs after the socket is over, so it can never delay or change
a frame; a failure of ours is reported on the case, not to the client.

An upgrade the upstream refuses (401, 404, ...) is passed back as that HTTP answer when the ASGI
server supports denial responses (uvicorn does), else the client's handshake is closed 1008.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import anyio

from conformance.findings import at_least
from conformance.report import CaseResult

# Handshake headers the upstream connection makes for itself; the rest of the client's pass on.
_HANDSHAKE = frozenset({"host", "connection", "upgrade", "sec-websocket-key", "sec-websocket-version",
                        "sec-websocket-extensions", "sec-websocket-accept", "sec-websocket-protocol",
                        "content-length", "transfer-encoding", "keep-alive", "te", "trailer",
                        "proxy-connection", "proxy-authorization", "proxy-authenticate"})
# Close codes that only report what happened and may never be sent in a close frame (RFC 6455 7.4.1).
_UNSENDABLE = frozenset({1005, 1006, 1015})


@dataclass
class SocketExchange:
    """What one relayed socket carried, in the transcript format."""

    index: int
    scenario: str
    path: str
    secrets: list[str]
    records: list[dict[str, Any]] = field(default_factory=list)
    status: int = 101
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    closed: bool = False

    def t(self) -> float:
        return round(time.monotonic() - self.started, 6)

    def message(self, direction: str, data: str | bytes) -> None:
        if self.closed:
            # The server's messages in flight when the client closed never reach the client; the
            # transcript is what the client saw (nothing after a close can: ws.after-close).
            return
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        self.records.append({"dir": direction, "text": text, "t": self.t()})

    def close(self, by: str, code: int | None, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.records.append({"dir": "close", "by": by, "code": code if code is not None else 1005,
                                 "reason": reason, "t": self.t()})


def upstream_ws_url(http_url: str) -> str:
    return "wss://" + http_url[8:] if http_url.startswith("https://") else "ws://" + http_url.removeprefix("http://")


def forward_headers(scope: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1")
        if name.lower() not in _HANDSHAKE:
            out.append((name, raw_value.decode("latin-1")))
    return out


def subprotocols(scope: dict[str, Any]) -> list[Any] | None:
    from websockets.typing import Subprotocol

    offered = [Subprotocol(p) for p in scope.get("subprotocols") or [] if p]
    return offered or None


async def relay(ex: SocketExchange, url: str, scope: dict[str, Any], receive: Any, send: Any,
                connect_timeout_s: float) -> None:
    """Relay one socket; on return `ex.records` holds the transcript (its close included)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    first = await receive()
    if first["type"] != "websocket.connect":
        return
    try:
        upstream = await connect(url, additional_headers=forward_headers(scope), subprotocols=subprotocols(scope),
                                 max_size=None, open_timeout=connect_timeout_s, compression=None,
                                 ping_interval=None, user_agent_header=None, proxy=None)
    except InvalidStatus as exc:
        ex.status = exc.response.status_code
        ex.error = f"the upstream refused the WebSocket upgrade with HTTP {ex.status}"
        await _deny(scope, send, exc.response.status_code, list(exc.response.headers.raw_items()),
                    exc.response.body)
        return
    except Exception as exc:  # unreachable, bad handshake: the client sees 1011
        ex.status = 502
        ex.error = f"upstream WebSocket unreachable: {type(exc).__name__}: {exc}"
        await send({"type": "websocket.close", "code": 1011})
        return

    await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})

    async with anyio.create_task_group() as tg:

        async def client_to_upstream() -> None:
            try:
                while True:
                    message = await receive()
                    if message["type"] == "websocket.disconnect":
                        code = int(message.get("code") or 1005)
                        ex.close("client", code, str(message.get("reason") or ""))
                        await upstream.close(code=1000 if code in _UNSENDABLE else code,
                                             reason=str(message.get("reason") or ""))
                        break
                    if message["type"] != "websocket.receive":
                        continue
                    data = message.get("text")
                    data = message.get("bytes") if data is None else data
                    if data is None:
                        continue
                    ex.message("client", data)
                    await upstream.send(data)
            except ConnectionClosed:
                pass  # the upstream went first: the other task relays its close

        async def upstream_to_client() -> None:
            try:
                async for data in upstream:
                    key = "text" if isinstance(data, str) else "bytes"
                    await send({"type": "websocket.send", key: data})
                    ex.message("server", data)  # once delivered: the transcript is what the client saw
            except ConnectionClosed:
                pass
            except OSError:  # the client's socket is gone before its close reached us
                ex.close("client", 1006, "")
            rcvd = upstream.close_code
            if not ex.closed:
                reason = upstream.close_reason or ""
                ex.close("server", rcvd, reason)
                code = 1000 if rcvd is None or rcvd in _UNSENDABLE else rcvd
                with contextlib.suppress(Exception):  # the client may have gone at the same moment
                    await send({"type": "websocket.close", "code": code, "reason": reason})
            tg.cancel_scope.cancel()

        tg.start_soon(client_to_upstream)
        tg.start_soon(upstream_to_client)

    with anyio.CancelScope(shield=True):
        await upstream.close()


async def _deny(scope: dict[str, Any], send: Any, status: int, headers: list[tuple[str, str]],
                body: bytes | None) -> None:
    if "websocket.http.response" in (scope.get("extensions") or {}):
        keep = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers
                if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        await send({"type": "websocket.http.response.start", "status": status, "headers": keep})
        await send({"type": "websocket.http.response.body", "body": body or b""})
    else:
        await send({"type": "websocket.close", "code": 1008})


def judge(ex: SocketExchange, *, profile: str, fail_on: str, duration_s: float) -> CaseResult:
    """The socket's report case: its transcript checked as a whole (never raises)."""
    name = f"{ex.index:04d} WS {ex.path}"
    details: dict[str, Any] = {"method": "WS", "path": ex.path, "status": ex.status, "judged": "websocket",
                               "messages": sum(1 for r in ex.records if r["dir"] != "close")}
    if ex.error is not None:
        return CaseResult(id=name, status="error", error=ex.error, duration_s=duration_s, details=details)
    try:
        from conformance.transcript import TranscriptChecker

        checker = TranscriptChecker(profile)
        for record in ex.records:
            checker.feed(record)
        result = checker.finish()
    except Exception as exc:  # a bug of ours: reported, the client already got every frame
        return CaseResult(id=name, status="error", error=f"internal error: {type(exc).__name__}: {exc}",
                          duration_s=duration_s, event_count=len(ex.records), details=details)
    details["responses"] = len(checker.responses)
    errors = _error_events(ex.records)
    if errors:
        details["error_events"] = errors
    closes = [r for r in ex.records if r["dir"] == "close"]
    if closes:
        details["close"] = f"{closes[0]['by']} {closes[0]['code']}"
    findings = list(result.findings)
    failing = any(at_least(f.severity, fail_on) for f in findings)
    return CaseResult(id=name, status="failed" if failing else "passed", findings=findings,
                      duration_s=duration_s, event_count=len(ex.records), details=details)


def _error_events(records: list[dict[str, Any]]) -> list[str]:
    """`code (param)` of each `error` message the server sent (their messages may quote input)."""
    out = []
    for record in records:
        if record["dir"] != "server" or '"error"' not in record["text"]:
            continue
        try:
            event = json.loads(record["text"])
        except ValueError:
            continue
        error = event.get("error") if isinstance(event, dict) and event.get("type") == "error" else None
        if isinstance(error, dict):
            head = str(error.get("code") or error.get("type") or "error")
            out.append(f"{head} ({error['param']})" if error.get("param") else head)
    return out
