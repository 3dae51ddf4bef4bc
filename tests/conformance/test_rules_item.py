"""item.*: output items from output_item.added to output_item.done."""

from __future__ import annotations

import copy

from conformance import check_events
from conformance.checker import StreamChecker
from conformance.testing import (
    assert_only,
    build_stream,
    events_of_item,
    function_call,
    index_of,
    message,
    reasoning,
    renumber,
    response_object,
    usage,
)

DONE = "response.output_item.done"


def test_index_not_contiguous() -> None:
    evs = build_stream(message("a b"), message("c d", item_id="msg_2"))
    for i in events_of_item(evs, 1):
        evs[i]["output_index"] = 2
    (f,) = assert_only(check_events(evs), "item.index-not-contiguous")
    assert f.output_index == 2 and "expected 1" in f.message and f.breaks == ("openai-python<=3.3",)


def test_index_starting_at_one() -> None:
    evs = build_stream(message("a b"))
    for i in events_of_item(evs, 0):
        evs[i]["output_index"] = 1
    assert_only(check_events(evs), "item.index-not-contiguous")


def test_duplicate_index() -> None:
    evs = build_stream(message("a b"), message("c d", item_id="msg_2"))
    for i in events_of_item(evs, 1):
        evs[i]["output_index"] = 0
    (f,) = assert_only(check_events(evs), "item.duplicate-index")
    assert f.output_index == 0 and "msg_test0001" in f.message


def test_unknown_index() -> None:
    evs = build_stream(message("a b"))
    evs.insert(-1, {"type": "response.output_text.delta", "item_id": "msg_x", "output_index": 4, "content_index": 0, "delta": "x", "logprobs": []})
    (f,) = assert_only(check_events(renumber(evs)), "item.unknown-index")
    assert f.output_index == 4 and f.content_index == 0 and f.breaks == ("openai-python",)


def test_after_done() -> None:
    evs = build_stream(message("a b"))
    d = index_of(evs, DONE)
    evs.insert(d + 1, {"type": "response.output_text.delta", "item_id": "msg_test0001", "output_index": 0, "content_index": 0, "delta": "x", "logprobs": []})
    (f,) = assert_only(check_events(renumber(evs)), "item.after-done")
    assert f.event_index == d + 1 and f"event {d}" in f.message


def test_repeated_done() -> None:
    evs = build_stream(message("a b"))
    d = index_of(evs, DONE)
    evs.insert(d + 1, copy.deepcopy(evs[d]))
    assert_only(check_events(renumber(evs)), "item.after-done")


def test_not_closed() -> None:
    evs = build_stream(message("a b"), function_call())
    del evs[index_of(evs, DONE, output_index=1)]
    (f,) = assert_only(check_events(renumber(evs)), "item.not-closed")
    assert f.output_index == 1 and f.event_index == len(evs) - 1


def test_done_without_added() -> None:
    evs = build_stream(reasoning(), message("hi"))
    del evs[index_of(evs, "response.output_item.added", output_index=0)]
    (f,) = assert_only(check_events(renumber(evs)), "item.done-without-added")
    assert f.output_index == 0


def test_identity_changed() -> None:
    evs = build_stream(function_call())
    d = index_of(evs, DONE)
    for item in (evs[d]["item"], evs[-1]["response"]["output"][0]):
        item["call_id"] = "call_other"
    (f,) = assert_only(check_events(evs), "item.identity-changed")
    assert "call_id" in f.message and f.event_index == d


def test_id_mismatch_and_empty_item_id() -> None:
    for bad in ("", "msg_other"):
        evs = build_stream(message("a b c"))
        i = index_of(evs, "response.output_text.delta", 1)
        evs[i]["item_id"] = bad
        (f,) = assert_only(check_events(evs), "item.id-mismatch")
        assert f.event_index == i and f.output_index == 0


def test_wrong_event_for_type() -> None:
    evs = build_stream(message("a b"))
    i = index_of(evs, "response.output_text.done")
    evs.insert(i, {"type": "response.function_call_arguments.delta", "item_id": "msg_test0001", "output_index": 0, "delta": "{"})
    (f,) = assert_only(check_events(renumber(evs)), "item.wrong-event-for-type")
    assert f.event_index == i and "message" in f.message and "function_call" in f.message


def test_text_delta_into_function_call() -> None:
    evs = build_stream(function_call())
    evs.insert(3, {"type": "response.output_text.delta", "item_id": "fc_test0001", "output_index": 0, "content_index": 0, "delta": "x", "logprobs": []})
    assert_only(check_events(renumber(evs)), "item.wrong-event-for-type")


def test_status_added_and_done() -> None:
    evs = build_stream(message("a"))
    evs[2]["item"]["status"] = "completed"
    (f,) = assert_only(check_events(evs), "item.status")
    assert f.event_index == 2
    evs = build_stream(message("a"))
    d = index_of(evs, DONE)
    evs[d]["item"]["status"] = "in_progress"
    evs[-1]["response"]["output"][0]["status"] = "in_progress"
    assert_only(check_events(evs), "item.status")


