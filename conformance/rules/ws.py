"""ws.*: a Responses WebSocket as a whole (conformance.transcript feeds these; each response on
the socket is also checked by every per-response rule).

Checks subscribe to "@ws" (every transcript record, before it applies; `event` is the
`transcript.Record`) or "@ws-finish" (end of transcript; `event` is None). `state` is the
`transcript.TranscriptState`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance import contracts
from conformance.registry import rule
from conformance.transcript import STEER_EVENTS, is_socket_error

if TYPE_CHECKING:
    from conformance.transcript import Record, TranscriptState, WSContext

SPEC = "openai-python responses.connect(); Open Responses WebSocket transport"


@rule("ws.record", "error", "unreadable transcript record",
      "A transcript line is not a record (`dir` client/server/close with `text` or `data`), or its "
      "message is not a JSON object with a string `type`.", spec="docs/websocket.md",
      on=["@ws"])
def record_readable(state: TranscriptState, rec: Record, ctx: WSContext) -> Iterator[str]:
    if rec.error is not None:
        yield rec.error
    elif rec.dir != "close" and rec.type is None:
        yield "the message is not a JSON object with a string 'type'"


@rule("ws.after-close", "error", "message after close",
      "A message is recorded after the socket's close.", spec="RFC 6455 §5.5.1",
      on=["@ws"])
def nothing_after_close(state: TranscriptState, rec: Record, ctx: WSContext) -> Iterator[str]:
    if state.closed:
        yield f"a {rec.dir} record after the socket closed"


@rule("ws.one-at-a-time", "error", "two responses at once on one socket",
      "A `response.created` arrives while another response on the same socket has not ended: a "
      "socket runs one response at a time.", spec=SPEC,
      on=["@ws"])
def one_response_at_a_time(state: TranscriptState, rec: Record, ctx: WSContext) -> Iterator[str]:
    if state.closed:
        return  # after the close only ws.after-close speaks
    if rec.dir == "server" and rec.type == "response.created" and state.running is not None:
        yield f"response.created while response {state.running} is still running"


@rule("ws.create-answered", "error", "response.create not answered exactly once",
      "Every `response.create` is answered by exactly one response (created … terminal event) or "
      "one `error`; a response nobody asked for (no create, no accepted steering) is an error too.",
      spec=SPEC,
      on=["@ws"])
def created_was_asked_for(state: TranscriptState, rec: Record, ctx: WSContext) -> Iterator[str]:
    if state.closed:
        return  # after the close only ws.after-close speaks
    # (An `error` outside a response with no create waiting answers a bad message: fine.)
    if rec.dir != "server" or rec.type != "response.created" or state.creates > state.answers:
        return
    response = rec.message.get("response") if isinstance(rec.message.get("response"), dict) else {}
    parent = response.get("previous_response_id")
    if parent is None or parent not in state.accepted.values():
        yield "response.created without a response.create (or accepted steering) waiting for it"


@rule("ws.create-answered", on=["@ws-finish"])
def every_create_answered(state: TranscriptState, rec: Any, ctx: WSContext) -> Iterator[str]:
    left = state.closed_by == "client"  # what the client had not received yet is not owed any more
    if state.running is not None and not left:
        yield f"response {state.running} never reached a terminal event"
    missing = state.creates - state.answers - (state.in_flight if left else 0)
    if missing > 0:
        yield f"{missing} response.create message(s) got neither a response nor an error"


@rule("ws.steer-while-running", "error", "steering accepted for a response that is not running",
      "`response.steer.accepted` names a response that has already ended (or never started) on "
      "this socket.", spec=SPEC,
      on=["@ws"])
def steer_only_while_running(state: TranscriptState, rec: Record, ctx: WSContext) -> Iterator[str]:
    if state.closed:
        return  # after the close only ws.after-close speaks
    if rec.dir == "server" and rec.type == "response.steer.accepted":
        steer = rec.message.get("steer") or {}
        target = steer.get("previous_response_id") if isinstance(steer, dict) else None
        if target != state.running:
            yield f"steering accepted for {target!r}, which is not the running response"


@rule("ws.steer-answered", "error", "response.steer not answered exactly once",
      "Every `response.steer` is answered by one `response.steer.accepted` or `.failed`; accepted "
      "input ends as the successor's `response.created`, a `.pending`, or one `.failed` with its id.",
      spec=SPEC,
      on=["@ws"])
def steer_answer_has_a_steer(state: TranscriptState, rec: Record, ctx: WSContext) -> Iterator[str]:
    if state.closed:
        return  # after the close only ws.after-close speaks
    if rec.dir != "server" or rec.type not in ("response.steer.accepted", "response.steer.failed",
                                               "response.steer.pending"):
        return
    steer = rec.message.get("steer") if isinstance(rec.message.get("steer"), dict) else {}
    sid = steer.get("id")
    if rec.type == "response.steer.pending" or (rec.type == "response.steer.failed" and sid in state.accepted):
        if sid not in state.accepted:
            yield f"{rec.type} for steering {sid!r}, which was not accepted (or is already settled)"
        return
    if rec.type == "response.steer.accepted" and sid in state.accepted:
        yield f"steering {sid!r} accepted twice"
    elif state.steer_answers >= state.steers:
        yield f"{rec.type} without a response.steer waiting for an answer"


@rule("ws.steer-answered", on=["@ws-finish"])
def every_steer_answered(state: TranscriptState, rec: Any, ctx: WSContext) -> Iterator[str]:
    left = state.closed_by == "client"
    missing = state.steers - state.steer_answers - (state.in_flight if left else 0)
    if missing > 0:
        yield f"{missing} response.steer message(s) got no answer"
    for sid, target in state.accepted.items():
        if left and target == state.running:
            continue
        yield f"accepted steering {sid} for {target} was never committed, pending or failed"


@rule("ws.event-schema", "error", "a WebSocket-only message does not match its contract",
      "A steering notice (`response.steer.accepted` / `.pending` / `.failed`) or an `error` about "
      "the socket or a client message does not validate against its schema in `schemas/ws/` (the "
      "shapes of openai-python's `ResponsesServerEvent`); the response's own events are judged by "
      "the schema.* rules.", spec=SPEC,
      on=["@ws"])
def websocket_message_fits(state: TranscriptState, rec: Record, ctx: WSContext) -> Iterator[str]:
    if state.closed or rec.dir != "server" or not isinstance(rec.message, dict):
        return
    if rec.type in STEER_EVENTS:
        name = "ws/" + rec.type
    elif is_socket_error(rec.message):
        name = "ws/error"
    else:
        return
    for issue in contracts.validate(name, rec.message):
        yield f"{rec.type} {issue}"


@rule("ws.sequence", "error", "sequence numbers are not per response",
      "Each response's events (its steering notices included) are numbered 0, 1, 2, … in the "
      "order they are sent, independently of other responses on the socket.", spec=SPEC,
      on=["@ws"])
def numbered_per_response(state: TranscriptState, rec: Record, ctx: WSContext) -> Iterator[str]:
    if state.closed:
        return  # after the close only ws.after-close speaks
    if rec.dir != "server" or not isinstance(rec.message, dict):
        return
    seq = rec.message.get("sequence_number")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return
    if rec.type == "response.created":
        rid = (rec.message.get("response") or {}).get("id")
        if seq != 0:
            yield f"response {rid} starts at sequence_number {seq}, not 0"
        return
    if rec.type and rec.type.startswith("response.steer."):
        steer = rec.message.get("steer") or {}
        rid = steer.get("previous_response_id") if isinstance(steer, dict) else None
    else:
        from conformance.transcript import response_of

        rid = response_of(state, rec.message)
    expected = state.next_seq.get(rid) if isinstance(rid, str) else None
    if expected is not None and seq != expected:
        yield f"sequence_number {seq} in response {rid}, expected {expected}"
