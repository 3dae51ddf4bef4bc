"""request.*, usage.* and sequence.*: the edges of each rule's judgement (bounds, each condition
of a compound test, every finding of a stream rather than the first)."""

from __future__ import annotations

from conformance import check_events, check_response, check_sse
from conformance.testing import (
    assert_only,
    build_stream,
    message,
    renumber,
    response_object,
    to_sse,
    usage,
)

REQ = {"model": "gpt-test", "input": "x"}


def _body(**overrides):
    return response_object("completed", [], **{"usage": usage(3, 5), **overrides})


# ---- request.echo ----------------------------------------------------------------------------


def test_echo_model_prefix_needs_the_dash() -> None:
    # gpt-test-2026-01-01 resolves gpt-test; gpt-testing does not.
    assert_only(check_response(_body(model="gpt-test-2026-01-01"), request=REQ))
    assert_only(check_response(_body(model="gpt-test"), request=REQ))
    (f,) = assert_only(check_response(_body(model="gpt-testing"), request=REQ), "request.echo")
    assert "'gpt-test'" in f.message and "gpt-testing" in f.message
    (f,) = assert_only(check_response(_body(model=None), request=REQ), "request.echo", "schema.response")
    assert f.message == "request model 'gpt-test' but the response says null"


def test_echo_reasoning_context_auto_is_answered_by_the_mode_in_effect() -> None:
    # A response carries the effective mode; any other member of reasoning is still compared.
    req = {**REQ, "reasoning": {"effort": "low", "context": "auto"}}
    for mode in ("current_turn", "all_turns", "auto"):
        assert_only(check_response(_body(reasoning={"effort": "low", "context": mode}), request=req))
    (f,) = assert_only(check_response(_body(reasoning={"effort": "high", "context": "all_turns"}), request=req),
                       "request.echo")
    assert "request.reasoning/effort is 'low'" in f.message
    explicit = {**REQ, "reasoning": {"effort": "low", "context": "current_turn"}}
    (f,) = assert_only(check_response(_body(reasoning={"effort": "low", "context": "all_turns"}), request=explicit),
                       "request.echo")
    assert "request.reasoning/context is 'current_turn'" in f.message


def test_echo_an_empty_or_absent_model_is_not_judged() -> None:
    assert_only(check_response(_body(model="gpt-test"), request={"model": "", "input": "x"}))
    assert_only(check_response(_body(model="gpt-test"), request={"input": "x"}))


def test_echo_reports_every_field_absent_from_the_response() -> None:
    body = _body(temperature=0.5)
    del body["metadata"], body["top_p"]
    req = {**REQ, "metadata": {"k": "v"}, "top_p": 0.5, "temperature": 0.5}
    fs = [f for f in check_response(body, request=req).findings if f.rule == "request.echo"]
    msgs = sorted(f.message for f in fs)
    assert len(msgs) == 2, msgs
    assert "has no metadata" in msgs[0] and "has no top_p" in msgs[1]


def test_echo_reports_every_differing_field() -> None:
    req = {**REQ, "temperature": 0.5, "top_p": 0.5}
    fs = [f for f in check_response(_body(temperature=0.7, top_p=0.7), request=req).findings if f.rule == "request.echo"]
    assert len(fs) == 2
    assert any("request.temperature is 0.5" in f.message for f in fs)
    assert any("request.top_p is 0.5" in f.message for f in fs)


def test_echo_a_null_member_does_not_stop_the_comparison_of_the_rest() -> None:
    req = {**REQ, "text": {"format": None, "verbosity": "low"}}
    body = _body(text={"format": {"type": "text"}, "verbosity": "high"})
    (f,) = assert_only(check_response(body, request=req), "request.echo")
    assert "request.text/verbosity is 'low'" in f.message
    body = _body(text={"format": {"type": "text"}, "verbosity": "low"})
    assert_only(check_response(body, request=req))


def test_echo_a_member_absent_from_the_response() -> None:
    req = {**REQ, "reasoning": {"effort": "low"}}
    body = _body(reasoning={"summary": None})
    (f,) = assert_only(check_response(body, request=req), "request.echo")
    assert "request.reasoning/effort" in f.message and "<absent>" in f.message


