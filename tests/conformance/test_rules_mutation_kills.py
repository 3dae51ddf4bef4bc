"""Rule behaviour the per-family tests left unpinned, found by `nox -s mutation` on the rule
modules (docs/mutation.md): each test fails under at least one mutant that survived them."""

from __future__ import annotations

import copy
from typing import Any

from conformance import check_events, check_response, check_sse
from conformance.testing import (
    assert_only,
    build_stream,
    custom_tool_call,
    findings_of,
    function_call,
    index_of,
    message,
    renumber,
    response_object,
    to_sse,
    usage,
    web_search_call,
)


# ---- lifecycle ----------------------------------------------------------------------------------
def test_done_before_the_terminal_event_names_the_sentinels_event_index() -> None:
    evs = build_stream(message("Hello"))
    raw = to_sse(evs[:-1]) + b"data: [DONE]\n\n" + to_sse(evs[-1:])
    (f,) = findings_of(check_sse(raw), "lifecycle.no-terminal")
    assert f.message.startswith(f"data: [DONE] (event {len(evs) - 1}) came before response.completed")


# ---- call ---------------------------------------------------------------------------------------
def _final(spec: Any, **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(spec.final), **changes}


def test_only_function_calls_arguments_are_parsed_as_json() -> None:
    # A custom tool call's payload is `input`; a stray `arguments` string on one is not judged.
    custom = _final(custom_tool_call(), arguments="not json")
    body = response_object("completed", [custom], usage=usage())
    assert not findings_of(check_response(body), "call.arguments-not-json")


def test_a_cut_short_call_does_not_hide_the_next_calls_bad_arguments() -> None:
    cut = _final(function_call(arguments='{"city": "Pa'), status="incomplete")
    bad = _final(function_call(arguments="{city}", call_id="call_2", item_id="fc_2"))
    body = response_object("incomplete", [cut, bad], usage=usage(),
                           incomplete_details={"reason": "max_output_tokens"})
    result = check_response(body)
    (f,) = findings_of(result, "call.truncated-arguments")
    assert f.output_index == 0
    (g,) = findings_of(result, "call.arguments-not-json")
    assert g.output_index == 1


WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
SQL = {"type": "custom", "name": "run_sql"}


def test_an_unknown_tool_message_lists_the_request_tools_of_the_calls_kind() -> None:
    req = {"model": "gpt-test", "input": "hi", "tools": [WEATHER, SQL]}
    body = response_object("completed", [_final(custom_tool_call(name="drop_table"))], usage=usage())
    (f,) = findings_of(check_response(body, request=req), "call.unknown-tool")
    assert f.message.endswith("which is not a custom tool of the request (tools: ['run_sql'])")
    body = response_object("completed", [_final(function_call("get_time"))], usage=usage())
    (f,) = findings_of(check_response(body, request=req), "call.unknown-tool")
    assert f.message.endswith("which is not a function tool of the request (tools: ['get_weather'])")


def test_tool_choice_is_not_judged_on_a_response_that_stopped_early() -> None:
    req = {"model": "gpt-test", "input": "hi", "tools": [WEATHER], "tool_choice": "required"}
    cut = response_object("incomplete", [_final(message("Let me"))], usage=usage(),
                          incomplete_details={"reason": "max_output_tokens"})
    assert not findings_of(check_response(cut, request=req), "call.tool-choice")
    failed = response_object("failed", [], error={"code": "server_error", "message": "x"})
    assert not findings_of(check_response(failed, request=req), "call.tool-choice")
    done = response_object("completed", [_final(message("No call"))], usage=usage())
    assert findings_of(check_response(done, request=req), "call.tool-choice")
    # A stream without a terminal event has no final output to judge either.
    unfinished = build_stream(message("No call"), terminal=None)
    assert not findings_of(check_events(unfinished, request=req), "call.tool-choice")


