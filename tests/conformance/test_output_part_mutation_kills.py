"""Behaviour of the `output.*`, `part.*` and `accumulation.*` rules that the per-family tests
left unpinned, found by `nox -s mutation` (docs/mutation.md): each test fails under at least
one mutant that survived them."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from conformance import check_events, check_sse
from conformance.testing import (
    build_stream,
    findings_of,
    index_of,
    message,
    reasoning,
    renumber,
    response_object,
    to_sse,
)


# ---- accumulation -------------------------------------------------------------------------------
def test_an_item_holding_the_deltas_but_not_the_done_value_differs() -> None:
    # Deltas spell "Hello world", the .done and part.done both say "Hello there": the done item
    # must hold what the done events said; the raw deltas are a candidate only when no done
    # event gave a value.
    evs = build_stream(message("Hello world"))
    evs[index_of(evs, "response.output_text.done")]["text"] = "Hello there"
    evs[index_of(evs, "response.content_part.done")]["part"]["text"] = "Hello there"
    for stream in (evs, _without(evs, "response.content_part.done")):  # the part closed or not
        result = check_events(stream)
        assert findings_of(result, "accumulation.delta-vs-done")
        (f,) = findings_of(result, "accumulation.part-vs-item")
        assert f.message.startswith("the streamed value and item.content[0].text differ at offset 6")
        assert f.content_index == 0


def test_a_done_event_of_another_item_type_is_not_compared_with_the_part() -> None:
    # An output_text.done aimed at a reasoning item's reasoning_text part (item.wrong-event-for-type)
    # is not that part's .done: its text is not compared with the part's deltas.
    evs = build_stream(reasoning(text=["Thinking hard"]))
    at = index_of(evs, "response.reasoning_text.done")
    stray = dict(evs[at], type="response.output_text.done", text="something else", logprobs=[])
    evs.insert(at, stray)
    result = check_events(renumber(evs))
    assert findings_of(result, "item.wrong-event-for-type")
    assert not findings_of(result, "accumulation.delta-vs-done")
    assert not findings_of(result, "accumulation.done-missing")


def test_a_done_item_that_is_not_an_object_is_not_compared() -> None:
    evs = build_stream(message("Hello world"))
    at = index_of(evs, "response.output_item.done")
    for bad in (None, "message", ["message"]):
        stream = [*evs[:at], dict(evs[at], item=bad), *evs[at + 1:]]
        result = check_events(stream)  # one finding per broken event, not a crash
        assert findings_of(result, "schema.item")
        assert not findings_of(result, "accumulation.part-vs-item")


def _without(evs: list[Any], *types: str) -> list[Any]:
    return renumber([ev for ev in evs if ev["type"] not in types])


def test_done_missing_at_a_content_part_done_says_which_done_event_was_skipped() -> None:
    evs = _without(build_stream(message("Hello world")), "response.output_text.done")
    at = index_of(evs, "response.content_part.done")
    for result in (check_events(evs), check_sse(to_sse(evs))):
        (f,) = findings_of(result, "accumulation.done-missing")
        assert f.event_index == at
        assert f.message == (
            f"response.content_part.done closes content part 0 of item 0 after {_n_deltas(evs)} deltas "
            "without their response.output_text.done; expected response.output_text.done first"
        )


def test_done_missing_at_a_summary_part_done_says_which_done_event_was_skipped() -> None:
    evs = _without(build_stream(reasoning(["Weighing the options"])), "response.reasoning_summary_text.done")
    at = index_of(evs, "response.reasoning_summary_part.done")
    for result in (check_events(evs), check_sse(to_sse(evs))):
        (f,) = findings_of(result, "accumulation.done-missing")
        assert f.event_index == at
        assert f.message == (
            f"response.reasoning_summary_part.done closes summary part 0 of item 0 after {_n_deltas(evs)} "
            "deltas without their response.reasoning_summary_text.done; expected "
            "response.reasoning_summary_text.done first"
        )


def test_done_missing_at_output_item_done_through_the_wire() -> None:
    # Event types decoded from the wire are equal to, not the same object as, the rule's own.
    evs = _without(build_stream(message("Hello world")), "response.output_text.done", "response.content_part.done")
    at = index_of(evs, "response.output_item.done")
    for result in (check_events(evs), check_sse(to_sse(evs))):
        (f,) = findings_of(result, "accumulation.done-missing")
        assert f.event_index == at and f.output_index == 0 and f.content_index == 0
        assert f.message == (
            f"{_n_deltas(evs)} deltas of content part 0 in item 0 were never closed by "
            "response.output_text.done before output_item.done"
        )


def _n_deltas(evs: list[Any]) -> int:
    return sum(1 for ev in evs if ev["type"].endswith(".delta"))


# ---- part ---------------------------------------------------------------------------------------
def test_a_part_added_twice_is_named_as_added_again() -> None:
    evs = build_stream(message("a b"))
    i = index_of(evs, "response.content_part.added")
    evs.insert(i + 1, copy.deepcopy(evs[i]))
    (f,) = findings_of(check_events(renumber(evs)), "part.index-not-contiguous")
    assert f.message == f"content part 0 of item 0 added again (first at event {i})"


def test_parts_added_in_order_are_not_reported() -> None:
    evs = build_stream(reasoning(["one", "two"], text=["three", "four"]))
    assert not check_events(evs).findings


def test_a_part_index_below_the_count_is_reported_too() -> None:
    # Summary parts added as 1 then 0: the first skips 0, the second comes after 1.
    evs = build_stream(reasoning(["one", "two"]))
    for ev in evs:
        if "summary_index" in ev:
            ev["summary_index"] = 1 - ev["summary_index"]
    got = [(f.event_index, f.message) for f in findings_of(check_events(evs), "part.index-not-contiguous")]
    first = index_of(evs, "response.reasoning_summary_part.added")
    second = index_of(evs, "response.reasoning_summary_part.added", nth=1)
    assert got == [
        (first, "response.reasoning_summary_part.added with summary_index 1; expected 0"),
        (second, "response.reasoning_summary_part.added with summary_index 0; expected 1"),
    ]


# ---- output -------------------------------------------------------------------------------------
def test_a_snapshot_may_leave_out_the_open_item_of_a_long_output() -> None:
    # 300 items done, then one announced and never closed: the terminal snapshot lists the 300.
    specs = [message(f"text {i}", item_id=f"msg_{i:04d}") for i in range(300)]
    evs = build_stream(*specs, message("never closed", item_id="msg_open"))
    cut = index_of(evs, "response.content_part.added", output_index=300)
    evs = [*evs[:cut], evs[-1]]
    evs[-1]["response"]["output"] = evs[-1]["response"]["output"][:300]
    result = check_events(renumber(evs))
    assert findings_of(result, "item.not-closed")
    assert not findings_of(result, "output.mismatch")


def test_an_item_never_streamed_is_quoted_to_80_characters_and_excerpted_to_160() -> None:
    evs = build_stream(message("Hello"))
    extra = dict(evs[-1]["response"]["output"][0], id="msg_extra")
    extra["content"] = [dict(extra["content"][0], text="x" * 300)]
    evs[-1]["response"]["output"].append(extra)
    (f,) = findings_of(check_events(evs), "output.mismatch")
    wire = orjson.dumps(extra).decode()
    assert f.message == (
        f"response.output has 2 items but only 1 were streamed: output[1] {wire[:80]}… "
        "never appeared in an output_item.done"
    )
    assert f.excerpt == wire[:160] + "…"


def _shell_command_left_open() -> list[dict[str, Any]]:
    item = {"id": "sh_1", "type": "shell_call", "status": "in_progress", "call_id": "call_1",
            "action": {"commands": [], "max_output_length": None, "timeout_ms": None}}
    done = {**item, "status": "completed", "action": {**item["action"], "commands": ["ls"]}}
    return renumber([
        {"type": "response.created", "response": response_object("in_progress")},
        {"type": "response.in_progress", "response": response_object("in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.shell_call_command.added", "output_index": 0, "command_index": 0, "command": ""},
        {"type": "response.shell_call_command.delta", "output_index": 0, "command_index": 0, "delta": "ls"},
        {"type": "response.output_item.done", "output_index": 0, "item": done},
        {"type": "response.completed", "response": response_object("completed", output=[done])},
    ])


def test_a_value_left_open_names_each_event_it_missed() -> None:
    # One event would have closed a shell command (it has no part.done) ...
    (f,) = findings_of(check_events(_shell_command_left_open()), "part.not-closed")
    assert f.message == (
        "shell command 0 of item 0 (added at event 3) has no response.shell_call_command.done at "
        "output_item.done; expected response.shell_call_command.done first"
    )
    # ... two would have closed a content part.
    evs = _without(build_stream(message("Hi there")), "response.output_text.done", "response.content_part.done")
    (f,) = findings_of(check_events(evs), "part.not-closed")
    assert f.message == (
        "content part 0 of item 0 (added at event 3) has neither its response.output_text.done nor its "
        "response.content_part.done at output_item.done; expected response.output_text.done and "
        "response.content_part.done first"
    )


def test_a_stray_event_of_another_item_type_after_the_part_closed_is_not_after_done() -> None:
    # An output_text.delta aimed at a reasoning item's closed reasoning_text part is the wrong
    # event for the item (item.wrong-event-for-type), not a delta after the part's end.
    evs = build_stream(reasoning(text=["Thinking hard"]))
    at = index_of(evs, "response.content_part.done")
    stray = {"type": "response.output_text.delta", "item_id": "rs_test0001", "output_index": 0,
             "content_index": 0, "delta": "late", "logprobs": []}
    evs.insert(at + 1, stray)
    result = check_events(renumber(evs))
    assert findings_of(result, "item.wrong-event-for-type")
    assert not findings_of(result, "part.after-done")


def test_parts_not_added_are_counted_in_the_message() -> None:
    evs = _without(build_stream(message("Hello world")), "response.content_part.added")
    f = findings_of(check_events(evs), "part.not-added")[0]
    assert f.message == (
        "response.output_text.delta for content_index 0 of item 0, but no content part 0 was added "
        "(parts added: 0); expected response.content_part.added with content_index 0 first"
    )


def test_a_snapshot_with_another_number_of_parts_reports_the_length() -> None:
    evs = build_stream(message("Hello"))
    snap = evs[-1]["response"]["output"][0]
    snap["content"].append(dict(snap["content"][0]))
    (f,) = findings_of(check_events(evs), "output.mismatch")
    assert f.message.startswith("response.output[0]/content (length) is 2 but output_item.done (output_index 0")


def test_a_long_snapshot_missing_its_last_done_item_is_reported() -> None:
    evs = build_stream(*(message(f"text {i}", item_id=f"msg_{i:04d}") for i in range(300)))
    evs[-1]["response"]["output"].pop()
    (f,) = findings_of(check_events(evs), "output.mismatch")
    assert f.output_index == 299
    assert f.message == "response.output has 299 items but item 299 was streamed and completed by output_item.done"


def test_items_after_an_open_one_are_still_compared() -> None:
    # Item 0 is never closed (the snapshot lists it as it was announced); item 1 is done, and
    # the snapshot changes its text.
    evs = build_stream(message("first", item_id="msg_a"), message("second", item_id="msg_b"))
    end_of_first = index_of(evs, "response.output_item.added", output_index=1)
    evs = [ev for k, ev in enumerate(evs) if not (k < end_of_first and ev["type"] == "response.output_item.done")]
    final = evs[-1]["response"]["output"]
    final[0] = dict(final[0], status="in_progress")
    final[1]["content"][0]["text"] = "changed " + "y" * 200
    evs = renumber(evs)
    result = check_events(evs)
    assert findings_of(result, "item.not-closed")
    (f,) = findings_of(result, "output.mismatch")
    done_at = index_of(evs, "response.output_item.done", output_index=1)
    assert f.output_index == 1
    assert f.message == (
        f"response.output[1]/content/0/text is {'changed ' + 'y' * 52!r}… but output_item.done "
        f"(output_index 1, event {done_at}) had 'second'"
    )
    assert f.excerpt == orjson.dumps(final[1]).decode()[:160] + "…"
