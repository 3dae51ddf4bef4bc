"""`ProxyApp`: the ASGI app that relays each request to the upstream and judges the answer.

The client's bytes are the upstream's bytes: each chunk read from the upstream (`aiter_raw`,
still compressed if it was) is sent on before the judge sees it, and nothing the judge or the
recorder does can raise into the relay. A client that hangs up closes the upstream stream.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import orjson

from conformance.proxy.judge import ExchangeJudge
from conformance.recording import SCENARIO_HEADER, ExchangeRecord
from conformance.replay.record import describe_target
from conformance.report import CaseResult, Report

# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are not relayed.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
                        "trailer", "upgrade", "proxy-authenticate", "proxy-authorization"})
CREDENTIAL_HEADERS = ("authorization", "api-key", "x-api-key")


@dataclass
class ProxyOptions:
    upstream_url: str
    profile: str = "openai"
    fail_on: str = "error"
    record_dir: Path | None = None
    probe: bool = True  # recordings carry the openai-python probe, as `conformance record` does
    connect_timeout_s: float = 30.0


@dataclass
class _Exchange:
    index: int
    scenario: str
    method: str
    path: str
    query: str
    request_body: bytes
    request_json: Any
    auth: str
    secrets: list[str]
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    chunks: list[tuple[float, int]] = field(default_factory=list)
    dropped: bool = False
    error: str | None = None
    # When the client hung up: seconds since the upstream's last byte (or its headers). A client
    # that gave up on a stalled upstream shows as a long silence; one that left mid-flow, a short one.
    silent_s: float | None = None


def _credential(value: str) -> str:
    low = value.strip()
    return low[7:].strip() if low[:7].lower() == "bearer " else low


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret.strip():
            text = text.replace(secret, "***")
    return text


class ProxyApp:
    """ASGI app; `cases` holds one report case per finished exchange, in finishing order."""

    def __init__(self, options: ProxyOptions, *, emit: Callable[[CaseResult], None] | None = None) -> None:
        self.options = options
        parts = urlsplit(options.upstream_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"--upstream-url {options.upstream_url!r}: expected http(s)://host[:port][/prefix]")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.prefix = parts.path.rstrip("/")
        self.emit = emit
        self.cases: list[CaseResult] = []
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._lock = threading.Lock()
        self._count = 0
        self._secrets: set[str] = set()
        self._client: httpx.AsyncClient | None = None
        self.recorder: Any = None
        if options.record_dir is not None:
            from conformance.replay.record import Recorder

            self.recorder = Recorder(options.record_dir, target=options.upstream_url, probe=options.probe)

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            # No read timeout: a model may think for minutes; the client decides when to give up.
            timeout = httpx.Timeout(None, connect=self.options.connect_timeout_s)
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
            self._client = httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)
        return self._client

    def upstream_target(self, path: str, query: str) -> str:
        # An upstream given with the same prefix the client uses (http://host/v1 and /v1/...) is
        # not doubled; any other prefix is put in front of the client's path.
        if self.prefix and not (path == self.prefix or path.startswith(self.prefix + "/")):
            path = self.prefix + path
        return self.origin + path + (f"?{query}" if query else "")

    async def _read_body(self, receive: Any) -> bytes | None:
        parts: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(parts)

    def _start(self, scope: dict[str, Any], body: bytes) -> tuple[_Exchange, list[tuple[bytes, bytes]]]:
        headers: list[tuple[bytes, bytes]] = []
        secrets: list[str] = []
        scenario = "proxy"
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            if name in CREDENTIAL_HEADERS and value.strip():
                secrets += [value, _credential(value)]
            if name == SCENARIO_HEADER.lower() and value.strip():
                scenario = value.strip()
            if name in HOP_BY_HOP or name in ("host", "content-length"):
                continue
            headers.append((raw_name, raw_value))
        try:
            request_json = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            request_json = None
        with self._lock:
            index = self._count
            self._count += 1
        query = scope.get("query_string", b"").decode("latin-1")
        exchange = _Exchange(index=index, scenario=scenario, method=scope["method"], path=scope["path"],
                             query=query, request_body=body, request_json=request_json,
                             auth="valid" if secrets else "none", secrets=secrets)
        return exchange, headers

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await self._read_body(receive)
        if body is None:
            return  # the client left before its request was complete: nothing to forward
        ex, headers = self._start(scope, body)
        client = self._http_client()
        request = client.build_request(ex.method, self.upstream_target(ex.path, ex.query),
                                       headers=headers, content=body)
        sent_at = anyio.current_time()
        try:
            upstream = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            ex.status, ex.error = 502, f"upstream unreachable: {type(exc).__name__}: {exc}"
            payload = orjson.dumps({"error": {"message": f"conformance proxy: {ex.error}", "type": "proxy_error",
                                              "param": None, "code": "upstream_unreachable"}})
            await send({"type": "http.response.start", "status": 502,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": payload})
            await self._finish(ex, None)
            return
        ex.status = upstream.status_code
        ex.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in upstream.headers.raw]
        judge = ExchangeJudge(name=f"{ex.index:04d} {ex.method} {ex.path}", method=ex.method, path=ex.path,
                              status=ex.status, content_type=upstream.headers.get("content-type"),
                              content_encoding=upstream.headers.get("content-encoding"),
                              request=ex.request_json if isinstance(ex.request_json, dict) else None,
                              profile=self.options.profile, fail_on=self.options.fail_on)
        out_headers = [(k, v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP]
        try:
            await self._relay(ex, upstream, judge, out_headers, receive, send, sent_at)
        finally:
            with anyio.CancelScope(shield=True):
                await upstream.aclose()  # a client that left closes the upstream stream too
                await self._finish(ex, judge)

    async def _relay(self, ex: _Exchange, upstream: httpx.Response, judge: ExchangeJudge,
                     headers: list[tuple[bytes, bytes]], receive: Any, send: Any, sent_at: float) -> None:
        relayed = False  # the whole body went out: a disconnect after that is the normal end
        last_byte = anyio.current_time()  # the headers, then each chunk

        async with anyio.create_task_group() as tg:

            async def watch_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                if not relayed:
                    ex.dropped = True
                    ex.silent_s = anyio.current_time() - last_byte
                    tg.cancel_scope.cancel()

            tg.start_soon(watch_disconnect)
            try:
                await send({"type": "http.response.start", "status": upstream.status_code, "headers": headers})
                async for chunk in upstream.aiter_raw():
                    last_byte = anyio.current_time()
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    ex.body.append(chunk)
                    ex.chunks.append((round((anyio.current_time() - sent_at) * 1000, 1), len(chunk)))
                    judge.feed(chunk)
                relayed = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except httpx.HTTPError as exc:
                ex.error = f"upstream transfer failed: {type(exc).__name__}: {exc}"
                # The client must see the cut as the upstream made it: end our answer short too.
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:  # the client's socket is gone (servers that raise instead of disconnect)
                ex.dropped = True
            tg.cancel_scope.cancel()

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from conformance.proxy import websocket

        secrets: list[str] = []
        scenario = "proxy"
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name in CREDENTIAL_HEADERS and value.strip():
                secrets += [value, _credential(value)]
            if name == SCENARIO_HEADER.lower() and value.strip():
                scenario = value.strip()
        with self._lock:
            index = self._count
            self._count += 1
        ex = websocket.SocketExchange(index=index, scenario=scenario, path=scope["path"], secrets=secrets)
        query = scope.get("query_string", b"").decode("latin-1")
        url = websocket.upstream_ws_url(self.upstream_target(scope["path"], query))
        started = anyio.current_time()
        try:
            await websocket.relay(ex, url, scope, receive, send, self.options.connect_timeout_s)
        finally:
            with anyio.CancelScope(shield=True):
                case = websocket.judge(ex, profile=self.options.profile, fail_on=self.options.fail_on,
                                       duration_s=anyio.current_time() - started)
                case.details["scenario"] = ex.scenario
                if self.recorder is not None and ex.status == 101:
                    failure = await anyio.to_thread.run_sync(self._record_socket, ex)
                    if failure:
                        case.details["recorder_error"] = failure
                self._done(case)

    def _record_socket(self, ex: Any) -> str | None:
        try:
            with self._lock:
                self._learn_secrets(ex.secrets)
                self.recorder.observe_transcript(ex.scenario, ex.records)
            return None
        except Exception as exc:  # recording must not change the client's session; it is reported
            return f"{type(exc).__name__}: {exc}"

    def _learn_secrets(self, secrets: list[str]) -> None:
        from conformance.redaction import Redactor

        if any(s not in self._secrets for s in secrets):
            self._secrets.update(secrets)
            self.recorder.redactor = Redactor(sorted(self._secrets))

    def _done(self, case: CaseResult) -> None:
        with self._lock:
            self.cases.append(case)
        if self.emit is not None:
            with contextlib.suppress(Exception):  # a broken terminal must not break the relay
                self.emit(case)

    # -- after the exchange ------------------------------------------------------------------

    async def _finish(self, ex: _Exchange, judge: ExchangeJudge | None) -> None:
        if judge is None:
            case = CaseResult(id=f"{ex.index:04d} {ex.method} {ex.path}", status="error", error=ex.error,
                              details={"method": ex.method, "path": ex.path, "status": ex.status})
        else:
            case = judge.finish(dropped=ex.dropped, error=ex.error)
        if case.details.get("upstream_error"):  # an upstream may quote the key back: never print it
            case.details["upstream_error"] = _scrub(case.details["upstream_error"], ex.secrets)
        case.details["scenario"] = ex.scenario
        if ex.dropped and ex.silent_s is not None:
            case.details["silent_s"] = round(ex.silent_s, 1)
        if self.recorder is not None:
            failure = await anyio.to_thread.run_sync(self._record, ex, case)
            if failure:
                case.details["recorder_error"] = failure
        self._done(case)

    def _record(self, ex: _Exchange, case: CaseResult) -> str | None:
        record = ExchangeRecord(
            scenario=ex.scenario, index=ex.index, label=f"{ex.method} {ex.path}", method=ex.method,
            path=ex.path.lstrip("/"), auth=ex.auth,  # type: ignore[arg-type]
            request_json=ex.request_json,
            request_raw=ex.request_body if ex.request_json is None and ex.request_body else None,
            status=ex.status, headers=ex.headers, body=b"".join(ex.body), chunks=ex.chunks,
            stream=case.details.get("judged") == "sse", dropped=ex.dropped, error=ex.error,
            profile=self.options.profile,
        )
        try:
            with self._lock:  # the recorder's bookkeeping is shared by all exchanges
                self._learn_secrets(ex.secrets)
                self.recorder.write(record)
            return None
        except Exception as exc:  # recording must not change the client's answer; it is reported
            return f"{type(exc).__name__}: {exc}"

    def report(self, *, tool_version: str) -> Report:
        with self._lock:
            cases = list(self.cases)
        return Report(cases=cases, profile=self.options.profile, fail_on=self.options.fail_on,
                      tool_version=tool_version, started_at=self.started_at,
                      meta={"unit": "exchange", "command": "proxy",
                            "target": describe_target(self.origin + self.prefix)})

    def write_session(self, report: Report) -> None:
        """`session.json` of the recording: one entry per scenario folder (`proxy`, or the
        X-Conformance-Scenario a client sent), merging the findings of its exchanges."""
        if self.recorder is None:
            return
        with self._lock:
            scenarios: dict[str, CaseResult] = {}
            for case in report.cases:
                name = case.details.get("scenario", "proxy")
                merged = scenarios.setdefault(name, CaseResult(id=name, status="passed"))
                merged.findings += case.findings
                if case.status != "passed" and merged.status == "passed":
                    merged.status = case.status
            self.recorder.write_session(Report(cases=list(scenarios.values()), profile=report.profile,
                                               fail_on=report.fail_on, tool_version=report.tool_version,
                                               started_at=report.started_at, meta=report.meta))
