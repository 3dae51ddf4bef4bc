"""item.*: output items, from output_item.added through their sub-events to output_item.done.

The per-item grammar (ITEM_GRAMMAR) and which sub-events each item type accepts (SUB_EVENTS)
are tables in `conformance.state`; these checks compare each event with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.registry import Hit, check, define
from conformance.rules._util import short
from conformance.state import (
    CALL_ITEM_TYPES,
    DEFAULT_DONE_STATUSES,
    DONE_STATUSES,
    ITEM_GRAMMAR,
    ITEM_TYPE_EVENTS,
    SUB_EVENTS,
    expected,
    is_tool_output_type,
)

SPEC = "PROTOCOL.md Order: item(i)"
SDK = "openai-python"
ADDED = "response.output_item.added"
DONE = "response.output_item.done"

define("item.index-not-contiguous", "error", "output_index not 0, 1, 2, …",
       "`output_item.added.output_index` is not the count of items added before it.",
       spec=SPEC, breaks=("openai-python<=3.3",))
define("item.duplicate-index", "error", "output_index announced twice",
       "An `output_index` is announced twice.", spec=SPEC, breaks=("openai-python>=3.54",))
define("item.unknown-index", "error", "sub-event for an unannounced output_index",
       "A sub-event names an `output_index` never announced by output_item.added.",
       spec=SPEC, breaks=(SDK,))
define("item.after-done", "error", "sub-event after output_item.done",
       "A sub-event for an item already closed by `output_item.done`.", spec=SPEC)
define("item.not-closed", "error", "item never closed",
       "An announced item has no `output_item.done` before the terminal event.",
       spec=SPEC, breaks=("openai-python>=3.54",))
define("item.done-without-added", "error", "output_item.done without added",
       "`output_item.done` for an index never announced.", spec=SPEC)
define("item.identity-changed", "error", "done item identity changed",
       "The done item's `id`, `type` (or `call_id` for call items) differs from the added item's.",
       spec=SPEC, breaks=("openai-python>=3.54",))
define("item.id-mismatch", "error", "item_id does not match",
       "A sub-event's `item_id` is not the id of the item at its `output_index`.", spec=SPEC)
define("item.wrong-event-for-type", "error", "sub-event not allowed for the item type",
       "E.g. `output_text.delta` for a non-message item, `function_call_arguments.delta` for a "
       "non-call item (openai-python raises AssertionError).", spec=SPEC, breaks=(SDK,))
define("item.status", "error", "item status wrong",
       "Added item status not `in_progress` (where the type has a status); done status not "
       "`completed`/`incomplete`. Tool-result items (`*_output`) may be announced `completed`.",
       spec="RULES.md item.status")
define("item.incomplete-not-last", "error", "incomplete item not last",
       "An `incomplete` item is not the last item, or the response is not `incomplete` "
       "(a `failed` or `cancelled` response may also end with the item it cut short).",
       spec="Open Responses: an incomplete item MUST be the last")
define("item.interleaved", "warning", "sub-events of two items interleave",
       "Sub-events of two open items interleave.", spec=SPEC)


def _sub_event(ctx: Any) -> bool:
    """An event about one item other than its own added/done."""
    return ctx.etype not in (ADDED, DONE) and type(ctx.ev_output_index) is int


@check("item.index-not-contiguous", on=(ADDED,))
def added_index_contiguous(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    oi = ev.get("output_index")
    if type(oi) is int and oi not in st.items and oi != st.n_added:
        yield f"output_item.added with output_index {oi}; expected {st.n_added} (items added so far: {st.n_added})"


@check("item.duplicate-index", on=(ADDED,))
def added_index_unique(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    it = ctx.item
    if it is not None and it.phase != "absent":
        yield (
            f"output_index {it.index} announced again (first by event {it.added_at}, "
            f"item {short(it.id)}, now {it.phase})"
        )


@check("item.unknown-index", on=("*",), fast_safe=True)
def sub_event_index_known(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    if _sub_event(ctx) and ctx.item is None:
        known = sorted(st.items)
        yield (
            f"{ctx.etype} for output_index {ctx.ev_output_index}, which no output_item.added "
            f"announced (known: {known[:10]}); expected response.output_item.added first"
        )


@check("item.after-done", on=("*",), fast_safe=True)
def sub_event_before_done(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    it = ctx.item
    if it is None or it.phase not in ("done", "absent"):
        return
    if ctx.etype == DONE:
        yield f"output_item.done repeated for output_index {it.index} (first at event {it.done_at})"
    elif _sub_event(ctx):
        yield (
            f"{ctx.etype} for output_index {it.index} after its output_item.done (event {it.done_at}); "
            f"expected {expected(ITEM_GRAMMAR, 'done')}"
        )


@check("item.not-closed", on=("@terminal",))
def items_closed(st: Any, ev: Any, ctx: Any) -> Iterator[Hit]:
    for it in st.items.values():
        if it.phase == "open":
            yield Hit(
                f"item {it.index} ({it.type}, {short(it.id)}) announced at event {it.added_at} "
                f"is still open at {ctx.etype}; expected output_item.done before it",
                output_index=it.index,
            )


@check("item.done-without-added", on=(DONE,))
def done_was_added(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    oi = ev.get("output_index")
    if type(oi) is int and ctx.item is None:
        yield f"output_item.done for output_index {oi}, which no output_item.added announced"


@check("item.identity-changed", on=(DONE,))
def done_identity(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    it = ctx.item
    item = ev.get("item")
    if it is None or it.phase != "open" or not isinstance(item, dict):
        return
    fields = ["id", "type"] + (["call_id"] if it.type in CALL_ITEM_TYPES else [])
    for f in fields:
        old = getattr(it, f)
        new = item.get(f)
        if new != old:
            yield f"the done item's {f} is {short(new)}; output_item.added (event {it.added_at}) said {short(old)}"


@check("item.id-mismatch", on=("*",), fast_safe=True)
def item_id_matches(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    it = ctx.item
    if it is None or not _sub_event(ctx) or "item_id" not in ev:
        return
    if ev["item_id"] != it.id:
        yield f"{ctx.etype} has item_id {short(ev['item_id'])}; the item at output_index {it.index} is {short(it.id)}"


@check("item.wrong-event-for-type", on=tuple(SUB_EVENTS), fast_safe=True)
def event_fits_item_type(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    it = ctx.item
    sub = ctx.sub
    if it is None or sub is None or it.phase != "open":
        return
    if it.type not in sub.item_types:
        allowed = ITEM_TYPE_EVENTS.get(it.type, ())
        yield (
            f"{ctx.etype} for a {short(it.type)} item (output_index {it.index}); it is only for "
            f"{', '.join(sorted(sub.item_types))} items"
            + (f"; a {it.type} item accepts {', '.join(allowed)}" if allowed else "")
        )


@check("item.status", on=(ADDED, DONE))
def item_status(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    item = ev.get("item")
    if not isinstance(item, dict) or not isinstance(item.get("status"), str):
        return  # no status (or not a string: the schema says so)
    status = item["status"]
    itype = str(item.get("type"))
    if ctx.etype == ADDED:
        if status == "in_progress":
            return
        if is_tool_output_type(itype) and status == "completed" and ctx.profile.tolerates("tool-output-announced-completed"):
            return
        yield f"a {itype} item announced with status {status!r}; expected 'in_progress'"
    else:
        allowed = DONE_STATUSES.get(itype, DEFAULT_DONE_STATUSES)
        if status not in allowed:
            yield f"a {itype} item done with status {status!r}; expected one of {sorted(allowed)}"


@check("item.incomplete-not-last", on=("@output",))
def incomplete_item_last(st: Any, _ev: Any, ctx: Any) -> Iterator[Hit]:
    items = ctx.output_items
    if not items:
        return
    last = max(i for i, _ in items)
    resp = ctx.response
    rstatus = resp.get("status") if isinstance(resp, dict) else None
    for i, item in items:
        if isinstance(item, dict) and item.get("status") == "incomplete":
            if i != last:
                yield Hit(f"item {i} is incomplete but is not the last item (last: {last})", output_index=i)
            # A response cut short by a failure or a cancel leaves its last item unfinished:
            # saying so (`incomplete`) is the truth; `completed` would let a client run a
            # truncated tool call. RULES.md's wording predates failures mid-item.
            elif resp is not None and rstatus not in ("incomplete", "failed", "cancelled"):
                yield Hit(f"item {i} is incomplete but the response status is {short(rstatus)}", output_index=i)


@check("item.interleaved", on=("*",), fast_safe=True)
def not_interleaved(st: Any, ev: dict[str, Any], ctx: Any) -> Iterator[str]:
    it = ctx.item
    if it is None or it.phase != "open" or not _sub_event(ctx):
        return
    j = st.last_sub_index
    if j is None or j == it.index:
        return
    other = st.items.get(j)
    if other is None or other.phase != "open":
        return
    key = ("item.interleaved", min(j, it.index), max(j, it.index))
    if key in st.notes:
        return
    st.notes[key] = True
    yield (
        f"{ctx.etype} for item {it.index} while item {j} ({other.type}) is still open and "
        f"streaming; expected item {j} to finish first"
    )
