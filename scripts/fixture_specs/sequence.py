"""Fixture specs of the `sequence.*` rules (sequence_number present, strictly increasing, from 0)."""

from __future__ import annotations

from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import Body, N, W, base_events, renumber, spec, wild


@spec(
    N + "sequence/missing",
    "One delta has no `sequence_number` (the others stay consecutive).",
    errors=("sequence.missing",),
)
def _n_seq_missing() -> Body:
    ev = base_events("n-seq-missing")
    del ev[find(ev, "response.output_text.delta", 1)]["sequence_number"]
    return renumber(ev)


@spec(
    N + "sequence/not-increasing",
    "Two consecutive events carry the same sequence_number.",
    errors=("sequence.not-increasing",),
)
def _n_seq_dup() -> Body:
    ev = base_events("n-seq-dup")
    i = find(ev, "response.output_text.delta", 3)
    renumber(ev[i:], start=ev[i - 1]["sequence_number"])
    return ev


@spec(
    N + "sequence/gap",
    "sequence_number skips one value after the second delta.",
    warnings=("sequence.gap",),
)
def _n_seq_gap() -> Body:
    ev = base_events("n-seq-gap")
    i = find(ev, "response.output_text.delta", 2)
    renumber(ev[i:], start=ev[i]["sequence_number"] + 1)
    return ev


@spec(N + "sequence/start", "sequence_number starts at 1.", warnings=("sequence.start",))
def _n_seq_start() -> Body:
    return renumber(base_events("n-seq-start"), start=1)


@spec(
    W + "sequence-number-restarts-per-item",
    "sequence_number restarts at 0 for the message's events (per-item counters).",
    errors=("sequence.not-increasing",),
    provenance=wild(
        "ggml-org/llama.cpp#24957", "BerriAI/litellm#28899", notes="Non-monotonic sequence_number."
    ),
)
def _w_seq_restart() -> Body:
    ev = base_events("w-seq-restart")
    renumber(ev[2:-1], start=0)
    ev[-1]["sequence_number"] = ev[-2]["sequence_number"] + 1
    return ev


@spec(
    N + "sequence/absent-everywhere",
    "No event carries a sequence_number and no tolerance is named: every current server must "
    "send them (openai-python's event types require them).",
    errors=("sequence.missing",),
)
def _n_no_seq() -> Body:
    events = base_events("n-no-seq")
    for ev in events:
        del ev["sequence_number"]
    return events
