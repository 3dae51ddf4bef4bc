"""The terminal snapshot of a whole recorded SSE body, read without judging the stream.

Replay answers a non-stream request for a recorded stream with it; the openai-python probe
compares the client's final response with it. Like the checker, the first terminal event that
carries a Response wins (a second terminal event is a defect the checker reports).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from conformance.protocol import TERMINAL_TYPES
from conformance.sse import SSEParser

__all__ = ["BodyFacts", "read_body", "terminal_snapshot"]


class BodyFacts(NamedTuple):
    terminal: dict[str, Any] | None  # the Response of the first terminal event, if any
    unterminated: bool  # the body's last message lacks its closing blank line


def read_body(body: bytes) -> BodyFacts:
    parser = SSEParser()
    terminal = None
    unterminated = False
    for message in [*parser.feed(body), *parser.close()]:
        unterminated = not message.terminated
        if terminal is not None:
            continue
        try:
            event = json.loads(message.data)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("type") in TERMINAL_TYPES and isinstance(event.get("response"), dict):
            terminal = event["response"]
    return BodyFacts(terminal, unterminated)


def terminal_snapshot(body: bytes) -> dict[str, Any] | None:
    """The Response carried by the first terminal event of an SSE body, or None."""
    return read_body(body).terminal
