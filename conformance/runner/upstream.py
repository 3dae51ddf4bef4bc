"""`conformance run --upstream KIND`: judge a proxy knowing what its upstream was asked and said.

`UpstreamLink` reads a `conformance upstream`'s request log (and queues scripts) over HTTP;
`UpstreamCheck` is an exchange observer that keeps each scenario's client requests and, after
the scenario, pairs them with the upstream requests they caused and reports `upstream.*`
findings (`conformance.upstream.judge`). Scenarios run one at a time so that the upstream's log
is attributed to the right scenario. `serve_upstream` starts one in a thread; `launch` starts
the proxy under test pointed at it.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from conformance.recording import ExchangeRecord
from conformance.runner.errors import TargetError
from conformance.upstream.judge import Judge
from conformance.upstream.model import read_request

CONTROL = "/_conformance"
# Findings about what the model did, and the upstream.* rules that prove it was the proxy's
# doing: the proxy lost what the model said, or told the model something else than the client.
MODEL_BEHAVIOUR = frozenset({"http.output-missing", "http.structured-output"})
FIDELITY = frozenset({"upstream.text-changed", "upstream.reasoning-dropped", "upstream.call-lost",
                      "upstream.call-changed", "upstream.finish-reason"})
EXPLAINS: dict[str, frozenset[str]] = {
    **{rule: MODEL_BEHAVIOUR for rule in FIDELITY},
    "upstream.request-tool-choice": frozenset({"call.tool-choice", "http.output-missing"}),
    "upstream.request-parallel-calls": frozenset({"call.parallel"}),
    "upstream.request-tools": frozenset({"call.unknown-tool", "call.arguments-schema", "http.output-missing"}),
    "upstream.request-format": frozenset({"http.structured-output"}),
    "upstream.request-reasoning": frozenset({"http.output-missing"}),
}


class UpstreamLink:
    """The control paths of a running `conformance upstream` (root URL, with or without /v1)."""

    def __init__(self, url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        root = url.rstrip("/")
        self.url = root
        self.root = root[:-3] if root.endswith("/v1") else root
        self.transport = transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.root, transport=self.transport, timeout=30)

    async def exchanges(self, after: int = 0) -> tuple[list[dict[str, Any]], int]:
        async with self._client() as c:
            res = await c.get(f"{CONTROL}/exchanges", params={"after": after})
        if res.status_code != 200:
            raise TargetError(f"GET {self.root}{CONTROL}/exchanges answered {res.status_code}: "
                              "is it a `conformance upstream`?")
        body = res.json()
        return list(body.get("exchanges") or []), int(body.get("next") or 0)

    async def script(self, plan: dict[str, Any]) -> None:
        async with self._client() as c:
            res = await c.post(f"{CONTROL}/script", json=plan)
        res.raise_for_status()


def _client_response(record: ExchangeRecord) -> dict[str, Any] | None:
    """The Response the client ended up with: the terminal snapshot, or the JSON body."""
    if record.terminal is not None:
        return record.terminal
    if record.status != 200 or not record.body:
        return None
    ctype = (record.content_type or "").lower()
    if "event-stream" in ctype:
        from conformance import check_sse

        return check_sse(record.body).terminal_response
    try:
        import json

        body = json.loads(record.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("object") == "response" else None


def _last_user(view_messages: list[tuple[str, str]]) -> str:
    return next((t for r, t in reversed(view_messages) if r == "user"), "")


class UpstreamCheck:
    """Observer + judge: `begin(scenario)` before a scenario, `findings(scenario)` after it."""

    def __init__(self, link: UpstreamLink, kind: str, client_secrets: list[str] | None = None) -> None:
        self.link = link
        self.kind = kind
        self.judge = Judge(kind, list(client_secrets or []))
        self.cursor = 0
        self.records: dict[str | None, list[ExchangeRecord]] = {}

    def observe(self, record: ExchangeRecord) -> tuple[()]:
        if record.method == "POST" and record.path == "responses" and isinstance(record.request_json, dict):
            self.records.setdefault(record.scenario, []).append(record)
        return ()

    async def begin(self, scenario_id: str) -> None:
        _, self.cursor = await self.link.exchanges(self.cursor)
        self.records.pop(scenario_id, None)

    @staticmethod
    def merge(findings: list[Any], new: list[Any]) -> list[Any]:
        """The scenario's findings with the upstream ones. A model-behaviour finding that an
        upstream.* finding explains gives way to it: the upstream did produce what the scenario
        found missing and the proxy lost it, or the proxy asked the model for something else
        (a dropped tool_choice, parallel_tool_calls, tools, format, reasoning)."""
        explained = frozenset().union(*(EXPLAINS.get(f.rule, frozenset()) for f in new))
        return [*(f for f in findings if f.rule not in explained), *new]

    async def findings(self, scenario_id: str, profile: str = "openai") -> list[Any]:
        from conformance.registry import make_finding

        upstream, self.cursor = await self.link.exchanges(self.cursor)
        records = self.records.pop(scenario_id, [])
        out = []
        for rule, message, label in self.pairs(records, upstream):
            out.append(make_finding(rule, f"{label}: {message}" if label else message, profile=profile))
        return out

    def pairs(self, records: list[ExchangeRecord], upstream: list[dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
        """Each upstream request with the client request that caused it (same last user text,
        else the next one in order), judged."""
        free = list(records)
        for up in upstream:
            if not free:
                break
            want = _last_user(read_request(self.kind, up.get("body")).messages)
            match = next((r for r in free if _last_user(read_request("responses", r.request_json).messages) == want), None)
            record = match or free[0]
            free.remove(record)
            label = "" if record.label.startswith("POST /responses") else record.label
            for rule, message in self.judge.pair(record.request_json, _client_response(record), up):
                yield rule, message, label
        for record in free:
            response = _client_response(record)
            if response is not None and response.get("status") in ("completed", "incomplete"):
                label = "" if record.label.startswith("POST /responses") else record.label
                yield ("upstream.not-forwarded", f"response {response.get('id')} is {response.get('status')}, "
                       "but the upstream received no request for it", label)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0: a free port); TargetError in one line when it cannot be."""
    if not 0 <= port <= 65535:
        raise TargetError(f"--port {port}: not a port number")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise TargetError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    return sock


