"""conformance.snapshot: the terminal snapshot of a recorded body, as replay and the client
probe read it (the first terminal event carrying a Response, like the checker)."""

from __future__ import annotations

import json

from conformance.snapshot import read_body, terminal_snapshot


def _sse(*events: object, last_terminated: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return body if last_terminated else body[:-1]


def test_first_terminal_with_a_response_wins() -> None:
    body = _sse({"type": "response.created", "response": {"id": "r", "status": "in_progress"}},
                {"type": "response.failed", "response": "not an object"},
                {"type": "response.completed", "response": {"id": "r", "status": "completed"}},
                {"type": "response.incomplete", "response": {"id": "r", "status": "incomplete"}})
    assert terminal_snapshot(body) == {"id": "r", "status": "completed"}
    assert read_body(body).unterminated is False


def test_no_terminal_and_junk_data() -> None:
    body = b"data: not json\n\n" + _sse({"type": "response.created", "response": {"id": "r"}})
    assert read_body(body) == (None, False)
    assert terminal_snapshot(b"") is None


def test_an_unterminated_last_message_is_noticed() -> None:
    facts = read_body(_sse({"type": "response.completed", "response": {"id": "r"}}, last_terminated=False))
    assert facts.terminal == {"id": "r"} and facts.unterminated is True
