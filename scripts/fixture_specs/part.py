"""Fixture specs of the `part.*` rules (content and summary parts, annotations)."""

from __future__ import annotations

import json

from conformance.testing.streams import Refusal, Stream, Text, chunks, dumps
from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import Body, N, W, base_events, renumber, spec, wild


@spec(
    N + "part/not-added",
    "Text deltas and done with no `content_part.added` before them.",
    errors=("part.not-added",),
)
def _n_part_not_added() -> Body:
    ev = base_events("n-part-not-added")
    del ev[find(ev, "response.content_part.added")]
    return renumber(ev)


@spec(
    N + "part/index-not-contiguous",
    "The message's second text part uses content_index 2 (1 is skipped) everywhere.",
    errors=("part.index-not-contiguous",),
)
def _n_part_gap() -> Body:
    s = Stream("n-part-gap").open()
    s.message(Text(chunks("First part.")), Text(chunks("Second part.")))
    ev = s.complete().events
    for e in ev:
        if e.get("content_index") == 1:
            e["content_index"] = 2
    return ev


@spec(
    N + "part/not-closed",
    "No `content_part.done` before the message's output_item.done.",
    errors=("part.not-closed",),
)
def _n_part_not_closed() -> Body:
    ev = base_events("n-part-not-closed")
    del ev[find(ev, "response.content_part.done")]
    return renumber(ev)


@spec(
    N + "part/after-done",
    "An empty text delta after the part's `content_part.done`.",
    errors=("part.after-done",),
)
def _n_part_after_done() -> Body:
    ev = base_events("n-part-after-done")
    d = json.loads(dumps(ev[find(ev, "response.output_text.delta")]))
    d["delta"] = ""
    ev.insert(find(ev, "response.content_part.done") + 1, d)
    return renumber(ev)


@spec(
    N + "part/type-mismatch",
    "`refusal.delta`/`refusal.done` into a part announced as output_text.",
    errors=("part.type-mismatch",),
)
def _n_part_type() -> Body:
    s = Stream("n-part-type").open()
    s.message(Refusal(chunks("I can't help with that.")))
    ev = s.complete().events
    ev[find(ev, "response.content_part.added")]["part"] = {
        "type": "output_text",
        "annotations": [],
        "logprobs": [],
        "text": "",
    }
    return ev


@spec(
    W + "content-part-added-never-sent",
    "Text deltas/done and content_part.done, but no content_part.added (IndexError in openai-python).",
    errors=("part.not-added",),
    provenance=wild(
        "BerriAI/litellm#24445", "hermes gateway", notes="content_part.added never sent."
    ),
)
def _w_part_added_never() -> Body:
    ev = base_events("w-part-added-never")
    del ev[find(ev, "response.content_part.added")]
    return renumber(ev)