@contextlib.contextmanager
def serve_upstream(kind: str, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """A `conformance upstream` of `kind` in a thread; yields its base URL (…/v1)."""
    import uvicorn

    from conformance.upstream.app import create_upstream_app, quiet_server_logs

    quiet_server_logs()

    sock = bind(host, port)
    server = uvicorn.Server(uvicorn.Config(create_upstream_app(kind), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def launch(command: str, *, upstream_url: str, base_url: str, ready_timeout: float = 60.0) -> Iterator[None]:
    """Start the proxy under test (`{upstream_url}` and `{port}` filled in), wait until its base
    URL answers, stop it afterwards."""
    from urllib.parse import urlsplit

    port = urlsplit(base_url).port or 80
    argv = shlex.split(command.replace("{upstream_url}", upstream_url).replace("{port}", str(port)))
    if not argv:
        raise TargetError("--launch: empty command")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    except OSError as exc:
        raise TargetError(f"--launch: cannot start {argv[0]!r}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise TargetError(f"--launch: {argv[0]!r} exited with code {proc.returncode} before answering")
            try:
                httpx.get(f"{base_url.rstrip('/')}/models", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise TargetError(f"--launch: nothing answered at {base_url} within {ready_timeout:g} s") from None
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- scripted scenarios: the upstream misbehaves, the proxy must say so -----------------------

# (id, title, script); a recorded stream comes from fixtures/upstream/<kind>/.
SCRIPTED: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("upstream-http-error", "The upstream answers 500: the client must not get a completed response",
     {"status": 500}),
    ("upstream-disconnect", "The upstream drops the connection mid-stream", {"disconnect_after": 4}),
    ("upstream-error-event", "The upstream sends its error event mid-stream", {"error_event_after": 4}),
    ("upstream-stall", "The upstream stalls, then closes without finishing", {"stall_after": 3, "stall_s": 1}),
    ("upstream-content-filter", "The upstream stops for its content filter", {"finish": "content_filter"}),
)
# Chat Completions only: servers with continuous usage statistics.
CC_ONLY = (("upstream-usage-chunks", "The upstream sends usage-only chunks with running counts after every chunk",
            {"usage_chunks": True}),)
# One scenario per stream of fixtures/upstream/<kind>/ (its sidecar's request is sent).
RECORDED_PREFIX = "upstream-recorded-"
# A relay in front of a Responses upstream forwards validation and storage to it: these
# scenarios judge the upstream server, not the relay.
RELAY_SKIPS = ("previous-response-id-unknown", "store-false", "get-stored-response", "get-response-unknown",
               "delete-response", "input-items", "error-missing-model", "error-wrong-input-type",
               "error-invalid-json", "error-unknown-tool-choice", "error-metadata-limits",
               "error-max-output-tokens-minimum")
RELAY_SKIP_REASON = "the Responses upstream, not the relay in front of it, validates and stores"


# Web search runs at the provider: the Anthropic upstream runs it (its server tool), the Chat
# Completions API has none, and a relay passes the tool to its Responses upstream, whose
# web_search_call items and citations the scenarios would judge (the suite's scripted one runs no
# hosted tool), not the relay's.
WEB_SEARCH_SKIP_REASONS = {
    "chat-completions": "the Chat Completions API has no web search tool, so the proxy's cannot be judged",
    "responses": "a relay passes web search to its Responses upstream, which is what these scenarios would judge",
}


def skips_for(kind: str) -> dict[str, str]:
    from conformance.scenarios import catalogue

    skips: dict[str, str] = {}
    if kind in WEB_SEARCH_SKIP_REASONS:
        skips.update({s.id: WEB_SEARCH_SKIP_REASONS[kind] for s in catalogue() if "web_search" in s.tags})
    if kind == "responses":
        skips.update(dict.fromkeys(RELAY_SKIPS, RELAY_SKIP_REASON))
    return skips


# An upstream failure may be answered with one of these instead of a stream.
GATEWAY_STATUSES = (500, 502, 503, 504)


def _scripted(link: UpstreamLink, plan: dict[str, Any], request: dict[str, Any] | None = None) -> Any:
    async def run(ctx: Any) -> None:
        await link.script(plan)
        label = "POST /responses (scripted upstream)"
        before = len(ctx.findings)
        sx = await ctx.stream(request or {"input": "Say hello."}, label=label, require=False)
        if sx.status in GATEWAY_STATUSES:  # a gateway error is a right answer to a broken upstream
            ctx.findings[before:] = [f for f in ctx.findings[before:] if f.rule not in ("http.status", "http.server-error")]

    return run


def upstream_scenarios(link: UpstreamLink, kind: str) -> list[Any]:
    """The scenarios that script the upstream (tag `upstream`); run only with --upstream."""
    from conformance.resources import fixtures_dir
    from conformance.scenarios.base import Scenario

    scripted = SCRIPTED + (CC_ONLY if kind == "chat-completions" else ())
    out = [Scenario(sid, title, ("upstream", "robustness", "stream"), _scripted(link, plan), title)
           for sid, title, plan in scripted]
    folder = fixtures_dir() / "upstream" / kind
    for path in sorted(folder.glob("*.sse")) if folder.is_dir() else ():
        sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        request = {k: v for k, v in (sidecar.get("request") or {}).items() if k not in ("model", "stream")}
        out.append(Scenario(f"{RECORDED_PREFIX}{path.stem}", f"The upstream sends fixtures/upstream/{kind}/{path.name}",
                            ("upstream", "recorded", "stream"),
                            _scripted(link, {"sse": path.read_text(encoding="utf-8"),
                                             "expected": sidecar.get("expected") or {}}, request or None),
                            f"A recorded or built upstream stream ({sidecar.get('source', '?')}), converted"))
    return out