def test_a_forced_tool_is_judged_by_whether_and_what_the_response_calls() -> None:
    req = {"model": "gpt-test", "input": "hi", "tools": [WEATHER],
           "tool_choice": {"type": "function", "name": "get_weather"}}
    right = response_object("completed", [_final(function_call())], usage=usage())
    assert not findings_of(check_response(right, request=req), "call.tool-choice")
    none = response_object("completed", [_final(message("No call"))], usage=usage())
    (f,) = findings_of(check_response(none, request=req), "call.tool-choice")
    assert f.message == "tool_choice forces 'get_weather' but the response makes no call"
    wrong = response_object("completed", [_final(function_call("get_time"))], usage=usage())
    (f,) = findings_of(check_response(wrong, request=req), "call.tool-choice")
    assert f.message == "tool_choice forces 'get_weather' but the response calls ['get_time']"


# ---- lifecycle.incomplete-details, lifecycle.failed-error: a body has no event type to go by ------
def test_an_incomplete_body_needs_a_reason_whatever_string_object_carries_its_status() -> None:
    # The status as a decoder builds it: an equal string, not the interned literal.
    status = "".join(["in", "complete"])
    body = response_object(status, [_final(message("Hel"), status="incomplete")], usage=usage())
    (f,) = findings_of(check_response(body), "lifecycle.incomplete-details")
    assert f.message == "status 'incomplete' but incomplete_details is null; expected a reason"


def test_a_failed_body_needs_an_error_whatever_string_object_carries_its_status() -> None:
    status = "".join(["fail", "ed"])
    body = response_object(status, [], error=None)
    (f,) = findings_of(check_response(body), "lifecycle.failed-error")
    assert f.message == "a failed response with error null; expected {code, message}"


def test_a_failed_event_needs_an_error_whatever_its_status_says() -> None:
    evs = build_stream(message("Hel"), terminal="failed")
    evs[-1]["response"].update(status="in_progress", error=None)
    (f,) = findings_of(check_sse(to_sse(evs)), "lifecycle.failed-error")
    assert f.event_index == len(evs) - 1


def test_only_allowed_tools_mode_required_demands_a_call() -> None:
    tools = [{"type": "function", "name": "get_weather"}]
    body = response_object("completed", [_final(message("No call"))], usage=usage())
    for mode, want in (("required", 1), ("auto", 0), ("unspecified_future_mode", 0)):
        req = {"model": "gpt-test", "input": "hi", "tools": [WEATHER],
               "tool_choice": {"type": "allowed_tools", "mode": mode, "tools": tools}}
        got = findings_of(check_response(body, request=req), "call.tool-choice")
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
        (f,) = findings_of(check_response(body, request=req), "call.arguments-schema")
        assert f.message.startswith(
            f"arguments of 'f' do not fit its parameters: the tool's parameters are not a valid JSON Schema ({complaint}"
        ), f.message


# ---- schema -------------------------------------------------------------------------------------
def test_a_lifecycle_events_own_field_is_the_events_not_the_responses() -> None:
    evs = build_stream(message("Hello"))
    evs[1]["extra_field"] = 1
    result = check_events(evs)
    (f,) = findings_of(result, "schema.event")
    assert f.event_index == 1 and f.message.startswith("response.in_progress /extra_field: unknown field")
    assert not findings_of(result, "schema.response")


def test_a_snapshot_issue_outside_output_is_reported_even_if_a_done_item_had_the_same_one() -> None:
    # The done item's issue is not repeated for output[0]; tools[0] is another object.
    evs = build_stream(function_call())
    evs[-2]["item"]["name"] = 5
    evs[-1]["response"]["output"][0]["name"] = 5
    evs[-1]["response"]["tools"] = [{"type": "function", "name": 5, "parameters": {}, "strict": False}]
    result = check_events(evs)
    assert [f.message for f in findings_of(result, "schema.item")] == [
        "response.output_item.done /item/name: expected string, got integer"]
    assert [f.message for f in findings_of(result, "schema.response")] == [
        "response.completed /response/tools/0/name: expected string, got integer"]


def test_a_null_terminal_output_leaves_the_snapshots_other_issues_reported() -> None:
    evs = build_stream(message("Hello"))
    evs[-1]["response"].update(output=None, temperature="hot")
    result = check_events(evs)
    assert [f.message for f in findings_of(result, "schema.response")] == [
        "response.completed /response/temperature: expected number or null, got string"]
    assert findings_of(result, "output.null")


