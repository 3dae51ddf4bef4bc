"""usage.*: token counts of the terminal snapshot and of non-stream bodies."""

from __future__ import annotations

from conformance import check_events, check_response
from conformance.testing import assert_only, build_stream, message, response_object, usage


def _with_usage(u):
    return build_stream(message("hi"), usage_obj=u)


def test_missing() -> None:
    evs = build_stream(message("hi"))
    evs[-1]["response"]["usage"] = None
    (f,) = assert_only(check_events(evs), "usage.missing")
    assert f.breaks == ("codex",)


def test_total() -> None:
    u = usage(10, 5)
    u["total_tokens"] = 16
    (f,) = assert_only(check_events(_with_usage(u)), "usage.total")
    assert "16" in f.message


def test_invalid() -> None:
    for k, v in (("output_tokens", -1), ("input_tokens", "3"), ("total_tokens", 1.5)):
        u = usage(10, 5)
        u[k] = v
        assert_only(check_events(_with_usage(u)), "usage.invalid")
    u = usage(10, 5)
    del u["input_tokens"]
    assert_only(check_events(_with_usage(u)), "usage.invalid")


def test_details_missing() -> None:
    u = usage(10, 5)
    del u["output_tokens_details"]
    (f,) = assert_only(check_events(_with_usage(u)), "usage.details-missing")
    assert f.severity == "warning" and "reasoning_tokens" in f.message


def test_details_exceed() -> None:
    assert_only(check_events(_with_usage(usage(10, 5, reasoning_tokens=6))), "usage.details-exceed")
    assert_only(check_events(_with_usage(usage(10, 5, cached=11))), "usage.details-exceed")


def test_early() -> None:
    evs = build_stream(message("hi"))
    evs[0]["response"]["usage"] = usage(1, 0)
    (f,) = assert_only(check_events(evs), "usage.early")
    assert f.severity == "info" and f.event_index == 0


def test_max_output_tokens() -> None:
    req = {"model": "gpt-test", "input": "x", "max_output_tokens": 16}
    evs = build_stream(
        message("hi", status="incomplete"), terminal="incomplete", usage_obj=usage(3, 20), response={"max_output_tokens": 16}
    )
    (f,) = assert_only(check_events(evs, request=req), "usage.max-output-tokens")
    assert "20" in f.message and "16" in f.message


def test_non_stream_body() -> None:
    body = response_object("completed", [], usage=usage())
    assert_only(check_response(body))
    body["usage"] = None
    assert_only(check_response(body), "usage.missing")
    r = check_response(["not", "a", "response"])
    assert_only(r, "schema.response")
    assert not r.ok
