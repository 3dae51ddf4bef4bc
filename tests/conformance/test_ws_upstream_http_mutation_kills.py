"""Behaviour the ws.*, http.* and upstream.* rules and the rule helpers must keep, written from
mutants that survived the rest of the suite: every ws.* finding message of a transcript, every
branch of the single-exchange http.* checks with its exact message, the upstream.* rule
metadata, and the renderings of `short` and `describe_divergence`."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import orjson
import pytest

from conformance import registry
from conformance.exchange import (
    VALID,
    VALID_JSON,
    Expectation,
    HttpExchange,
    Timeout,
    check_exchange,
    invalid,
)
from conformance.rules._util import describe_divergence, divergence, short
from conformance.testing import build_stream, message, to_sse
from conformance.transcript import TranscriptChecker

# ------------------------------------------------------------------ ws.*


def create() -> dict[str, Any]:
    return {"dir": "client", "data": {"type": "response.create", "model": "m", "input": "hi"}}


def steer() -> dict[str, Any]:
    return {"dir": "client", "data": {"type": "response.steer", "input": "more"}}


def server(event: dict[str, Any]) -> dict[str, Any]:
    return {"dir": "server", "data": event}


def response(rid: str, *, parent: str | None = None, end: bool = True) -> list[dict[str, Any]]:
    """A valid response's events on the socket, numbered from 0 (without its terminal event when
    `end` is false)."""
    extra: dict[str, Any] = {"id": rid}
    if parent is not None:
        extra["previous_response_id"] = parent
    events = build_stream(message("hi", item_id=f"msg_{rid}"), response=extra)
    return [server(e) for e in (events if end else events[:-1])]


def steer_notice(kind: str, sid: Any, target: Any, seq: Any) -> dict[str, Any]:
    """A notice shaped as openai-python's ResponseSteer*Event (what ws.event-schema asks)."""
    event: dict[str, Any] = {"type": kind, "sequence_number": seq, "steer": {"id": sid, "previous_response_id": target}}
    if kind == "response.steer.failed":
        event["steer"]["input"] = "Shorter."
        event["error"] = {"type": "invalid_request_error", "code": "response_not_active", "message": "ended"}
    elif kind == "response.steer.pending":
        event.update(reason="waiting_for_required_input", required_input=[])
    return server(event)


