"""Fixture specs of the `schema.*` rules (event, Response and item shapes, unknown types)."""

from __future__ import annotations

from conformance.testing.streams import Stream, Text, chunks, snapshots, terminal, to_sse
from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import (
    GPT_OSS,
    WEATHER_TOOL,
    Body,
    N,
    W,
    base_events,
    renumber,
    req,
    spec,
    text_stream,
    weather_stream,
    wild,
)


@spec(
    N + "schema/event",
    "A text delta whose `logprobs` is an object instead of an array.",
    errors=("schema.event",),
)
def _n_schema_event() -> Body:
    ev = base_events("n-schema-event")
    ev[find(ev, "response.output_text.delta", 2)]["logprobs"] = {}
    return ev


@spec(
    N + "schema/unknown-event",
    "An event type in no catalogue (not vendor-prefixed) between two deltas.",
    warnings=("schema.unknown-event",),
)
def _n_unknown() -> Body:
    ev = base_events("n-unknown")
    ev.insert(
        6, {"type": "response.output_text.highlight", "sequence_number": 0, "color": "yellow"}
    )
    return renumber(ev)


@spec(
    N + "schema/unknown-event-vendor",
    "A vendor-prefixed event type (`acme.trace`) mid-stream: info only.",
    infos=("schema.unknown-event",),
)
def _n_unknown_vendor() -> Body:
    ev = base_events("n-unknown-vendor")
    ev.insert(6, {"type": "acme.trace", "sequence_number": 0, "span": "decode"})
    return renumber(ev)


@spec(
    N + "schema/response",
    'Every lifecycle snapshot has `parallel_tool_calls` as the string "true".',
    errors=("schema.response",),
)
def _n_schema_response() -> Body:
    ev = base_events("n-schema-response")
    for snap in snapshots(ev):
        snap["parallel_tool_calls"] = "true"
    return ev


@spec(
    N + "schema/item",
    "A function_call item whose `name` is a number, in added, done and the terminal output alike.",
    errors=("schema.item",),
)
def _n_schema_item() -> Body:
    ev = weather_stream("n-schema-item", req(tools=[WEATHER_TOOL])).events
    for e in ev:
        if e["type"].startswith("response.output_item."):
            e["item"]["name"] = 7
    terminal(ev)["output"][0]["name"] = 7
    return ev


@spec(
    W + "snapshots-without-created-at-and-model",
    "response.created / in_progress snapshots lack `created_at` and `model`.",
    errors=("schema.response",),
    provenance=wild(
        "ggml-org/llama.cpp#21174", notes="Lifecycle snapshots without created_at/model."
    ),
)
def _w_snapshots_bare() -> Body:
    ev = base_events("w-snapshots-bare")
    for e in ev[:2]:
        del e["response"]["created_at"], e["response"]["model"]
    return ev


@spec(
    W + "events-without-output-index-and-content-index",
    "Text deltas and output_text.done carry item_id but no output_index / content_index.",
    errors=("schema.event",),
    provenance=wild("lemonade#3607", notes="Events without output_index/content_index."),
)
def _w_no_indexes() -> Body:
    ev = base_events("w-no-indexes")
    for e in ev:
        if e["type"] in ("response.output_text.delta", "response.output_text.done"):
            del e["output_index"], e["content_index"]
    return ev


@spec(
    N + "schema/tolerated-warnings-over-the-cap",
    "30 text deltas without `logprobs` (a tolerated deviation: a warning each): the summary "
    "of those over the per-rule cap stays a warning, and they fold into one headline.",
    warnings=("schema.event",),
)
def _n_tolerated_over_cap() -> Body:
    s = Stream("n-tolerated-over-cap").open()
    words = " ".join(f"w{i}" for i in range(30))
    s.message(Text(chunks(words)))
    events = s.complete().events
    for ev in events:
        if ev["type"] == "response.output_text.delta":
            del ev["logprobs"]
    return events


@spec(
    N + "schema/openresponses-penalties-missing",
    "Under profile openresponses: Response snapshots without `presence_penalty` and "
    "`frequency_penalty`, two of the 31 fields the Open Responses OpenAPI (2026-04-24) requires.",
    errors=("schema.response",),
    profile="openresponses",
)
def _n_or_penalties() -> Body:
    events = text_stream("n-or-penalties", full_shape=True).events
    for resp in snapshots(events):
        del resp["presence_penalty"], resp["frequency_penalty"]
    return to_sse(events, done=True)


@spec(
    W + "null-item-status",
    "The message item's status is null in added, done and the terminal output (the item schema rejects it; item.status leaves non-strings to the schema).",
    errors=("schema.item",),
    provenance=wild(GPT_OSS, notes="Items with a null status."),
)
def _w_null_status() -> Body:
    ev = base_events("w-null-status", model="gpt-oss-120b")
    for e in ev:
        if e["type"].startswith("response.output_item."):
            e["item"]["status"] = None
    terminal(ev)["output"][0]["status"] = None
    return ev


@spec(
    W + "validation-error-as-detail-body",
    'FastAPI\'s 422 validation body `{"detail": [...]}` where an OpenAI error or a Response was expected, checked as a non-stream body.',
    errors=("schema.response",),
    kind="json",
    provenance=wild(
        GPT_OSS,
        notes='FastAPI\'s 422 {"detail": ...} instead of an OpenAI error body. A live run reports it as http.error-shape; offline, the body is not a Response.',
    ),
)
def _w_detail_body() -> Body:
    return {
        "detail": [
            {
                "type": "missing",
                "loc": ["body", "input"],
                "msg": "Field required",
                "input": {"model": "gpt-oss-120b"},
            }
        ]
    }
