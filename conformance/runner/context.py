"""What a scenario works with: send requests, get them checked, record findings.

This is the IO half: sending, timing, streaming (every byte through `SSEStreamChecker` as it
arrives), recording each exchange for the observers. The verdicts on status, error shape,
content type and timeouts are the registry's http.* rules, applied by runner/judging.py.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import orjson

from conformance.excerpts import one_line
from conformance.exchange import VALID, VALID_JSON, Expectation, HttpExchange, Timeout, invalid
from conformance.recording import SCENARIO_HEADER, ExchangeObserver, ExchangeRecord, auth_class
from conformance.runner.client import NOT_JSON, HttpClient, TimedOut, TransportFailure
from conformance.runner.judging import ScenarioAborted, ScenarioJudge, ScenarioSkipped
from conformance.sse import SSEMessage

__all__ = ["Exchange", "ScenarioAborted", "ScenarioContext", "ScenarioSkipped", "StreamExchange", "excerpt"]

EXCERPT = 200


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """A short one-line rendering of a body or value for a finding."""
    return one_line("<not JSON>" if value is NOT_JSON else value, limit)


@dataclass
class Exchange:
    """One non-streamed request and its answer."""

    label: str
    method: str
    path: str
    request: Any
    status: int
    content_type: str | None
    body: Any  # decoded JSON, or NOT_JSON
    elapsed_s: float
    record: ExchangeRecord | None = None  # what the observers saw and the http.* rules judge

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.body, dict)

    @property
    def response(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


@dataclass
class StreamExchange:
    """One streamed request: its events (decoded per SSE message) and the checker's verdict."""

    label: str
    request: dict[str, Any]
    status: int
    content_type: str | None
    events: list[Any] = field(default_factory=list)
    result: Any = None  # conformance.checker.CheckResult
    timed_out: bool = False
    body: Any = None  # the error body when status != 200
    raw_chunks: list[bytes] = field(default_factory=list)  # body bytes exactly as received
    record: ExchangeRecord | None = None

    @property
    def raw(self) -> bytes:
        """The response body as received (for real-client probes and recordings)."""
        return b"".join(self.raw_chunks)

    @property
    def terminal(self) -> dict[str, Any] | None:
        if self.result is None:
            return None
        terminal: dict[str, Any] | None = self.result.terminal_response
        return terminal

    def types(self) -> list[str]:
        return [e.get("type", "") for e in self.events if isinstance(e, dict)]


def _decode(msg: SSEMessage) -> Any:
    """The event as the timeline shows it: the JSON object, or the raw data when not JSON."""
    if msg.is_done:
        return {"_raw": msg.data}
    try:
        value = orjson.loads(msg.data)
    except orjson.JSONDecodeError:
        return {"_raw": msg.data[:2000]}
    return value if isinstance(value, dict) else {"_raw": msg.data[:2000]}