def ws_findings(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    checker = TranscriptChecker()
    for rec in records:  # as lines: decoded strings are equal to the rules' literals, not identical
        checker.feed_line(json.dumps(rec))
    return [(f.rule, f.message) for f in checker.finish().findings if f.rule.startswith("ws.")]


def test_a_close_record_is_readable_and_a_message_without_a_string_type_is_not() -> None:
    assert ws_findings([{"dir": "close", "by": "server"}]) == []
    assert ws_findings([{"dir": "client", "data": {"type": 5}}, {"dir": "close"}]) == [
        ("ws.record", "the message is not a JSON object with a string 'type'")]


def test_after_the_close_only_ws_after_close_speaks() -> None:
    first = response("resp_1")
    records = [create(), *first, {"dir": "close", "by": "server"},
               # each of these would be another ws.* finding before the close
               server({"type": "response.created", "sequence_number": 4, "response": {"id": "resp_2"}}),
               steer_notice("response.steer.accepted", "st_1", "resp_9", 7),
               steer_notice("response.steer.pending", "st_2", "resp_9", 8),
               create()]
    assert ws_findings(records) == [
        ("ws.after-close", "a server record after the socket closed"),
        ("ws.after-close", "a server record after the socket closed"),
        ("ws.after-close", "a server record after the socket closed"),
        ("ws.after-close", "a client record after the socket closed"),
    ]


def test_a_response_created_while_another_runs() -> None:
    records = [create(), create(), *response("resp_1", end=False), *response("resp_2")]
    assert ("ws.one-at-a-time", "response.created while response resp_1 is still running") in ws_findings(records)
    assert ws_findings([create(), *response("resp_1"), create(), *response("resp_2")]) == []


def test_a_response_nobody_asked_for() -> None:
    unasked = "response.created without a response.create (or accepted steering) waiting for it"
    assert ws_findings(response("resp_1")) == [("ws.create-answered", unasked)]
    # One create answered: the second response has nobody waiting for it, even with a parent.
    assert ws_findings([create(), *response("resp_1"), *response("resp_2", parent="resp_1")]) == [
        ("ws.create-answered", unasked)]
    # An `error` answers a waiting create.
    assert ws_findings([create(), server({"type": "error", "error": {"message": "no"}})]) == []


def test_creates_and_running_responses_left_at_the_end() -> None:
    assert ws_findings([create(), create(), create(), *response("resp_1")]) == [
        ("ws.create-answered", "2 response.create message(s) got neither a response nor an error")]
    assert ws_findings([create(), *response("resp_1", end=False)]) == [
        ("ws.create-answered", "response resp_1 never reached a terminal event")]
    # The client walked away: the running response and what it had just sent are not owed.
    assert ws_findings([create(), *response("resp_1", end=False), create(),
                        {"dir": "close", "by": "client"}]) == []
    # Closed by the server, the same is owed.
    assert ws_findings([create(), *response("resp_1", end=False), create(), {"dir": "close", "by": "server"}]) == [
        ("ws.create-answered", "response resp_1 never reached a terminal event"),
        ("ws.create-answered", "1 response.create message(s) got neither a response nor an error"),
    ]


def test_steering_accepted_only_for_the_running_response() -> None:
    running = response("resp_1")
    records = [create(), *running[:4], steer(), steer_notice("response.steer.accepted", "st_1", "resp_1", 4)]
    assert ws_findings(records) == [
        ("ws.steer-answered", "accepted steering st_1 for resp_1 was never committed, pending or failed"),
        ("ws.create-answered", "response resp_1 never reached a terminal event"),
    ][::-1]
    ended = [create(), *running, steer(), steer_notice("response.steer.accepted", "st_1", "resp_1", 9)]
    assert ("ws.steer-while-running", "steering accepted for 'resp_1', which is not the running response") in \
        ws_findings(ended)
    odd = [create(), *running[:4], steer(), server({"type": "response.steer.accepted", "steer": ["x"]})]
    assert ("ws.steer-while-running", "steering accepted for None, which is not the running response") in \
        ws_findings(odd)


def test_steering_answers_without_a_steer() -> None:
    one = response("resp_1")
    base = [create(), *one[:4]]
    assert ws_findings([*base, steer_notice("response.steer.failed", "st_1", "resp_1", 4), *renumbered(one[4:], 5)]) \
        == [("ws.steer-answered", "response.steer.failed without a response.steer waiting for an answer")]
    assert ws_findings([*base, steer(), steer_notice("response.steer.failed", "st_1", "resp_1", 4),
                        *renumbered(one[4:], 5)]) == []
    # pending for steering never accepted
    assert ws_findings([*base, steer(), steer_notice("response.steer.pending", "st_1", "resp_1", 4),
                        *renumbered(one[4:], 5)]) == [
        ("ws.steer-answered", "response.steer.pending for steering 'st_1', which was not accepted (or is already settled)"),
        ("ws.steer-answered", "1 response.steer message(s) got no answer"),
    ]
    # accepted twice
    twice = [*base, steer(), steer_notice("response.steer.accepted", "st_1", "resp_1", 4), steer(),
             steer_notice("response.steer.accepted", "st_1", "resp_1", 5),
             steer_notice("response.steer.pending", "st_1", "resp_1", 6), *renumbered(one[4:], 7)]
    assert ws_findings(twice) == [("ws.steer-answered", "steering 'st_1' accepted twice")]
    # accepted, then failed: the failure settles it and is no second answer
    settled = [*base, steer(), steer_notice("response.steer.accepted", "st_1", "resp_1", 4),
               steer_notice("response.steer.failed", "st_1", "resp_1", 5), *renumbered(one[4:], 6)]
    assert ws_findings(settled) == []
    # a notice whose steer is not an object
    odd = ws_findings([*base, server({"type": "response.steer.pending", "sequence_number": 4, "steer": "x"}),
                       *renumbered(one[4:], 4)])
    assert [f for f in odd if f[0] == "ws.steer-answered"] == [
        ("ws.steer-answered", "response.steer.pending for steering None, which was not accepted (or is already settled)")]


def test_websocket_only_messages_fit_their_contracts() -> None:
    one = response("resp_1")
    base = [create(), *one[:4], steer()]

    def judged(notice: dict[str, Any]) -> list[tuple[str, str]]:
        return [f for f in ws_findings([*base, notice, *renumbered(one[4:], 5)]) if f[0] == "ws.event-schema"]

    failed = steer_notice("response.steer.failed", None, "resp_1", 4)
    del failed["data"]["steer"]["id"]  # a failure before an id was given has none
    assert judged(failed) == []
    failed["data"]["steer"]["input"] = [{"role": "assistant", "content": 5}]  # returned as sent, however wrong
    assert judged(failed) == []
    del failed["data"]["error"]["message"]
    assert judged(failed) == [("ws.event-schema", 'response.steer.failed /error/message: missing required property "message"')]
    failed["data"]["error"] = {"type": "server_error", "code": "x", "message": "m"}
    assert judged(failed) == [
        ("ws.event-schema", 'response.steer.failed /error/type: expected "invalid_request_error", got "server_error"')]
    # a pending notice's stubs: a function's output is owed by call_id and name; an unknown stub is not judged
    accepted = steer_notice("response.steer.accepted", "st_1", "resp_1", 4)
    pending = steer_notice("response.steer.pending", "st_1", "resp_1", 5 + len(one) - 4)  # after the terminal event
    stub = {"type": "function_call_output", "call_id": "call_1", "name": "lookup"}
    pending["data"]["required_input"] = [stub, {"type": "hologram_output", "anything": 1}]

    def judged_pending(notice: dict[str, Any]) -> list[tuple[str, str]]:
        return ws_findings([*base, accepted, *renumbered(one[4:], 5), notice])

    assert judged_pending(pending) == []
    del stub["name"]
    assert judged_pending(pending) == [
        ("ws.event-schema", 'response.steer.pending /required_input/0/name: missing required property "name"')]
    # the socket's own error (status, no sequence_number): error.type and error.message are required
    socket_error = server({"type": "error", "status": 400, "error": {"type": "invalid_request_error", "code": None,
                                                                     "message": "bad", "param": None, "x-vendor": 1}})
    assert [f for f in ws_findings([create(), *one, socket_error]) if f[0] == "ws.event-schema"] == []
    del socket_error["data"]["error"]["message"]
    assert [f for f in ws_findings([create(), *one, socket_error]) if f[0] == "ws.event-schema"] == [
        ("ws.event-schema", 'error /error/message: missing required property "message"')]


def test_steering_left_unanswered_or_unsettled_at_the_end() -> None:
    one = response("resp_1")
    assert ws_findings([create(), *one, steer(), steer()]) == [
        ("ws.steer-answered", "2 response.steer message(s) got no answer")]
    # accepted steering for a response that ended and got no successor
    ended = [create(), *one[:4], steer(), steer_notice("response.steer.accepted", "st_1", "resp_1", 4),
             *renumbered(one[4:], 5)]
    assert ws_findings(ended) == [
        ("ws.steer-answered", "accepted steering st_1 for resp_1 was never committed, pending or failed")]
    # committed by the successor
    assert ws_findings([*ended, *response("resp_2", parent="resp_1")]) == []
    # the client left while the steered response ran: neither the steering nor the steer owed
    left = [create(), *one[:4], steer(), steer_notice("response.steer.accepted", "st_1", "resp_1", 4), steer(),
            {"dir": "close", "by": "client"}]
    assert ws_findings(left) == []
    # ... but steering for a response that already ended is still owed
    gone = [create(), *one[:4], steer(), steer_notice("response.steer.accepted", "st_1", "resp_1", 4),
            *renumbered(one[4:], 5), create(), *response("resp_2", end=False), {"dir": "close", "by": "client"}]
    assert ws_findings(gone)[-1] == (
        "ws.steer-answered", "accepted steering st_1 for resp_1 was never committed, pending or failed")


def renumbered(records: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    return [server({**r["data"], "sequence_number": start + i}) for i, r in enumerate(records)]


def test_sequence_numbers_per_response() -> None:
    one = response("resp_1")
    late = renumbered(one, 1)
    assert ws_findings([create(), *late]) == [("ws.sequence", "response resp_1 starts at sequence_number 1, not 0")]
    gap = [*one[:3], *renumbered(one[3:], 5)]
    assert ws_findings([create(), *gap]) == [("ws.sequence", "sequence_number 5 in response resp_1, expected 3")]
    # a steering notice is numbered in its response's sequence
    steered = [create(), *one[:4], steer(), steer_notice("response.steer.failed", "st_1", "resp_1", 4),
               *renumbered(one[4:], 5)]
    assert ws_findings(steered) == []
    wrong = [create(), *one[:4], steer(), steer_notice("response.steer.failed", "st_1", "resp_1", 9),
             *renumbered(one[4:], 10)]
    assert ws_findings(wrong) == [("ws.sequence", "sequence_number 9 in response resp_1, expected 4")]
    # numbers that are not ints are another rule's business
    odd = [create(), *one[:3], server({**one[3]["data"], "sequence_number": True}), *renumbered(one[4:], 3)]
    assert [f for f in ws_findings(odd) if f[0] == "ws.sequence"] == []
    # a second response starts again at 0
    assert ws_findings([create(), *one, create(), *response("resp_2")]) == []


# ------------------------------------------------------------------ http.*


def exchange(status: int | None, body: Any = b"", *, expect: Expectation | None = VALID, method: str = "POST",
             path: str = "responses", stream: bool = False, ctype: str | None = "application/json",
             **extra: Any) -> HttpExchange:
    raw = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else orjson.dumps(body))
    headers = (("Content-Type", ctype),) if ctype is not None else ()
    return HttpExchange("X", method, path, status, headers=headers, body=raw, stream=stream, expect=expect, **extra)


def found(ex: HttpExchange) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in check_exchange(ex)]


