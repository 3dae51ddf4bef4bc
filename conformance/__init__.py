"""Conformance suite for the OpenAI Responses API streaming protocol.

Public API (imported lazily, so `import conformance` stays cheap):
    check_sse(data) / check_events(events) / check_response(body) -> CheckResult
    SSEStreamChecker (bytes in, sans-IO), StreamChecker (events in), CheckResult, Finding
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.checker import CheckResult, StreamChecker
    from conformance.findings import Finding
    from conformance.profiles import Profile
    from conformance.sse_checker import SSEStreamChecker

__all__ = [
    "CheckResult",
    "Finding",
    "SSEStreamChecker",
    "StreamChecker",
    "check_events",
    "check_response",
    "check_sse",
]


def check_sse(
    data: bytes | Iterable[bytes],
    *,
    profile: str | Profile = "openai",
    request: dict[str, Any] | None = None,
    content_type: str | None = None,
) -> CheckResult:
    """Check a raw SSE stream: the whole body as bytes, or an iterable of network chunks.

    `content_type`: the response's Content-Type header, when known (framing.content-type).
    """
    from conformance.sse_checker import SSEStreamChecker

    checker = SSEStreamChecker(profile, request, content_type=content_type)
    chunks = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    if isinstance(data, (bytes, bytearray, memoryview)):
        # Network-sized reads: the parser's output per call stays small (one big list of
        # every message would make the garbage collector's passes the main cost).
        whole = bytes(data)
        chunks = [whole[i : i + 65536] for i in range(0, len(whole), 65536)]
    for chunk in chunks:
        checker.feed(chunk)
    return checker.finish()


def check_events(
    events: Iterable[Any],
    *,
    profile: str | Profile = "openai",
    request: dict[str, Any] | None = None,
) -> CheckResult:
    """Check a sequence of decoded events (dicts from a WebSocket, a list, a converter, ...)."""
    from conformance.checker import StreamChecker

    checker = StreamChecker(profile, request)
    for ev in events:
        checker.feed(ev)
    return checker.finish()


def check_response(
    body: Any,
    *,
    profile: str | Profile = "openai",
    request: dict[str, Any] | None = None,
) -> CheckResult:
    """Check a non-stream Response body (POST without stream, or GET /responses/{id})."""
    from conformance.checker import StreamChecker

    return StreamChecker(profile, request).check_body(body)


def __getattr__(name: str) -> Any:
    if name in ("StreamChecker", "CheckResult"):
        from conformance import checker

        return getattr(checker, name)
    if name == "SSEStreamChecker":
        from conformance.sse_checker import SSEStreamChecker

        return SSEStreamChecker
    if name == "Finding":
        from conformance.findings import Finding

        return Finding
    raise AttributeError(f"module 'conformance' has no attribute {name!r}")
