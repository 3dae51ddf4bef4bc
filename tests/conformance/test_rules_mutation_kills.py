"""Rule behaviour the per-family tests left unpinned, found by `nox -s mutation` on the rule
modules (docs/mutation.md): each test fails under at least one mutant that survived them."""

from __future__ import annotations

import copy
from typing import Any

from conformance import check_events, check_response, check_sse
from conformance.testing import (
    build_stream,
    custom_tool_call,
    function_call,
    index_of,
    message,
    renumber,
    response_object,
    to_sse,
    usage,
    web_search_call,
)


def findings(result: Any, rule: str) -> list[Any]:
    return [f for f in result.findings if f.rule == rule]


# ---- lifecycle ----------------------------------------------------------------------------------
def test_done_before_the_terminal_event_names_the_sentinels_event_index() -> None:
    evs = build_stream(message("Hello"))
    raw = to_sse(evs[:-1]) + b"data: [DONE]\n\n" + to_sse(evs[-1:])
    (f,) = findings(check_sse(raw), "lifecycle.no-terminal")
    assert f.message.startswith(f"data: [DONE] (event {len(evs) - 1}) came before response.completed")


# ---- call ---------------------------------------------------------------------------------------
def _final(spec: Any, **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(spec.final), **changes}


def test_only_function_calls_arguments_are_parsed_as_json() -> None:
    # A custom tool call's payload is `input`; a stray `arguments` string on one is not judged.
    custom = _final(custom_tool_call(), arguments="not json")
    body = response_object("completed", [custom], usage=usage())
    assert not findings(check_response(body), "call.arguments-not-json")


def test_a_cut_short_call_does_not_hide_the_next_calls_bad_arguments() -> None:
    cut = _final(function_call(arguments='{"city": "Pa'), status="incomplete")
    bad = _final(function_call(arguments="{city}", call_id="call_2", item_id="fc_2"))
    body = response_object("incomplete", [cut, bad], usage=usage(),
                           incomplete_details={"reason": "max_output_tokens"})
    result = check_response(body)
    (f,) = findings(result, "call.truncated-arguments")
    assert f.output_index == 0
    (g,) = findings(result, "call.arguments-not-json")
    assert g.output_index == 1


WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
SQL = {"type": "custom", "name": "run_sql"}


def test_an_unknown_tool_message_lists_the_request_tools_of_the_calls_kind() -> None:
    req = {"model": "gpt-test", "input": "hi", "tools": [WEATHER, SQL]}
    body = response_object("completed", [_final(custom_tool_call(name="drop_table"))], usage=usage())
    (f,) = findings(check_response(body, request=req), "call.unknown-tool")
    assert f.message.endswith("which is not a custom tool of the request (tools: ['run_sql'])")
    body = response_object("completed", [_final(function_call("get_time"))], usage=usage())
    (f,) = findings(check_response(body, request=req), "call.unknown-tool")
    assert f.message.endswith("which is not a function tool of the request (tools: ['get_weather'])")


def test_tool_choice_is_not_judged_on_a_response_that_stopped_early() -> None:
    req = {"model": "gpt-test", "input": "hi", "tools": [WEATHER], "tool_choice": "required"}
    cut = response_object("incomplete", [_final(message("Let me"))], usage=usage(),
                          incomplete_details={"reason": "max_output_tokens"})
    assert not findings(check_response(cut, request=req), "call.tool-choice")
    failed = response_object("failed", [], error={"code": "server_error", "message": "x"})
    assert not findings(check_response(failed, request=req), "call.tool-choice")
    done = response_object("completed", [_final(message("No call"))], usage=usage())
    assert findings(check_response(done, request=req), "call.tool-choice")
    # A stream without a terminal event has no final output to judge either.
    unfinished = build_stream(message("No call"), terminal=None)
    assert not findings(check_events(unfinished, request=req), "call.tool-choice")


def test_a_forced_tool_is_judged_by_whether_and_what_the_response_calls() -> None:
    req = {"model": "gpt-test", "input": "hi", "tools": [WEATHER],
           "tool_choice": {"type": "function", "name": "get_weather"}}
    right = response_object("completed", [_final(function_call())], usage=usage())
    assert not findings(check_response(right, request=req), "call.tool-choice")
    none = response_object("completed", [_final(message("No call"))], usage=usage())
    (f,) = findings(check_response(none, request=req), "call.tool-choice")
    assert f.message == "tool_choice forces 'get_weather' but the response makes no call"
    wrong = response_object("completed", [_final(function_call("get_time"))], usage=usage())
    (f,) = findings(check_response(wrong, request=req), "call.tool-choice")
    assert f.message == "tool_choice forces 'get_weather' but the response calls ['get_time']"