GOOD_ERROR = {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}


@pytest.mark.parametrize(("status", "want"), [
    (499, [("http.status", "X: answered 499 to a valid request (expected 200)")]),
    (500, [("http.server-error", "X: answered 500 to a valid request"),
           ("http.status", "X: answered 500 to a valid request (expected 200)")]),
    (201, [("http.status", "X: answered 201 to a valid request (expected 200)")]),
])
def test_status_and_server_error_boundaries(status: int, want: list[tuple[str, str]]) -> None:
    assert found(exchange(status, GOOD_ERROR)) == want


def test_a_dropped_or_unanswered_exchange_is_not_judged() -> None:
    assert found(exchange(500, "x", dropped=True)) == []
    assert found(exchange(None, "x")) == []
    assert found(exchange(None, "x", expect=None)) == []
    # an answer in `unless` means the feature is absent; one outside it is judged
    assert found(exchange(501, "x", expect=Expectation("valid", unless=(501,)))) == []
    assert [r for r, _ in found(exchange(502, "x", expect=Expectation("valid", unless=(501,))))] == [
        "http.server-error", "http.status", "http.error-shape"]


def test_server_error_messages_by_expectation() -> None:
    assert found(exchange(503, GOOD_ERROR, expect=None)) == [("http.server-error", "X: answered 503")]
    assert found(exchange(500, GOOD_ERROR, expect=invalid((400, 404)))) == [
        ("http.server-error", "X: answered 500 (expected 400 or 404)")]


