"""Fixture specs of the `output.*` rules (the terminal snapshot's output matches the stream)."""

from __future__ import annotations

from conformance.testing.streams import terminal
from scripts.fixture_specs.common import (
    WEATHER_TOOL,
    Body,
    N,
    W,
    base_events,
    req,
    spec,
    weather_stream,
    wild,
)


@spec(
    N + "output/mismatch",
    "The terminal output's message text differs from the output_item.done item.",
    errors=("output.mismatch",),
)
def _n_output_mismatch() -> Body:
    ev = base_events("n-output-mismatch")
    terminal(ev)["output"][0]["content"][0]["text"] = "Hello!"
    return ev


@spec(N + "output/null", "response.completed with `output: null`.", warnings=("output.null",))
def _n_output_null() -> Body:
    ev = base_events("n-output-null")
    terminal(ev)["output"] = None
    return ev


@spec(
    W + "completed-output-empty-although-text-streamed",
    "A message is streamed and closed, but response.completed has `output: []`.",
    errors=("output.mismatch",),
    provenance=wild(
        "vllm-project/vllm#30223", notes="completed.output empty although text was streamed."
    ),
)
def _w_output_empty() -> Body:
    ev = base_events("w-output-empty")
    terminal(ev)["output"] = []
    return ev


@spec(
    W + "ids-differ-in-completed-output",
    "The terminal output gives the function call another id and call_id than the streamed item.",
    errors=("output.mismatch",),
    request=req(tools=[WEATHER_TOOL]),
    provenance=wild(
        "vllm-project/vllm#56285",
        notes="ids/call_ids in completed.output differ from the streamed ones.",
    ),
)
def _w_ids_differ() -> Body:
    ev = weather_stream("w-ids-differ", req(tools=[WEATHER_TOOL])).events
    out = terminal(ev)["output"][0]
    out["id"] = "fc_" + "9" * 48
    out["call_id"] = "call_regenerated000000000000"
    return ev
