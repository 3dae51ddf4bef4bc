"""Fixture specs of the `framing.*` rules (SSE bytes, content type, [DONE])."""

from __future__ import annotations

from conformance.testing.streams import Event, dumps, to_sse
from conformance.testing.streams import index_of as find
from scripts.fixture_specs.common import Body, N, base_events, spec, text_stream

_BOM = "\ufeff".encode()


def _frame(
    events: list[Event], replace: dict[int, str] | None = None, insert: dict[int, str] | None = None
) -> bytes:
    """SSE for `events`, with raw replacement/inserted message text at given event indexes."""
    out = []
    for i, ev in enumerate(events):
        if insert and i in insert:
            out.append(insert[i].encode())
        out.append(replace[i].encode() if replace and i in replace else to_sse([ev]))
    return b"".join(out)


@spec(
    N + "framing/content-type",
    "A correct stream served as application/json.",
    errors=("framing.content-type",),
    content_type="application/json",
)
def _n_ctype() -> Body:
    return base_events("n-ctype")


@spec(
    N + "framing/invalid-json",
    "A keep-alive sent as a Python dict repr (single quotes) between two deltas.",
    errors=("framing.invalid-json",),
)
def _n_invalid_json() -> Body:
    ev = base_events("n-invalid-json")
    return _frame(ev, insert={6: "data: {'type': 'keepalive'}\n\n"})


@spec(
    N + "framing/not-an-event",
    "A heartbeat JSON object without `type` between two deltas.",
    errors=("framing.not-an-event",),
)
def _n_not_event() -> Body:
    ev = base_events("n-not-event")
    return _frame(ev, insert={6: 'data: {"heartbeat":true}\n\n'})


@spec(
    N + "framing/event-name-mismatch",
    "`response.output_text.done` sent under `event: response.output_text.delta`.",
    errors=("framing.event-name-mismatch",),
)
def _n_name_mismatch() -> Body:
    ev = base_events("n-name")
    i = find(ev, "response.output_text.done")
    return _frame(ev, replace={i: f"event: response.output_text.delta\ndata: {dumps(ev[i])}\n\n"})


@spec(
    N + "framing/unterminated",
    "The final `response.completed` is not followed by a blank line (the connection closed right after it).",
    warnings=("framing.unterminated",),
)
def _n_unterminated() -> Body:
    return to_sse(base_events("n-unterminated"))[:-1]


@spec(
    N + "framing/id-field",
    "Every event carries an `id:` field (reported as info).",
    infos=("framing.id-field",),
)
def _n_id() -> Body:
    ev = base_events("n-id")
    return b"".join(f"id: {i}\n".encode() + to_sse([e]) for i, e in enumerate(ev))


@spec(
    N + "framing/empty-event",
    "An `event: ping` keep-alive block without `data:` between two deltas: WHATWG dispatches nothing, "
    "openai-python 3.54 dispatches an event with empty data and raises JSONDecodeError.",
    errors=("framing.empty-event",),
)
def _n_empty_event() -> Body:
    ev = base_events("n-empty-event")
    return _frame(ev, insert={6: "event: ping\n\n"})


@spec(
    N + "framing/empty-event-after-id",
    "Every event carries an `id:` and a `: ping` comment block follows each: once an id was "
    "seen, openai-python 3.54 dispatches every blank line (it never resets the last event id).",
    errors=("framing.empty-event",),
    infos=("framing.id-field",),
)
def _n_empty_event_id() -> Body:
    ev = base_events("n-empty-event-id")
    return b"".join(f"id: {i}\n".encode() + to_sse([e]) + b": ping\n\n" for i, e in enumerate(ev))


@spec(
    N + "framing/bom",
    "A leading UTF-8 BOM and no `event:` lines: openai-python 3.54 does not strip the BOM, reads the "
    "first line as the field `\\ufeffdata` and loses response.created.",
    warnings=("framing.bom",),
)
def _n_bom() -> Body:
    return _BOM + to_sse(base_events("n-bom"), event_field=False)


@spec(
    N + "framing/invalid-utf8",
    "The text is encoded as Latin-1, not UTF-8: `é` and `î` are single bytes (0xE9, 0xEE) in the "
    "deltas, the done events and the snapshot. openai-python 3.54 raises UnicodeDecodeError.",
    errors=("framing.invalid-utf8",),
)
def _n_invalid_utf8() -> Body:
    raw = to_sse(text_stream("n-invalid-utf8", "Un café, s'il vous plaît.").events)
    return raw.replace("é".encode(), b"\xe9").replace("î".encode(), b"\xee")


@spec(
    N + "framing/done-sentinel-missing-openresponses",
    "Profile openresponses requires the terminal `data: [DONE]`; this stream has none.",
    errors=("framing.done-sentinel",),
    profile="openresponses",
)
def _n_done_missing() -> Body:
    return base_events("n-done-missing", full_shape=True)
