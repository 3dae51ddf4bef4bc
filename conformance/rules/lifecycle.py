"""lifecycle.*: created -> [queued] -> in_progress -> one terminal event, and the snapshots'
identity (id, created_at, model) and status along the way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import short
from conformance.state import (
    RESPONSE_GRAMMAR,
    TERMINAL_STATUS,
    TERMINAL_TYPES,
    expected,
    response_symbol,
)

if TYPE_CHECKING:
    from conformance.sse import SSEMessage
    from conformance.state import StreamState

SPEC = "PROTOCOL.md Order"
SDK = "openai-python"


_PRE_STATUSES = frozenset({"in_progress", "queued"})


@rule("lifecycle.created-first", "error", "first event is not response.created",
      "The first event is not `response.created` (openai-python raises RuntimeError).",
      spec=SPEC, breaks=(SDK,),
      on=("*", "@value"), fast_safe=True)
def created_first(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[str]:
    if st.n_events or st.first_value_judged:
        return
    st.first_value_judged = True  # judged once: the first value decides
    if ctx.hook == "@value":
        # Clients take any JSON object for an event, a typeless one included.
        if isinstance(ev, dict):
            yield "the first event is an object without a string `type`; expected response.created"
    elif ctx.etype != "response.created":
        yield f"the first event is {ctx.etype!r}; expected response.created"


@rule("lifecycle.in-progress-missing", "warning", "no response.in_progress",
      "No `response.in_progress` after `response.created` (`response.queued` may sit between).",
      spec=SPEC,
      on=("*", "@finish"), fast_safe=True)
def in_progress_announced(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[str]:
    if st.in_progress_missing_reported or st.saw_in_progress:
        return
    if ev is None:
        if st.saw_created:
            st.in_progress_missing_reported = True
            yield "response.created was never followed by response.in_progress"
        return
    if st.phase in ("created", "queued") and response_symbol(ctx.etype, ev) in ("output", "terminal"):
        st.in_progress_missing_reported = True
        yield f"{ctx.etype} arrived in state {st.phase!r} without response.in_progress first"


@rule("lifecycle.no-terminal", "error", "no terminal event",
      "The stream ends without `response.completed` / `response.incomplete` / `response.failed`.",
      spec=SPEC, breaks=("codex", "openai-agents", "openai-python get_final_response()"),
      on=("@sse",), fast_safe=True)
def note_done_sentinel(st: StreamState, msg: SSEMessage, ctx: CheckContext) -> None:
    # Bookkeeping only: where the first `data: [DONE]` came, and whether the terminal event
    # had arrived by then (clients stop reading at [DONE]; judged at the end).
    if msg.is_done and st.done_sentinel_at is None:
        st.done_sentinel_at = (ctx.index, st.terminal_type is not None)


@rule("lifecycle.no-terminal", on=("@finish",))
def has_terminal(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    if st.terminal_type is None:
        yield Hit(
            f"the stream ended after {st.n_events} events without response.completed, "
            "response.incomplete or response.failed"
        )
        return
    done = st.done_sentinel_at
    if done is not None and not done[1]:
        yield Hit(
            f"data: [DONE] (event {done[0]}) came before {st.terminal_type} (event {st.terminal_at}); "
            "clients stop reading at [DONE] (openai-python does), so for them the stream ends "
            "without a terminal event; expected [DONE] only after the terminal event",
            event_index=done[0],
        )


@rule("lifecycle.after-terminal", "error", "event after the terminal event",
      "Any event after the terminal event (a second terminal event included).", spec=SPEC,
      on=("*",), fast_safe=True)
def nothing_after_terminal(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    if st.phase == "terminal":
        again = " (a second terminal event)" if ctx.etype in TERMINAL_TYPES else ""
        yield (
            f"{ctx.etype} arrived after {st.terminal_type} (event {st.terminal_at}){again}; "
            f"expected {expected(RESPONSE_GRAMMAR, 'terminal')}"
        )


@rule("lifecycle.status-mismatch", "error", "status disagrees with the event",
      "The terminal event type disagrees with `response.status`; created/in_progress snapshots "
      "are not `in_progress`/`queued`.", spec=SPEC,
      on=("@lifecycle",))
def status_matches(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    resp = ev.get("response")
    if not isinstance(resp, dict) or "status" not in resp:
        return  # the schema reports a missing response/status
    status = resp.get("status")
    want = TERMINAL_STATUS.get(ctx.etype)
    if want is not None:
        if status != want:
            yield f"{ctx.etype} carries response.status {short(status)}; expected {want!r}"
    elif ctx.etype == "response.queued":
        if status != "queued":
            yield f"response.queued carries response.status {short(status)}; expected 'queued'"
    elif not isinstance(status, str) or status not in _PRE_STATUSES:  # non-str: unhashable-safe
        yield f"{ctx.etype} carries response.status {short(status)}; expected 'in_progress' or 'queued'"


def _changed(st: Any, ev: dict[str, Any], field: str, attr: str) -> Iterator[str]:
    resp = ev.get("response")
    if not isinstance(resp, dict) or not st.lifecycle_seen:
        return
    old = getattr(st, attr)
    new = resp.get(field)
    if old is not None and new is not None and new != old:
        yield f"response.{field} is {short(new)} here but was {short(old)} in the first lifecycle event"


@rule("lifecycle.response-id-changed", "error", "response.id changed",
      "`response.id` differs between lifecycle events (openai-python ≥3.54 raises).",
      spec=SPEC, breaks=("openai-python>=3.54",),
      on=("@lifecycle",))
def response_id_stable(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    # openai-python compares every lifecycle snapshot's id with the first one's, absent ids
    # included (None != "resp_…" raises): so a snapshot that lost its id counts as a change.
    resp = ev.get("response")
    new = resp.get("id") if isinstance(resp, dict) else None
    if not st.lifecycle_seen:
        st.first_response_id = new
        return
    old = st.first_response_id
    if new == old:
        return
    if old is None:
        if not st.first_id_absent_reported:  # one finding: the first event lacked it
            st.first_id_absent_reported = True
            yield f"response.id is {short(new)} here but the first lifecycle event had none"
        return
    if new is None:
        what = "absent (no response object)" if not isinstance(resp, dict) else (
            "null" if "id" in resp else "absent"
        )
        yield f"response.id is {what} here but was {short(old)} in the first lifecycle event"
        return
    yield f"response.id is {short(new)} here but was {short(old)} in the first lifecycle event"


@rule("lifecycle.created-at-changed", "warning", "created_at changed",
      "`created_at` differs between lifecycle events.", spec=SPEC,
      on=("@lifecycle",))
def created_at_stable(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    yield from _changed(st, ev, "created_at", "created_at")


@rule("lifecycle.model-changed", "warning", "model changed",
      "`model` differs between lifecycle events.", spec=SPEC,
      on=("@lifecycle",))
def model_stable(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    yield from _changed(st, ev, "model", "model")


@rule("lifecycle.incomplete-details", "error", "incomplete_details wrong",
      "`incomplete` without `incomplete_details.reason`, or `completed` with non-null "
      "`incomplete_details`.", spec="PROTOCOL.md Catalogue",
      on=("@response",))
def incomplete_details(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    status = resp.get("status")
    details = resp.get("incomplete_details")
    if status == "incomplete" or ctx.etype == "response.incomplete":
        reason = details.get("reason") if isinstance(details, dict) else None
        if not reason:
            yield f"status 'incomplete' but incomplete_details is {short(details)}; expected a reason"
    elif status == "completed" and details is not None:
        yield f"status 'completed' with incomplete_details {short(details)}; expected null"


@rule("lifecycle.failed-error", "error", "failed without error",
      "`response.failed` whose `response.error` is null.", spec="PROTOCOL.md Catalogue",
      on=("@response",))
def failed_has_error(st: StreamState, resp: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    if (resp.get("status") == "failed" or ctx.etype == "response.failed") and resp.get("error") is None:
        yield "a failed response with error null; expected {code, message}"


@rule("lifecycle.error-without-failed", "warning", "error not followed by response.failed",
      "An `error` event not followed by `response.failed` (error under `openresponses`). When "
      "the error is nested under `error`, openai-python raises APIError on it, so the rest of "
      "the stream never reaches the application.",
      spec="Open Responses: an error while streaming MUST be followed by response.failed",
      breaks=("openai-python (nested error: APIError)",),
      on=("error",))
def note_error_form(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> None:
    # Bookkeeping only: an `error` event whose data has a truthy top-level `error` (the nested
    # form) makes openai-python raise APIError on the spot.
    if ev.get("error"):
        st.raising_errors.add(ctx.index)


@rule("lifecycle.error-without-failed", on=("@terminal", "@finish"))
def error_then_failed(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    at = st.pending_error_at
    if at is None or (ev is not None and ctx.etype == "response.failed"):
        return
    if ev is None and st.terminal_type is not None:
        return  # judged at the terminal event
    then = f"the stream ended with {ctx.etype}" if ev is not None else "the stream ended"
    if at in st.raising_errors:
        yield Hit(
            f"an error event nested under `error` (event {at}) was not followed by response.failed: "
            f"{then}; openai-python raises APIError at the error event, so the application never "
            "sees the rest of the stream",
            event_index=at,
        )
        return
    yield Hit(f"an error event (event {at}) was not followed by response.failed: {then}", event_index=at)


@rule("lifecycle.out-of-order", "warning", "lifecycle event out of order",
      "A lifecycle event the response grammar does not allow where it arrives (a second "
      "`response.created`, `response.queued` after `response.in_progress`, …); the first-event, "
      "missing in_progress and after-terminal cases have their own rules.", spec=SPEC,
      on=("response.created", "response.queued", "response.in_progress"))
def lifecycle_in_order(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    phase = st.phase
    if phase in ("start", "terminal") or ctx.etype in RESPONSE_GRAMMAR[phase]:
        return  # created-first / after-terminal judge those
    allowed = [_SYMBOL_WORDS.get(sym, sym) for sym in RESPONSE_GRAMMAR[phase]]
    yield f"{ctx.etype} arrived in state {phase!r}; expected {', '.join(allowed)}"


# RESPONSE_GRAMMAR's input symbols, for people.
_SYMBOL_WORDS = {
    "output": "output item events",
    "error": "an error event",
    "terminal": "a terminal event",
    "other": "other (vendor) events",
}


@rule("lifecycle.completed-at", "error", "completed_at wrong for the status",
      "`completed_at` (when present) is a timestamp not before `created_at` exactly when "
      "`status` is `completed`, and null otherwise (the live API).",
      spec="PROTOCOL.md Live Response shape, 2026",
      on=("@lifecycle", "@response"))
def completed_at_matches_status(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[str]:
    # Older recordings carry no completed_at at all: only a present field is judged (the
    # openresponses profile requires it through schema.response). A lifecycle event is judged
    # by the status it announces (a wrong `status` field is lifecycle.status-mismatch's).
    if ctx.hook == "@response":
        if not ctx.is_body:
            return  # the terminal snapshot was judged as a lifecycle event
        resp, status = ev, ev.get("status") if isinstance(ev, dict) else None
    else:
        resp = ev.get("response") if isinstance(ev, dict) else None
        status = TERMINAL_STATUS.get(ctx.etype, "in_progress")
    if not isinstance(resp, dict) or "completed_at" not in resp:
        return
    at = resp.get("completed_at")
    if status == "completed":
        if not isinstance(at, (int, float)) or isinstance(at, bool):
            yield f"status 'completed' but completed_at is {short(at)}; expected the completion timestamp"
            return
        created = resp.get("created_at")
        if isinstance(created, (int, float)) and not isinstance(created, bool) and at < created:
            yield f"completed_at {at} is before created_at {created}"
    elif at is not None:
        yield f"status {short(status)} but completed_at is {short(at)}; expected null until the response completes"
