"""framing.*: the SSE layer (WHATWG server-sent events) around the JSON events.

These checks see the raw `SSEMessage` (hook "@sse"), the decoded value ("@value") or the
Content-Type header ("@content-type"); `feed()` of an already decoded event skips "@sse".
Checks on "@sse-anomaly" get the parser's `SSEAnomaly` records instead of messages: valid (or
repairable) SSE that openai-python 3.54's own decoder reads differently.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import short

if TYPE_CHECKING:
    from conformance.sse import SSEAnomaly, SSEMessage
    from conformance.state import StreamState

SSE_SPEC = "WHATWG HTML §9.2 server-sent events"


def media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


@rule("framing.content-type", "error", "Content-Type is not text/event-stream",
      "The streaming response's Content-Type header is not `text/event-stream`.", spec=SSE_SPEC,
      on=("@content-type",))
def content_type_is_event_stream(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[str]:
    value = ctx.content_type
    if value is None:
        yield "the streaming response has no Content-Type header; expected text/event-stream"
    elif media_type(value) != "text/event-stream":
        yield f"Content-Type is {value!r}; expected text/event-stream"


@rule("framing.invalid-json", "error", "event data is not valid JSON",
      "An event's `data:` payload does not parse as JSON (openai-python raises JSONDecodeError "
      "and stops reading).", spec="PROTOCOL.md Catalogue",
      breaks=("openai-python (JSONDecodeError)",),
      on=("@sse",), fast_safe=True)
def data_is_json(st: StreamState, msg: SSEMessage, ctx: CheckContext) -> Iterator[str]:
    if ctx.decode_error is not None and not msg.is_done:
        yield f"data is not valid JSON ({ctx.decode_error}): {short(msg.data, 80)}"


@rule("framing.not-an-event", "error", "data is not an event object",
      "The data JSON is not an object with a string `type` (openai-python raises AttributeError "
      "on data that is not an object; it skips an object without `type`).", spec="PROTOCOL.md Catalogue",
      on=("@value",))
def value_is_event(st: StreamState, value: Any, ctx: CheckContext) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"data is a JSON {type(value).__name__} {short(value)}, not an event object"
    elif "type" not in value:
        yield f"the event object has no `type` (keys: {short(sorted(value))})"
    elif not isinstance(value["type"], str):
        yield f"`type` is {short(value['type'])}, not a string"


@rule("framing.event-name-mismatch", "error", "SSE event: differs from type",
      "The SSE `event:` field differs from the data's `type`.", spec="Open Responses: event MUST equal type",
      on=("@sse",), fast_safe=True)
def event_field_matches_type(st: StreamState, msg: SSEMessage, ctx: CheckContext) -> Iterator[str]:
    decoded = ctx.decoded
    if not isinstance(decoded, dict) or not isinstance(decoded.get("type"), str):
        return
    if msg.event is None:
        if ctx.profile.require_event_field:
            yield f"no `event:` field; expected `event: {decoded['type']}`"
    elif msg.event != decoded["type"]:
        yield f"`event: {msg.event}` but the data's type is {decoded['type']!r}"


@rule("framing.unterminated", "warning", "last event not terminated",
      "The stream's last event is not terminated by a blank line (clients discard it: openai-python "
      "drops it, so a last `response.completed` is lost and get_final_response() raises).",
      spec=SSE_SPEC, breaks=("openai-python (drops the event)",),
      on=("@sse",), fast_safe=True)
def message_terminated(st: StreamState, msg: SSEMessage, ctx: CheckContext) -> Iterator[str]:
    if not msg.terminated:
        yield "the stream ended inside this event: no blank line after its last field (clients drop it)"


@rule("framing.id-field", "info", "id: field used",
      "An SSE `id:` field is used (Open Responses: SHOULD NOT).", spec="Open Responses",
      on=("@sse",), fast_safe=True)
def no_id_field(st: StreamState, msg: SSEMessage, ctx: CheckContext) -> Iterator[str]:
    if msg.id is not None and not st.id_field_reported:
        st.id_field_reported = True
        yield f"an `id:` field is used (id: {short(msg.id)}); reported once per stream"


@rule("framing.done-sentinel", "info", "[DONE] sentinel",
      "A `data: [DONE]` sentinel is present (the official API sends none); under profile "
      "`openresponses` its absence is an error.", spec="Open Responses: terminal [DONE]",
      on=("@sse", "@finish"), fast_safe=True)
def done_sentinel(st: StreamState, msg: Any, ctx: CheckContext) -> Iterator[str]:
    required = ctx.profile.require_done_sentinel
    if msg is None:  # end of stream
        if required and not st.saw_done_sentinel and ctx.saw_sse:
            yield "the stream ends without the `data: [DONE]` sentinel this profile requires"
        return
    if msg.is_done and not required and not st.done_sentinel_reported:
        st.done_sentinel_reported = True
        yield "a `data: [DONE]` sentinel is present (the official API sends none; clients accept it)"


# -- parser anomalies (conformance.sse.SSEAnomaly) -----------------------------------------------
def _where(a: SSEAnomaly) -> str:
    if a.in_message:
        return f"in event {a.index}"
    return "before the first event" if a.index == 0 else f"after event {a.index - 1}"


# An error although the stream is valid SSE: RULES.md makes "something a real client crashes on"
# an error, and openai-python always raises here.
@rule("framing.empty-event", "error", "openai-python dispatches a block without data",
      "A blank line on which openai-python 3.54 dispatches an event with empty data while WHATWG "
      "dispatches nothing (valid SSE): a block without `data:` that has a non-empty `event:` (a "
      "`event: ping` keep-alive) or a `retry:` field, or, once a non-empty `id:` was seen, any "
      "blank line: an extra one, a comment-only block (openai-python never resets the last event "
      "id). `json.loads('')` then raises JSONDecodeError and the rest of the stream is lost.",
      spec=SSE_SPEC, breaks=("openai-python (JSONDecodeError on the empty data)",),
      on="@sse-anomaly", fast_safe=True)
def no_dataless_dispatch(st: StreamState, a: SSEAnomaly, ctx: CheckContext) -> Iterator[Hit]:
    if a.kind != "empty-event":
        return
    last_id = a.detail[3:] if a.detail.startswith("id:") else None
    if not a.text:
        yield Hit(
            f"an extra blank line at byte {a.offset}, {_where(a)}, once an `id:` field was seen (last id "
            f"{short(last_id)}): WHATWG dispatches nothing, but openai-python 3.54 never resets the last "
            "event id, so it dispatches an event with empty data here and raises JSONDecodeError (the rest "
            "of the stream is lost)"
        )
        return
    why = {
        "event": "because of its `event:` field",
        "retry": "because of its `retry:` field",
    }.get(a.detail, f"because an `id:` field was seen before (last id {short(last_id)}) and it never "
                    "resets the last event id")
    yield Hit(
        f"a block without `data:` ({short(a.text)}) at byte {a.offset}, {_where(a)}: WHATWG dispatches "
        f"nothing, but openai-python 3.54 dispatches it as an event with empty data ({why}) and raises "
        "JSONDecodeError (the rest of the stream is lost)",
        excerpt=a.text,
    )


_BOM_LOSS = {
    "data": "that `data:` line is lost, so openai-python never sees the first event (it raises when "
            "that is response.created)",
    "event": "the first event's `event:` name is lost (harmless to openai-python, which reads the type "
             "from the data)",
    "id": "the `id:` field is lost",
    "retry": "the `retry:` field is lost",
}


@rule("framing.bom", "warning", "leading byte order mark",
      "The stream starts with a UTF-8 BOM. WHATWG clients strip it; openai-python 3.54 does not, "
      "so the first line's field name starts with U+FEFF and the line is ignored: a first `data:` "
      "line (response.created) is lost and openai-python raises; a first `event:` or comment line "
      "costs nothing.", spec=SSE_SPEC,
      breaks=("openai-python (ignores the first line: a leading data: line is lost)",),
      on="@sse-anomaly", fast_safe=True)
def no_bom(st: StreamState, a: SSEAnomaly, ctx: CheckContext) -> Iterator[Hit]:
    if a.kind != "bom":
        return
    head = "the stream starts with a UTF-8 byte order mark (bytes 0-2): WHATWG clients strip it, openai-python 3.54 does not"
    if not a.text:
        yield Hit(f"{head}, but the BOM stands alone on the first line, which it ignores (harmless)")
        return
    if a.text.startswith(":"):
        yield Hit(f"{head}; the first line is a comment ({short(a.text)}), so nothing is lost", excerpt=a.text)
        return
    name = a.text.partition(":")[0]
    loss = _BOM_LOSS.get(name, "an unknown field anyway (harmless)")
    yield Hit(f"{head}: it reads the first line {short(a.text)} as the unknown field '\\ufeff{name}': {loss}",
              excerpt=a.text)


@rule("framing.invalid-utf8", "error", "bytes that are not UTF-8",
      "The stream holds bytes that are not valid UTF-8. `text/event-stream` MUST be UTF-8; WHATWG "
      "clients decode them as U+FFFD (the data silently changes), openai-python 3.54 decodes each "
      "line strictly and raises UnicodeDecodeError. Reported once per block.",
      spec=SSE_SPEC + ": event streams must always be encoded as UTF-8",
      breaks=("openai-python (UnicodeDecodeError)",),
      on="@sse-anomaly", fast_safe=True)
def utf8_only(st: StreamState, a: SSEAnomaly, ctx: CheckContext) -> Iterator[Hit]:
    if a.kind != "invalid-utf8":
        return
    yield Hit(
        f"bytes that are not UTF-8 ({a.detail}) at byte {a.offset}, {_where(a)}: {short(a.text, 80)}; "
        "text/event-stream must be UTF-8: WHATWG clients read U+FFFD in their place, "
        "openai-python 3.54 raises UnicodeDecodeError and stops reading",
        excerpt=a.text,
    )
