"""The stream grammar (as tables) and the state a checker tracks while a stream goes by.

Everything that affects the tracked state and its transitions lives in this file (h11 style).

Theory of operation
-------------------
A Responses stream is three nested state machines, each a table below:

* RESPONSE_GRAMMAR: start -> created -> [queued] -> in_progress -> terminal. Its input symbol
  is the event's *class* (`response_symbol`): a lifecycle type, "output" (anything about
  an output item), "error", or "other" (vendor/unknown events with no output_index).
* ITEM_GRAMMAR, one machine per `output_index`: absent -> open -> done, driven by
  output_item.added / sub-events / output_item.done. Which sub-events an item *type* accepts is
  the SUB_EVENTS table (event type -> SubEvent); ITEM_TYPE_EVENTS is its inverse.
* PART_GRAMMAR, one machine per streamed value of an item: a content part (message text,
  refusal, reasoning text), a summary part, or an item-level field (function arguments, custom
  tool input, code, MCP arguments, shell command). Content/summary parts and shell commands are
  opened explicitly (`*.added`); item-level fields open with their first delta.

Checks (conformance/rules/*) read the state *before* an event (`StreamState`, `ItemState`,
`PartState`) and compare the event with what the tables allow; then `apply()` takes the
transition. When an event is illegal the machines still move to the most plausible state
(`_RECOVER`), so one defect yields one finding instead of a cascade.

Memory: per streamed value only its text (deltas joined in blocks, see PartState) and its
final value are kept; events themselves are never stored. Closed parts drop their text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.protocol import TERMINAL_TYPES

__all__ = [
    "ADDED",
    "DONE",
    "FIELD_GRAMMAR",
    "FIELD_ILLEGAL",
    "ITEM_GRAMMAR",
    "ITEM_ILLEGAL",
    "ITEM_TYPE_EVENTS",
    "LIFECYCLE_TYPES",
    "MACHINES",
    "PART_GRAMMAR",
    "PART_ILLEGAL",
    "RESPONSE_GRAMMAR",
    "SUB_EVENTS",
    "TERMINAL_TYPES",
    "Continuation",
    "ItemState",
    "PartState",
    "StreamState",
    "SubEvent",
    "apply",
    "event_for",
    "expected",
    "item_symbol",
    "move",
    "part_closing",
    "part_move",
    "part_next",
    "response_symbol",
]

PRE_TYPES = frozenset({"response.created", "response.queued", "response.in_progress"})
LIFECYCLE_TYPES = PRE_TYPES | TERMINAL_TYPES
TERMINAL_STATUS = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}

# --------------------------------------------------------------------------------------------
# Response level. Symbols: lifecycle types, "output", "error", "other", "terminal".
RESPONSE_GRAMMAR: dict[str, dict[str, str]] = {
    "start": {"response.created": "created", "other": "start"},
    "created": {
        "response.queued": "queued",
        "response.in_progress": "in_progress",
        "error": "created",
        "other": "created",
    },
    "queued": {
        "response.queued": "queued",
        "response.in_progress": "in_progress",
        "error": "queued",
        "other": "queued",
    },
    "in_progress": {
        "response.in_progress": "in_progress",
        "output": "in_progress",
        "error": "in_progress",
        "terminal": "terminal",
        "other": "in_progress",
    },
    "terminal": {},
}
# Where an illegal symbol leads (after its finding): the stream is judged as if it were legal.
_RECOVER: dict[str, str] = {
    "response.created": "created",
    "response.queued": "queued",
    "response.in_progress": "in_progress",
    "output": "in_progress",
    "error": "in_progress",
    "terminal": "terminal",
    "other": "in_progress",
}


def next_phase(phase: str, sym: str) -> str:
    """RESPONSE_GRAMMAR's move, or where an illegal symbol leads (never backwards: a late
    response.created/queued does not undo in_progress)."""
    nxt = RESPONSE_GRAMMAR[phase].get(sym)
    if nxt is not None:
        return nxt
    if phase == "in_progress" and sym in ("response.created", "response.queued"):
        return phase
    return _RECOVER[sym]


def response_symbol(etype: str, ev: dict[str, Any]) -> str:
    """The RESPONSE_GRAMMAR input symbol of an event."""
    if etype in TERMINAL_TYPES:
        return "terminal"
    if etype in PRE_TYPES:
        return etype
    if etype == "error":
        return "error"
    if etype in SUB_EVENTS or etype.startswith("response.output_item.") or "output_index" in ev:
        return "output"
    return "other"


# --------------------------------------------------------------------------------------------
# Item level. Symbols: output_item.added, "sub-event" (any other event naming the item's
# output_index), output_item.done.
ADDED = "response.output_item.added"
DONE = "response.output_item.done"
ITEM_GRAMMAR: dict[str, dict[str, str]] = {
    "absent": {ADDED: "open"},
    "open": {"sub-event": "open", DONE: "done"},
    "done": {},
}
# Every move a grammar does not allow: the rule that reports it and the state the machine
# goes on in (h11 style: the table, not the checks, says what is legal). A duplicate
# announcement starts the item again, so the events that follow are judged against it.
ITEM_ILLEGAL: dict[str, dict[str, tuple[str, str]]] = {
    "absent": {"sub-event": ("item.unknown-index", "absent"), DONE: ("item.done-without-added", "done")},
    "open": {ADDED: ("item.duplicate-index", "open")},
    "done": {
        ADDED: ("item.duplicate-index", "open"),
        "sub-event": ("item.after-done", "done"),
        DONE: ("item.after-done", "done"),
    },
}

# Part level. Roles: part_added, delta, annotation, done, part_done.
PART_GRAMMAR: dict[str, dict[str, str]] = {
    "absent": {"part_added": "open"},
    "open": {"delta": "open", "annotation": "open", "done": "text_done", "part_done": "closed"},
    "text_done": {"annotation": "text_done", "part_done": "closed"},
    "closed": {},
}
_NOT_ADDED = ("part.not-added", "absent")
PART_ILLEGAL: dict[str, dict[str, tuple[str, str]]] = {
    "absent": {"delta": _NOT_ADDED, "annotation": _NOT_ADDED, "done": _NOT_ADDED, "part_done": _NOT_ADDED},
    "open": {"part_added": ("part.index-not-contiguous", "open")},
    "text_done": {
        "part_added": ("part.index-not-contiguous", "text_done"),
        "delta": ("part.after-done", "text_done"),
        "done": ("part.after-done", "text_done"),
    },
    "closed": {
        "part_added": ("part.index-not-contiguous", "closed"),
        "delta": ("part.after-done", "closed"),
        "annotation": ("part.after-done", "closed"),
        "done": ("part.after-done", "closed"),
        "part_done": ("part.after-done", "closed"),
    },
}
# Item-level fields (function arguments, ...) have no *.added: their first delta opens them,
# their `.done` ends them (there is no part_done).
FIELD_GRAMMAR: dict[str, dict[str, str]] = {
    "absent": {"delta": "open", "done": "text_done"},
    "open": {"delta": "open", "done": "text_done"},
    "text_done": {},
}
FIELD_ILLEGAL: dict[str, dict[str, tuple[str, str]]] = {
    "absent": {},
    "open": {},
    "text_done": {"delta": ("part.after-done", "text_done"), "done": ("part.after-done", "text_done")},
}
# (legal moves, illegal moves, start state) of each machine, for the documentation and tests.
MACHINES: dict[str, tuple[dict[str, dict[str, str]], dict[str, dict[str, tuple[str, str]]], str]] = {
    "item": (ITEM_GRAMMAR, ITEM_ILLEGAL, "absent"),
    "part": (PART_GRAMMAR, PART_ILLEGAL, "absent"),
    "field": (FIELD_GRAMMAR, FIELD_ILLEGAL, "absent"),
}


def move(machine: str, state: str, symbol: str) -> tuple[str, str | None]:
    """(next state, rule reporting the move or None when it is legal) from the tables."""
    legal, illegal, _ = MACHINES[machine]
    nxt = legal[state].get(symbol)
    if nxt is not None:
        return nxt, None
    rule, nxt = illegal[state][symbol]
    return nxt, rule


def item_symbol(etype: str) -> str:
    """ITEM_GRAMMAR's input symbol of an event that names an output_index."""
    return etype if etype in (ADDED, DONE) else "sub-event"


