"""accumulation.*: streamed pieces must add up (deltas -> .done -> part.done -> item.done).

Applies to every streamed value the grammar knows: message text and refusals, reasoning text,
reasoning summaries, function arguments, custom tool input, code, MCP arguments, shell commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import describe_divergence, short
from conformance.state import PART_VALUE_KEY, SUB_EVENTS, event_for

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "PROTOCOL.md Order; openai-python accumulator"
DONE_ITEM = "response.output_item.done"


_DONE_EVENTS = tuple(t for t, s in SUB_EVENTS.items() if s.kind is not None and s.role == "done")
_PART_DONE_EVENTS = tuple(t for t, s in SUB_EVENTS.items() if s.kind is not None and s.role == "part_done")


def _usable_part(ctx: Any) -> Any:
    it = ctx.item
    sub = ctx.sub
    p = ctx.part
    if it is None or sub is None or p is None or it.phase != "open" or it.type not in sub.item_types:
        return None
    return p


@rule("accumulation.delta-vs-done", "error", "deltas do not add up to .done",
      "The concatenated deltas differ from the `.done` event's full value.", spec=SPEC,
      on=_DONE_EVENTS)
def deltas_add_up(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    p = _usable_part(ctx)
    if p is None or p.phase != "open" or p.tainted or p.n_deltas == 0:
        return
    value = ev.get(ctx.sub.value_field)
    if not isinstance(value, str):
        return  # the schema reports a missing/non-string value
    text = p.text()
    if text != value:
        yield describe_divergence("the concatenated deltas", text, f"{ctx.etype}.{ctx.sub.value_field}", value)


@rule("accumulation.done-vs-part", "error", ".done differs from part.done",
      "The `.done` value differs from `content_part.done.part` (or "
      "`reasoning_summary_part.done.part`).", spec=SPEC,
      on=_PART_DONE_EVENTS)
def done_matches_part(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    p = _usable_part(ctx)
    if p is None or p.phase != "text_done" or not isinstance(p.done_value, str):
        return
    part = ev.get("part")
    if not isinstance(part, dict):
        return
    key = PART_VALUE_KEY.get(str(part.get("type")), "text")
    value = part.get(key)
    if value != p.done_value:
        yield describe_divergence("the .done value", p.done_value, f"part.{key}", value)


def _item_value(item: dict[str, Any], kind: str, index: int, part_type: str | None) -> tuple[bool, Any, str]:
    """(found, value, where) of a streamed value inside a done item."""
    if kind in ("content", "summary"):
        seq = item.get(kind)
        if not isinstance(seq, list) or index >= len(seq) or not isinstance(seq[index], dict):
            return False, None, f"item.{kind}[{index}]"
        part = seq[index]
        key = PART_VALUE_KEY.get(str(part.get("type") or part_type), "text")
        return True, part.get(key), f"item.{kind}[{index}].{key}"
    if kind == "command":
        action = item.get("action")
        cmds = action.get("commands") if isinstance(action, dict) else None
        if not isinstance(cmds, list) or index >= len(cmds):
            return False, None, f"item.action.commands[{index}]"
        return True, cmds[index], f"item.action.commands[{index}]"
    return kind in item, item.get(kind), f"item.{kind}"


def _candidates(p: Any) -> list[str]:
    """The values the item must hold for this part: its part.done value and its .done value
    (when those two differ, done-vs-part already said so; the item may match either)."""
    out = [v for v in (p.part_value, p.done_value) if isinstance(v, str)]
    if not out and p.n_deltas and not p.tainted and p.chunks is not None:
        out.append(p.text())
    return out


@rule("accumulation.part-vs-item", "error", "part differs from the done item",
      "The part differs from the same part in `output_item.done.item`.", spec=SPEC,
      on=(DONE_ITEM,))
def parts_match_item(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    it = ctx.item
    item = ev.get("item")
    if it is None or it.phase != "open" or not isinstance(item, dict) or item.get("type") != it.type:
        return
    for p in it.parts.values():
        want = _candidates(p)
        if not want or p.misplaced:
            continue  # nothing streamed to compare, or part.index-not-contiguous said it all
        found, got, where = _item_value(item, p.kind, p.index, p.type)
        ci = p.index if p.kind in ("content", "summary", "command") else None
        if not found:
            yield Hit(f"streamed {p.kind} {p.index} ({short(want[0], 40)}) is missing from output_item.done: no {where}", content_index=ci)
        elif got not in want:
            yield Hit(describe_divergence("the streamed value", want[0], where, got), content_index=ci)


@rule("accumulation.done-missing", "error", "deltas never closed by .done",
      "Deltas were streamed but no `.done` event closed them.", spec=SPEC,
      on=(*_PART_DONE_EVENTS, DONE_ITEM, "@terminal"))
def deltas_closed(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    if ctx.hook == "@terminal":
        items = [it for it in st.items.values() if it.phase == "open"]
    elif ctx.etype == DONE_ITEM:
        items = [ctx.item] if ctx.item is not None and ctx.item.phase == "open" else []
    else:
        p = _usable_part(ctx)
        if p is not None and p.phase == "open" and p.n_deltas:
            done = event_for("done", ctx.item.type, p.kind, p.type) or "its .done event"
            yield Hit(
                f"{ctx.etype} closes {_value(p)} of item {ctx.item.index} after {p.n_deltas} deltas "
                f"without their {done}; expected {done} first"
            )
        return
    for it in items:
        for p in it.parts.values():
            if p.phase == "open" and p.n_deltas:
                where = "output_item.done" if ctx.hook != "@terminal" else ctx.etype
                done = event_for("done", it.type, p.kind, p.type) or "a .done event"
                yield Hit(
                    f"{p.n_deltas} deltas of {_value(p)} in item {it.index} were never closed "
                    f"by {done} before {where}",
                    output_index=it.index,
                    content_index=p.index if p.kind in ("content", "summary", "command") else None,
                )


def _value(p: Any) -> str:
    """'content part 0', 'summary part 1', 'shell command 0', or the item-level field's name."""
    label = {"content": "content part", "summary": "summary part", "command": "shell command"}.get(p.kind)
    return f"{label} {p.index}" if label else f"the {p.kind}"


@rule("accumulation.delta-vs-done", on=("@terminal",))
def orphan_deltas_match_snapshot(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[Hit]:
    """Content deltas for an item never announced (item.unknown-index) still spell something:
    the terminal snapshot must say the same, or a client that read the deltas and one that
    reads the snapshot see two different answers."""
    if not st.orphans:
        return
    resp = ev.get("response")
    output = resp.get("output") if isinstance(resp, dict) else None
    if not isinstance(output, list):
        return
    for (oi, ci), pieces in sorted(st.orphans.items()):
        text = "".join(pieces)
        item = output[oi] if 0 <= oi < len(output) else None
        content = item.get("content") if isinstance(item, dict) else None
        part = content[ci] if isinstance(content, list) and 0 <= ci < len(content) else None
        value = None
        if isinstance(part, dict):
            value = part.get(PART_VALUE_KEY.get(str(part.get("type")), "text"))
        if isinstance(value, str) and value != text:
            yield Hit(
                describe_divergence(
                    f"the deltas for output_index {oi} (never announced)", text,
                    f"response.output[{oi}].content[{ci}]", value,
                ),
                output_index=oi,
                content_index=ci,
            )
