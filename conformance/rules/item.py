"""item.*: output items, from output_item.added through their sub-events to output_item.done.

The per-item grammar (ITEM_GRAMMAR; ITEM_ILLEGAL names the rule for every move it does not
allow) and which sub-events each item type accepts (SUB_EVENTS) are tables in
`conformance.state`; these checks compare each event with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import short
from conformance.state import (
    ADDED,
    CALL_ITEM_TYPES,
    DEFAULT_DONE_STATUSES,
    DONE,
    DONE_STATUSES,
    ITEM_GRAMMAR,
    ITEM_TYPE_EVENTS,
    SUB_EVENTS,
    TERMINAL_TYPES,
    expected,
    is_tool_output_type,
    item_symbol,
    move,
)

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "PROTOCOL.md Order: item(i)"
SDK = "openai-python"


def _sub_event(ctx: Any) -> bool:
    """An event about one item other than its own added/done."""
    return ctx.etype not in (ADDED, DONE) and type(ctx.ev_output_index) is int


def _illegal(ctx: Any) -> str | None:
    """The rule ITEM_ILLEGAL names for this event at its item's state (None: a legal move).
    An item known only by its output_item.done counts as absent for anything but a done."""
    it = ctx.item
    sym = item_symbol(ctx.etype)
    state = "absent" if it is None or (not it.announced and sym != DONE) else it.phase
    return move("item", state, sym)[1]


# What a closed item accepts, and what an unannounced one needs first, for people.
_AFTER_DONE = expected(ITEM_GRAMMAR, "done", "no more events for a closed item")
_ANNOUNCE = expected(ITEM_GRAMMAR, "absent")
_CLOSE = " or ".join(sym for sym, nxt in ITEM_GRAMMAR["open"].items() if nxt != "open")


@rule("item.index-not-contiguous", "error", "output_index not 0, 1, 2, …",
      "`output_item.added.output_index` is not the count of items added before it.",
      spec=SPEC, breaks=("openai-python<=3.3",),
      on=(ADDED,))
def added_index_contiguous(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    oi = ev.get("output_index")
    if type(oi) is int and oi not in st.items and oi != st.n_added:
        yield f"output_item.added with output_index {oi}; expected {st.n_added} (items added so far: {st.n_added})"


def client_identity(item: Any) -> tuple[Any, ...]:
    """How openai-python ≥3.54 tells items apart: (type, id, call_id), without the id for call
    items (their call_id identifies them)."""
    if not isinstance(item, dict):
        return (None, None, None)
    t = item.get("type")
    call_id = item.get("call_id")
    if t in ("function_call", "custom_tool_call", "shell_call", "shell_call_output"):
        return (t, None, call_id)
    return (t, item.get("id"), call_id)


@rule("item.duplicate-index", "error", "output_index announced twice",
      "An `output_index` is announced twice.", spec=SPEC, breaks=("openai-python>=3.54",),
      on=("response.created", "response.queued", "response.in_progress"))
def snapshot_items_unique(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    # The official API's early snapshots list no items. openai-python takes the items of the
    # first response.created as announced at their indexes (noted here, judged at
    # output_item.added) and refuses an early snapshot that lists one item twice.
    resp = ev.get("response")
    out = resp.get("output") if isinstance(resp, dict) else None
    if not isinstance(out, list) or not out:
        return
    if st.n_events == 0 and ctx.etype == "response.created":
        st.created_output = (ctx.index, {i: x.get("id") if isinstance(x, dict) else None for i, x in enumerate(out)})
    seen: dict[tuple[Any, ...], int] = {}
    for i, x in enumerate(out):
        if not isinstance(x, dict):
            continue  # not an item: the schema reports it
        key = client_identity(x)
        try:
            j = seen.setdefault(key, i)
        except TypeError:
            continue  # an unhashable id: the schema reports it
        if j != i:
            yield (
                f"the {ctx.etype} snapshot lists one item twice: output[{j}] and output[{i}] are both "
                f"{short(x.get('type'))} {short(x.get('call_id') or x.get('id'))}; expected each item once"
            )
            return


@rule("item.duplicate-index", on=(ADDED,))
def added_index_unique(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = ctx.item
    if _illegal(ctx) == "item.duplicate-index":
        yield (
            f"output_index {it.index} announced again (first by event {it.added_at}, "
            f"item {short(it.id)}, now {it.phase})"
        )
        return
    oi = ev.get("output_index")
    snap = st.created_output
    if (it is None or not it.announced) and snap is not None and type(oi) is int and oi in snap[1]:
        yield (
            f"output_index {oi} announced by output_item.added, but the response.created snapshot "
            f"(event {snap[0]}) already listed item {short(snap[1][oi])} there (clients take it as "
            "announced; openai-python raises 'Duplicate response output index'); expected "
            "response.created with output []"
        )
        return
    # One item announced at two indexes: ids identify items (openai-python ≥3.54 raises
    # "conflicting output identities" when both are done).
    item = ev.get("item")
    iid = item.get("id") if isinstance(item, dict) else None
    if type(oi) is not int or not isinstance(iid, str) or not iid:
        return
    ids = st.item_ids
    first = ids.get(iid)
    if first is None:
        ids[iid] = (oi, ctx.index)
    elif first[0] != oi:
        yield (
            f"output_item.added at output_index {oi} announces item {iid!r}, which output_index "
            f"{first[0]} already is (event {first[1]}); expected a new id for a new item"
        )


@rule("item.unknown-index", "error", "sub-event for an unannounced output_index",
      "A sub-event names an `output_index` never announced by output_item.added.",
      spec=SPEC, breaks=(SDK,),
      on=("*",), fast_safe=True)
def sub_event_index_known(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    if not _sub_event(ctx) or _illegal(ctx) != "item.unknown-index":
        return  # no integer output_index: schema.event reports it
    it = ctx.item
    if it is None:
        known = sorted(st.items)
        yield (
            f"{ctx.etype} for output_index {ctx.ev_output_index}, which no output_item.added "
            f"announced (known: {known[:10]}); expected {_ANNOUNCE} first"
        )
    else:
        yield (
            f"{ctx.etype} for output_index {it.index}, which no output_item.added announced "
            f"(only its output_item.done, event {it.done_at}); expected {_ANNOUNCE} first"
        )


@rule("item.after-done", "error", "sub-event after output_item.done",
      "A sub-event for an item already closed by `output_item.done`.", spec=SPEC,
      on=("*",), fast_safe=True)
def sub_event_before_done(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = ctx.item
    if _illegal(ctx) != "item.after-done" or (ctx.etype != DONE and not _sub_event(ctx)):
        return
    if ctx.etype == DONE:
        yield f"output_item.done repeated for output_index {it.index} (first at event {it.done_at})"
    else:
        yield (
            f"{ctx.etype} for output_index {it.index} after its output_item.done (event {it.done_at}); "
            f"expected {_AFTER_DONE}"
        )


@rule("item.not-closed", "error", "item never closed",
      "An announced item has no `output_item.done` before the terminal event.",
      spec=SPEC, breaks=("openai-python>=3.54",),
      on=("@terminal",))
def items_closed(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    for it in st.items.values():
        if it.phase == "open":
            yield Hit(
                f"item {it.index} ({it.type}, {short(it.id)}) announced at event {it.added_at} "
                f"is still open at {ctx.etype}; expected {_CLOSE} before it",
                output_index=it.index,
            )


@rule("item.done-without-added", "error", "output_item.done without added",
      "`output_item.done` for an index never announced.", spec=SPEC,
      on=(DONE,))
def done_was_added(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    oi = ev.get("output_index")
    if type(oi) is int and ctx.item is None and _illegal(ctx) == "item.done-without-added":
        yield f"output_item.done for output_index {oi}, which no output_item.added announced"


@rule("item.identity-changed", "error", "done item identity changed",
      "The done item's `id`, `type` (or `call_id` for call items) differs from the added item's.",
      spec=SPEC, breaks=("openai-python>=3.54",),
      on=(DONE,))
def done_identity(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = ctx.item
    item = ev.get("item")
    # A repeated output_item.done too (item.after-done says it is repeated): openai-python
    # compares every done item with the added one.
    if it is None or not it.announced or not isinstance(item, dict):
        return
    # call_id identifies call items; any item that carries one on either side is judged on it
    # too (openai-python compares (type, id, call_id) of every item).
    has_call_id = it.type in CALL_ITEM_TYPES or it.call_id is not None or item.get("call_id") is not None
    fields = ["id", "type"] + (["call_id"] if has_call_id else [])
    for f in fields:
        old = getattr(it, f)
        new = item.get(f)
        if new != old:
            yield f"the done item's {f} is {short(new)}; output_item.added (event {it.added_at}) said {short(old)}"


# openai-python identifies these by (type, call_id) and compares their ids separately.
_CALL_IDENTITY = frozenset({"function_call", "custom_tool_call", "shell_call", "shell_call_output"})


@rule("item.identity-changed", on=("@lifecycle",))
def snapshot_identity(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    """A call item keeps its id in every later snapshot: openai-python ≥3.54 matches snapshot
    items to done ones by (type, call_id) and raises when the id differs ('Completed response
    output identity changed' at the terminal event, 'conflicting output identities' before)."""
    resp = ev.get("response")
    out = resp.get("output") if isinstance(resp, dict) else None
    if not isinstance(out, list) or not out or not st.done_list:
        return
    done: dict[tuple[Any, str], tuple[int, Any] | None] = {}
    for i, item in st.done_items():
        cid = item.get("call_id")
        t = item.get("type")
        if isinstance(t, str) and t in _CALL_IDENTITY and isinstance(cid, str) and item.get("id") is not None:
            key = (item["type"], cid)
            # A call_id two calls share names no one call (call.call-id reports it).
            done[key] = (i, item["id"]) if key not in done else None
    if not any(done.values()):
        return
    terminal = ctx.etype in TERMINAL_TYPES
    for k, x in enumerate(out):
        if not isinstance(x, dict) or not isinstance(x.get("call_id"), str) or not isinstance(x.get("type"), str):
            continue
        got = done.get((x["type"], x["call_id"]))
        if got is not None and x.get("id") != got[1]:
            if terminal:
                st.changed_identity_output.add(k)
            yield Hit(
                f"{ctx.etype}'s response.output[{k}] is {x.get('type')} {x['call_id']!r} with id "
                f"{short(x.get('id'))}, but its output_item.done (output_index {got[0]}) said {short(got[1])}",
                output_index=got[0],
            )


@rule("item.id-mismatch", "error", "item_id does not match",
      "A sub-event's `item_id` is not the id of the item at its `output_index`.", spec=SPEC,
      on=("*",), fast_safe=True)
def item_id_matches(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = ctx.item
    if it is None or not _sub_event(ctx) or "item_id" not in ev:
        return
    if ev["item_id"] != it.id:
        yield f"{ctx.etype} has item_id {short(ev['item_id'])}; the item at output_index {it.index} is {short(it.id)}"


@rule("item.wrong-event-for-type", "error", "sub-event not allowed for the item type",
      "E.g. `output_text.delta` for a non-message item, `function_call_arguments.delta` for a "
      "non-call item (openai-python raises AssertionError).", spec=SPEC, breaks=(SDK,),
      on=tuple(SUB_EVENTS), fast_safe=True)
def event_fits_item_type(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = ctx.item
    sub = ctx.sub
    # A closed item too: openai-python asserts the item type whenever it sees the event.
    if it is None or sub is None or not it.announced:
        return
    if it.type not in sub.item_types:
        allowed = ITEM_TYPE_EVENTS.get(it.type, ())
        yield (
            f"{ctx.etype} for a {short(it.type)} item (output_index {it.index}); it is only for "
            f"{', '.join(sorted(sub.item_types))} items"
            + (f"; a {it.type} item accepts {', '.join(allowed)}" if allowed else "")
        )


@rule("item.status", "error", "item status wrong",
      "Added item status not `in_progress` (where the type has a status); done status not "
      "`completed`/`incomplete`. Tool-result items (`*_output`) may be announced `completed`.",
      spec="RULES.md item.status",
      on=(ADDED, DONE))
def item_status(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
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
        if status == "in_progress" and _program_caller(item):
            return  # a call a program makes runs on after the model's turn: in_progress is right
        if status not in allowed:
            yield f"a {itype} item done with status {status!r}; expected one of {sorted(allowed)}"


def _program_caller(item: dict[str, Any]) -> bool:
    caller = item.get("caller")
    return isinstance(caller, dict) and caller.get("type") == "program"


# Items that carry generated text a client acts on (an answer, a call's arguments).
_ANSWER_TYPES = frozenset({"message", "function_call", "custom_tool_call"})


@rule("item.truncated-completed", "error", "the item a max_output_tokens cut ended is completed",
      "In a response `incomplete` with reason `max_output_tokens`, the last message or call item "
      "is marked `completed`: a client would take the truncated answer (or call) as whole.",
      spec="Open Responses: an incomplete item MUST be the last",
      on=("@output",))
def cut_item_incomplete(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    resp = ctx.response
    if not isinstance(resp, dict) or resp.get("status") != "incomplete" or not ctx.output_items:
        return
    details = resp.get("incomplete_details")
    if not isinstance(details, dict) or details.get("reason") != "max_output_tokens":
        return
    if any(isinstance(x, dict) and x.get("status") == "incomplete" for _, x in ctx.output_items):
        return  # the cut is marked, on some item: item.incomplete-not-last judges which
    i, item = max(ctx.output_items, key=lambda p: p[0])
    if isinstance(item, dict) and item.get("type") in _ANSWER_TYPES and item.get("status") == "completed":
        yield Hit(
            f"the response was cut by max_output_tokens but its last item ({item.get('type')} "
            f"{short(item.get('id'))}) is 'completed'; expected 'incomplete' (a client would take "
            "the truncated output as whole)",
            output_index=i,
        )


@rule("item.incomplete-not-last", "error", "incomplete item not last",
      "An `incomplete` item is not the last item, or the response is not `incomplete` "
      "(a `failed` or `cancelled` response may also end with the item it cut short).",
      spec="Open Responses: an incomplete item MUST be the last",
      on=("@output",))
def incomplete_item_last(st: StreamState, _ev: Any, ctx: CheckContext) -> Iterator[Hit]:
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


@rule("item.interleaved", "warning", "sub-events of two items interleave",
      "Sub-events of two open items interleave.", spec=SPEC,
      on=("*",), fast_safe=True)
def not_interleaved(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = ctx.item
    if it is None or it.phase != "open" or not _sub_event(ctx):
        return
    j = st.last_sub_index
    if j is None or j == it.index:
        return
    other = st.items.get(j)
    if other is None or other.phase != "open":
        return
    pair = (min(j, it.index), max(j, it.index))
    if pair in st.interleaved:
        return
    st.interleaved.add(pair)
    yield (
        f"{ctx.etype} for item {it.index} while item {j} ({other.type}) is still open and "
        f"streaming; expected item {j} to finish first"
    )