@dataclass(frozen=True, slots=True)
class SubEvent:
    """What the grammar says about one sub-event type of an output item."""

    item_types: frozenset[str]
    role: str  # part_added | part_done | delta | done | annotation | progress
    kind: str | None = None  # the streamed value: content | summary | arguments | input | code | command
    index_field: str | None = None  # content_index | summary_index | command_index
    part_types: frozenset[str] | None = None  # part types a delta/done may write into
    value_field: str | None = None  # where a done event carries the full value
    explicit: bool = True  # the part must be opened by a *.added event first
    has_item_id: bool = True


def _fs(*names: str) -> frozenset[str]:
    return frozenset(names)


_MSG = _fs("message")
_RS = _fs("reasoning")
_TEXT = _fs("output_text")
_REFUSAL = _fs("refusal")
_RTEXT = _fs("reasoning_text")
_SUMMARY = _fs("summary_text")


def _content(role: str, types: frozenset[str], parts: frozenset[str] | None, value: str | None) -> SubEvent:
    return SubEvent(types, role, "content", "content_index", parts, value)


def _field(types: frozenset[str], role: str, kind: str, value: str | None) -> SubEvent:
    return SubEvent(types, role, kind, None, None, value, explicit=False)


def _progress(*types: str) -> SubEvent:
    return SubEvent(frozenset(types), "progress")


