"""`ExchangeJudge`: a sans-IO judge of one proxied answer, fed the body bytes as they pass.

A streamed answer (`text/event-stream`) goes into an `SSEStreamChecker` (bytes in) chunk by
chunk; a JSON Response body (POST /responses, GET /responses/{id}) is kept and given
to `check_response` at the end. Other answers (errors, listings) are relayed unjudged. The
judge never raises: a checker failure is kept as `internal_error` and reported, so it can never
change what the client gets.
"""

from __future__ import annotations

import re
import time
import zlib
from typing import Any

import orjson

from conformance.findings import at_least
from conformance.inputs import JSON_BODY_LIMIT  # a JSON body beyond it is relayed, not judged
from conformance.report import CaseResult

ERROR_BODY_LIMIT = 1024 * 1024  # an error body is read for its code only
# Requests whose JSON answer is a Response object: POST /responses, GET /responses/{id} and
# POST /responses/{id}/cancel (DELETE answers a deletion object, input_items a list).
_RESPONSE_ANSWERS = (
    ("POST", re.compile(r"/responses/?$")),
    ("GET", re.compile(r"/responses/[^/]+/?$")),
    ("POST", re.compile(r"/responses/[^/]+/cancel/?$")),
)


def answers_a_response(method: str, path: str) -> bool:
    return any(method == m and rx.search(path) for m, rx in _RESPONSE_ANSWERS)


def _decoder(encoding: str | None) -> Any:
    """A decompressor for the body's Content-Encoding (None: identity), or False: unsupported."""
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return None
    if enc in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if enc == "deflate":
        return zlib.decompressobj()
    return False


class ExchangeJudge:
    """Judges one answer; `feed(chunk)` for each body chunk, then `finish()` for its case."""

    def __init__(
        self,
        *,
        name: str,
        method: str,
        path: str,
        status: int,
        content_type: str | None,
        content_encoding: str | None = None,
        request: dict[str, Any] | None = None,
        profile: str = "openai",
        fail_on: str = "error",
    ) -> None:
        self.name = name
        self.method = method.upper()
        self.path = path
        self.status = status
        self.request = request
        self.profile = profile
        self.fail_on = fail_on
        self.started = time.perf_counter()
        self.internal_error: str | None = None
        self.note: str | None = None
        self.events = 0
        ctype = (content_type or "").split(";")[0].strip().lower()
        self.kind = "none"
        # A request that asked for a stream is judged as one whatever the Content-Type says
        # (a stream served as application/json is framing.content-type, not "no stream").
        wants_stream = isinstance(request, dict) and request.get("stream") is True
        if status == 200 and (ctype == "text/event-stream" or (wants_stream and answers_a_response(self.method, path))):
            self.kind = "sse"
        elif status == 200 and ctype.endswith("json") and answers_a_response(self.method, path):
            self.kind = "json"
        # An error answer is not judged, but its code is what a user of the proxy needs to see.
        self._keep_error = status >= 400 and ctype.endswith("json")
        self._decoder = _decoder(content_encoding)
        if self._decoder is False:
            self.note = f"not judged: Content-Encoding {content_encoding!r} is not decoded"
            self.kind = "none"
            self._keep_error = False
        self._json: list[bytes] = []
        self._json_size = 0
        self._checker: Any = None
        if self.kind == "sse":
            self._guard(self._start_stream, content_type)

    def _guard(self, fn: Any, *args: Any) -> Any:
        if self.internal_error is not None:
            return None
        try:
            return fn(*args)
        except Exception as exc:  # a bug of ours must not reach the client's bytes
            self.internal_error = f"internal error: {type(exc).__name__}: {exc}"
            return None

    def _start_stream(self, content_type: str | None) -> None:
        from conformance.sse_checker import SSEStreamChecker

        self._checker = SSEStreamChecker(self.profile, self.request)
        self._checker.feed_content_type(content_type)

    def feed(self, chunk: bytes) -> None:
        if (self.kind == "none" and not self._keep_error) or not chunk:
            return
        self._guard(self._feed, chunk)

    def _feed(self, chunk: bytes) -> None:
        if self._decoder is not None:
            chunk = self._decoder.decompress(chunk)
        if self.kind == "sse":
            self._checker.feed(chunk)
            self.events += len(self._checker.messages)
        elif self._json_size <= (JSON_BODY_LIMIT if self.kind == "json" else ERROR_BODY_LIMIT):
            self._json.append(chunk)
            self._json_size += len(chunk)

    def finish(self, *, dropped: bool = False, error: str | None = None) -> CaseResult:
        """The exchange's report case. `dropped`: the client hung up; `error`: the upstream
        transfer failed. Neither is a finding about the server's protocol by itself."""
        result = self._guard(self._result, dropped or error is not None)
        details: dict[str, Any] = {"method": self.method, "path": self.path, "status": self.status,
                                   "judged": self.kind}
        if self.note:
            details["note"] = self.note
        if dropped:
            details["dropped"] = True
        duration = time.perf_counter() - self.started
        if self.internal_error is not None:
            return CaseResult(id=self.name, status="error", duration_s=duration, event_count=self.events,
                              error=self.internal_error, details=details)
        if error is not None:
            return CaseResult(id=self.name, status="error", duration_s=duration, event_count=self.events,
                              error=error, details=details)
        findings = list(result.findings) if result is not None else []
        if result is not None and result.response_id:
            details["response_id"] = result.response_id
        if self._keep_error and not dropped:
            summary = self._guard(self._error_summary)
            if summary:
                details["upstream_error"] = summary
        failing = any(at_least(f.severity, self.fail_on) for f in findings)
        return CaseResult(id=self.name, status="failed" if failing else "passed", findings=findings,
                          duration_s=duration, event_count=self.events, details=details)

    def _error_summary(self) -> str | None:
        """`code (param): message` of an OpenAI-shaped error body, else None."""
        if self._json_size > ERROR_BODY_LIMIT:
            return None
        raw = b"".join(self._json) + (self._decoder.flush() if self._decoder is not None else b"")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return None
        head = str(error.get("code") or error.get("type") or "error")
        if error.get("param"):
            head += f" ({error['param']})"
        message = error.get("message")
        return f"{head}: {message}" if isinstance(message, str) and message else head

    def _result(self, cut: bool) -> Any:
        if self.kind == "sse":
            if cut:
                return None  # a stream cut by the client or transport: its end is not judged
            tail = self._decoder.flush() if self._decoder is not None else b""
            if tail:
                self._checker.feed(tail)
                self.events += len(self._checker.messages)
            self._checker.close()
            self.events += len(self._checker.messages)
            return self._checker.finish()
        if self.kind == "json" and not cut:
            if self._json_size > JSON_BODY_LIMIT:
                self.note = "not judged: the JSON body is larger than a Response body can be"
                return None
            raw = b"".join(self._json)
            if self._decoder is not None:
                raw += self._decoder.flush()
            from conformance import check_response

            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self.note = "not judged: the 200 answer is not valid JSON"
                return None
            return check_response(body, profile=self.profile, request=self.request)
        return None