def test_an_added_event_without_its_item_is_a_schema_item_finding() -> None:
    evs = build_stream(message("Hello"))
    del evs[2]["item"]
    (f,) = findings_of(check_events(evs), "schema.item")
    assert f.event_index == 2 and f.message == 'response.output_item.added /item: missing required property "item"'


def test_an_added_items_issue_does_not_hide_the_same_issue_in_the_terminal_snapshot() -> None:
    # Only the done item stands for the snapshot's output entry; the added one was replaced.
    evs = build_stream(function_call())
    evs[2]["item"]["name"] = 5
    evs[-1]["response"]["output"][0]["name"] = 5
    result = check_events(evs)
    assert [f.event_index for f in findings_of(result, "schema.item")] == [2]
    assert [f.message for f in findings_of(result, "schema.response")] == [
        "response.completed /response/output/0/name: expected string, got integer"]


# ---- call.web-search-lifecycle ------------------------------------------------------------------
def test_a_repeated_search_step_is_one_finding_and_the_later_steps_are_in_order() -> None:
    evs = build_stream(web_search_call())
    at = index_of(evs, "response.web_search_call.in_progress")
    evs.insert(at + 1, copy.deepcopy(evs[at]))
    (f,) = findings_of(check_events(renumber(evs)), "call.web-search-lifecycle")
    assert f.message == "response.web_search_call.in_progress again for web_search_call 0"


def test_only_a_failed_search_may_not_have_sent_completed() -> None:
    for status, bad in (("incomplete", False), ("searching", False), ("failed", True)):
        evs = build_stream(web_search_call())
        for item in (evs[-2]["item"], evs[-1]["response"]["output"][0]):
            item["status"] = status
        got = findings_of(check_events(evs), "call.web-search-lifecycle")
        assert bool(got) is bad, (status, got)
    (f,) = got
    assert f.message == "web_search_call 0 finished as failed after response.web_search_call.completed"


# ---- url_citation annotations -------------------------------------------------------------------
def _cited(text: str, *spans: tuple[int, int], part_type: str = "output_text") -> dict[str, Any]:
    cites = [{"type": "url_citation", "start_index": a, "end_index": b, "url": "https://example.com/a",
              "title": "A"} for a, b in spans]
    item = _final(message(text))
    item["content"][0].update(type=part_type, annotations=cites)
    return response_object("completed", [item], usage=usage())


def test_citation_offsets_may_span_the_whole_text_or_nothing() -> None:
    body = _cited("Hello world", (0, 11), (5, 5), (11, 11))
    assert not findings_of(check_response(body), "part.annotation-out-of-range")
    (f,) = findings_of(check_response(_cited("Hello world", (0, 12))), "part.annotation-out-of-range")
    assert f.message == "url_citation 0 of output 0 content 0: [0, 12) is not within the part's 11 characters of text"


def test_only_output_text_parts_citations_are_judged() -> None:
    body = _cited("Hello world", (0, 99), part_type="audio_transcript")
    assert not findings_of(check_response(body), "part.annotation-out-of-range")


def test_an_annotation_index_repeated_is_reported() -> None:
    cite = {"type": "url_citation", "start_index": 0, "end_index": 5, "url": "https://example.com/a", "title": "A"}
    evs = build_stream(message("Hello world", annotations=[cite, dict(cite, end_index=11)]))
    second = index_of(evs, "response.output_text.annotation.added", nth=1)
    evs[second]["annotation_index"] = 0
    (f,) = findings_of(check_events(evs), "part.annotation-index")
    assert f.event_index == second
    assert f.message == "annotation_index 0 for content 0 of item 0; expected 1 (1 annotations streamed before)"


CITE = {"type": "url_citation", "start_index": 0, "end_index": 5, "url": "https://example.com/a", "title": "A"}


def test_annotations_inside_the_streamed_text_are_right() -> None:
    assert_only(check_events(build_stream(message("Hello world", annotations=[CITE, dict(CITE, end_index=11)]))))


def test_an_annotation_after_the_done_event_is_judged_against_the_done_text() -> None:
    # No deltas at all: the text arrives whole in output_text.done, then the annotation.
    evs = [ev for ev in build_stream(message("Hello world", annotations=[dict(CITE, end_index=11)]))
           if ev["type"] != "response.output_text.delta"]
    annotation = evs.pop(index_of(evs, "response.output_text.annotation.added"))
    evs.insert(index_of(evs, "response.output_text.done") + 1, annotation)
    assert_only(check_events(renumber(evs)))


