"""request.*: what the response must echo and honour (request known)."""

from __future__ import annotations

from conformance import check_events, check_response
from conformance.testing import assert_only, build_stream, message, response_object, usage


def test_echo() -> None:
    req = {"model": "gpt-test", "input": "x", "temperature": 0.5, "metadata": {"k": "v"}}
    evs = build_stream(message("hi"), response={"temperature": 0.5, "metadata": {"k": "v"}})
    assert_only(check_events(evs, request=req))
    evs = build_stream(message("hi"), response={"metadata": {"k": "v"}})
    (f,) = assert_only(check_events(evs, request=req), "request.echo")
    assert "temperature" in f.message and f.severity == "warning"


def test_echo_model_snapshot_and_nulls() -> None:
    req = {"model": "gpt-test", "input": "x", "instructions": None, "tools": None}
    assert_only(check_events(build_stream(message("hi")), request=req))  # gpt-test-2026-01-01
    req = {"model": "other", "input": "x"}
    assert_only(check_events(build_stream(message("hi")), request=req), "request.echo")


def test_max_output_tokens_hit_but_completed() -> None:
    req = {"model": "gpt-test", "input": "x", "max_output_tokens": 20}
    body = response_object("completed", [], usage=usage(3, 20), max_output_tokens=20)
    (f,) = assert_only(check_response(body, request=req), "request.max-output-tokens")
    assert "incomplete" in f.message
    body = response_object("incomplete", [], usage=usage(3, 20), max_output_tokens=20, incomplete_details={"reason": "max_output_tokens"})
    assert_only(check_response(body, request=req))
