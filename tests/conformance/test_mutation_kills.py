"""Behaviour the rule tests left unpinned, found by `nox -s mutation` (docs/mutation.md): each
test fails under at least one mutant that survived the other tests."""

from __future__ import annotations

import copy
from typing import Any

from conformance import check_events, check_response
from conformance.testing import findings_of
from tests.conformance.streams import (
    build_stream,
    function_call,
    message,
    renumber,
    response_object,
    usage,
)

ADDED = "response.output_item.added"
DONE = "response.output_item.done"


def rules(result: Any) -> set[str]:
    return {f.rule for f in result.findings}


def _final(spec: Any, **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(spec.final), **changes}


# ---- item.incomplete-not-last: which response statuses may end on an incomplete item --------
def test_a_cancelled_response_may_end_on_an_incomplete_item() -> None:
    cut = _final(message("half an ans"), status="incomplete")
    body = response_object("cancelled", [_final(message("whole", item_id="msg_0")), cut], usage=usage())
    assert "item.incomplete-not-last" not in rules(check_response(body))


def test_a_completed_or_in_progress_response_may_not_end_on_an_incomplete_item() -> None:
    cut = _final(message("half an ans"), status="incomplete")
    for status in ("completed", "in_progress"):
        body = response_object(status, [cut], usage=usage())
        (f,) = findings_of(check_response(body), "item.incomplete-not-last")
        assert f.output_index == 0 and repr(status) in f.message


def test_an_incomplete_response_ending_on_its_incomplete_item_is_right() -> None:
    evs = build_stream(message("a"), message("b", item_id="msg_2", status="incomplete"), terminal="incomplete")
    assert not {"item.incomplete-not-last", "item.truncated-completed"} & rules(check_events(evs))


# ---- item.duplicate-index: how items are told apart (id; call_id for calls) ------------------
def _created_listing(*items: dict[str, Any]) -> list[dict[str, Any]]:
    evs = build_stream(message("a"))
    evs[0]["response"]["output"] = list(items)
    return evs


def test_a_created_snapshot_listing_one_message_twice_is_a_duplicate() -> None:
    msg = _final(message("a"))
    (f,) = [f for f in findings_of(check_events(_created_listing(msg, copy.deepcopy(msg))), "item.duplicate-index")
            if "lists one item twice" in f.message]
    assert "output[0] and output[1]" in f.message and "msg_test0001" in f.message


def test_two_messages_with_different_ids_in_a_created_snapshot_are_two_items() -> None:
    a, b = _final(message("a")), _final(message("b", item_id="msg_2"))
    result = check_events(_created_listing(a, b))
    assert not any("lists one item twice" in f.message for f in findings_of(result, "item.duplicate-index"))


def test_two_calls_are_told_apart_by_call_id_not_by_id() -> None:
    one = _final(function_call())
    same_call = _final(function_call(item_id="fc_other"))  # same call_id, another id
    (f,) = [f for f in findings_of(check_events(_created_listing(one, same_call)), "item.duplicate-index")
            if "lists one item twice" in f.message]
    assert "call_test0001" in f.message  # a call is named by its call_id
    other_call = _final(function_call(call_id="call_2"))  # same id, another call_id
    result = check_events(_created_listing(one, other_call))
    assert not any("lists one item twice" in f.message for f in findings_of(result, "item.duplicate-index"))


def test_one_item_id_announced_at_two_indexes_is_a_duplicate() -> None:
    evs = build_stream(message("a"), message("b", item_id="msg_2"))
    for ev in evs:
        if ev.get("output_index") == 1 and "item" in ev:
            ev["item"]["id"] = "msg_test0001"
        if ev.get("output_index") == 1 and "item_id" in ev:
            ev["item_id"] = "msg_test0001"
    for ev in evs[-1:]:
        ev["response"]["output"][1]["id"] = "msg_test0001"
    (f,) = findings_of(check_events(evs), "item.duplicate-index")
    assert f.message.startswith("output_item.added at output_index 1 announces item 'msg_test0001'")
    assert "output_index 0 already is" in f.message
    # Two distinct ids at two indexes: no finding.
    assert "item.duplicate-index" not in rules(check_events(build_stream(message("a"), message("b", item_id="msg_2"))))