SUB_EVENTS: dict[str, SubEvent] = {
    # message / reasoning content parts
    "response.content_part.added": _content("part_added", _MSG | _RS, None, None),
    "response.content_part.done": _content("part_done", _MSG | _RS, None, None),
    "response.output_text.delta": _content("delta", _MSG, _TEXT, "delta"),
    "response.output_text.done": _content("done", _MSG, _TEXT, "text"),
    "response.output_text.annotation.added": _content("annotation", _MSG, _TEXT, None),
    "response.refusal.delta": _content("delta", _MSG, _REFUSAL, "delta"),
    "response.refusal.done": _content("done", _MSG, _REFUSAL, "refusal"),
    "response.reasoning_text.delta": _content("delta", _RS, _RTEXT, "delta"),
    "response.reasoning_text.done": _content("done", _RS, _RTEXT, "text"),
    # Open Responses spells raw reasoning events this way.
    "response.reasoning.delta": _content("delta", _RS, _RTEXT, "delta"),
    "response.reasoning.done": _content("done", _RS, _RTEXT, "text"),
    # reasoning summary parts
    "response.reasoning_summary_part.added": SubEvent(_RS, "part_added", "summary", "summary_index"),
    "response.reasoning_summary_part.done": SubEvent(_RS, "part_done", "summary", "summary_index"),
    "response.reasoning_summary_text.delta": SubEvent(_RS, "delta", "summary", "summary_index", _SUMMARY, "delta"),
    "response.reasoning_summary_text.done": SubEvent(_RS, "done", "summary", "summary_index", _SUMMARY, "text"),
    # item-level streamed fields
    "response.function_call_arguments.delta": _field(_fs("function_call"), "delta", "arguments", "delta"),
    "response.function_call_arguments.done": _field(_fs("function_call"), "done", "arguments", "arguments"),
    "response.custom_tool_call_input.delta": _field(_fs("custom_tool_call"), "delta", "input", "delta"),
    "response.custom_tool_call_input.done": _field(_fs("custom_tool_call"), "done", "input", "input"),
    "response.mcp_call_arguments.delta": _field(_fs("mcp_call"), "delta", "arguments", "delta"),
    "response.mcp_call_arguments.done": _field(_fs("mcp_call"), "done", "arguments", "arguments"),
    "response.code_interpreter_call_code.delta": _field(_fs("code_interpreter_call"), "delta", "code", "delta"),
    "response.code_interpreter_call_code.done": _field(_fs("code_interpreter_call"), "done", "code", "code"),
    # hosted shell: one explicit "part" per command
    "response.shell_call_command.added": SubEvent(_fs("shell_call"), "part_added", "command", "command_index", has_item_id=False),
    "response.shell_call_command.delta": SubEvent(_fs("shell_call"), "delta", "command", "command_index", None, "delta", has_item_id=False),
    "response.shell_call_command.done": SubEvent(_fs("shell_call"), "done", "command", "command_index", None, "command", has_item_id=False),
    "response.shell_call_output_content.delta": _progress("shell_call_output"),
    "response.shell_call_output_content.done": _progress("shell_call_output"),
    # hosted tool progress events
    "response.web_search_call.in_progress": _progress("web_search_call"),
    "response.web_search_call.searching": _progress("web_search_call"),
    "response.web_search_call.completed": _progress("web_search_call"),
    "response.file_search_call.in_progress": _progress("file_search_call"),
    "response.file_search_call.searching": _progress("file_search_call"),
    "response.file_search_call.completed": _progress("file_search_call"),
    "response.code_interpreter_call.in_progress": _progress("code_interpreter_call"),
    "response.code_interpreter_call.interpreting": _progress("code_interpreter_call"),
    "response.code_interpreter_call.completed": _progress("code_interpreter_call"),
    "response.image_generation_call.in_progress": _progress("image_generation_call"),
    "response.image_generation_call.generating": _progress("image_generation_call"),
    "response.image_generation_call.partial_image": _progress("image_generation_call"),
    "response.image_generation_call.completed": _progress("image_generation_call"),
    "response.mcp_call.in_progress": _progress("mcp_call"),
    "response.mcp_call.completed": _progress("mcp_call"),
    "response.mcp_call.failed": _progress("mcp_call"),
    "response.mcp_list_tools.in_progress": _progress("mcp_list_tools"),
    "response.mcp_list_tools.completed": _progress("mcp_list_tools"),
    "response.mcp_list_tools.failed": _progress("mcp_list_tools"),
    "response.compaction.compacting": _progress("compaction"),
    # Types the SDK does not know yet (e.g. response.apply_patch_call_operation_diff.delta,
    # seen live) are deliberately absent: their item type is unknown, so only their
    # output_index / item_id are judged (unknown index, after done, id mismatch).
}