def test_echo_lists_of_another_length_either_way() -> None:
    tool = {"type": "function", "name": "f", "parameters": {"type": "object"}}
    other = {"type": "function", "name": "g", "parameters": {"type": "object"}}
    req = {**REQ, "tools": [tool]}
    (f,) = assert_only(check_response(_body(tools=[tool, other]), request=req), "request.echo")
    assert "(length)" in f.message and "1" in f.message and "2" in f.message
    req = {**REQ, "tools": [tool, other]}
    (f,) = assert_only(check_response(_body(tools=[tool]), request=req), "request.echo")
    assert "(length)" in f.message
    assert_only(check_response(_body(tools=[tool, other]), request=req))


def test_echo_list_members_compared_in_order_past_the_first() -> None:
    tool = {"type": "function", "name": "f", "parameters": {"type": "object"}}
    other = {"type": "function", "name": "g", "parameters": {"type": "object"}}
    req = {**REQ, "tools": [tool, other]}
    (f,) = assert_only(check_response(_body(tools=[tool, {**other, "name": "h"}]), request=req), "request.echo")
    assert "request.tools/1/name is 'g'" in f.message
    # members may gain keys the server fills in
    assert_only(check_response(_body(tools=[tool, {**other, "strict": True}]), request=req))


# ---- request.max-output-tokens ----------------------------------------------------------------


def _mot_body(status, out, reason=None, **kw):
    details = {"reason": reason} if reason else None
    return response_object(status, [], usage=usage(3, out), max_output_tokens=20, incomplete_details=details, **kw)


def test_max_output_tokens_below_the_limit_is_not_judged() -> None:
    req = {**REQ, "max_output_tokens": 20}
    assert_only(check_response(_mot_body("completed", 19), request=req))


def test_max_output_tokens_past_the_limit_needs_both_status_and_reason() -> None:
    req = {**REQ, "max_output_tokens": 20}
    (f,) = assert_only(check_response(_mot_body("incomplete", 20, "content_filter"), request=req), "request.max-output-tokens")
    assert '"content_filter"' in f.message
    (f,) = assert_only(
        check_response(_mot_body("completed", 20, "max_output_tokens"), request=req),
        "request.max-output-tokens", "lifecycle.incomplete-details",
    )
    assert "'completed'" in f.message


def test_max_output_tokens_not_an_integer_in_the_request() -> None:
    req = {**REQ, "max_output_tokens": "20"}
    body = response_object("completed", [], usage=usage(3, 25), max_output_tokens="20")
    assert "request.max-output-tokens" not in {f.rule for f in check_response(body, request=req).findings}


def test_max_output_tokens_without_usage_is_not_judged() -> None:
    req = {**REQ, "max_output_tokens": 20}
    body = response_object("completed", [], usage={"input_tokens": 3, "output_tokens": "25", "total_tokens": 28},
                           max_output_tokens=20)
    assert "request.max-output-tokens" not in {f.rule for f in check_response(body, request=req).findings}


# ---- usage.* -------------------------------------------------------------------------------


def test_usage_zero_counts_are_valid() -> None:
    assert_only(check_response(response_object("completed", [], usage=usage(0, 0))))


def test_usage_missing_on_an_incomplete_response_only_when_finished() -> None:
    body = response_object("incomplete", [], usage=None, incomplete_details={"reason": "max_output_tokens"})
    (f,) = assert_only(check_response(body), "usage.missing")
    assert "incomplete response" in f.message
    body = response_object("failed", [], usage=None, error={"code": "server_error", "message": "x"})
    assert "usage.missing" not in {f.rule for f in check_response(body).findings}


def test_usage_not_an_object() -> None:
    (f,) = assert_only(check_response(response_object("completed", [], usage=[1, 2])), "usage.invalid")
    assert "not an object" in f.message
    body = response_object("completed", [], usage=None)
    assert "usage.invalid" not in {f.rule for f in check_response(body).findings}


