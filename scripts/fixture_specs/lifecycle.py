"""Fixture specs of the `lifecycle.*` rules (created first, one terminal, snapshots agree)."""

from __future__ import annotations

import json

from conformance.testing.streams import (
    Stream,
    Text,
    chunks,
    dumps,
    snapshots,
    terminal,
    to_sse,
    usage,
)
from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import (
    GPT_OSS,
    HELLO,
    LIGHTHOUSE,
    MAX16_REQ,
    Body,
    N,
    W,
    base_events,
    renumber,
    spec,
    text_stream,
    wild,
)


@spec(
    N + "lifecycle/created-first",
    "No `response.created`: the stream opens with `response.in_progress`.",
    errors=("lifecycle.created-first",),
)
def _n_created_first() -> Body:
    ev = base_events("n-created-first")
    del ev[0]
    return renumber(ev)


@spec(
    N + "lifecycle/in-progress-missing",
    "No `response.in_progress` after `response.created`.",
    warnings=("lifecycle.in-progress-missing",),
)
def _n_in_progress_missing() -> Body:
    ev = base_events("n-ip-missing")
    del ev[1]
    return renumber(ev)


@spec(
    N + "lifecycle/no-terminal",
    "The stream ends after the last output_item.done: no completed/incomplete/failed.",
    errors=("lifecycle.no-terminal",),
)
def _n_no_terminal() -> Body:
    return base_events("n-no-terminal")[:-1]


@spec(
    N + "lifecycle/after-terminal",
    "`response.completed` is sent twice.",
    errors=("lifecycle.after-terminal",),
)
def _n_after_terminal() -> Body:
    ev = base_events("n-after-terminal")
    ev.append(json.loads(dumps(ev[-1])))
    return renumber(ev)


@spec(
    N + "lifecycle/status-mismatch",
    '`response.completed` whose response.status is still "in_progress".',
    errors=("lifecycle.status-mismatch",),
)
def _n_status_mismatch() -> Body:
    ev = base_events("n-status")
    terminal(ev)["status"] = "in_progress"
    return ev


@spec(
    N + "lifecycle/status-mismatch-created",
    '`response.created` snapshot with status "completed".',
    errors=("lifecycle.status-mismatch",),
)
def _n_status_created() -> Body:
    ev = base_events("n-status-created")
    ev[0]["response"]["status"] = "completed"
    return ev


@spec(
    N + "lifecycle/response-id-changed",
    "`response.in_progress` carries a different response id than created/completed.",
    errors=("lifecycle.response-id-changed",),
)
def _n_id_changed() -> Body:
    ev = base_events("n-id-changed")
    ev[1]["response"]["id"] = "resp_" + "0" * 48
    return ev


@spec(
    N + "lifecycle/out-of-order",
    "`response.created` is sent a second time after `response.in_progress`.",
    warnings=("lifecycle.out-of-order",),
)
def _n_out_of_order() -> Body:
    ev = base_events("n-out-of-order")
    ev.insert(2, json.loads(dumps(ev[0])))
    return renumber(ev)


@spec(
    N + "lifecycle/created-at-changed",
    "`created_at` on the terminal snapshot differs from the created one.",
    warnings=("lifecycle.created-at-changed",),
)
def _n_created_at() -> Body:
    ev = base_events("n-created-at")
    terminal(ev)["created_at"] += 3
    return ev


@spec(
    N + "lifecycle/model-changed",
    "The terminal snapshot names another model than created/in_progress.",
    warnings=("lifecycle.model-changed",),
)
def _n_model_changed() -> Body:
    ev = base_events("n-model")
    terminal(ev)["model"] = "gpt-4o-2024-08-06"
    return ev


@spec(
    N + "lifecycle/incomplete-details",
    "`response.incomplete` with `incomplete_details: null`.",
    errors=("lifecycle.incomplete-details",),
)
def _n_incomplete_details() -> Body:
    s = Stream("n-incomplete-details").open()
    s.message(Text(chunks("The lighthouse stood on a black rock")), status="incomplete")
    ev = s.incomplete().events
    terminal(ev)["incomplete_details"] = None
    return ev


@spec(
    N + "lifecycle/incomplete-details-on-completed",
    "`response.completed` with a non-null `incomplete_details`.",
    errors=("lifecycle.incomplete-details",),
)
def _n_incomplete_details_completed() -> Body:
    ev = base_events("n-incomplete-details-c")
    terminal(ev)["incomplete_details"] = {"reason": "max_output_tokens"}
    return ev