def _invert() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for etype, sub in SUB_EVENTS.items():
        for it in sub.item_types:
            out.setdefault(it, []).append(etype)
    return {k: tuple(v) for k, v in sorted(out.items())}


ITEM_TYPE_EVENTS: dict[str, tuple[str, ...]] = _invert()

# Content part types each item type may hold (content_part.added).
ITEM_PART_TYPES: dict[str, frozenset[str]] = {
    "message": _TEXT | _REFUSAL,
    "reasoning": _RTEXT,
}
# The key holding a part's text, per part type.
PART_VALUE_KEY: dict[str, str] = {
    "output_text": "text",
    "refusal": "refusal",
    "reasoning_text": "text",
    "summary_text": "text",
}

# Allowed `status` of an item in output_item.done, per item type (others: completed/incomplete).
_TOOL_DONE = _fs("completed", "incomplete", "failed")
DONE_STATUSES: dict[str, frozenset[str]] = {
    "web_search_call": _TOOL_DONE,
    "file_search_call": _TOOL_DONE,
    "code_interpreter_call": _TOOL_DONE,
    "image_generation_call": _TOOL_DONE,
    "mcp_call": _TOOL_DONE,
    "mcp_list_tools": _TOOL_DONE,
    "shell_call": _TOOL_DONE,
    "local_shell_call": _TOOL_DONE,
    "computer_call": _TOOL_DONE,
    "apply_patch_call": _TOOL_DONE,
}
DEFAULT_DONE_STATUSES = _fs("completed", "incomplete")
# Call items: `call_id` identifies them; function/custom calls must carry one.
CALL_ITEM_TYPES = _fs(
    "function_call", "custom_tool_call", "shell_call", "local_shell_call", "computer_call", "apply_patch_call"
)
CALL_ID_REQUIRED = _fs("function_call", "custom_tool_call")


def is_tool_output_type(item_type: str) -> bool:
    """Items that carry a server-side tool's result (shell_call_output, program_output, ...)."""
    return item_type.endswith("_output")


def event_for(role: str, item_type: str | None, kind: str, part_type: str | None = None) -> str | None:
    """The SUB_EVENTS type playing `role` for a streamed value (for finding messages): e.g.
    ("done", "message", "content", "refusal") -> "response.refusal.done"."""
    for etype, sub in SUB_EVENTS.items():
        if sub.role != role or sub.kind != kind or etype.startswith("response.reasoning."):
            continue
        if item_type is not None and item_type not in sub.item_types:
            continue
        if part_type is not None and sub.part_types is not None and part_type not in sub.part_types:
            continue
        return etype
    return None


def expected(grammar: dict[str, dict[str, str]], state: str, none: str = "nothing (the stream is over)") -> str:
    """Human list of what the grammar accepts in `state` (for finding messages); `none` when
    it accepts nothing."""
    allowed = [_SYMBOL_EVENTS.get(s, s) for s in grammar.get(state, {})]
    return ", ".join(allowed) if allowed else none


# Symbols that stand for several events, in finding messages.
_SYMBOL_EVENTS = {"sub-event": "an event of the item"}