@pytest.mark.parametrize(("status", "want"), [
    (199, [("http.bad-request", "X: answered 199 (expected 400)")]),
    (200, [("http.bad-request", "X: accepted with 200 (expected 400)")]),
    (299, [("http.bad-request", "X: accepted with 299 (expected 400)")]),
    (300, [("http.bad-request", "X: answered 300 (expected 400)")]),
    (400, []),
    (404, [("http.bad-request", "X: answered 404 (expected 400)")]),
    (499, [("http.bad-request", "X: answered 499 (expected 400)")]),
    (500, [("http.server-error", "X: answered 500 (expected 400)")]),
])
def test_an_invalid_request_answer(status: int, want: list[tuple[str, str]]) -> None:
    assert found(exchange(status, GOOD_ERROR, expect=invalid())) == want


def test_bad_request_is_only_judged_for_invalid_requests() -> None:
    assert found(exchange(200, GOOD_ERROR, expect=VALID)) == []
    assert found(exchange(201, GOOD_ERROR, expect=None)) == []


@pytest.mark.parametrize(("body", "problem"), [
    ([1], "the error body is not a JSON object"),
    ({"detail": "x"}, "no `error` object (FastAPI's `detail` shape)"),
    ({"error": "x"}, "no `error` object"),
    ({"error": {"type": "t"}}, "`error` lacks message, param, code"),
    ({"error": {"message": "m", "type": "t", "param": None}}, "`error` lacks code"),
    ({"error": {"message": "", "type": "t", "param": None, "code": None}}, "`error.message` is not a non-empty string"),
    ({"error": {"message": 3, "type": "t", "param": None, "code": None}}, "`error.message` is not a non-empty string"),
    ({"error": {"message": "m", "type": None, "param": None, "code": None}}, "`error.type` is not a string"),
    ({"error": {"message": "m", "type": "t", "param": 0, "code": None}}, "`error.param` is neither a string nor null"),
    ({"error": {"message": "m", "type": "t", "param": "p", "code": 0}}, "`error.code` is neither a string nor null"),
    ({"error": {"message": "m", "type": "", "param": "p", "code": "c"}}, None),
])
def test_error_body_shapes(body: Any, problem: str | None) -> None:
    got = [m for r, m in found(exchange(400, body, expect=invalid())) if r == "http.error-shape"]
    assert got == ([f"X: {problem}"] if problem else [])


