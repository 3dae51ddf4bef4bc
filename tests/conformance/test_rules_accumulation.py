"""accumulation.*: deltas -> .done -> part.done -> item.done must agree."""

from __future__ import annotations

from conformance import check_events
from conformance.testing import (
    assert_only,
    build_stream,
    custom_tool_call,
    function_call,
    index_of,
    message,
    reasoning,
    renumber,
)


def test_delta_vs_done_shows_divergence() -> None:
    evs = build_stream(message("Hello there world"))
    evs[index_of(evs, "response.output_text.delta", 1)]["delta"] = " thera"
    (f,) = assert_only(check_events(evs), "accumulation.delta-vs-done")
    assert "offset 10" in f.message and "'Hello thera" in f.message
    assert f.event_index == index_of(evs, "response.output_text.done") and f.content_index == 0


def test_delta_vs_done_for_summary_arguments_and_input() -> None:
    for spec, etype in (
        (reasoning(["think about it"]), "response.reasoning_summary_text.delta"),
        (reasoning(text=["raw thoughts here"]), "response.reasoning_text.delta"),
        (function_call(), "response.function_call_arguments.delta"),
        (custom_tool_call(), "response.custom_tool_call_input.delta"),
    ):
        evs = build_stream(spec)
        evs[index_of(evs, etype)]["delta"] += "X"
        assert_only(check_events(evs), "accumulation.delta-vs-done")


def test_done_vs_part() -> None:
    evs = build_stream(message("Hello there"))
    evs[index_of(evs, "response.content_part.done")]["part"]["text"] = "Hello"
    (f,) = assert_only(check_events(evs), "accumulation.done-vs-part")
    assert "offset 5" in f.message


def test_part_vs_item() -> None:
    evs = build_stream(message("Hello there"))
    for item in (evs[index_of(evs, "response.output_item.done")]["item"], evs[-1]["response"]["output"][0]):
        item["content"][0]["text"] = "Hello where"
    (f,) = assert_only(check_events(evs), "accumulation.part-vs-item")
    assert "item.content[0].text" in f.message and f.content_index == 0


def test_part_missing_from_item() -> None:
    evs = build_stream(message("Hello there"))
    for item in (evs[index_of(evs, "response.output_item.done")]["item"], evs[-1]["response"]["output"][0]):
        item["content"] = []
    assert_only(check_events(evs), "accumulation.part-vs-item")


def test_arguments_vs_item() -> None:
    evs = build_stream(function_call())
    for item in (evs[index_of(evs, "response.output_item.done")]["item"], evs[-1]["response"]["output"][0]):
        item["arguments"] = "{}"
    assert_only(check_events(evs), "accumulation.part-vs-item")


def test_done_missing_for_text_and_arguments() -> None:
    evs = build_stream(message("Hello there"))
    del evs[index_of(evs, "response.output_text.done")]
    (f,) = assert_only(check_events(renumber(evs)), "accumulation.done-missing")
    assert f.content_index == 0
    evs = build_stream(function_call())
    del evs[index_of(evs, "response.function_call_arguments.done")]
    assert_only(check_events(renumber(evs)), "accumulation.done-missing")


def test_memory_holds_text_not_events() -> None:
    from conformance.checker import StreamChecker

    text = "x " * 3000
    evs = build_stream(message(text))
    c = StreamChecker()
    for ev in evs[: index_of(evs, "response.output_text.done")]:
        c.feed(ev)
    part = c.state.items[0].parts[("content", 0)]
    assert part.n_deltas == index_of(evs, "response.output_text.done") - 4 > 2900
    # deltas are joined in blocks: a few strings, not one object per delta
    assert len(part.chunks) < part.COMPACT_AT and len(part.blocks) <= 3000 // part.COMPACT_AT
    assert "".join(part.blocks + part.chunks) == text and part.text() == text
    for ev in evs[index_of(evs, "response.output_text.done") :]:
        c.feed(ev)
    assert c.state.items[0].parts == {}  # a closed item keeps no text
    assert c.finish().ok