def part_machine(sub: SubEvent) -> str:
    """Which table a streamed value follows: explicit parts open with *.added, fields do not."""
    return "part" if sub.explicit else "field"


def part_move(sub: SubEvent, part: PartState | None) -> tuple[str, str | None]:
    """(next state, rule reporting it or None) for a sub-event of role `sub.role` arriving at
    `part` (None: no such part yet)."""
    return move(part_machine(sub), part.phase if part is not None else "absent", sub.role)


def _role_events(roles: Iterable[str], item_type: str | None, kind: str, part_type: str | None) -> list[str]:
    out = []
    for role in roles:
        e = event_for(role, item_type, kind, part_type)
        if e is not None and e not in out:
            out.append(e)
    return out


def part_next(sub: SubEvent, item_type: str | None, part_type: str | None, state: str) -> str:
    """The events a streamed value in `state` accepts next, from its table (finding messages);
    once it accepts none of the events its type has, what its item accepts: a new part (when
    parts are opened explicitly) or output_item.done."""
    assert sub.kind is not None
    grammar = MACHINES[part_machine(sub)][0]
    names = _role_events(grammar[state], item_type, sub.kind, part_type)
    if names:
        return " or ".join(names)
    if sub.explicit:
        new = _role_events(grammar["absent"], item_type, sub.kind, part_type)
        names += [f"{e} (a new part)" for e in new]
    names += [s for s in ITEM_GRAMMAR["open"] if s != "sub-event"]
    return " or ".join(names)


def part_finished(kind: str, explicit: bool, item_type: str | None, part_type: str | None, state: str) -> bool:
    """The value accepts no more of the events its type has: it may end with its item (a shell
    command after its .done: it has no part.done)."""
    grammar = MACHINES["part" if explicit else "field"][0]
    return not _role_events(grammar[state], item_type, kind, part_type)


def part_closing(kind: str, explicit: bool, item_type: str | None, part_type: str | None, state: str) -> list[str]:
    """The events that take a value from `state` to finished the way a well-formed stream does:
    through every state on the way (its .done with the full value, then its part.done)."""
    grammar = MACHINES["part" if explicit else "field"][0]

    def longest(st: str, seen: frozenset[str]) -> list[str] | None:
        if part_finished(kind, explicit, item_type, part_type, st):
            return []
        best: list[str] | None = None
        for role, nxt in grammar[st].items():
            e = event_for(role, item_type, kind, part_type)
            if nxt == st or nxt in seen or e is None:
                continue
            rest = longest(nxt, seen | {nxt})
            if rest is not None and (best is None or len(rest) + 1 > len(best)):
                best = [e, *rest]
        return best

    return longest(state, frozenset({state})) or []


# --------------------------------------------------------------------------------------------
# Tracked state.
class PartState:
    """One streamed value: a content/summary part, a shell command, or an item-level field.

    Text arrives as many small deltas; `chunks` holds the latest ones and every COMPACT_AT of
    them are joined into one block, so memory is the text itself (plus at most COMPACT_AT
    small strings), not one object per delta.
    """

    __slots__ = (
        "added_at",
        "blocks",
        "chunks",
        "done_value",
        "ended_at",
        "index",
        "kind",
        "misplaced",
        "n_blocked",
        "n_other",
        "part_value",
        "phase",
        "tainted",
        "type",
    )

    COMPACT_AT = 512

    def __init__(self, kind: str, index: int, part_type: str | None, added_at: int | None) -> None:
        self.kind = kind
        self.index = index
        self.type = part_type
        self.phase = "open"
        self.chunks: list[str] | None = []
        self.blocks: list[str] = []
        self.n_blocked = 0  # deltas already joined into `blocks`
        self.n_other = 0  # deltas that were not strings
        self.done_value: Any = None  # the `.done` event's full value
        self.part_value: Any = None  # the `*part.done` part's value
        self.added_at = added_at
        self.ended_at: int | None = None  # the event that ended it (its .done, then its part.done)
        self.tainted = False  # a delta was not a string: accumulation checks would only echo it
        self.misplaced = False  # added at a non-contiguous index: its place in the item is unknown

    @property
    def n_deltas(self) -> int:
        return self.n_blocked + len(self.chunks or ()) + self.n_other

    def add(self, delta: Any) -> None:
        """Record one delta (the checker's fast path inlines the string case)."""
        ch = self.chunks
        if ch is None:
            return
        if type(delta) is str:
            ch.append(delta)
            if len(ch) >= self.COMPACT_AT:
                self.compact()
        else:
            self.n_other += 1
            self.tainted = True

    def compact(self) -> None:
        ch = self.chunks
        if ch:
            self.blocks.append("".join(ch))
            self.n_blocked += len(ch)
            ch.clear()

    def text(self) -> str:
        """The concatenated deltas (joined once; the result is kept as the only block)."""
        self.compact()
        b = self.blocks
        if len(b) > 1:
            b[:] = ["".join(b)]
        return b[0] if b else ""

    def release(self) -> None:
        """The value was judged: keep only done_value / part_value."""
        self.n_blocked = self.n_deltas
        self.chunks = None
        self.blocks = []


