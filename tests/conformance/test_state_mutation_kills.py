"""The checker state's behaviour (conformance/state.py) that the rule tests left unpinned, found by
`nox -s mutation` (docs/mutation.md): each test fails under at least one mutant of state.py
that survived the other tests."""

from __future__ import annotations

import copy
from typing import Any

from conformance import check_events
from conformance.checker import StreamChecker
from conformance.state import event_for
from conformance.testing import (
    assert_only,
    build_stream,
    index_of,
    message,
    renumber,
    response_object,
)

DONE = "response.output_item.done"


def _delta(oi: int, text: str, item_id: str = "msg_x") -> dict[str, Any]:
    return {"type": "response.output_text.delta", "item_id": item_id, "output_index": oi,
            "content_index": 0, "delta": text, "logprobs": []}


# ---- finding messages say what the grammar accepts instead ----------------------------------
def test_an_event_after_its_items_done_names_what_a_closed_item_accepts() -> None:
    evs = build_stream(message("a b"))
    evs.insert(index_of(evs, DONE) + 1, _delta(0, "x", "msg_test0001"))
    (f,) = assert_only(check_events(renumber(evs)), "item.after-done")
    assert f.message.endswith("; expected no more events for a closed item")


def test_an_event_for_an_unannounced_index_names_the_announcement_it_needs() -> None:
    evs = build_stream(message("a b"))
    evs.insert(-1, _delta(4, "x"))
    (f,) = assert_only(check_events(renumber(evs)), "item.unknown-index")
    assert f.message.endswith("; expected response.output_item.added first")


def test_an_event_after_the_terminal_event_is_told_the_stream_is_over() -> None:
    evs = build_stream(message("a b"))
    evs.append(copy.deepcopy(evs[-1]))
    (f,) = assert_only(check_events(renumber(evs)), "lifecycle.after-terminal")
    assert f.message.endswith("; expected nothing (the stream is over)")


# ---- orphan deltas: only a delta's text is kept for an unannounced item ----------------------
def _orphan_stream(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """A message whose output_item.added and .done were lost: its deltas still spell the
    snapshot's text."""
    evs = build_stream(message("a b"))
    del evs[index_of(evs, DONE)]
    del evs[index_of(evs, "response.output_item.added")]
    evs[-1:-1] = list(extra)
    return renumber(evs)


def test_orphan_deltas_that_spell_the_snapshot_agree_with_it() -> None:
    result = check_events(_orphan_stream())
    assert "item.unknown-index" in {f.rule for f in result.findings}
    assert "accumulation.delta-vs-done" not in {f.rule for f in result.findings}


def test_an_annotation_for_an_unannounced_item_adds_no_text_even_with_a_delta_field() -> None:
    annotation = {"type": "response.output_text.annotation.added", "item_id": "msg_test0001",
                  "output_index": 0, "content_index": 0, "annotation_index": 0,
                  "annotation": {"type": "url_citation", "url": "https://example.com", "title": "t",
                                 "start_index": 0, "end_index": 1},
                  "delta": " stray"}
    result = check_events(_orphan_stream(annotation))
    assert "accumulation.delta-vs-done" not in {f.rule for f in result.findings}
    # A real delta with the same text does change the orphan text.
    stray = _delta(0, " stray", "msg_test0001")
    (f,) = [f for f in check_events(_orphan_stream(stray)).findings if f.rule == "accumulation.delta-vs-done"]
    assert f.output_index == 0 and f.content_index == 0


# ---- output_item.added without a usable item or index ----------------------------------------
def test_an_added_event_without_an_item_object_is_reported_not_tracked() -> None:
    evs = build_stream(message("a b"))
    evs[index_of(evs, "response.output_item.added")]["item"] = None
    result = check_events(evs)
    assert "schema.item" in {f.rule for f in result.findings}
    # Not tracked: the item's events are judged as events of an unannounced item.
    assert "item.unknown-index" in {f.rule for f in result.findings}


def test_an_added_event_with_a_string_index_opens_no_item() -> None:
    evs = build_stream(message("a b"))
    added = index_of(evs, "response.output_item.added")
    evs[added]["output_index"] = "0"
    checker = StreamChecker()
    for ev in evs[: added + 1]:
        checker.feed(ev)
    assert checker.state.items == {} and checker.state.open_items == 0
    assert checker.state.n_added == 1  # counted: the next item is judged after it


# ---- the tracked state a user's rule reads (StreamChecker.state) -----------------------------
def _shell_events() -> list[dict[str, Any]]:
    item = {"id": "sh_1", "type": "shell_call", "status": "in_progress", "call_id": "call_1",
            "action": {"commands": [], "max_output_length": None, "timeout_ms": None}}
    return renumber([
        {"type": "response.created", "response": response_object("in_progress")},
        {"type": "response.in_progress", "response": response_object("in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        # A stray `part` field does not make the command a content part.
        {"type": "response.shell_call_command.added", "output_index": 0, "command_index": 0, "command": "",
         "part": {"type": "output_text", "text": ""}},
        {"type": "response.shell_call_command.delta", "output_index": 0, "command_index": 0, "delta": "ls"},
    ])


def test_a_shell_command_is_tracked_as_a_part_of_type_command() -> None:
    checker = StreamChecker()
    for ev in _shell_events():
        checker.feed(ev)
    part = checker.state.items[0].parts[("command", 0)]
    assert (part.kind, part.index, part.type, part.text()) == ("command", 0, "command", "ls")


# ---- event_for: the names it is given are compared by value -------------------------------
def test_event_for_matches_names_built_at_run_time() -> None:
    # Strings read from a file or built by a caller are equal to, not the same object as, the
    # table's literals.
    role, kind, item_type, part_type = ("".join(s) for s in (["d", "one"], ["con", "tent"], ["mes", "sage"], ["ref", "usal"]))
    assert event_for(role, item_type, kind, part_type) == "response.refusal.done"
    assert event_for("".join(["del", "ta"]), "function_call", "".join(["argu", "ments"])) == (
        "response.function_call_arguments.delta")


# ---- part_closing: the whole way a part should have been closed ----------------------------
def test_a_part_left_open_is_told_both_events_that_close_it() -> None:
    evs = build_stream(message("a b"))
    del evs[index_of(evs, "response.content_part.done")]
    del evs[index_of(evs, "response.output_text.done")]
    (f,) = assert_only(check_events(renumber(evs)), "part.not-closed", "accumulation.done-missing")
    assert "neither its response.output_text.done nor its response.content_part.done" in f.message
    assert f.message.endswith("; expected response.output_text.done and response.content_part.done first")


# ---- PartState: text kept in blocks is joined whole ------------------------------------------
def test_a_text_of_several_compacted_blocks_is_judged_whole() -> None:
    words = [f"w{i} " for i in range(512 + 10)]  # one joined block and a tail
    evs = build_stream(message("".join(words), chunks=words))
    assert check_events(evs).findings == []
    checker = StreamChecker()
    for ev in evs[: index_of(evs, "response.output_text.done")]:
        checker.feed(ev)
    part = checker.state.items[0].parts[("content", 0)]
    assert part.text() == "".join(words) and part.n_deltas == len(words)
