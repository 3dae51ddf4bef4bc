"""Fixture specs of the `accumulation.*` rules (deltas add up to the done values)."""

from __future__ import annotations

from conformance.testing.streams import Stream, Text, chunks, terminal
from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import (
    HELLO,
    WEATHER_TOOL,
    Body,
    N,
    W,
    base_events,
    renumber,
    req,
    spec,
    weather_stream,
    wild,
)


@spec(
    N + "accumulation/delta-vs-done",
    "One delta has a character changed: the deltas no longer add up to output_text.done.",
    errors=("accumulation.delta-vs-done",),
)
def _n_delta_vs_done() -> Body:
    ev = base_events("n-delta-vs-done")
    ev[find(ev, "response.output_text.delta", 1)]["delta"] = " thera"
    return ev


@spec(
    N + "accumulation/delta-vs-done-arguments",
    "Function-call argument deltas that do not add up to arguments.done.",
    errors=("accumulation.delta-vs-done",),
    request=req(tools=[WEATHER_TOOL]),
)
def _n_args_vs_done() -> Body:
    ev = weather_stream("n-args-vs-done", req(tools=[WEATHER_TOOL])).events
    ev[find(ev, "response.function_call_arguments.delta")]["delta"] = '{"city":"Lyon",'
    return ev


@spec(
    N + "accumulation/done-vs-part",
    'content_part.done (and the item) say "...today!" while output_text.done and the deltas say "...today?".',
    errors=("accumulation.done-vs-part",),
)
def _n_done_vs_part() -> Body:
    ev = base_events("n-done-vs-part")
    other = HELLO[:-1] + "!"
    ev[find(ev, "response.content_part.done")]["part"]["text"] = other
    ev[find(ev, "response.output_item.done")]["item"]["content"][0]["text"] = other
    terminal(ev)["output"][0]["content"][0]["text"] = other
    return ev


@spec(
    N + "accumulation/part-vs-item",
    "The done item's text differs from content_part.done (terminal output follows the item).",
    errors=("accumulation.part-vs-item",),
)
def _n_part_vs_item() -> Body:
    ev = base_events("n-part-vs-item")
    other = HELLO + " "
    ev[find(ev, "response.output_item.done")]["item"]["content"][0]["text"] = other
    terminal(ev)["output"][0]["content"][0]["text"] = other
    return ev


@spec(
    N + "accumulation/done-missing",
    "Text deltas, then content_part.done without any output_text.done.",
    errors=("accumulation.done-missing",),
)
def _n_done_missing_text() -> Body:
    ev = base_events("n-done-missing")
    del ev[find(ev, "response.output_text.done")]
    return renumber(ev)


@spec(
    W + "function-call-arguments-done-missing",
    "Argument deltas, then output_item.done with no function_call_arguments.done.",
    errors=("accumulation.done-missing",),
    request=req(tools=[WEATHER_TOOL]),
    provenance=wild(
        "vllm-project/vllm#56285", notes="Missing response.function_call_arguments.done."
    ),
)
def _w_args_done_missing() -> Body:
    ev = weather_stream("w-args-done-missing", req(tools=[WEATHER_TOOL])).events
    del ev[find(ev, "response.function_call_arguments.done")]
    return renumber(ev)


@spec(
    N + "accumulation/unannounced-deltas-vs-snapshot",
    "A proxy streams text deltas for an item it never announced (no output_item.added/done); "
    "the deltas spell the answer but the terminal snapshot says something else.",
    errors=("item.unknown-index", "accumulation.delta-vs-done", "output.mismatch"),
)
def _n_orphan_deltas() -> Body:
    s = Stream("n-orphan-deltas").open()
    s.message(Text(chunks("Hello from the upstream.")))
    events = [
        ev
        for ev in s.complete().events
        if ev["type"]
        not in (
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
        )
    ]
    events[-1]["response"]["output"][0]["content"][0]["text"] = "(No update)"
    return renumber(events)