class ItemState:
    __slots__ = (
        "added_at",
        "announced",
        "call_id",
        "done_at",
        "done_item",
        "id",
        "index",
        "n_parts",
        "parts",
        "phase",
        "status",
        "type",
    )

    def __init__(self, index: int, item: dict[str, Any], added_at: int) -> None:
        self.index = index
        self.id = item.get("id")
        t = item.get("type")
        self.type = t if isinstance(t, str) else None  # a non-string type is the schema's to report
        self.call_id = item.get("call_id")
        self.status = item.get("status")
        self.phase = "open"
        self.added_at = added_at
        self.announced = True  # False: known only from an output_item.done (never added)
        self.done_at: int | None = None
        self.done_item: dict[str, Any] | None = None
        self.parts: dict[tuple[str, int], PartState] = {}
        self.n_parts: dict[str, int] = {}  # parts added so far, per kind

    def open_parts(self) -> list[PartState]:
        return [p for p in self.parts.values() if p.phase in ("open", "text_done") and p.kind in _EXPLICIT_KINDS]


_EXPLICIT_KINDS = frozenset({"content", "summary", "command"})


@dataclass(slots=True, eq=False)
class Continuation:
    """The part the checker's latest fast-path delta wrote to, and what the next delta must
    repeat to continue it (it must also be numbered last_seq + 1)."""

    etype: str
    output_index: int
    index_field: str | None  # content_index | summary_index | command_index
    index: int | None  # its value
    item_id: str | None  # None: the type has no item_id
    part: PartState
    n_keys: int  # keys of the plain shape, `obfuscation` excluded
    logprobs: bool  # `logprobs` must be an empty list
    # For the checker's batch loop: one C-level getter, the values it must return, and the key
    # count including an `obfuscation` the first delta carried.
    getter: Any
    want: tuple[Any, ...]
    n_keys_batch: int
    has_obf: bool