def test_a_done_item_with_more_annotations_than_streamed_is_a_mismatch() -> None:
    evs = build_stream(message("Hello world", annotations=[CITE]))
    extra = dict(CITE, start_index=6, end_index=11)
    evs[-2]["item"]["content"][0]["annotations"].append(extra)
    evs[-1]["response"]["output"][0]["content"][0]["annotations"].append(extra)
    got = [f.message for f in findings_of(check_events(evs), "accumulation.annotations-mismatch")]
    assert got == ["output_item.done has 2 annotations on output 0 content 0, but 1 were streamed",
                   "the terminal snapshot (response.completed) has 2 annotations on output 0 content 0, "
                   "but 1 were streamed"]


# ---- fast_safe: the verdicts are the same without it, the throughput is not ----------------------
def test_the_built_in_rules_leave_the_fast_paths_open() -> None:
    # A check on "*", "@sse" or a delta type that is not fast-safe sends every delta event (or
    # every SSE message) down the slow path; the built-in ones all are.
    from conformance import registry
    from conformance.checker import _FAST_SPECS

    gates = {"*", "@sse", *_FAST_SPECS}
    slow = [c.rule_id for c in registry.all_checks() if gates & set(c.on) and not c.fast_safe]
    assert slow == []


# ---- framing ------------------------------------------------------------------------------------
def test_invalid_json_shows_the_first_80_characters_of_the_data() -> None:
    evs = build_stream(message("Hello"))
    data = '{"type": "response.output_text.delta", "delta": oops' + "x" * 100
    raw = to_sse(evs[:3]) + f"data: {data}\n\n".encode() + to_sse(evs[3:])
    (f,) = findings_of(check_sse(raw), "framing.invalid-json")
    assert f.message.endswith(": " + repr(data[:80]) + "…")


# ---- accumulation -------------------------------------------------------------------------------
def test_deltas_never_closed_are_still_compared_with_the_done_item() -> None:
    evs = [ev for ev in build_stream(message("Hello world"))
           if ev["type"] not in ("response.output_text.done", "response.content_part.done")]
    evs[-2]["item"]["content"][0]["text"] = "Hello there"
    (f,) = findings_of(check_events(renumber(evs)), "accumulation.part-vs-item")
    assert f.message.startswith("the streamed value and item.content[0].text differ at offset 6")


def test_a_done_item_of_another_type_is_not_compared_part_by_part() -> None:
    evs = build_stream(message("Hello world"))
    evs[-2]["item"] = {"id": "msg_test0001", "type": "reasoning", "summary": []}  # item.identity-changed
    result = check_events(evs)
    assert findings_of(result, "item.identity-changed")
    assert not findings_of(result, "accumulation.part-vs-item")




def _orphan_deltas(content_index: int) -> list[Any]:
    """Deltas for output_index 1, never announced; the terminal snapshot lists a second message
    with two parts, "first" and "xyz"."""
    evs = build_stream(message("Hello"))
    evs.insert(-1, {"type": "response.output_text.delta", "item_id": "msg_x", "output_index": 1,
                    "content_index": content_index, "delta": "abc", "logprobs": []})
    second = copy.deepcopy(evs[-1]["response"]["output"][0])
    second.update(id="msg_x", content=[dict(second["content"][0], text=t) for t in ("first", "xyz")])
    evs[-1]["response"]["output"].append(second)
    return renumber(evs)


def test_unannounced_deltas_are_compared_with_their_part_of_the_snapshot() -> None:
    (f,) = findings_of(check_events(_orphan_deltas(1)), "accumulation.delta-vs-done")
    assert f.output_index == 1 and f.content_index == 1
    assert f.message.startswith("the deltas for output_index 1 (never announced) and response.output[1].content[1] differ")
    # A part the snapshot does not have is nothing to compare with.
    for beyond in (2, 3):
        assert not findings_of(check_events(_orphan_deltas(beyond)), "accumulation.delta-vs-done")