# ---- lifecycle.incomplete-details, lifecycle.failed-error: a body has no event type to go by ------
def test_an_incomplete_body_needs_a_reason_whatever_string_object_carries_its_status() -> None:
    # The status as a decoder builds it: an equal string, not the interned literal.
    status = "".join(["in", "complete"])
    body = response_object(status, [_final(message("Hel"), status="incomplete")], usage=usage())
    (f,) = findings(check_response(body), "lifecycle.incomplete-details")
    assert f.message == "status 'incomplete' but incomplete_details is null; expected a reason"


def test_a_failed_body_needs_an_error_whatever_string_object_carries_its_status() -> None:
    status = "".join(["fail", "ed"])
    body = response_object(status, [], error=None)
    (f,) = findings(check_response(body), "lifecycle.failed-error")
    assert f.message == "a failed response with error null; expected {code, message}"


def test_a_failed_event_needs_an_error_whatever_its_status_says() -> None:
    evs = build_stream(message("Hel"), terminal="failed")
    evs[-1]["response"].update(status="in_progress", error=None)
    (f,) = findings(check_sse(to_sse(evs)), "lifecycle.failed-error")
    assert f.event_index == len(evs) - 1


def test_only_allowed_tools_mode_required_demands_a_call() -> None:
    tools = [{"type": "function", "name": "get_weather"}]
    body = response_object("completed", [_final(message("No call"))], usage=usage())
    for mode, want in (("required", 1), ("auto", 0), ("unspecified_future_mode", 0)):
        req = {"model": "gpt-test", "input": "hi", "tools": [WEATHER],
               "tool_choice": {"type": "allowed_tools", "mode": mode, "tools": tools}}
        got = findings(check_response(body, request=req), "call.tool-choice")
        assert len(got) == want, mode



def test_a_tool_schema_the_validator_chokes_on_is_one_finding_not_a_crash() -> None:
    body = response_object("completed", [_final(function_call("f", '{"n": 5, "s": "x"}'))], usage=usage())
    broken = [  # (parameters, the first line of the validator's complaint)
        ({"type": 12}, "'int' object is not iterable"),
        ({"properties": {"s": {"pattern": "("}}}, "missing ), unterminated subpattern at position 0"),
        ({"$ref": "#/$defs/place"}, "PointerToNowhere: '/$defs/place' does not exist within"),
        ({"properties": {"n": {"multipleOf": 0}}}, "integer modulo by zero"),
        ({"$schema": 5}, "'int' object has no attribute"),
    ]
    for params, complaint in broken:
        req = {"model": "gpt-test", "input": "hi", "tools": [{"type": "function", "name": "f", "parameters": params}]}
        (f,) = findings(check_response(body, request=req), "call.arguments-schema")
        assert f.message.startswith(
            f"arguments of 'f' do not fit its parameters: the tool's parameters are not a valid JSON Schema ({complaint}"
        ), f.message


# ---- schema -------------------------------------------------------------------------------------
def test_a_lifecycle_events_own_field_is_the_events_not_the_responses() -> None:
    evs = build_stream(message("Hello"))
    evs[1]["extra_field"] = 1
    result = check_events(evs)
    (f,) = findings(result, "schema.event")
    assert f.event_index == 1 and f.message.startswith("response.in_progress /extra_field: unknown field")
    assert not findings(result, "schema.response")


# ---- call.web-search-lifecycle ------------------------------------------------------------------
def test_a_repeated_search_step_is_one_finding_and_the_later_steps_are_in_order() -> None:
    evs = build_stream(web_search_call())
    at = index_of(evs, "response.web_search_call.in_progress")
    evs.insert(at + 1, copy.deepcopy(evs[at]))
    (f,) = findings(check_events(renumber(evs)), "call.web-search-lifecycle")
    assert f.message == "response.web_search_call.in_progress again for web_search_call 0"


def test_only_a_failed_search_may_not_have_sent_completed() -> None:
    for status, bad in (("incomplete", False), ("searching", False), ("failed", True)):
        evs = build_stream(web_search_call())
        for item in (evs[-2]["item"], evs[-1]["response"]["output"][0]):
            item["status"] = status
        got = findings(check_events(evs), "call.web-search-lifecycle")
        assert bool(got) is bad, (status, got)
