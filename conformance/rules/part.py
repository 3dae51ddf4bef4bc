"""part.*: content parts (message text/refusal, reasoning text), reasoning summary parts and
shell commands inside an item, following PART_GRAMMAR / FIELD_GRAMMAR in `conformance.state`.

Which moves are illegal, and which rule reports each, is the PART_ILLEGAL / FIELD_ILLEGAL
table there (`part_move`); the "expected …" text is what the table accepts next."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import short
from conformance.state import (
    ITEM_PART_TYPES,
    SUB_EVENTS,
    event_for,
    part_closing,
    part_finished,
    part_move,
    part_next,
)

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "PROTOCOL.md Order: message / reasoning"
SDK = "openai-python"
_PART_EVENTS = tuple(t for t, s in SUB_EVENTS.items() if s.kind is not None)


def _label(kind: str) -> str:
    return {"content": "content part", "summary": "summary part", "command": "shell command"}.get(kind, kind)


def _open_item(ctx: Any) -> Any:
    """The item this sub-event is about, when it is open and of a type the event fits."""
    it = ctx.item
    sub = ctx.sub
    if it is None or sub is None or it.phase != "open" or it.type not in sub.item_types:
        return None
    return it


@rule("part.not-added", "error", "part used before *part.added",
      "A delta/done names a `content_index` (or `summary_index`) with no `*part.added` "
      "(openai-python raises IndexError).", spec=SPEC, breaks=("openai-python (IndexError)",),
      on=_PART_EVENTS, fast_safe=True)
def part_was_added(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = _open_item(ctx)
    sub = ctx.sub
    if it is None or ctx.key is None or part_move(sub, ctx.part)[1] != "part.not-added":
        return
    kind, idx = ctx.key
    n = it.n_parts.get(kind, 0)
    added = part_next(sub, it.type, None, "absent")
    yield (
        f"{ctx.etype} for {sub.index_field} {idx} of item {it.index}, but no "
        f"{_label(kind)} {idx} was added (parts added: {n}); expected {added} with "
        f"{sub.index_field} {idx} first"
    )


@rule("part.index-not-contiguous", "error", "part indexes not 0, 1, 2, …",
      "Part indexes within an item are not 0, 1, 2, …", spec=SPEC,
      on=tuple(t for t, s in SUB_EVENTS.items() if s.role == "part_added"))
def part_index_contiguous(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = _open_item(ctx)
    if it is None or ctx.key is None:
        return
    kind, idx = ctx.key
    n = it.n_parts.get(kind, 0)
    if ctx.part is not None and part_move(ctx.sub, ctx.part)[1] == "part.index-not-contiguous":
        yield f"{_label(kind)} {idx} of item {it.index} added again (first at event {ctx.part.added_at})"
    elif idx != n:
        yield f"{ctx.etype} with {ctx.sub.index_field} {idx}; expected {n}"


@rule("part.not-closed", "error", "part still open at output_item.done",
      "A part is still open at its item's `output_item.done`.", spec=SPEC,
      on=("response.output_item.done",))
def parts_closed(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    it = ctx.item
    if it is None or it.phase != "open":
        return
    for p in it.open_parts():
        if part_finished(p.kind, True, it.type, p.type, p.phase):
            continue  # e.g. a shell command after its .done: it has no part.done
        # The events that would have finished it, from the table.
        closing = part_closing(p.kind, True, it.type, p.type, p.phase)
        want = " and ".join(closing)
        what = f"{_label(p.kind)} {p.index} of item {it.index}"
        if p.phase == "open":
            missing = f"no {closing[0]}" if len(closing) == 1 else f"neither its {' nor its '.join(closing)}"
            msg = f"{what} (added at event {p.added_at}) has {missing} at output_item.done"
        else:
            done = event_for("done", it.type, p.kind, p.type) or "its .done"
            msg = f"{what} got its {done} (event {p.ended_at}) but no {want} before output_item.done"
        yield Hit(f"{msg}; expected {want} first", content_index=p.index)


@rule("part.after-done", "error", "delta or done after the part ended",
      "A delta or done after the part's `content_part.done` (or after its value's `.done`).",
      spec=SPEC,
      on=_PART_EVENTS, fast_safe=True)
def part_still_open(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = _open_item(ctx)
    p = ctx.part
    sub = ctx.sub
    if it is None or p is None or part_move(sub, p)[1] != "part.after-done":
        return
    then = part_next(sub, it.type, p.type, p.phase)
    if p.phase == "closed":
        closer = event_for("part_done", it.type, p.kind) or "its part.done"
        yield (
            f"{ctx.etype} for {_label(p.kind)} {p.index} of item {it.index} after its {closer} "
            f"(event {p.ended_at}); expected {then}"
        )
    else:
        done = event_for("done", it.type, p.kind, p.type) or "its .done"
        what = f"{_label(p.kind)} {p.index}" if sub.explicit else f"the {p.kind}"
        yield f"{ctx.etype} for {what} of item {it.index} after its {done} (event {p.ended_at}); expected {then}"


@rule("part.type-mismatch", "error", "event does not fit the part type",
      "E.g. `output_text.delta` into a `refusal` part.", spec=SPEC, breaks=(SDK,),
      on=_PART_EVENTS, fast_safe=True)
def part_type_fits(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    it = _open_item(ctx)
    sub = ctx.sub
    if it is None:
        return
    if sub.role == "part_added" and sub.kind == "content":
        part = ev.get("part")
        ptype = part.get("type") if isinstance(part, dict) else None
        allowed = ITEM_PART_TYPES.get(it.type)
        if isinstance(ptype, str) and allowed is not None and ptype not in allowed:
            yield f"a {ptype!r} part added to a {it.type} item; expected one of {sorted(allowed)}"
        return
    p = ctx.part
    if p is None or p.type is None:
        return
    if sub.role == "part_done" and sub.kind == "content":
        part = ev.get("part")
        ptype = part.get("type") if isinstance(part, dict) else None
        if isinstance(ptype, str) and ptype != p.type:
            yield f"content_part.done has a {ptype!r} part; content_part.added (event {p.added_at}) added {p.type!r}"
    elif sub.part_types is not None and p.type not in sub.part_types:
        yield (
            f"{ctx.etype} into content_index {p.index} of item {it.index}, whose content_part.added "
            f"(event {p.added_at}) has type {short(p.type)}; {ctx.etype} writes only "
            f"{' or '.join(repr(t) for t in sorted(sub.part_types))} parts"
        )
