"""schema.*: contract violations routed to the right rule, reported once."""

from __future__ import annotations

import copy

from conformance import check_events, check_sse
from conformance.testing import (
    assert_only,
    build_stream,
    index_of,
    message,
    reasoning,
    renumber,
    to_sse,
)


def test_schema_event_with_pointer() -> None:
    evs = build_stream(message("Hello there"))
    i = index_of(evs, "response.output_text.delta")
    evs[i]["delta"] = 5
    (f,) = assert_only(check_events(evs), "schema.event")
    assert "/delta" in f.message and f.event_index == i and f.sequence_number == i
    assert f.output_index == 0 and f.content_index == 0 and f.severity == "error"


def test_unknown_event_warning_and_vendor_info() -> None:
    evs = build_stream(message("Hi"))
    evs.insert(3, {"type": "response.brand_new.thing"})
    evs.insert(3, {"type": "acme.heartbeat"})
    r = check_events(renumber(evs))
    fs = assert_only(r, "schema.unknown-event")
    assert sorted(f.severity for f in fs) == ["info", "warning"]


def test_unknown_event_keeps_tracking_its_output_index() -> None:
    evs = build_stream(message("Hi"))
    evs.insert(-1, {"type": "response.apply_patch_call_operation_diff.delta", "item_id": "x", "output_index": 7, "delta": "+"})
    r = check_events(renumber(evs))
    assert_only(r, "schema.unknown-event", "item.unknown-index")
    (f,) = [f for f in r.findings if f.rule == "item.unknown-index"]
    assert f.output_index == 7


def test_schema_response_for_lifecycle_snapshot() -> None:
    evs = build_stream(message("Hi"))
    del evs[1]["response"]["created_at"]
    (f,) = assert_only(check_events(evs), "schema.response")
    assert "/response/created_at" in f.message and f.event_index == 1


def test_schema_item_not_doubled_by_event_or_snapshot() -> None:
    evs = build_stream(message("Hi"))
    d = index_of(evs, "response.output_item.done")
    evs[d]["item"]["role"] = 3
    evs[-1]["response"]["output"][0]["role"] = 3
    r = check_events(evs)
    fs = assert_only(r, "schema.item")
    assert fs and all("/item/role" in f.message and f.output_index == 0 and f.event_index == d for f in fs)


def test_schema_item_on_added() -> None:
    evs = build_stream(reasoning(["x"]))
    evs[2]["item"]["summary"] = "nope"
    (f,) = assert_only(check_events(evs), "schema.item")
    assert f.event_index == 2


def test_tolerated_issue_is_a_warning_under_openai() -> None:
    evs = build_stream(message("Hi"))
    for ev in evs:
        if ev["type"].startswith("response.output_text."):
            ev.pop("logprobs", None)
    r = check_events(evs)
    assert r.ok and {f.rule for f in r.findings} == {"schema.event"}
    assert all(f.severity == "warning" and "output-text-logprobs-absent" in f.message for f in r.findings)


def test_sse_path_equals_event_path() -> None:
    evs = build_stream(message("Hi"))
    bad = copy.deepcopy(evs)
    bad[3]["part"] = []
    a = check_events(bad)
    b = check_sse(to_sse(bad))
    assert [(f.rule, f.event_index, f.message) for f in a.findings] == [
        (f.rule, f.event_index, f.message) for f in b.findings
    ]
    assert_only(a, "schema.event")


def test_sdk_unknown_event_for_an_announced_item_is_only_a_warning() -> None:
    item = {"id": "apc_1", "type": "apply_patch_call", "status": "in_progress", "call_id": "call_1", "operation": {"type": "update_file", "path": "a.py", "diff": ""}}
    evs = build_stream(message("Hi"))
    d = {"type": "response.apply_patch_call_operation_diff.delta", "item_id": "apc_1", "output_index": 1, "delta": "+x"}
    done = dict(item, status="completed")
    evs[-1:-1] = [
        {"type": "response.output_item.added", "output_index": 1, "item": item},
        d,
        {"type": "response.output_item.done", "output_index": 1, "item": done},
    ]
    evs[-1]["response"]["output"].append(done)
    r = check_events(renumber(evs))
    assert_only(r, "schema.unknown-event")
    unknown = [f for f in r.findings if f.rule == "schema.unknown-event"]
    assert unknown and unknown[0].severity == "warning" and "still tracked" in unknown[0].message


# -- found by the client oracle (tests/conformance/test_client_oracle.py) ------------------------
def test_top_level_error_on_a_non_error_event() -> None:
    """openai-python raises APIError on any event whose data has a truthy top-level `error`."""
    evs = build_stream(message("Hello there"))
    i = index_of(evs, "response.output_text.delta")
    evs[i]["error"] = {"message": "upstream hiccup"}
    (f,) = assert_only(check_events(evs), "schema.event")
    assert f.event_index == i and f.severity == "error" and "/error" in f.message and "APIError" in f.message
    # a falsy `error` is harmless, and the error / failed events may carry one
    for value in (None, {}, "", False):
        evs[i]["error"] = value
        assert_only(check_events(evs))
    r = check_events(build_stream(message("Hello there"), terminal="failed", error_form="nested"))
    assert r.ok and not any("APIError" in f.message for f in r.findings)