def test_tool_output_announced_completed_is_tolerated() -> None:
    out = {"id": "sho_1", "type": "shell_call_output", "status": "completed", "call_id": "call_1", "max_output_length": None, "output": []}
    evs = [
        {"type": "response.created", "response": response_object()},
        {"type": "response.in_progress", "response": response_object()},
        {"type": "response.output_item.added", "output_index": 0, "item": out},
        {"type": DONE, "output_index": 0, "item": out},
        {"type": "response.completed", "response": response_object("completed", [out], usage=usage())},
    ]
    r = check_events(renumber(evs))
    assert "item.status" not in {f.rule for f in r.findings}


def test_incomplete_not_last() -> None:
    evs = build_stream(message("a", status="incomplete"), message("b", item_id="msg_2"), terminal="incomplete")
    (f,) = assert_only(check_events(evs), "item.incomplete-not-last")
    assert f.output_index == 0
    evs = build_stream(message("a", status="incomplete"))
    assert_only(check_events(evs), "item.incomplete-not-last")  # response is completed


def test_incomplete_last_item_of_a_failed_response_is_accepted() -> None:
    """A failure mid-item leaves that item cut short: `incomplete` is the truth there."""
    evs = build_stream(message("a"), message("b", item_id="msg_2", status="incomplete"), terminal="failed")
    assert "item.incomplete-not-last" not in {f.rule for f in check_events(evs).findings}
    evs = build_stream(message("a", status="incomplete"), message("b", item_id="msg_2"), terminal="failed")
    assert "item.incomplete-not-last" in {f.rule for f in check_events(evs).findings}


def test_interleaved() -> None:
    evs = build_stream(function_call(), function_call("f2", call_id="call_2", item_id="fc_2"))
    a = evs.pop(index_of(evs, "response.function_call_arguments.delta", output_index=0))
    evs.insert(index_of(evs, "response.function_call_arguments.delta", output_index=1) + 1, a)
    # item 0 must still be open when item 1 starts: move item 0's remaining events after it
    rest = [ev for ev in evs if ev.get("output_index") == 0 and ev["type"] != "response.output_item.added" and ev is not a]
    for ev in rest:
        evs.remove(ev)
    at = index_of(evs, DONE, output_index=1)
    evs[at:at] = rest
    r = check_events(renumber(evs))
    (f,) = assert_only(r, "item.interleaved")
    assert f.severity == "warning"


def test_grammar_table_item_types_enumerated() -> None:
    """Every SUB_EVENTS type sent to an open item of a type it is not for is reported."""
    from conformance.state import SUB_EVENTS

    for etype, sub in SUB_EVENTS.items():
        if "web_search_call" in sub.item_types:
            continue
        evs = build_stream(__import__("conformance.testing", fromlist=["web_search_call"]).web_search_call())
        ev = {"type": etype, "item_id": "ws_test0001", "output_index": 0, "content_index": 0, "summary_index": 0, "command_index": 0, "delta": "x"}
        evs.insert(3, ev)
        c = StreamChecker()
        got = [f.rule for e in renumber(evs) for f in c.feed(e)]
        assert "item.wrong-event-for-type" in got, etype


# -- found by the client oracle (tests/conformance/test_client_oracle.py) ------------------------
def test_created_snapshot_listing_items_then_announcing_them() -> None:
    """openai-python takes response.created's output as announced items: re-announcing one
    raises 'Duplicate response output index 0'."""
    evs = build_stream(message("a b"))
    evs[0]["response"]["output"] = [copy.deepcopy(evs[-1]["response"]["output"][0])]
    (f,) = assert_only(check_events(evs), "item.duplicate-index")
    assert f.output_index == 0 and f.event_index == 2 and "response.created snapshot (event 0)" in f.message
    assert "msg_test0001" in f.message and f.breaks == ("openai-python>=3.54",)


def test_early_snapshot_listing_one_item_twice() -> None:
    evs = build_stream(message("a b"))
    item = evs[-1]["response"]["output"][0]
    evs[1]["response"]["output"] = [item, copy.deepcopy(item)]
    (f,) = assert_only(check_events(evs), "item.duplicate-index")
    assert f.event_index == 1 and "output[0] and output[1]" in f.message


def test_two_items_sharing_an_id() -> None:
    """Two messages with one id: openai-python ≥3.54 raises 'conflicting output identities'."""
    evs = build_stream(message("a b"), message("c d", item_id="msg_test0001"))
    (f,) = assert_only(check_events(evs), "item.duplicate-index")
    assert f.output_index == 1 and "'msg_test0001'" in f.message and "output_index 0" in f.message