class ScenarioContext(ScenarioJudge):
    """Handed to each scenario function. Holds the findings and the event timeline of the case."""

    def __init__(
        self,
        *,
        client: HttpClient,
        model: str,
        profile: str = "openai",
        keep_events: int = 2000,
        has_api_key: bool = False,
        scenario_id: str | None = None,
        observers: Sequence[ExchangeObserver] = (),
    ) -> None:
        super().__init__(profile)
        self.client = client
        self.scenario_id = scenario_id
        # Observers (recorder, real-client probes) see every exchange; see conformance.recording.
        self.observers = tuple(observers)
        self._exchange_index = 0
        self.model = model
        self.keep_events = keep_events
        self.has_api_key = has_api_key
        self.events: list[dict[str, Any]] = []
        self.event_count = 0  # events, not counting `[DONE]` sentinels
        self.message_count = 0  # SSE messages: the checker's event_index counts these
        self.streams: list[dict[str, Any]] = []
        self.exchanges: list[dict[str, Any]] = []
        self.notes: dict[str, Any] = {}

    def _headers(self) -> dict[str, str]:
        # Names the scenario on every request: harmless for real servers, lets a replay answer
        # each scenario's exchanges in order (docs/record-replay.md).
        return {SCENARIO_HEADER: self.scenario_id} if self.scenario_id else {}

    def _observe(self, record: ExchangeRecord) -> None:
        default = record.label in (f"{record.method} /{record.path}", "POST /responses (stream)")
        prefix = None if default else record.label
        for observer in self.observers:
            self._adopt(observer.observe(record), prefix)

    def _record(self, label: str, method: str, path: str, auth: bool | str, **fields: Any) -> ExchangeRecord:
        record = ExchangeRecord(
            self.scenario_id, self._exchange_index, label, method, path,
            auth_class(auth, self.has_api_key), profile=self.profile, **fields,
        )
        self._exchange_index += 1
        return record

    def note(self, key: str, value: Any) -> None:
        """An observation for the report's details that is not a finding."""
        self.notes[key] = value

    def skip(self, reason: str) -> NoReturn:
        raise ScenarioSkipped(reason)

    def abort(self) -> NoReturn:
        raise ScenarioAborted()

    def request(self, **fields: Any) -> dict[str, Any]:
        """A request body with the run's model."""
        return {"model": self.model, **fields}

    def _with_model(self, body: dict[str, Any]) -> dict[str, Any]:
        return body if "model" in body else {"model": self.model, **body}

    def _log(self, label: str, method: str, path: str, status: int | None, elapsed: float, **extra: Any) -> None:
        self.exchanges.append(
            {"label": label, "method": method, "path": path, "status": status, "elapsed_s": round(elapsed, 4), **extra}
        )

    # -- requests --------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        label: str | None = None,
        raw: bytes | None = None,
        auth: bool | str = True,
        expect: Expectation | None = None,
    ) -> Exchange:
        """A request without any judgement except timeouts (callers judge). `expect`: what the
        caller will judge the answer against, recorded with the exchange for offline checks."""
        label = label or f"{method} /{path}"
        try:
            res = await self.client.request(
                method, path, json_body=body, content=raw, auth=auth, headers=self._headers()
            )
        except TimedOut as exc:
            self.timed_out(HttpExchange(label, method, path, None, expect=expect, request=body,
                                        timeout=Timeout(exc.phase, exc.seconds)))
        self._log(label, method, path, res.status, res.elapsed_s)
        record = self._record(
            label, method, path, auth, request_json=body if raw is None else None, request_raw=raw,
            status=res.status, headers=list(res.headers.multi_items()), body=res.body,
            chunks=[(round(res.elapsed_s * 1000, 3), len(res.body))], expect=expect,
        )
        if self.observers:
            self._observe(record)
        return Exchange(label, method, path, body, res.status, res.content_type, res.json(), res.elapsed_s, record)

    async def create(self, body: dict[str, Any], *, label: str | None = None, require: bool = True) -> Exchange:
        """POST /responses (not streamed): status, content type, then `check_response`."""
        from conformance import check_response

        req = self._with_model(body)
        label = label or "POST /responses"
        ex = await self.send("POST", "responses", req, label=label, expect=VALID_JSON)
        self._judge_json(ex, label, require)
        if ex.status != 200:
            return ex
        if ex.body is not NOT_JSON:
            # Any JSON body (null and lists included): the checker reports what is wrong with it.
            result = check_response(ex.body, profile=self.profile, request=req)
            self._adopt(result.findings, label if label != "POST /responses" else None)
        if require and not isinstance(ex.body, dict):
            raise ScenarioAborted()
        return ex

    async def get_json(
        self, path: str, *, label: str | None = None, require: bool = True, check: bool = False
    ) -> Exchange:
        """GET that must answer 200 with a JSON body; `check`: the body is a Response to check."""
        from conformance import check_response

        label = label or f"GET /{path}"
        ex = await self.send("GET", path, label=label, expect=VALID_JSON)
        self._judge_json(ex, label, require)
        if ex.status == 200 and check and isinstance(ex.body, dict):
            self._adopt(check_response(ex.body, profile=self.profile).findings, label)
        return ex

    def _judge_json(self, ex: Exchange, label: str, require: bool) -> None:
        """A valid request answered 200 with a JSON body; `require`: else the scenario stops."""
        self.judge(ex, VALID_JSON, label)
        if require and (ex.status != 200 or ex.body is NOT_JSON):
            raise ScenarioAborted()

    async def expect_error(
        self,
        body: Any = None,
        *,
        statuses: tuple[int, ...] = (400,),
        method: str = "POST",
        path: str = "responses",
        raw: bytes | None = None,
        auth: bool | str = True,
        label: str | None = None,
    ) -> Exchange:
        """An invalid request: must get one of `statuses` with the OpenAI error shape, never 5xx."""
        label = label or f"{method} /{path}"
        ex = await self.send(method, path, body, label=label, raw=raw, auth=auth, expect=invalid(statuses))
        self.judge_error(ex, statuses)
        return ex

    async def stream(
        self,
        body: dict[str, Any],
        *,
        label: str | None = None,
        require: bool = True,
        drop_after: int | None = None,
    ) -> StreamExchange:
        """POST /responses with `stream: true`, every byte through the SSE parser and checker.

        `drop_after`: close the connection after that many SSE messages (client disconnect); the
        partial stream is not judged then.
        """
        from conformance.sse_checker import SSEStreamChecker

        req = self._with_model({**body, "stream": True})
        label = label or "POST /responses (stream)"
        prefix = None if label == "POST /responses (stream)" else label
        checker = SSEStreamChecker(self.profile, request=req)
        offset = self.message_count
        sx = StreamExchange(label, req, 0, None)
        timeout: TimedOut | None = None
        transport_error: str | None = None
        started = time.perf_counter()
        chunk_times: list[tuple[float, int]] = []
        headers: list[tuple[str, str]] = []

        def observe(**fields: Any) -> ExchangeRecord:
            sx.record = self._record(
                label, "POST", "responses", True, request_json=req, status=sx.status, stream=True,
                headers=headers, body=sx.raw, chunks=chunk_times, expect=VALID, **fields,
            )
            if self.observers:
                self._observe(sx.record)
            return sx.record

        def take(messages: list[SSEMessage]) -> None:
            for msg in messages:
                event = _decode(msg)
                sx.events.append(event)
                if len(self.events) < self.keep_events:
                    self.events.append(event)
                self.message_count += 1
                if not msg.is_done:
                    self.event_count += 1

        try:
            async with self.client.stream("POST", "responses", json_body=req, headers=self._headers()) as handle:
                sx.status = handle.status
                sx.content_type = handle.headers.get("content-type")
                headers = list(handle.headers.multi_items())
                if handle.status != 200:
                    raw = await handle.read()
                    sx.raw_chunks.append(raw)
                    chunk_times.append((round((time.perf_counter() - started) * 1000, 3), len(raw)))
                    try:
                        sx.body = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        sx.body = raw.decode("utf-8", "replace")
                else:
                    checker.feed_content_type(sx.content_type)
                    try:
                        async with contextlib.aclosing(handle.chunks()) as chunks:
                            async for chunk in chunks:
                                sx.raw_chunks.append(chunk)
                                chunk_times.append((round((time.perf_counter() - started) * 1000, 3), len(chunk)))
                                checker.feed(chunk)
                                take(checker.messages)
                                if drop_after is not None and len(sx.events) >= drop_after:
                                    break
                    except TimedOut as exc:
                        timeout = exc
                    except TransportFailure as exc:  # a reset mid-stream ends it; the checker judges
                        transport_error = str(exc)
        except TimedOut as exc:
            self._log(label, "POST", "responses", None, time.perf_counter() - started, stream=True)
            self.timed_out(HttpExchange(label, "POST", "responses", None, stream=True, expect=VALID, request=req,
                                        timeout=Timeout(exc.phase, exc.seconds)))
        elapsed = time.perf_counter() - started
        self._log(label, "POST", "responses", sx.status, elapsed, stream=True, events=len(sx.events))
        if sx.status != 200:
            observe()
            self.judge_valid(sx, label, require)
            return sx
        if drop_after is not None and timeout is None and transport_error is None and len(sx.events) >= drop_after:
            observe(dropped=True)
            return sx  # deliberately dropped: nothing to judge
        checker.close()
        take(checker.messages)
        sx.result = checker.finish()
        self._adopt(sx.result.findings, prefix, offset)
        record = observe(terminal=sx.terminal, error=str(timeout) if timeout else transport_error,
                         timeout=Timeout(timeout.phase, timeout.seconds) if timeout else None)
        self.streams.append({"label": label, "first_event": offset, "events": len(sx.events), "content_type": sx.content_type})
        if transport_error:
            self.streams[-1]["transport_error"] = transport_error
        if timeout is not None:
            self.timed_out(record.exchange())
        if require and sx.terminal is None:
            raise ScenarioAborted()
        return sx