def test_which_answers_are_error_bodies() -> None:
    bad = {"detail": "x"}
    # a valid (or unknown) request: from 400 up
    assert [r for r, _ in found(exchange(399, bad, expect=None))] == []
    assert [r for r, _ in found(exchange(400, bad, expect=None))] == ["http.error-shape"]
    # an invalid request: anything but a 2xx
    assert [r for r, _ in found(exchange(300, bad, expect=invalid()))] == ["http.bad-request", "http.error-shape"]
    assert [r for r, _ in found(exchange(199, bad, expect=invalid()))] == ["http.bad-request", "http.error-shape"]
    assert [r for r, _ in found(exchange(299, bad, expect=invalid()))] == ["http.bad-request"]
    assert found(exchange(None, bad, expect=invalid())) == []


def test_content_type_of_a_non_stream_200() -> None:
    assert found(exchange(200, {"id": "r"}, expect=VALID_JSON, ctype="Application/JSON ; charset=utf-8")) == []
    assert found(exchange(200, {"id": "r"}, expect=VALID_JSON, ctype=None)) == [
        ("http.content-type", "X: Content-Type is None, expected application/json")]
    assert found(exchange(200, {"id": "r"}, expect=VALID_JSON, ctype="text/json")) == [
        ("http.content-type", "X: Content-Type is 'text/json', expected application/json")]
    assert found(exchange(200, "nope", expect=VALID_JSON)) == [("http.content-type", "X: the body is not JSON")]
    # not judged: a stream, another status, a request whose body is not JSON by contract
    assert found(exchange(200, "nope", expect=VALID_JSON, stream=True, ctype="text/event-stream")) == []
    assert [r for r, _ in found(exchange(201, "nope", expect=None, ctype="text/plain"))] == []
    assert found(exchange(199, "nope", expect=None, ctype="text/plain")) == []
    assert found(exchange(200, "nope", expect=VALID, ctype="text/plain")) == []
    assert found(exchange(200, "nope", expect=replace(invalid(), json_body=True), ctype="text/plain")) == [
        ("http.bad-request", "X: accepted with 200 (expected 400)")]
    assert found(exchange(200, "nope", expect=None, ctype="text/plain")) == [
        ("http.content-type", "X: Content-Type is 'text/plain', expected application/json"),
        ("http.content-type", "X: the body is not JSON")]