@dataclass(slots=True, eq=False)
class StreamState:
    """Everything the checks may ask about the stream so far.

    The grammar's state (phase, items and their parts) changes only in `apply()`; the fast
    paths of the checker write `last_seq`, `n_events` and the text of the part `cont` names.
    The fields after "rules' bookkeeping" are the only ones checks write: what they reported
    once, or what an earlier event said that a later judgement needs.
    """

    phase: str = "start"  # RESPONSE_GRAMMAR state
    n_events: int = 0  # decoded event objects seen
    first_type: str | None = None
    last_seq: int | None = None
    lost: int = 0  # undecodable messages since the last numbered event (may hide numbers)
    undecodable: int = 0  # every message that was not an event: what it carried is unknown
    response_id: Any = None
    created_at: Any = None
    model: Any = None
    lifecycle_seen: bool = False
    saw_created: bool = False
    saw_in_progress: bool = False
    terminal_type: str | None = None
    terminal_at: int | None = None
    terminal_response: dict[str, Any] | None = None
    pending_error_at: int | None = None  # an `error` event not yet followed by failed
    items: dict[int, ItemState] = field(default_factory=dict)
    n_added: int = 0
    open_items: int = 0
    last_sub_index: int | None = None  # output_index of the latest item sub-event
    # (output_index, item) of each output_item.done, in arrival order (kept even when a
    # duplicate output_index replaced the tracked item).
    done_list: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # Content deltas for an output_index no output_item.added announced (item.unknown-index),
    # per (output_index, content_index): still compared with the terminal snapshot.
    orphans: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    saw_done_sentinel: bool = False
    output_checked: bool = False  # the "@output" checks ran
    # The part the latest fast-path delta wrote to, with what the next delta must repeat to
    # continue it; None after any other event.
    cont: Continuation | None = None

    # -- rules' bookkeeping ---------------------------------------------------------------
    first_value_judged: bool = False  # lifecycle.created-first: the first value decides
    in_progress_missing_reported: bool = False  # lifecycle.in-progress-missing: once
    # lifecycle.no-terminal: the first `data: [DONE]` (message index, terminal event seen by then).
    done_sentinel_at: tuple[int | None, bool] | None = None
    first_response_id: Any = None  # lifecycle.response-id-changed: the first lifecycle event's id
    first_id_absent_reported: bool = False
    raising_errors: set[int | None] = field(default_factory=set)  # `error` events openai-python raises at
    id_field_reported: bool = False  # framing.id-field: once per stream
    done_sentinel_reported: bool = False  # framing.done-sentinel: once per stream
    seq_first_missing: int | None = None  # sequence.missing: the first event without a number
    seq_n_missing: int = 0
    # item.duplicate-index: the first response.created's items (its index, {output_index: id}).
    created_output: tuple[int | None, dict[int, Any]] | None = None
    item_ids: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # id -> (output_index, event)
    # item.identity-changed: terminal output positions whose call changed id (output.* skips it).
    changed_identity_output: set[int] = field(default_factory=set)
    interleaved: set[tuple[int, int]] = field(default_factory=set)  # item.interleaved: pairs reported
    unknown_seen: set[tuple[str, str]] = field(default_factory=set)  # schema: (pointer, message) once
    unknown_event_types: set[str] = field(default_factory=set)  # schema.unknown-event: once per type
    item_schema_reported: set[tuple[int, str, str]] = field(default_factory=set)  # schema.item at done
    annotations: dict[int, dict[int, list[Any]]] = field(default_factory=dict)  # streamed, per item/part
    web_search_steps: dict[int, list[str]] = field(default_factory=dict)  # progress events per item
    # Free for rules defined outside this package (a user's rules module); built-in rules use
    # the typed fields above.
    notes: dict[Any, Any] = field(default_factory=dict)

    def item_for(self, ev: dict[str, Any]) -> ItemState | None:
        oi = ev.get("output_index")
        return self.items.get(oi) if type(oi) is int else None

    def done_items(self) -> list[tuple[int, dict[str, Any]]]:
        """(output_index, item) of every output_item.done item, in index order (stable)."""
        return sorted(self.done_list, key=lambda p: p[0])


def part_key(sub: SubEvent, ev: dict[str, Any]) -> tuple[str, int] | None:
    """The (kind, index) a sub-event addresses, or None when it has no usable index."""
    if sub.kind is None:
        return None
    if sub.index_field is None:
        return (sub.kind, 0)
    idx = ev.get(sub.index_field)
    if type(idx) is not int:
        return None
    return (sub.kind, idx)


# --------------------------------------------------------------------------------------------
# Transitions.
def apply_lost(st: StreamState) -> None:
    """A message that is not an event (invalid JSON, not an object): it may have carried the
    next sequence_number, so the next step may be 2 without being a gap."""
    st.lost += 1
    st.undecodable += 1


def apply(st: StreamState, etype: str, ev: dict[str, Any], index: int) -> None:
    """Take the transition for one decoded event (after the checks judged it)."""
    st.n_events += 1
    if st.first_type is None:
        st.first_type = etype
    seq = ev.get("sequence_number")
    if type(seq) is int:
        st.lost = 0
        if st.last_seq is None or seq > st.last_seq:
            st.last_seq = seq
    else:
        st.lost += 1  # sequence.missing said so; the next number may skip this one's

    sym = response_symbol(etype, ev)
    if st.phase != "terminal":
        st.phase = next_phase(st.phase, sym)

    if etype in LIFECYCLE_TYPES:
        _apply_lifecycle(st, etype, ev, index)
    elif etype == "error":
        st.pending_error_at = index
    elif etype == "response.output_item.added":
        _apply_added(st, ev, index)
    elif etype == "response.output_item.done":
        _apply_done(st, ev, index)
    else:
        sub = SUB_EVENTS.get(etype)
        item = st.item_for(ev)
        if item is not None:
            st.last_sub_index = item.index
            # A sub-event the item's type does not accept (item.wrong-event-for-type) is ignored.
            if sub is not None and item.phase == "open" and item.type in sub.item_types:
                _apply_sub(item, sub, ev, index)
        elif sub is not None and sub.role == "delta" and sub.kind == "content":
            oi, ci, delta = ev.get("output_index"), ev.get("content_index"), ev.get("delta")
            if type(oi) is int and type(ci) is int and isinstance(delta, str):
                st.orphans.setdefault((oi, ci), []).append(delta)


