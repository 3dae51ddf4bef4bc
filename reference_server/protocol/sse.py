"""Server-sent-events framing for Responses streams: one event dict in, wire bytes out.

Framing follows the official API: `event: <type>` + one compact `data:` line, a blank line, no
`id:` field, and no `[DONE]` sentinel unless asked for (Open Responses requires one).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

import orjson

MEDIA_TYPE = "text/event-stream"
DONE = b"data: [DONE]\n\n"
# A comment line: clients ignore it; it keeps idle proxies from closing the connection.
KEEPALIVE = b": keepalive\n\n"
# Headers that stop intermediaries from buffering or caching the stream.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def dumps(obj: Any) -> bytes:
    """Compact JSON (no spaces, UTF-8, never a literal newline: JSON escapes them in strings)."""
    return orjson.dumps(obj)


def encode_event(event: Mapping[str, Any]) -> bytes:
    """`event: <type>\\ndata: <compact json>\\n\\n` for one event dict carrying a string `type`."""
    type_ = event.get("type") if isinstance(event, Mapping) else None
    if not isinstance(type_, str) or not type_:
        raise ValueError(f"encode_event: the event needs a non-empty string 'type', got {type_!r}")
    if "\n" in type_ or "\r" in type_:
        raise ValueError(f"encode_event: event type {type_!r} contains a line break")
    # orjson serialises dicts only: another Mapping is copied into one.
    return b"event: " + type_.encode() + b"\ndata: " + orjson.dumps(event if type(event) is dict else dict(event)) + b"\n\n"


def encode_done() -> bytes:
    return DONE


def encode_stream(events: Iterable[Mapping[str, Any]], *, done_sentinel: bool = False) -> bytes:
    """A whole stream at once (tests and replay)."""
    body = b"".join(encode_event(e) for e in events)
    return body + DONE if done_sentinel else body


async def aencode(
    events: AsyncIterable[Mapping[str, Any]], *, done_sentinel: bool = False
) -> AsyncIterator[bytes]:
    """Frame an async event source for a streaming HTTP response."""
    async for event in events:
        yield encode_event(event)
    if done_sentinel:
        yield DONE
