"""One input of unknown kind, sniffed and checked: an SSE stream, a JSON Response body or a
WebSocket transcript. `conformance check` calls it per file; the corpus checker per record.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from conformance.findings import at_least
from conformance.report import CaseResult

__all__ = ["JSON_BODY_LIMIT", "NotAStream", "check_input"]

CHUNK_SIZE = 256 * 1024
# A body that starts with "{" is read whole to try it as JSON; beyond this size it cannot be a
# plausible response body and is streamed as SSE instead of being buffered.
JSON_BODY_LIMIT = 64 * 1024 * 1024
_WHITESPACE = b" \t\r\n"


class NotAStream(ValueError):
    """The input is neither SSE nor a Response body (unreadable input: exit 2, one line)."""


# A line that is an SSE field (`data`, `event`, `id`, `retry`, with or without a value) or a
# comment. An input without one anywhere is not an event stream at all.
_SSE_LINE = re.compile(rb"(?:^|[\r\n])(?:\xef\xbb\xbf)?(?:(?:data|event|id|retry)(?:[:\r\n]|$)|:)")


def _what_it_is(head: bytes) -> str:
    """Names a non-SSE input for the one-line error."""
    text = _json_text(head)
    if not text:
        return "it is empty: nothing to check"
    if text[:1] in (b"{", b"["):
        return "it is JSON, but neither a Response body nor an SSE stream (no `data:` line)"
    if b"\x00" in head[:4096]:
        return "it is binary data, not an SSE stream (no `data:` line)"
    if text[:1] == b"<":
        return "it looks like HTML or XML (an error page?), not an SSE stream (no `data:` line)"
    return "it is not an SSE stream (no `data:` line) nor a Response body"


def _chunks(stream: BinaryIO, prefix: bytes) -> Iterator[bytes]:
    if prefix:
        yield prefix
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


def _json_text(raw: bytes) -> bytes:
    # Editors on some systems save JSON with a UTF-8 BOM; orjson (rightly) refuses it.
    return raw.lstrip(_WHITESPACE).removeprefix(b"\xef\xbb\xbf").lstrip(_WHITESPACE)


def _sniff(stream: BinaryIO) -> tuple[bytes, Any]:
    """Read enough to decide SSE vs JSON body. Returns (bytes read so far, body or None)."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(CHUNK_SIZE)
        parts.append(chunk)
        size += len(chunk)
        if chunk.strip(_WHITESPACE) or not chunk:
            break
    if not _json_text(b"".join(parts)).startswith(b"{"):
        return b"".join(parts), None
    while size <= JSON_BODY_LIMIT and (chunk := stream.read(CHUNK_SIZE)):
        parts.append(chunk)  # joined once below: repeated `+=` would be quadratic
        size += len(chunk)
    head = b"".join(parts)
    if size > JSON_BODY_LIMIT:
        return head, None
    try:
        body = orjson.loads(_json_text(head))
    except orjson.JSONDecodeError:
        return head, None
    # A JSON object that is a Response (or at least not an event) is a non-stream body; a bare
    # event object (it has "type") is checked as a (broken) stream instead.
    if isinstance(body, dict) and (body.get("object") == "response" or "type" not in body):
        return head, body
    return head, None


def check_input(
    name: str,
    stream: BinaryIO,
    *,
    profile: str = "openai",
    request: dict[str, Any] | None = None,
    content_type: str | None = None,
    fail_on: str = "error",
) -> CaseResult:
    """Check one input (SSE or JSON body) read from `stream`; returns its report case."""
    from conformance import check_response
    from conformance.sse_checker import SSEStreamChecker

    start = time.perf_counter()
    head, body = _sniff(stream)
    details: dict[str, Any] = {}
    from conformance.transcript import TranscriptChecker, looks_like_transcript

    if looks_like_transcript(head):
        # A WebSocket transcript (JSON lines with `dir`): several responses on one socket.
        transcript = TranscriptChecker(profile)
        pending = b""
        for chunk in _chunks(stream, head):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                transcript.feed_line(line)
        transcript.feed_line(pending)
        result = transcript.finish()
        details["input"] = "websocket-transcript"
        details["responses"] = len(transcript.responses)
    elif body is not None:
        result = check_response(body, profile=profile, request=request)
        details["input"] = "json"
    else:
        checker = SSEStreamChecker(profile, request, content_type=content_type)
        sse_like = False  # a field or comment line seen (decided while nothing was dispatched)
        tail = b""
        for chunk in _chunks(stream, head):
            if not sse_like and not checker.n_messages:
                sse_like = bool(_SSE_LINE.search(tail + chunk))
                tail = chunk[-16:]
            checker.feed(chunk)
        result = checker.finish()
        messages = checker.n_messages
        details["input"] = "sse"
        details["saw_done"] = result.saw_done
        if messages == 0 and not sse_like:
            # Not a stream at all (empty, an HTML error page, binary, other JSON): unreadable
            # input, not a stream that lacks its terminal event.
            raise NotAStream(_what_it_is(head))
        if messages == 0:
            # A stream of comments or data-less blocks only: nothing to judge is not a pass.
            looks_json = _json_text(head)[:1] in (b"{", b"[")
            kind = "JSON that is not a Response body" if looks_json else "no SSE event"
            return CaseResult(
                id=name,
                status="error",
                findings=list(result.findings),
                duration_s=time.perf_counter() - start,
                error=f"nothing to check: the input holds {kind}",
                details=details,
            )
    if result.response_id:
        details["response_id"] = result.response_id
    findings = list(result.findings)
    failing = any(at_least(f.severity, fail_on) for f in findings)
    return CaseResult(
        id=name,
        status="failed" if failing else "passed",
        findings=findings,
        duration_s=time.perf_counter() - start,
        event_count=result.event_count,
        details=details,
    )
