"""Fixture specs of the `item.*` rules (output items opened, closed, indexed and typed right)."""

from __future__ import annotations

import json

from conformance.testing.streams import Event, Stream, Text, chunks, dumps, terminal, usage
from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import (
    GPT_OSS,
    HELLO,
    LIGHTHOUSE,
    MAX16_REQ,
    PARALLEL_REQ,
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


def _two_items(seed: str) -> Stream:
    """A message then a function call: enough structure for index and identity defects."""
    s = Stream(seed, request=None).open()
    s.message(Text(chunks("Let me check the weather.")))
    s.function_call("get_weather", ['{"city":', '"Paris","unit":"c"}'])
    return s.complete()


def _set_index(ev: list[Event], old: int, new: int) -> list[Event]:
    for e in ev:
        if e.get("output_index") == old:
            e["output_index"] = new
    return ev


@spec(
    N + "item/index-not-contiguous",
    "The second item is announced at output_index 2 (1 is skipped); all its events agree.",
    errors=("item.index-not-contiguous",),
)
def _n_index_gap() -> Body:
    return _set_index(_two_items("n-index-gap").events, 1, 2)


@spec(
    N + "item/duplicate-index",
    "output_item.added is sent twice for the same message at output_index 0 (a retried write).",
    errors=("item.duplicate-index",),
)
def _n_dup_index() -> Body:
    ev = base_events("n-dup-index")
    i = find(ev, "response.output_item.added")
    ev.insert(i + 1, json.loads(dumps(ev[i])))
    return renumber(ev)


@spec(
    N + "item/unknown-index",
    "A web_search_call.searching event names output_index 3, never announced.",
    errors=("item.unknown-index",),
)
def _n_unknown_index() -> Body:
    s = Stream("n-unknown-index").open()
    s.web_search("paris weather")
    s.message(Text(chunks("Sunny.")))
    ev = s.complete().events
    stray = json.loads(dumps(ev[find(ev, "response.web_search_call.searching")]))
    stray["output_index"] = 3
    stray["item_id"] = "ws_" + "3" * 48
    ev.insert(find(ev, "response.output_text.delta"), stray)
    return renumber(ev)


@spec(
    N + "item/compacting-on-message",
    "`response.compaction.compacting` names the message item: it is only for compaction items.",
    errors=("item.wrong-event-for-type",),
)
def _n_compacting_on_message() -> Body:
    s = Stream("n-compacting-on-message").open()
    s.message(Text(chunks("Sunny.")))
    ev = s.complete().events
    added = ev[find(ev, "response.output_item.added")]
    stray = {
        "type": "response.compaction.compacting",
        "sequence_number": 0,
        "output_index": added["output_index"],
        "item_id": added["item"]["id"],
    }
    ev.insert(find(ev, "response.output_item.added") + 1, stray)
    return renumber(ev)


@spec(
    N + "item/after-done",
    "`web_search_call.completed` arrives after the item's output_item.done.",
    errors=("item.after-done",),
)
def _n_after_done() -> Body:
    s = Stream("n-after-done").open()
    s.web_search("paris weather")
    s.message(Text(chunks("Sunny.")))
    ev = s.complete().events
    late = ev.pop(find(ev, "response.web_search_call.completed"))
    ev.insert(find(ev, "response.output_item.done", output_index=0) + 1, late)
    return renumber(ev)


@spec(
    N + "item/not-closed",
    "The function call (last item) never gets output_item.done; the terminal output omits it.",
    errors=("item.not-closed",),
)
def _n_not_closed() -> Body:
    ev = _two_items("n-not-closed").events
    del ev[find(ev, "response.output_item.done", output_index=1)]
    del terminal(ev)["output"][1]
    return renumber(ev)


@spec(
    N + "item/done-without-added",
    "output_item.done for a function call at index 1 that was never announced.",
    errors=("item.done-without-added",),
)
def _n_done_without_added() -> Body:
    ev = _two_items("n-done-wo-added").events
    i = find(ev, "response.output_item.added", output_index=1)
    j = find(ev, "response.output_item.done", output_index=1)
    ev = ev[:i] + ev[j:]
    return renumber(ev)


@spec(
    N + "item/identity-changed",
    "The done message carries another id than the added one (sub-events use the added id).",
    errors=("item.identity-changed",),
)
def _n_identity() -> Body:
    ev = base_events("n-identity")
    new = "msg_" + "f" * 48
    ev[find(ev, "response.output_item.done")]["item"]["id"] = new
    terminal(ev)["output"][0]["id"] = new
    return ev


@spec(
    N + "item/identity-changed-call-id",
    "The done function call carries another call_id than the added one.",
    errors=("item.identity-changed",),
    request=req(tools=[WEATHER_TOOL]),
)
def _n_identity_call() -> Body:
    ev = weather_stream("n-identity-call", req(tools=[WEATHER_TOOL])).events
    ev[find(ev, "response.output_item.done")]["item"]["call_id"] = "call_changed"
    terminal(ev)["output"][0]["call_id"] = "call_changed"
    return ev


@spec(
    N + "item/id-mismatch",
    "One text delta names another item_id than the message at its output_index.",
    errors=("item.id-mismatch",),
)
def _n_id_mismatch() -> Body:
    ev = base_events("n-id-mismatch")
    ev[find(ev, "response.output_text.delta", 2)]["item_id"] = "msg_" + "a" * 48
    return ev


@spec(
    N + "item/wrong-event-for-type",
    "A `web_search_call.searching` event aimed at the open message item.",
    errors=("item.wrong-event-for-type",),
)
def _n_wrong_event_hosted() -> Body:
    ev = base_events("n-wrong-event-hosted")
    d = ev[find(ev, "response.output_text.delta", 1)]
    ev.insert(
        find(ev, "response.output_text.delta", 2),
        {
            "type": "response.web_search_call.searching",
            "sequence_number": 0,
            "output_index": d["output_index"],
            "item_id": d["item_id"],
        },
    )
    return renumber(ev)


@spec(
    N + "item/wrong-event-for-type-arguments-delta",
    "An empty `function_call_arguments.delta` aimed at a message item (openai-python raises AssertionError).",
    errors=("item.wrong-event-for-type",),
)
def _n_wrong_event() -> Body:
    ev = base_events("n-wrong-event")
    d = ev[find(ev, "response.output_text.delta", 1)]
    ev.insert(
        find(ev, "response.output_text.delta", 2),
        {
            "type": "response.function_call_arguments.delta",
            "sequence_number": 0,
            "item_id": d["item_id"],
            "output_index": d["output_index"],
            "delta": "",
        },
    )
    return renumber(ev)


@spec(
    N + "item/status",
    'The done message has status "in_progress" (terminal output agrees).',
    errors=("item.status",),
)
def _n_status() -> Body:
    ev = base_events("n-item-status")
    ev[find(ev, "response.output_item.done")]["item"]["status"] = "in_progress"
    terminal(ev)["output"][0]["status"] = "in_progress"
    return ev


@spec(
    N + "item/status-added",
    'A function call announced with status "completed" in output_item.added.',
    errors=("item.status",),
    request=req(tools=[WEATHER_TOOL]),
)
def _n_status_added() -> Body:
    ev = weather_stream("n-item-status-added", req(tools=[WEATHER_TOOL])).events
    ev[find(ev, "response.output_item.added")]["item"]["status"] = "completed"
    return ev


@spec(
    N + "item/incomplete-not-last",
    "An incomplete message followed by a completed function call in an incomplete response.",
    errors=("item.incomplete-not-last",),
    request=req(tools=[WEATHER_TOOL], max_output_tokens=16),
)
def _n_incomplete_not_last() -> Body:
    s = Stream(
        "n-incomplete-not-last", request=req(tools=[WEATHER_TOOL], max_output_tokens=16)
    ).open()
    s.message(Text(chunks("Let me check")), status="incomplete")
    s.function_call("get_weather", ['{"city":"Paris","unit":"c"}'])
    return s.incomplete("max_output_tokens", usage_=usage(30, 16)).events


@spec(
    N + "item/interleaved",
    "Two function calls whose argument deltas interleave (both items open at once).",
    warnings=("item.interleaved",),
    request=PARALLEL_REQ,
)
def _n_interleaved() -> Body:
    ev = weather_stream(
        "n-interleaved",
        PARALLEL_REQ,
        calls=[("get_weather", '{"city":"Paris","unit":"c"}'), ("get_time", '{"city":"Paris"}')],
    ).events
    # Reorder the item events as: added0 added1 delta0 delta1 delta0 delta1 done0 done1 item-done0 item-done1.
    items = [e for e in ev if "output_index" in e]
    rest_head = [e for e in ev[:2]]
    by = {
        0: [e for e in items if e["output_index"] == 0],
        1: [e for e in items if e["output_index"] == 1],
    }
    mixed = [x for pair in zip(by[0], by[1], strict=True) for x in pair]
    return renumber([*rest_head, *mixed, ev[-1]])


@spec(
    W + "last-message-never-closed",
    "The last message streams its deltas, then response.completed: no output_text.done, content_part.done or output_item.done (the terminal output has the full message).",
    errors=("item.not-closed", "accumulation.done-missing"),
    provenance=wild(
        "vllm-project/vllm#37071", notes="Done events never sent for the last message."
    ),
)
def _w_last_never_closed() -> Body:
    s = Stream("w-last-never-closed").open()
    s.message(Text(chunks("Here is the weather.")))
    s.message(Text(chunks("It is sunny in Paris.")))
    ev = s.complete().events
    for t in (
        "response.output_item.done",
        "response.content_part.done",
        "response.output_text.done",
    ):
        del ev[find(ev, t, -1)]
    return renumber(ev)


@spec(
    W + "output-index-changes-between-delta-and-done",
    "Text deltas at output_index 0, their output_text.done at output_index 1.",
    errors=("item.unknown-index", "accumulation.done-missing"),
    provenance=wild(
        "vllm-project/vllm#23927",
        notes="output_index differs between the delta events and the done event of the same part.",
    ),
)
def _w_index_changes() -> Body:
    ev = base_events("w-index-changes")
    ev[find(ev, "response.output_text.done")]["output_index"] = 1
    return ev


@spec(
    W + "empty-item-id",
    'Every text delta carries `item_id: ""`.',
    errors=("item.id-mismatch",),
    provenance=wild("vllm-project/vllm#23927", notes="Empty item_id on delta events."),
)
def _w_empty_item_id() -> Body:
    ev = base_events("w-empty-item-id")
    for e in ev:
        if e["type"] == "response.output_text.delta":
            e["item_id"] = ""
    return ev


@spec(
    W + "output-index-starts-at-1",
    "The only item is announced (and addressed) at output_index 1.",
    errors=("item.index-not-contiguous",),
    provenance=wild(
        "sgl-project/sglang#12644",
        notes="output_index starting at 1; openai-python <= 3.3 indexes output as a list and fails.",
    ),
)
def _w_index_from_1() -> Body:
    return _set_index(base_events("w-index-from-1"), 0, 1)


@spec(
    W + "content-events-for-unannounced-item",
    "Content events and output_item.done for an item never announced by output_item.added.",
    errors=("item.unknown-index", "item.done-without-added"),
    provenance=wild("BerriAI/litellm#36375", notes="Content events for unannounced items."),
)
def _w_unannounced() -> Body:
    ev = base_events("w-unannounced")
    del ev[find(ev, "response.output_item.added")]
    return renumber(ev)


@spec(
    W + "shared-output-index",
    "A reasoning item and the message both use output_index 0: the message's events then address the closed reasoning item.",
    errors=("item.duplicate-index",),
    provenance=wild("BerriAI/litellm#36375", notes="Two items share one output_index."),
)
def _w_shared_index() -> Body:
    s = Stream("w-shared-index", model="o4-mini-2025-04-16").open()
    s.reasoning(summaries=[chunks("**Greeting**\n\nSay hello.")])
    s.message(Text(chunks(HELLO)))
    return _set_index(s.complete().events, 1, 0)


@spec(
    W + "item-id-changes-per-delta",
    "Every text delta carries a fresh item_id.",
    errors=("item.id-mismatch",),
    provenance=wild("BerriAI/litellm#36375", notes="Item ids changing per delta."),
)
def _w_id_per_delta() -> Body:
    ev = base_events("w-id-per-delta")
    for k, e in enumerate(x for x in ev if x["type"] == "response.output_text.delta"):
        e["item_id"] = f"msg_{k:048x}"
    return ev


@spec(
    W + "done-events-then-more-deltas",
    "After the first delta the server sends output_text.done, content_part.done and output_item.done, then keeps streaming deltas.",
    errors=("item.after-done",),
    provenance=wild(
        "OmniRoute#13693", notes="Done events sent after the first delta, then more deltas."
    ),
)
def _w_done_then_deltas() -> Body:
    s = Stream("w-done-then-deltas").open()
    deltas = chunks(HELLO)
    s.message(Text(deltas[:1]))
    ev = s.events
    item = ev[-1]
    for d in deltas[1:]:
        s.emit(
            "response.output_text.delta",
            item_id=item["item"]["id"],
            output_index=0,
            content_index=0,
            delta=d,
            logprobs=[],
        )
    return s.complete().events


@spec(
    W + "only-created-text-done-completed",
    "Only response.created → response.output_text.done → response.completed: no in_progress, items, parts or deltas.",
    errors=("item.unknown-index", "output.mismatch"),
    warnings=("lifecycle.in-progress-missing",),
    provenance=wild(
        "gemini-web2api#57",
        notes="A converter that emits only created, output_text.done and completed.",
    ),
)
def _w_only_done() -> Body:
    ev = base_events("w-only-done")
    keep = [
        e
        for e in ev
        if e["type"] in ("response.created", "response.output_text.done", "response.completed")
    ]
    return renumber(keep)


@spec(
    N + "item/truncated-completed",
    "max_output_tokens cuts the answer (response `incomplete`, reason max_output_tokens) but the "
    "message is marked `completed`: a client would take the truncated text as whole.",
    errors=("item.truncated-completed",),
    request=MAX16_REQ,
)
def _n_truncated_completed() -> Body:
    s = Stream("n-truncated-completed", request=MAX16_REQ).open()
    s.message(Text(chunks(LIGHTHOUSE)))
    return s.incomplete("max_output_tokens", usage_=usage(19, 16)).events


@spec(
    W + "output-index-off-by-one-between-added-and-done",
    "The message is added at output_index 0 but its output_item.done says 1.",
    errors=("item.done-without-added", "item.not-closed"),
    provenance=wild(
        GPT_OSS, notes="output_index off by one between output_item.added and output_item.done."
    ),
)
def _w_off_by_one() -> Body:
    ev = base_events("w-off-by-one", model="gpt-oss-120b")
    ev[find(ev, "response.output_item.done")]["output_index"] = 1
    return ev


@spec(
    W + "function-call-only-output-item-done",
    "A function call that appears only as output_item.done: no added, no argument events.",
    errors=("item.done-without-added",),
    request=req(model="gpt-oss-120b", tools=[WEATHER_TOOL]),
    provenance=wild(GPT_OSS, notes="Function calls sent with only output_item.done."),
)
def _w_fc_only_done() -> Body:
    ev = weather_stream("w-fc-only-done", req(model="gpt-oss-120b", tools=[WEATHER_TOOL])).events
    ev = [
        e
        for e in ev
        if e["type"]
        not in (
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
        )
    ]
    return renumber(ev)