def test_the_same_added_event_repeated_names_the_first_announcement() -> None:
    evs = build_stream(message("a"))
    evs.insert(3, copy.deepcopy(evs[2]))
    (f,) = findings_of(check_events(renumber(evs)), "item.duplicate-index")
    assert "output_index 0 announced again (first by event 2" in f.message


# ---- item.unknown-index: the message lists the known indexes -------------------------------
def test_an_unknown_index_message_lists_at_most_ten_known_indexes() -> None:
    evs = build_stream(*(message("x", item_id=f"msg_{i}") for i in range(12)))
    evs.insert(-1, {"type": "response.output_text.delta", "item_id": "msg_x", "output_index": 40,
                    "content_index": 0, "delta": "x", "logprobs": []})
    (f,) = findings_of(check_events(renumber(evs)), "item.unknown-index")
    assert "(known: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])" in f.message


# ---- lifecycle.completed-at: completed_at only on a completed response ---------------------
def test_completed_at_on_an_incomplete_or_failed_response_is_an_error() -> None:
    for terminal in ("incomplete", "failed"):
        evs = build_stream(message("a", status="incomplete" if terminal == "incomplete" else "completed"),
                           terminal=terminal)
        evs[-1]["response"]["completed_at"] = evs[-1]["response"]["created_at"] + 1
        (f,) = findings_of(check_events(evs), "lifecycle.completed-at")
        assert f"status '{terminal}'" in f.message and "expected null" in f.message


def test_completed_at_on_an_in_progress_snapshot_is_an_error() -> None:
    evs = build_stream(message("a"))
    evs[1]["response"]["completed_at"] = evs[1]["response"]["created_at"]
    (f,) = findings_of(check_events(evs), "lifecycle.completed-at")
    assert f.event_index == 1 and "status 'in_progress'" in f.message


def test_completed_at_before_created_at_is_an_error_and_equal_is_not() -> None:
    evs = build_stream(message("a"))
    created = evs[-1]["response"]["created_at"]
    evs[-1]["response"]["completed_at"] = created - 1
    (f,) = findings_of(check_events(evs), "lifecycle.completed-at")
    assert f"completed_at {created - 1} is before created_at {created}" in f.message
    evs[-1]["response"]["completed_at"] = created
    assert "lifecycle.completed-at" not in rules(check_events(evs))


def test_a_completed_body_is_judged_on_completed_at_too() -> None:
    body = response_object("completed", [_final(message("a"))], usage=usage())
    assert "lifecycle.completed-at" not in rules(check_response(body))
    body["completed_at"] = None
    (f,) = findings_of(check_response(body), "lifecycle.completed-at")
    assert "status 'completed' but completed_at is" in f.message and "expected the completion timestamp" in f.message
    body["completed_at"] = True  # a bool is no timestamp
    assert findings_of(check_response(body), "lifecycle.completed-at")
    body = response_object("incomplete", [_final(message("a"), status="incomplete")], usage=usage(),
                           incomplete_details={"reason": "max_output_tokens"}, completed_at=123)
    assert findings_of(check_response(body), "lifecycle.completed-at")


def test_a_recording_without_completed_at_is_not_judged_on_it() -> None:
    evs = build_stream(message("a"))
    for ev in evs:
        if "response" in ev:
            ev["response"].pop("completed_at", None)
    assert "lifecycle.completed-at" not in rules(check_events(evs))


def test_an_item_id_announced_again_at_a_lower_index_is_a_duplicate_too() -> None:
    evs = build_stream(message("a", item_id="msg_same"), message("b", item_id="msg_same"))
    first, second = (i for i, ev in enumerate(evs) if ev["type"] == ADDED)
    # Item 1's added event comes first: the id's first index is 1, its second 0.
    evs[first]["output_index"], evs[second]["output_index"] = 1, 0
    dup = [f for f in findings_of(check_events(evs), "item.duplicate-index") if "announces item 'msg_same'" in f.message]
    assert dup and "output_index 1 already is" in dup[0].message


