"""part.*: content parts, summary parts and shell commands inside an item."""

from __future__ import annotations

import copy

from conformance import check_events
from tests.conformance.streams import (
    assert_only,
    build_stream,
    index_of,
    message,
    reasoning,
    renumber,
)

MSG = "msg_test0001"


def test_not_added() -> None:
    evs = build_stream(message("a b c"))
    del evs[index_of(evs, "response.content_part.added")]
    r = check_events(renumber(evs))
    fs = assert_only(r, "part.not-added")
    assert len(fs) == 5  # 3 deltas, output_text.done, content_part.done
    assert all(f.content_index == 0 and f.output_index == 0 for f in fs)
    assert "IndexError" in fs[0].breaks[0]
    assert fs[0].message.endswith("expected response.content_part.added with content_index 0 first")


def test_summary_not_added() -> None:
    evs = build_stream(reasoning(["think hard"]))
    del evs[index_of(evs, "response.reasoning_summary_part.added")]
    fs = assert_only(check_events(renumber(evs)), "part.not-added")
    assert all("summary_index 0" in f.message for f in fs)
    assert "expected response.reasoning_summary_part.added with summary_index 0 first" in fs[0].message


def test_index_not_contiguous() -> None:
    evs = build_stream(message("a b"))
    for ev in evs:
        if "content_index" in ev:
            ev["content_index"] = 1
    (f,) = assert_only(check_events(evs), "part.index-not-contiguous")
    assert f.content_index == 1 and "expected 0" in f.message


def test_part_added_twice() -> None:
    evs = build_stream(message("a b"))
    i = index_of(evs, "response.content_part.added")
    evs.insert(i + 1, copy.deepcopy(evs[i]))
    assert_only(check_events(renumber(evs)), "part.index-not-contiguous")


def test_not_closed() -> None:
    evs = build_stream(message("a b"))
    del evs[index_of(evs, "response.content_part.done")]
    (f,) = assert_only(check_events(renumber(evs)), "part.not-closed")
    assert f.content_index == 0 and "content_part.done" in f.message
    # what arrived, in which state, what was expected instead
    d = index_of(evs, "response.output_text.done")
    assert f"got its response.output_text.done (event {d}) but no response.content_part.done" in f.message
    assert f.message.endswith("expected response.content_part.done first")


def test_after_part_done() -> None:
    evs = build_stream(message("a b"))
    i = index_of(evs, "response.content_part.done")
    evs.insert(i + 1, {"type": "response.output_text.delta", "item_id": MSG, "output_index": 0, "content_index": 0, "delta": "x", "logprobs": []})
    (f,) = assert_only(check_events(renumber(evs)), "part.after-done")
    assert f.event_index == i + 1
    assert f"after its response.content_part.done (event {i})" in f.message
    assert "expected response.content_part.added (a new part) or response.output_item.done" in f.message


def test_delta_after_text_done() -> None:
    evs = build_stream(message("a b"))
    i = index_of(evs, "response.output_text.done")
    evs.insert(i + 1, {"type": "response.output_text.delta", "item_id": MSG, "output_index": 0, "content_index": 0, "delta": "x", "logprobs": []})
    (f,) = assert_only(check_events(renumber(evs)), "part.after-done")
    assert f"after its response.output_text.done (event {i})" in f.message
    assert f.message.endswith("expected response.output_text.annotation.added or response.content_part.done")


def test_arguments_delta_after_done() -> None:
    from tests.conformance.streams import function_call

    evs = build_stream(function_call())
    i = index_of(evs, "response.function_call_arguments.done")
    evs.insert(i + 1, {"type": "response.function_call_arguments.delta", "item_id": "fc_test0001", "output_index": 0, "delta": "}"})
    (f,) = assert_only(check_events(renumber(evs)), "part.after-done")
    assert f"the arguments of item 0 after its response.function_call_arguments.done (event {i})" in f.message
    assert f.message.endswith("expected response.output_item.done")


def test_type_mismatch() -> None:
    evs = build_stream(message("a b"))
    evs[index_of(evs, "response.content_part.added")]["part"] = {"type": "refusal", "refusal": ""}
    fs = assert_only(check_events(evs), "part.type-mismatch")
    kinds = {f.message.split(" ")[0] for f in fs}
    assert "response.output_text.delta" in kinds and "content_part.done" in kinds
    added = index_of(evs, "response.content_part.added")
    assert f"whose content_part.added (event {added}) has type 'refusal'" in fs[0].message
    assert fs[0].message.endswith("writes only 'output_text' parts")


def test_wrong_part_type_for_item() -> None:
    evs = build_stream(message("a"))
    i = index_of(evs, "response.content_part.added")
    evs[i]["part"] = {"type": "reasoning_text", "text": ""}
    fs = assert_only(check_events(evs), "part.type-mismatch")
    assert fs[0].event_index == i