def test_usage_invalid_lists_each_bad_count_and_detail() -> None:
    u = usage(3, 5)
    u["input_tokens"] = -1
    del u["output_tokens"]
    u["output_tokens_details"]["reasoning_tokens"] = 1.5
    u["input_tokens_details"]["cached_tokens"] = -2
    fs = [f for f in check_response(response_object("completed", [], usage=u)).findings if f.rule == "usage.invalid"]
    (f,) = fs
    assert "input_tokens=-1" in f.message and "output_tokens=absent" in f.message
    assert "output_tokens_details.reasoning_tokens=1.5" in f.message
    assert "input_tokens_details.cached_tokens=-2" in f.message


def test_usage_invalid_detail_alone() -> None:
    u = usage(3, 5)
    u["output_tokens_details"]["reasoning_tokens"] = -1
    (f,) = assert_only(check_response(response_object("completed", [], usage=u)), "usage.invalid")
    assert "reasoning_tokens=-1" in f.message and "input_tokens=" not in f.message


def test_usage_total_not_judged_on_invalid_counts() -> None:
    u = usage(3, 5)
    u["input_tokens"] = -1
    assert_only(check_response(response_object("completed", [], usage=u)), "usage.invalid")


def test_usage_total_message() -> None:
    u = usage(3, 5)
    u["total_tokens"] = 9
    (f,) = assert_only(check_response(response_object("completed", [], usage=u)), "usage.total")
    assert f.message == "total_tokens 9 != input_tokens 3 + output_tokens 5"


def test_usage_details_missing_each_group() -> None:
    u = usage(3, 5)
    u["input_tokens_details"] = {}
    u["output_tokens_details"] = None
    (f,) = assert_only(check_response(response_object("completed", [], usage=u)), "usage.details-missing")
    assert f.message == "usage lacks input_tokens_details.cached_tokens, output_tokens_details.reasoning_tokens"


def test_usage_details_equal_to_their_totals() -> None:
    assert_only(check_response(response_object("completed", [], usage=usage(3, 5, reasoning_tokens=5, cached=3))))


def test_usage_details_exceed_both() -> None:
    body = response_object("completed", [], usage=usage(3, 5, reasoning_tokens=6, cached=4))
    fs = assert_only(check_response(body), "usage.details-exceed")
    assert sorted(f.message for f in fs) == [
        "input_tokens_details.cached_tokens 4 exceeds input_tokens 3",
        "output_tokens_details.reasoning_tokens 6 exceeds output_tokens 5",
    ]


def test_usage_early_on_queued() -> None:
    evs = build_stream(message("hi"), queued=True)
    evs[1]["response"]["usage"] = usage(1, 0)
    (f,) = assert_only(check_events(evs), "usage.early")
    assert f.event_index == 1 and "response.queued" in f.message


def test_usage_max_output_tokens_at_the_limit() -> None:
    req = {**REQ, "max_output_tokens": 20}
    evs = build_stream(message("hi", status="incomplete"), terminal="incomplete", usage_obj=usage(3, 20),
                       response={"max_output_tokens": 20})
    assert_only(check_events(evs, request=req))
    evs = build_stream(message("hi", status="incomplete"), terminal="incomplete", usage_obj=usage(3, 21),
                       response={"max_output_tokens": 20})
    (f,) = assert_only(check_events(evs, request=req), "usage.max-output-tokens")
    assert f.message == "output_tokens 21 exceeds the request's max_output_tokens 20"


# ---- sequence.* ------------------------------------------------------------------------------


def _evs():
    return build_stream(message("one two three four"))


def test_sequence_gap_of_one_missing_number() -> None:
    evs = _evs()
    renumber(evs[4:], start=5)
    (f,) = assert_only(check_events(evs), "sequence.gap")
    assert f.event_index == 4 and f.message == "sequence_number jumps from 3 to 5; expected 4"


def test_sequence_gap_over_an_undecodable_message() -> None:
    evs = _evs()
    raw = to_sse(evs[:4]) + b"event: response.output_text.delta\ndata: {not json\n\n" + to_sse(renumber(evs[4:], start=5))
    assert_only(check_sse(raw), "framing.invalid-json")
    # one lost message covers one number, not two
    raw = to_sse(evs[:4]) + b"event: response.output_text.delta\ndata: {not json\n\n" + to_sse(renumber(evs[4:], start=6))
    r = check_sse(raw)
    assert_only(r, "framing.invalid-json", "sequence.gap")