# ---- item.status: a call a program makes may stay in_progress, nothing else is lifted ------------
def test_a_program_callers_call_may_end_in_progress_but_not_failed() -> None:
    for status, wrong in (("in_progress", False), ("failed", True), ("searching", True)):
        spec = function_call()
        evs = build_stream(spec)
        for ev in evs:
            if ev["type"] == DONE:
                ev["item"].update(status=status, caller={"type": "program"})
        evs[-1]["response"]["output"][0].update(status=status, caller={"type": "program"})
        statuses = [f for f in findings_of(check_events(evs), "item.status") if "done with status" in f.message]
        assert bool(statuses) is wrong, (status, statuses)


# ---- item.identity-changed in snapshots: call items are matched by (type, call_id) --------------
def _terminal_lists(evs: list[dict[str, Any]], index: int, **changes: Any) -> list[dict[str, Any]]:
    evs[-1]["response"]["output"][index].update(changes)
    return evs


def test_a_snapshot_giving_a_call_another_id_names_both_ids_and_the_done_index() -> None:
    evs = build_stream(message("a"), function_call())
    evs[-1]["response"]["output"].reverse()  # the call is output[0] there, done at index 1
    evs = _terminal_lists(evs, 0, id="fc_other")
    (f,) = [f for f in findings_of(check_events(evs), "item.identity-changed") if "response.output[" in f.message]
    assert f.output_index == 1
    assert f.message == ("response.completed's response.output[0] is function_call 'call_test0001' with id "
                         "'fc_other', but its output_item.done (output_index 1) said 'fc_test0001'")


def test_only_call_items_with_an_id_are_matched_by_call_id() -> None:
    # A message that happens to carry a call_id is not matched by it.
    msg = message("a")
    msg.final["call_id"] = "call_m"
    evs = build_stream(msg)
    for ev in evs:
        if ev["type"] in (ADDED, DONE):
            ev["item"]["call_id"] = "call_m"
    evs = _terminal_lists(evs, 0, id="msg_other")
    assert not [f for f in findings_of(check_events(evs), "item.identity-changed") if "response.output[" in f.message]
    # A call whose done item has no id: there is no id to hold the snapshot to.
    evs = build_stream(function_call())
    for ev in evs:
        if ev["type"] in (ADDED, DONE):
            ev["item"].pop("id")
        ev.pop("item_id", None)
    evs = _terminal_lists(evs, 0, id="fc_late")
    assert not [f for f in findings_of(check_events(evs), "item.identity-changed") if "response.output[" in f.message]


# ---- item.interleaved: only two items both open interleave -------------------------------------
def test_a_stray_event_of_a_closed_item_does_not_make_the_next_one_interleaved() -> None:
    evs = build_stream(message("a b"), message("c d", item_id="msg_2"))
    stray = {"type": "response.output_text.delta", "item_id": "msg_test0001", "output_index": 0,
             "content_index": 0, "delta": "x", "logprobs": []}
    first_sub_of_1 = next(i for i, ev in enumerate(evs) if ev.get("output_index") == 1 and ev["type"] != ADDED)
    evs.insert(first_sub_of_1, stray)  # item 0 is done by now: item.after-done, not interleaving
    result = check_events(renumber(evs))
    assert "item.after-done" in rules(result) and "item.interleaved" not in rules(result)


def test_only_a_program_caller_lifts_the_done_status_rule() -> None:
    for caller in ("server", "assistant"):
        evs = build_stream(function_call())
        for ev in evs:
            if ev["type"] == DONE:
                ev["item"].update(status="in_progress", caller={"type": caller})
        assert [f for f in findings_of(check_events(evs), "item.status") if "done with status" in f.message], caller


# ---- item.truncated-completed: only a max_output_tokens cut -------------------------------------
def test_a_completed_last_item_is_judged_only_when_max_output_tokens_cut_the_response() -> None:
    for reason, flagged in (("max_output_tokens", True), ("content_filter", False), ("turn_limit", False)):
        evs = build_stream(message("a"), terminal="incomplete")
        evs[-1]["response"]["incomplete_details"] = {"reason": reason}
        assert ("item.truncated-completed" in rules(check_events(evs))) is flagged, reason