def test_timeouts_name_how_far_the_answer_got() -> None:
    def timed(phase: str, **kw: Any) -> list[str]:
        return [m for r, m in found(exchange(kw.pop("status", 200), kw.pop("body", b""), timeout=Timeout(phase, 1.5),
                                             **kw)) if r == "http.timeout"]

    assert timed("first-byte", status=None) == ["X: no response within 1.5s (--timeout)"]
    assert timed("body") == ["X: no complete response within 1.5s (--timeout)"]
    assert timed("first-byte", status=None, stream=True) == ["X: no response headers within 1.5s (--timeout)"]
    events = build_stream(message("hi"))
    assert timed("body", stream=True, body=b"") == ["X: response headers received but no event within 1.5s (--timeout)"]
    assert timed("body", stream=True, body=to_sse(events[:2])) == [
        "X: 2 events received but no terminal event within 1.5s (--timeout)"]
    assert timed("body", stream=True, body=to_sse(events)) == [
        "X: the terminal event arrived but the connection was not closed within 1.5s (--timeout)"]
    assert found(exchange(200, b"", stream=True)) == []


@pytest.mark.parametrize(("path", "body", "judged"), [
    ("responses/resp_1", {"id": "resp_1", "object": "response.deleted", "deleted": True}, False),
    ("responses/resp_1", {"id": "resp_1", "object": "response", "deleted": True}, False),
    ("responses/resp_1", {"id": "resp_1", "object": "response.deleted", "deleted": 1}, True),
    ("responses/resp_1", {"id": "resp_2", "object": "response.deleted", "deleted": True}, True),
    ("responses/resp_1", {"id": "resp_1", "object": "thing", "deleted": True}, True),
    ("responses/resp_1", [1], True),
    ("responses/resp_1", "nope", True),
    ("responses/resp_1/input_items", {}, False),
    ("responses/", {}, False),
    ("conversations/resp_1", {}, False),
])
def test_the_deleted_object(path: str, body: Any, judged: bool) -> None:
    got = [m for r, m in found(exchange(200, body, method="DELETE", path=path)) if r == "http.object-shape"]
    assert len(got) == judged
    if judged and body == "nope":
        assert got == ["DELETE answered <not JSON>, expected "
                       "{\"id\": 'resp_1', \"object\": \"response.deleted\", \"deleted\": true}"]


def test_a_delete_is_only_judged_when_answered_200() -> None:
    for ex in (exchange(200, {}, path="responses/resp_1"),
               exchange(204, {}, method="DELETE", path="responses/resp_1", expect=None),
               exchange(199, {}, method="DELETE", path="responses/resp_1", expect=None),
               exchange(200, {}, method="DELETE", path="responses/resp_1", dropped=True)):
        assert [r for r, _ in found(ex) if r == "http.object-shape"] == []


def test_excerpts_of_http_findings() -> None:
    (f,) = check_exchange(exchange(503, "x" * 300, expect=None, ctype="text/plain"))[:1]
    assert f.rule == "http.server-error" and f.excerpt == "<not JSON>"
    (g,) = [x for x in check_exchange(exchange(503, {"k": "v" * 300}, expect=None)) if x.rule == "http.server-error"]
    assert g.excerpt is not None and len(g.excerpt) <= 201 and g.excerpt.startswith('{"k":"vvv')