def test_sequence_not_increasing_message() -> None:
    evs = _evs()
    evs[6]["sequence_number"] = 2
    renumber(evs[7:], start=3)
    fs = assert_only(check_events(evs), "sequence.not-increasing")
    assert fs[0].event_index == 6 and fs[0].message == "sequence_number 2 after 5; expected 6"


def test_sequence_missing_message_and_count() -> None:
    evs = _evs()
    del evs[5]["sequence_number"]
    del evs[6]["sequence_number"]
    fs = assert_only(check_events(evs), "sequence.missing")
    assert [f.event_index for f in fs] == [5, 6]
    assert fs[0].message == "sequence_number is missing (previous: 4)"
    evs = _evs()
    evs[5]["sequence_number"] = None
    (f,) = assert_only(check_events(evs), "sequence.missing")
    assert f.message == "sequence_number is null, not an integer (previous: 4)"


def test_sequence_missing_before_the_first_numbered_events_counted() -> None:
    evs = _evs()
    del evs[0]["sequence_number"]
    del evs[1]["sequence_number"]
    fs = assert_only(check_events(evs), "sequence.missing")
    assert len(fs) == 1 and fs[0].event_index == 0
    assert fs[0].message.startswith("2 event(s) before this one")


def test_sequence_missing_everywhere_counts_the_events() -> None:
    evs = _evs()
    for ev in evs:
        del ev["sequence_number"]
    (f,) = assert_only(check_events(evs), "sequence.missing")
    assert f"({len(evs)} events)" in f.message
    (f,) = assert_only(check_events(evs, profile="openai[tolerate=sequence-number-absent]"), "sequence.missing")
    assert f"({len(evs)} events)" in f.message


def test_sequence_start_only_the_first_event() -> None:
    evs = _evs()
    renumber(evs, start=0)
    assert_only(check_events(evs))
    evs = renumber(_evs(), start=2)
    (f,) = assert_only(check_events(evs), "sequence.start")
    assert f.message == "the first event's sequence_number is 2; expected 0"


def test_echo_an_object_or_list_echoed_as_another_type() -> None:
    req = {**REQ, "text": {"format": {"type": "text"}}}
    (f,) = assert_only(check_response(_body(text="plain"), request=req), "request.echo", "schema.response")
    assert f.message == "request.text is {\"format\":{\"type\":\"text\"}} but the response echoes 'plain'"
    req = {**REQ, "tools": [{"type": "function", "name": "f"}]}
    (f,) = assert_only(check_response(_body(tools={"a": 1}), request=req), "request.echo", "schema.response")
    assert f.message.endswith("but the response echoes {\"a\":1}")


def test_echo_a_null_field_does_not_stop_the_later_ones() -> None:
    req = {**REQ, "instructions": None, "tools": None, "temperature": 0.5}
    (f,) = assert_only(check_response(_body(temperature=0.7), request=req), "request.echo")
    assert "request.temperature is 0.5" in f.message


def test_max_output_tokens_a_string_limit_judges_nothing() -> None:
    req = {**REQ, "max_output_tokens": "20"}
    body = response_object("completed", [], usage=usage(3, 25), max_output_tokens="20")
    assert_only(check_response(body, request=req), "schema.response")


def test_usage_total_below_the_sum() -> None:
    u = usage(3, 5)
    u["total_tokens"] = 7
    (f,) = assert_only(check_response(response_object("completed", [], usage=u)), "usage.total")
    assert f.message == "total_tokens 7 != input_tokens 3 + output_tokens 5"


def test_sequence_nothing_to_say_about_an_empty_stream() -> None:
    assert_only(check_events([]), "lifecycle.no-terminal")


def test_sequence_start_below_zero() -> None:
    (f,) = assert_only(check_events(renumber(_evs(), start=-1)), "sequence.start")
    assert f.event_index == 0 and "is -1" in f.message


def test_echo_long_equal_lists_are_equal() -> None:
    # lengths past CPython's small-int cache: compared by value, not identity
    tools = [{"type": "function", "name": f"f{i}", "parameters": {"type": "object"}} for i in range(300)]
    req = {**REQ, "tools": tools}
    assert_only(check_response(_body(tools=[dict(t) for t in tools]), request=req))
