"""framing.*: the SSE layer (WHATWG server-sent events) around the JSON events.

These checks see the raw `SSEMessage` (hook "@sse"), the decoded value ("@value") or the
Content-Type header ("@content-type"); `feed()` of an already decoded event skips "@sse".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.registry import check, define
from conformance.rules._util import short

SSE_SPEC = "WHATWG HTML §9.2 server-sent events"

define("framing.content-type", "error", "Content-Type is not text/event-stream",
       "The streaming response's Content-Type header is not `text/event-stream`.", spec=SSE_SPEC)
define("framing.invalid-json", "error", "event data is not valid JSON",
       "An event's `data:` payload does not parse as JSON (openai-python raises JSONDecodeError "
       "and stops reading).", spec="PROTOCOL.md Catalogue",
       breaks=("openai-python (JSONDecodeError)",))
define("framing.not-an-event", "error", "data is not an event object",
       "The data JSON is not an object with a string `type` (openai-python raises AttributeError "
       "on data that is not an object; it skips an object without `type`).", spec="PROTOCOL.md Catalogue")
define("framing.event-name-mismatch", "error", "SSE event: differs from type",
       "The SSE `event:` field differs from the data's `type`.", spec="Open Responses: event MUST equal type")
define("framing.unterminated", "warning", "last event not terminated",
       "The stream's last event is not terminated by a blank line (clients discard it: openai-python "
       "drops it, so a last `response.completed` is lost and get_final_response() raises).",
       spec=SSE_SPEC, breaks=("openai-python (drops the event)",))
define("framing.id-field", "info", "id: field used",
       "An SSE `id:` field is used (Open Responses: SHOULD NOT).", spec="Open Responses")
define("framing.done-sentinel", "info", "[DONE] sentinel",
       "A `data: [DONE]` sentinel is present (the official API sends none); under profile "
       "`openresponses` its absence is an error.", spec="Open Responses: terminal [DONE]")


def media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


@check("framing.content-type", on=("@content-type",))
def content_type_is_event_stream(st: Any, _ev: Any, ctx: Any) -> Iterator[str]:
    value = ctx.content_type
    if value is None:
        yield "the streaming response has no Content-Type header; expected text/event-stream"
    elif media_type(value) != "text/event-stream":
        yield f"Content-Type is {value!r}; expected text/event-stream"


@check("framing.invalid-json", on=("@sse",), fast_safe=True)
def data_is_json(st: Any, msg: Any, ctx: Any) -> Iterator[str]:
    if ctx.decode_error is not None and not msg.is_done:
        yield f"data is not valid JSON ({ctx.decode_error}): {short(msg.data, 80)}"


@check("framing.not-an-event", on=("@value",))
def value_is_event(st: Any, value: Any, ctx: Any) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"data is a JSON {type(value).__name__} {short(value)}, not an event object"
    elif "type" not in value:
        yield f"the event object has no `type` (keys: {short(sorted(value))})"
    elif not isinstance(value["type"], str):
        yield f"`type` is {short(value['type'])}, not a string"


@check("framing.event-name-mismatch", on=("@sse",), fast_safe=True)
def event_field_matches_type(st: Any, msg: Any, ctx: Any) -> Iterator[str]:
    decoded = ctx.decoded
    if not isinstance(decoded, dict) or not isinstance(decoded.get("type"), str):
        return
    if msg.event is None:
        if ctx.profile.require_event_field:
            yield f"no `event:` field; expected `event: {decoded['type']}`"
    elif msg.event != decoded["type"]:
        yield f"`event: {msg.event}` but the data's type is {decoded['type']!r}"


@check("framing.unterminated", on=("@sse",), fast_safe=True)
def message_terminated(st: Any, msg: Any, ctx: Any) -> Iterator[str]:
    if not msg.terminated:
        yield "the stream ended inside this event: no blank line after its last field (clients drop it)"


@check("framing.id-field", on=("@sse",), fast_safe=True)
def no_id_field(st: Any, msg: Any, ctx: Any) -> Iterator[str]:
    if msg.id is not None and "framing.id-field" not in st.notes:
        st.notes["framing.id-field"] = True
        yield f"an `id:` field is used (id: {short(msg.id)}); reported once per stream"


@check("framing.done-sentinel", on=("@sse", "@finish"), fast_safe=True)
def done_sentinel(st: Any, msg: Any, ctx: Any) -> Iterator[str]:
    required = ctx.profile.require_done_sentinel
    if msg is None:  # end of stream
        if required and not st.saw_done_sentinel and ctx.saw_sse:
            yield "the stream ends without the `data: [DONE]` sentinel this profile requires"
        return
    if msg.is_done and not required and "framing.done-sentinel" not in st.notes:
        st.notes["framing.done-sentinel"] = True
        yield "a `data: [DONE]` sentinel is present (the official API sends none; clients accept it)"