# ------------------------------------------------------------------ upstream.* and helpers


def test_upstream_rules_are_runner_reported_errors_but_one_warning() -> None:
    ups = {r.id: r for r in registry.all_rules() if r.family == "upstream"}
    assert len(ups) == 18
    assert {i for i, r in ups.items() if r.severity == "warning"} == {"upstream.request-sampling"}
    assert all("--upstream" in (r.external or "") and not r.checks for r in ups.values())


def test_short_renderings() -> None:
    assert short("abc") == "'abc'"
    assert short("a" * 60) == repr("a" * 60)
    assert short("a" * 61) == repr("a" * 60) + "…"
    assert short([1, 2]) == "[1,2]"
    assert short(list(range(40)), 10) == "[0,1,2,3,4…"
    assert short(list(range(3)), 7) == "[0,1,2]"
    assert short({"k": object}) .startswith('{"k":"<class')
    assert short(2**70) == repr(2**70)


def test_divergence_offsets_and_excerpts() -> None:
    a = "x" * 2048 + "abc" + "y" * 40
    b = "x" * 2048 + "abd" + "y" * 40
    off, ea, eb = divergence(a, b)
    assert off == 2050
    assert ea == "x" * 8 + "abc" + "y" * 19 and eb == "x" * 8 + "abd" + "y" * 19
    assert divergence("same", "same") == (4, "same", "same")
    assert divergence("abc", "xbc") == (0, "abc", "xbc")
    assert divergence("€→x", "€→y")[0] == 2  # characters beyond Latin-1 are compared by value
    # a difference inside the first block of long texts
    early_a, early_b = "x" * 100 + "a" + "x" * 3000, "x" * 100 + "b" + "x" * 3000
    assert divergence(early_a, early_b) == (100, "x" * 10 + "a" + "x" * 19, "x" * 10 + "b" + "x" * 19)
    assert divergence("ab", "abc") == (2, "ab", "abc")
    assert divergence("x" * 1024, "x" * 1025)[0] == 1024
    assert divergence("hello", "help", around=1) == (3, "hell", "help")
    assert describe_divergence("stream", "abc", "done", "abd") == (
        "stream and done differ at offset 2 (lengths 3 vs 3): stream …'abc'… vs done …'abd'…")
    assert describe_divergence("a", 1, "b", "1") == "a 1 differs from b '1'"


def test_client_messages_named_like_server_events_are_not_judged_as_server_events() -> None:
    one = response("resp_1")
    echoed = [{"dir": "client", "data": r["data"]} for r in
              (steer_notice("response.steer.accepted", "st_1", "resp_9", 4),
               steer_notice("response.steer.failed", "st_2", "resp_1", 4),
               steer_notice("response.steer.pending", "st_3", "resp_1", 4),
               server({"type": "response.created", "sequence_number": 3, "response": {"id": "resp_2"}}))]
    assert ws_findings([create(), *one[:4], *echoed, *renumbered(one[4:], 4)]) == []


def test_a_delete_read_from_a_recording_is_judged() -> None:
    # A method decoded from a recording is a string equal to "DELETE", not the literal itself.
    method = "".join(["DEL", "ETE"])
    ex = exchange(200, {"id": "resp_2"}, method=method, path="responses/resp_1")
    assert [r for r, _ in found(ex)] == ["http.object-shape"]


def test_steers_left_unanswered_when_the_client_leaves() -> None:
    # Two steers answered by nothing before the server spoke again; the third was still in flight.
    one = response("resp_1")
    records = [create(), *one[:4], steer(), steer(), *renumbered(one[4:5], 4), steer(), {"dir": "close", "by": "client"}]
    assert ws_findings(records) == [("ws.steer-answered", "2 response.steer message(s) got no answer")]


def test_a_response_numbered_from_below_zero() -> None:
    assert ws_findings([create(), *renumbered(response("resp_1"), -1)]) == [
        ("ws.sequence", "response resp_1 starts at sequence_number -1, not 0")]
