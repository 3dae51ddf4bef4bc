"""output.*: the terminal snapshot against the output_item.done items."""

from __future__ import annotations

from conformance import check_events
from conformance.testing import (
    assert_only,
    build_stream,
    function_call,
    index_of,
    message,
    reasoning,
)


def test_mismatch_reports_first_difference() -> None:
    evs = build_stream(message("a b"), function_call())
    evs[-1]["response"]["output"][1]["arguments"] = "{}"
    (f,) = assert_only(check_events(evs), "output.mismatch")
    assert f.output_index == 1 and "/arguments" in f.message


def test_empty_output_although_streamed() -> None:
    evs = build_stream(message("a b"))
    evs[-1]["response"]["output"] = []
    (f,) = assert_only(check_events(evs), "output.mismatch")
    assert f.output_index == 0


def test_item_never_streamed() -> None:
    evs = build_stream(message("a b"))
    evs[-1]["response"]["output"].append(dict(evs[-1]["response"]["output"][0], id="msg_extra"))
    assert_only(check_events(evs), "output.mismatch")


def test_ids_changed_in_snapshot() -> None:
    evs = build_stream(function_call())
    evs[-1]["response"]["output"][0]["call_id"] = "call_new"
    assert_only(check_events(evs), "output.mismatch")


def test_reissued_encrypted_content_is_tolerated() -> None:
    evs = build_stream(reasoning(["x"], encrypted_content="gAAAA-one"), message("hi"))
    evs[-1]["response"]["output"][0]["encrypted_content"] = "gAAAA-two"
    assert_only(check_events(evs))


def test_null_output() -> None:
    evs = build_stream(message("a"))
    evs[-1]["response"]["output"] = None
    (f,) = assert_only(check_events(evs), "output.null")
    assert f.severity == "warning" and f.breaks == ("openai-python<=3.3",)


def test_duplicate_index_is_not_also_a_mismatch() -> None:
    evs = build_stream(message("a"), message("b", item_id="msg_2"))
    for i in range(index_of(evs, "response.output_item.added", output_index=1), len(evs) - 1):
        evs[i]["output_index"] = 0
    assert_only(check_events(evs), "item.duplicate-index")


def _done_item(evs: list[dict[str, object]], output_index: int) -> dict[str, object]:
    done = evs[index_of(evs, "response.output_item.done", output_index=output_index)]
    return done["item"]  # type: ignore[return-value]


def test_true_and_1_differ_although_python_equates_them() -> None:
    # The comparison of equal items is skipped: `==` must not be what decides it (True == 1).
    evs = build_stream(function_call())
    _done_item(evs, 0)["extra"] = True
    evs[-1]["response"]["output"][0] = dict(evs[-1]["response"]["output"][0], extra=1)
    found = [f for f in check_events(evs).findings if f.rule == "output.mismatch"]
    assert len(found) == 1 and "/extra" in found[0].message


def test_1_and_1_point_0_are_the_same_number() -> None:
    evs = build_stream(function_call())
    _done_item(evs, 0)["extra"] = 1
    evs[-1]["response"]["output"][0] = dict(evs[-1]["response"]["output"][0], extra=1.0)
    assert "output.mismatch" not in check_events(evs).rule_ids()


def test_equal_items_in_another_key_order_match() -> None:
    evs = build_stream(message("a b"), function_call())
    snap = evs[-1]["response"]["output"]
    snap[1] = dict(reversed(list(snap[1].items())))
    assert_only(check_events(evs))


def test_the_first_difference_is_the_first_in_key_order() -> None:
    from conformance.rules.output import first_difference

    a = {"id": "x", "call_id": "c", "name": "f"}
    b = {"name": "g", "call_id": "d", "id": "y", "extra": 1}
    assert first_difference(a, b) == ("/id", "x", "y")
    assert first_difference({"id": "x"}, {"id": "x", "extra": 1}) == ("/extra", "<absent>", 1)