def _apply_lifecycle(st: StreamState, etype: str, ev: dict[str, Any], index: int) -> None:
    resp = ev.get("response")
    if isinstance(resp, dict):
        if not st.lifecycle_seen:
            st.response_id = resp.get("id")
            st.created_at = resp.get("created_at")
            st.model = resp.get("model")
        else:
            # Keep the first value that was present (a missing one is reported by the schema).
            if st.response_id is None:
                st.response_id = resp.get("id")
            if st.created_at is None:
                st.created_at = resp.get("created_at")
            if st.model is None:
                st.model = resp.get("model")
        st.lifecycle_seen = True
    if etype == "response.created":
        st.saw_created = True
    elif etype == "response.in_progress":
        st.saw_in_progress = True
    elif etype in TERMINAL_TYPES:
        if st.terminal_type is None:
            st.terminal_type = etype
            st.terminal_at = index
            st.terminal_response = resp if isinstance(resp, dict) else None
        if etype == "response.failed":
            st.pending_error_at = None


def _apply_added(st: StreamState, ev: dict[str, Any], index: int) -> None:
    oi = ev.get("output_index")
    item = ev.get("item")
    st.n_added += 1
    if type(oi) is not int or not isinstance(item, dict):
        return
    old = st.items.get(oi)
    if old is not None and old.phase == "open":
        st.open_items -= 1
    # Legal from absent; a duplicate output_index (ITEM_ILLEGAL) starts the item again too: the
    # newer announcement wins, so the events that follow are judged against the item they
    # belong to. An item known only by its output_item.done is replaced the same way.
    new = ItemState(oi, item, index)
    new.phase, _ = move("item", old.phase if old is not None and old.announced else "absent", ADDED)
    st.items[oi] = new
    st.open_items += new.phase == "open"
    st.last_sub_index = oi


def _apply_done(st: StreamState, ev: dict[str, Any], index: int) -> None:
    oi = ev.get("output_index")
    if type(oi) is not int:
        return
    item = ev.get("item")
    it = st.items.get(oi)
    phase = it.phase if it is not None else "absent"
    nxt, _ = move("item", phase, DONE)
    if it is None:
        # Done without added: track it as done so later events are judged "after done".
        it = ItemState(oi, item if isinstance(item, dict) else {}, index)
        it.announced = False
        st.items[oi] = it
        st.n_added += 1  # it occupies its index: the next added item is judged after it
    elif nxt == phase:
        return  # a repeated done changes nothing
    if phase == "open":
        st.open_items -= 1
    it.phase = nxt
    it.done_at = index
    it.done_item = item if isinstance(item, dict) else None
    if it.done_item is not None:
        st.done_list.append((oi, it.done_item))
    # The item is closed: its streamed values are no longer needed.
    it.parts.clear()


def _apply_sub(item: ItemState, sub: SubEvent, ev: dict[str, Any], index: int) -> None:
    key = part_key(sub, ev)
    if key is None:
        return
    role = sub.role
    part = item.parts.get(key)
    nxt, illegal = part_move(sub, part)
    if illegal is not None:
        # Reported by the rule the table names; the value goes on in the state it names.
        if part is not None:
            part.phase = nxt
        return
    if part is None:
        ptype = None
        if role == "part_added":
            p = ev.get("part")
            ptype = p.get("type") if isinstance(p, dict) else None
            if not isinstance(ptype, str):
                ptype = None  # non-string part type: schema.event reports it; keep it hashable
            if sub.kind == "command":
                ptype = "command"
        part = PartState(key[0], key[1], ptype, index if role == "part_added" else None)
        if role == "part_added":
            part.misplaced = key[1] != item.n_parts.get(key[0], 0)
            item.n_parts[key[0]] = item.n_parts.get(key[0], 0) + 1
        item.parts[key] = part
    # What each move carries into the tracked value.
    if role == "delta":
        part.add(ev.get("delta"))
    elif role == "done":
        part.done_value = ev.get(sub.value_field) if sub.value_field else None
        part.ended_at = index
    elif role == "part_done":
        p = ev.get("part")
        if isinstance(p, dict):
            part.part_value = p.get(PART_VALUE_KEY.get(str(p.get("type")), "text"))
        part.ended_at = index
        part.release()
    part.phase = nxt