@spec(
    N + "lifecycle/failed-error",
    "`response.failed` whose response.error is null (no error event either).",
    errors=("lifecycle.failed-error",),
)
def _n_failed_error() -> Body:
    ev = Stream("n-failed-error").open().fail().events
    del ev[2]
    terminal(ev)["error"] = None
    return renumber(ev)


@spec(
    N + "lifecycle/error-without-failed",
    "An `error` event followed by `response.completed` instead of `response.failed`.",
    warnings=("lifecycle.error-without-failed",),
)
def _n_error_without_failed() -> Body:
    s = Stream("n-error-wo-failed").open()
    s.message(Text(chunks(HELLO)))
    s.emit(
        "error",
        error={
            "type": "server_error",
            "code": "server_error",
            "message": "Upstream hiccup.",
            "param": None,
        },
    )
    return s.complete().events


@spec(
    N + "lifecycle/error-without-failed-openresponses",
    "Same defect under profile openresponses, where it is an error (flat error event as that spec nests it).",
    errors=("lifecycle.error-without-failed",),
    profile="openresponses",
)
def _n_error_without_failed_or() -> Body:
    s = Stream("n-error-wo-failed-or", full_shape=True).open()
    s.message(Text(chunks(HELLO)))
    s.emit(
        "error",
        error={
            "type": "server_error",
            "code": "server_error",
            "message": "Upstream hiccup.",
            "param": None,
        },
    )
    return to_sse(s.complete().events, done=True)


@spec(
    W + "stream-closes-without-terminal",
    "The connection closes mid-message: no done events, no terminal event.",
    errors=("lifecycle.no-terminal",),
    provenance=wild(
        "moeru-ai/airi#2593",
        notes="Seen from OpenRouter: the stream closes without response.completed; Codex fails with 'stream closed before response.completed'.",
    ),
)
def _w_no_terminal() -> Body:
    ev = base_events("w-no-terminal")
    return ev[: find(ev, "response.output_text.delta", 4)]


@spec(
    W + "vendor-event-before-created",
    "A vendor-prefixed rate-limit event precedes response.created.",
    errors=("lifecycle.created-first",),
    provenance=wild(
        "codex-lb#473",
        notes="A vendor event before response.created; openai-python raises when the first event is not response.created.",
    ),
)
def _w_vendor_first() -> Body:
    ev = base_events("w-vendor-first")
    ev.insert(
        0,
        {
            "type": "codex.rate_limits",
            "sequence_number": 0,
            "rate_limits": {"primary": {"used_percent": 12.0, "window_minutes": 300}},
        },
    )
    return renumber(ev)


@spec(
    N + "lifecycle/completed-at-null",
    "A completed response whose `completed_at` is null (the live API sets it exactly when the "
    "status is completed).",
    errors=("lifecycle.completed-at",),
)
def _n_completed_at() -> Body:
    events = text_stream("n-completed-at", full_shape=True).events
    events[-1]["response"]["completed_at"] = None
    return events


@spec(
    N + "lifecycle/completed-at-on-incomplete",
    "An incomplete response (max_output_tokens) whose terminal snapshot carries a `completed_at` "
    "timestamp (the live API leaves it null unless the status is completed).",
    errors=("lifecycle.completed-at",),
    request=MAX16_REQ,
)
def _n_completed_at_on_incomplete() -> Body:
    s = Stream("n-completed-at-incomplete", request=MAX16_REQ, full_shape=True).open()
    s.message(Text(chunks(LIGHTHOUSE)), status="incomplete")
    events = s.incomplete("max_output_tokens", usage_=usage(19, 16)).events
    events[-1]["response"]["completed_at"] = s.created_at + 2
    return events


@spec(
    N + "lifecycle/completed-at-in-progress",
    "The response.in_progress snapshot already carries a `completed_at` timestamp (null until "
    "the response completes); the terminal snapshot is right.",
    errors=("lifecycle.completed-at",),
)
def _n_completed_at_in_progress() -> Body:
    events = text_stream("n-completed-at-in-progress", full_shape=True).events
    events[1]["response"]["completed_at"] = events[1]["response"]["created_at"] + 1
    return events


@spec(
    W + "created-at-changing",
    "created_at increases with every lifecycle snapshot.",
    warnings=("lifecycle.created-at-changed",),
    provenance=wild(GPT_OSS, notes="created_at recomputed for each snapshot."),
)
def _w_created_at_changing() -> Body:
    ev = base_events("w-created-at-changing", model="gpt-oss-120b")
    for k, snap in enumerate(snapshots(ev)):
        snap["created_at"] += k
    return ev