def test_calls_sharing_an_id_but_not_a_call_id_are_still_one_item_twice() -> None:
    evs = build_stream(function_call(), function_call("f2", call_id="call_2"))
    (f,) = assert_only(check_events(evs), "item.duplicate-index")
    assert f.output_index == 1


def test_identity_changed_call_id_on_a_non_call_item() -> None:
    """The client compares (type, id, call_id) of every item, not only call items."""
    evs = build_stream(message("a b"))
    evs[2]["item"]["call_id"] = "call_stray"
    result = check_events(evs)
    (f,) = result.errors()
    assert f.rule == "item.identity-changed"
    assert "call_id" in f.message and "'call_stray'" in f.message
    # A message has no call_id in the contracts: news, reported once as a warning.
    (w,) = [x for x in result.findings if x.severity == "warning"]
    assert w.rule == "schema.item" and 'unknown field "call_id"' in w.message


def test_wrong_event_for_type_after_the_item_closed() -> None:
    """openai-python asserts the item type even after output_item.done (AssertionError)."""
    evs = build_stream(reasoning(["think"]), message("a b"))
    d = index_of(evs, DONE, output_index=0)
    evs.insert(d + 1, {"type": "response.output_text.delta", "item_id": "rs_test0001", "output_index": 0, "content_index": 0, "delta": "x", "logprobs": []})
    r = check_events(renumber(evs))
    rules = {f.rule for f in r.findings}
    assert rules == {"item.after-done", "item.wrong-event-for-type"}, rules
    (f,) = [f for f in r.findings if f.rule == "item.wrong-event-for-type"]
    assert f.event_index == d + 1 and "'reasoning' item" in f.message and f.breaks == ("openai-python",)


def test_sub_event_for_an_item_only_done_is_unknown_index() -> None:
    """Never announced (only an output_item.done): the client raises as for an unknown index."""
    evs = build_stream(message("a b"))
    done = evs[index_of(evs, DONE)]
    evs[2:index_of(evs, DONE) + 1] = [done]
    evs.insert(3, {"type": "response.output_text.delta", "item_id": "msg_test0001", "output_index": 0, "content_index": 0, "delta": "x", "logprobs": []})
    r = check_events(renumber(evs))
    assert {f.rule for f in r.findings} == {"item.done-without-added", "item.unknown-index"}
    (f,) = [f for f in r.findings if f.rule == "item.unknown-index"]
    assert f.event_index == 3 and "only its output_item.done, event 2" in f.message


def test_call_id_keeps_its_id_into_the_terminal_snapshot() -> None:
    """openai-python ≥3.54 raises 'Completed response output identity changed' when the
    snapshot's call (same call_id) has another id than its output_item.done."""
    evs = build_stream(message("a b"), function_call())
    evs[-1]["response"]["output"][1]["id"] = "fc_other"
    (f,) = assert_only(check_events(evs), "item.identity-changed")
    assert f.output_index == 1 and f.event_index == len(evs) - 1
    assert "response.completed's response.output[1] is function_call 'call_test0001' with id 'fc_other'" in f.message
    # another difference in the same item is still output.mismatch's
    evs[-1]["response"]["output"][1]["name"] = "other"
    r = check_events(evs)
    assert {x.rule for x in r.findings} == {"item.identity-changed", "output.mismatch"}
    assert "/name" in next(x.message for x in r.findings if x.rule == "output.mismatch")


def test_call_listed_with_another_id_in_a_mid_stream_snapshot() -> None:
    """openai-python ≥3.54: 'Response snapshot has conflicting output identities'."""
    evs = build_stream(function_call(), message("a b"))
    d = index_of(evs, DONE, output_index=0)
    snap = copy.deepcopy(evs[1])
    snap["response"]["output"] = [dict(evs[d]["item"], id="fc_other")]
    evs.insert(d + 1, snap)
    (f,) = assert_only(check_events(renumber(evs)), "item.identity-changed")
    assert f.event_index == d + 1 and f.output_index == 0 and "response.in_progress's" in f.message
    snap["response"]["output"][0]["id"] = "fc_test0001"  # the same id: a legal snapshot
    assert_only(check_events(evs))


def test_shared_call_id_is_not_an_identity_change() -> None:
    """Two calls sharing a call_id: call.call-id's defect; the snapshot check must not guess."""
    evs = build_stream(function_call(), function_call("f2", item_id="fc_2"))
    assert_only(check_events(evs), "call.call-id")


def test_repeated_done_with_another_identity() -> None:
    """openai-python compares every output_item.done with the added item, a repeated one too."""
    evs = build_stream(message("a b"))
    d = index_of(evs, DONE)
    again = copy.deepcopy(evs[d])
    again["item"]["id"] = "msg_other"
    evs.insert(d + 1, again)
    r = check_events(renumber(evs))
    assert {f.rule for f in r.findings} == {"item.after-done", "item.identity-changed"}
    (f,) = [f for f in r.findings if f.rule == "item.identity-changed"]
    assert f.event_index == d + 1 and "'msg_other'" in f.message
