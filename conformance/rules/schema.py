"""schema.*: events, Response objects and output items against the JSON Schema contracts.

`conformance.contracts` validates; this module decides which rule an issue belongs to, so one
defect is reported once: issues under `/item` of output_item events are schema.item, under
`/response` of lifecycle events schema.response, the rest schema.event. Issues a dedicated
rule reports better are dropped (`/sequence_number` -> sequence.*, `usage` -> usage.*), and
issues matching a named tolerance get the profile's treatment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import short
from conformance.state import LIFECYCLE_TYPES, SUB_EVENTS, TERMINAL_TYPES

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "schemas/ (openai-python types; OpenAPI required lists)"


_ITEM_EVENTS = frozenset({"response.output_item.added", "response.output_item.done"})
# Events that may carry a top-level `error` (the error event itself; a failed response that
# surfaces as an exception is the client working as intended).
_ERROR_CARRIERS = frozenset({"error", "response.failed"})


def _usage_pointer(pointer: str) -> bool:
    return pointer == "/usage" or pointer.startswith("/usage/")


def classify(etype: str, pointer: str) -> tuple[str, str] | None:
    """(rule id, pointer relative to the object it reports on), or None to drop the issue."""
    if pointer == "/sequence_number":
        return None
    if etype in LIFECYCLE_TYPES and (pointer == "/response" or pointer.startswith("/response/")):
        rel = pointer[len("/response"):]
        return None if _usage_pointer(rel) else ("schema.response", pointer)
    if etype in _ITEM_EVENTS and (pointer == "/item" or pointer.startswith("/item/")):
        return ("schema.item", pointer)
    return ("schema.event", pointer)


_POSITION = re.compile(r"^(?:/response/output/\d+|/response|/item)(?=/|$)")
_INDEX = re.compile(r"/\d+(?=/|$)")


def _unknown_once(st: Any, pointer: str, message: str) -> bool:
    """True the first time this stream shows this unknown thing (wherever it sits: the added
    item, the done item, a snapshot's output)."""
    seen = st.unknown_seen
    key = (_INDEX.sub("/*", _POSITION.sub("", pointer)), message)
    if key in seen:
        return False
    seen.add(key)
    return True


def _hit(issue: Any, ctx: Any, pointer: str, st: Any = None) -> Hit | None:
    cap = None
    if issue.tolerance:
        cap = ctx.profile.tolerance_severity(issue.tolerance)
        if cap is None:
            return None
    where = pointer or "(root)"
    note = f" [tolerated: {issue.tolerance}]" if issue.tolerance else ""
    if getattr(issue, "unknown", False):
        # Forward compatibility: what the contracts do not know is news, not a defect.
        if st is not None and not _unknown_once(st, pointer, issue.message):
            return None
        from conformance.contracts import contract_version

        return Hit(
            f"{ctx.etype} {where}: {issue.message}; unknown to the contracts ({contract_version()}), "
            f"so not judged{note}",
            max_severity="warning",
        )
    return Hit(f"{ctx.etype} {where}: {issue.message}{note}", max_severity=cap)


# What a client needs to open an item at output_item.added; the rest may arrive with
# output_item.done (the live API adds a web_search_call without `action`). `call_id` because
# openai-python >=3.54 identifies call items by it from the added event on.
OPEN_FIELDS = frozenset({"type", "id", "status", "call_id"})
# Fields openai-python's accumulator mutates in place from the added item on: a message's
# `content` (content_part.added appends to it) and a function call's `arguments`
# (arguments deltas are added to it; without it: TypeError).
OPEN_FIELDS_BY_TYPE = {"message": frozenset({"content"}), "function_call": frozenset({"arguments"})}


def _late_field(ctx: Any, issue: Any, pointer: str, ev: dict[str, Any]) -> bool:
    """A required field an output_item.added item may still lack (judged at done instead)."""
    if ctx.etype != "response.output_item.added" or issue.validator != "required":
        return False
    parts = pointer.split("/")
    if len(parts) != 3 or parts[1] != "item" or parts[2] in OPEN_FIELDS:
        return False
    item = ev.get("item")
    kind = item.get("type") if isinstance(item, dict) else None
    return parts[2] not in OPEN_FIELDS_BY_TYPE.get(str(kind), frozenset())


def _issues_for(rule_id: str, ctx: Any) -> Iterator[tuple[Any, str]]:
    for issue in ctx.schema_issues():
        if issue.kind != "invalid":
            continue
        c = classify(ctx.etype, issue.pointer)
        if c is not None and c[0] == rule_id:
            yield issue, c[1]


@rule("schema.event", "error", "event fails its schema",
      "An event does not validate against the schema of its `type` (the JSON pointer says where).",
      spec=SPEC,
      on=("*",), fast_safe=True)
def event_schema(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    for issue, pointer in _issues_for("schema.event", ctx):
        if pointer == "/error" and issue.validator == "x-unknown-field":
            continue  # a top-level `error` is judged below (clients take it for an error event)
        h = _hit(issue, ctx, pointer, st)
        if h is not None:
            yield h
    if ctx.profile.nested_error_event and ctx.etype == "error" and not isinstance(ev.get("error"), dict):
        yield Hit("error: this profile requires code/message/param nested under `error`")
    if ctx.etype not in _ERROR_CARRIERS and ev.get("error"):
        # Clients take any data with a truthy top-level `error` for an error event.
        yield Hit(
            f"{ctx.etype} /error: a top-level `error` {short(ev['error'])} its schema does not define; "
            "openai-python raises APIError on any event whose data has a truthy `error` and stops "
            "reading; expected no top-level `error` (or null)"
        )


@rule("schema.unknown-event", "warning", "unknown event type",
      "`type` is not in the catalogue (info when vendor-prefixed, e.g. `acme.x`).", spec=SPEC,
      on=("*",), fast_safe=True)
def known_event_type(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    etype = ctx.etype
    if not any(i.kind == "unknown-event" for i in ctx.schema_issues()):
        return
    if etype in ctx.profile.extra_event_types:
        return
    if not etype.startswith("response.") and "." in etype:
        yield Hit(f"vendor event type {etype!r} (not in the catalogue; clients ignore it)", max_severity="info")
        return
    tracked = " (its output_index is still tracked)" if etype in SUB_EVENTS or "output_index" in ev else ""
    cap = ctx.profile.tolerance_severity("sdk-unknown-event-types")
    if cap is None:
        return
    seen = st.unknown_event_types
    if etype in seen:
        return  # once per type: a new delta type streams many events
    seen.add(etype)
    from conformance.contracts import contract_version

    yield Hit(
        f"event type {etype!r} is unknown to the contracts ({contract_version()}), so not "
        f"judged{tracked}; clients ignore it",
        max_severity=cap,
    )


@rule("schema.response", "error", "Response object fails its schema",
      "A Response object (lifecycle snapshot, non-stream body, GET body) fails its schema.", spec=SPEC,
      on=("@lifecycle", "@response"))
def response_schema(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    if ctx.hook == "@response":
        if not ctx.is_body:
            return  # a terminal snapshot: its issues came with the event (hook @lifecycle)
        for issue in ctx.body_issues():
            if issue.kind != "invalid" or _usage_pointer(issue.pointer):
                continue
            h = _hit(issue, ctx, issue.pointer, st)
            if h is not None:
                yield h
        yield from _profile_required(st, ev, ctx, "")
        return
    reported = st.item_schema_reported
    resp = ev.get("response") if isinstance(ev, dict) else None
    for issue, pointer in _issues_for("schema.response", ctx):
        # A null terminal output is output.null's (a warning: only old clients break on it).
        if pointer == "/response/output" and isinstance(resp, dict) and resp.get("output") is None \
                and ctx.etype in TERMINAL_TYPES:
            continue
        # The same defect in a done item was already reported as schema.item.
        parts = pointer.split("/", 4)  # "", "response", "output", N, rest
        if len(parts) >= 4 and parts[2] == "output" and parts[3].isdigit():
            rest = "/" + parts[4] if len(parts) == 5 else ""
            if (int(parts[3]), rest, issue.message) in reported:
                continue
        h = _hit(issue, ctx, pointer, st)
        if h is not None:
            yield h
    if isinstance(resp, dict):
        yield from _profile_required(st, resp, ctx, "/response")


def _profile_required(st: Any, resp: Any, ctx: Any, prefix: str) -> Iterator[Hit]:
    """Fields the profile's specification requires of every Response object beyond the
    contracts (Open Responses: 31 fields, presence_penalty and frequency_penalty among them)."""
    fields = ctx.profile.required_response_fields
    if not fields or not isinstance(resp, dict):
        return
    missing = [f for f in fields if f not in resp]
    if missing:
        yield Hit(
            f"{ctx.etype} {prefix or '(root)'}: missing {', '.join(map(repr, missing))}, required of "
            f"every Response object by {ctx.profile.required_response_fields_source}"
        )


@rule("schema.item", "error", "output item fails its schema",
      "An output item (in output_item.added/done) fails its schema.", spec=SPEC,
      on=tuple(_ITEM_EVENTS))
def item_schema(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    oi = ev.get("output_index")
    for issue, pointer in _issues_for("schema.item", ctx):
        if _late_field(ctx, issue, pointer, ev):
            continue
        if ctx.etype == "response.output_item.done" and type(oi) is int:
            st.item_schema_reported.add((oi, pointer[len("/item"):], issue.message))
        h = _hit(issue, ctx, pointer, st)
        if h is not None:
            yield h
