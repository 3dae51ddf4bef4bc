"""The grammar tables are the checker: every (state, event) pair, fed to the checker, gets the
verdict and the next state the tables give; the checker's own bookkeeping is typed."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from conformance.checker import StreamChecker
from conformance.fixture_corpus import load_fixtures
from conformance.sse_checker import SSEStreamChecker
from conformance.state import (
    ADDED,
    DONE,
    FIELD_ILLEGAL,
    ITEM_GRAMMAR,
    ITEM_ILLEGAL,
    ITEM_TYPE_EVENTS,
    MACHINES,
    PART_ILLEGAL,
    SUB_EVENTS,
    StreamState,
    SubEvent,
    event_for,
    move,
)

FIXTURES = [f for f in load_fixtures() if f.kind == "sse"]


@pytest.mark.parametrize("fx", FIXTURES, ids=lambda f: f.name)
def test_built_in_rules_keep_no_untyped_notes(fx) -> None:  # type: ignore[no-untyped-def]
    # `notes` is left to rules defined outside the package: built-in rules use typed fields.
    checker = SSEStreamChecker(fx.profile, fx.request, content_type=fx.content_type)
    checker.feed(fx.body())
    checker.finish()
    assert checker.state.notes == {}


def test_stream_state_is_one_typed_dataclass() -> None:
    names = {f.name for f in fields(StreamState)}
    # What the fast paths write and what rules remember both live here.
    assert {"cont", "last_seq", "n_events", "interleaved", "seq_first_missing", "web_search_steps"} <= names
    assert all(f.type != "Any" or f.name in {"response_id", "created_at", "model", "first_response_id"}
               for f in fields(StreamState) if f.name != "notes")


# -- every (state, event) pair of the item and part machines -------------------------------------
RESP = {"id": "resp_1", "object": "response", "created_at": 1, "status": "in_progress", "model": "m", "output": []}
ITEMS = {
    "message": {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []},
    "reasoning": {"type": "reasoning", "id": "rs_1", "summary": [], "status": "in_progress"},
    "function_call": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "",
                      "status": "in_progress"},
    "custom_tool_call": {"type": "custom_tool_call", "id": "ct_1", "call_id": "call_2", "name": "g", "input": "",
                         "status": "in_progress"},
    "code_interpreter_call": {"type": "code_interpreter_call", "id": "ci_1", "code": "", "container_id": "c",
                              "outputs": None, "status": "in_progress"},
    "mcp_call": {"type": "mcp_call", "id": "mcp_1", "server_label": "s", "name": "n", "arguments": "",
                 "status": "in_progress"},
    "shell_call": {"type": "shell_call", "id": "sh_1", "call_id": "call_3", "status": "in_progress",
                   "action": {"commands": []}},
}
# (machine, item type, kind, part type) of every kind of streamed value.
VALUES = [
    ("part", "message", "content", "output_text"),
    ("part", "message", "content", "refusal"),
    ("part", "reasoning", "content", "reasoning_text"),
    ("part", "reasoning", "summary", "summary_text"),
    ("part", "shell_call", "command", "command"),
    ("field", "function_call", "arguments", None),
    ("field", "custom_tool_call", "input", None),
    ("field", "code_interpreter_call", "code", None),
    ("field", "mcp_call", "arguments", None),
]
_ANNOTATION = {"type": "url_citation", "url": "https://example.com/", "title": "t", "start_index": 0, "end_index": 0}


def _paths(machine: str) -> dict[str, list[str]]:
    """A shortest path of legal moves from the start to each state of a machine."""
    legal, _, start = MACHINES[machine]
    paths = {start: []}
    todo = [start]
    while todo:
        s = todo.pop(0)
        for sym, nxt in legal[s].items():
            if nxt not in paths:
                paths[nxt] = [*paths[s], sym]
                todo.append(nxt)
    return paths


def _item_event(sym: str, itype: str) -> dict[str, Any]:
    item = ITEMS[itype]
    if sym == "sub-event":
        etype = ITEM_TYPE_EVENTS[itype][0]
        sub = SUB_EVENTS[etype]
        return _value_event(etype, sub, itype, sub.part_types and min(sub.part_types))
    done = {**item, "status": "completed"} if sym == DONE else item
    return {"type": sym, "output_index": 0, "item": done}


def _value_event(etype: str, sub: SubEvent, itype: str, ptype: str | None) -> dict[str, Any]:
    ev: dict[str, Any] = {"type": etype, "output_index": 0}
    if sub.has_item_id:
        ev["item_id"] = ITEMS[itype]["id"]
    if sub.index_field:
        ev[sub.index_field] = 0
    if sub.role in ("part_added", "part_done") and sub.kind != "command":
        ev["part"] = {"type": ptype, ("refusal" if ptype == "refusal" else "text"): ""}
        if ptype == "output_text":
            ev["part"]["annotations"] = []
    elif sub.role == "delta":
        ev["delta"] = "x"
        if etype == "response.output_text.delta":
            ev["logprobs"] = []
    elif sub.role == "done" and sub.value_field:
        ev[sub.value_field] = "x"
    elif sub.role == "annotation":
        ev.update(annotation_index=0, annotation=_ANNOTATION)
    return ev


def _feed_all(events: list[dict[str, Any]], fast_path: bool) -> tuple[StreamChecker, list[Any]]:
    checker = StreamChecker("openai", fast_path=fast_path)
    last: list[Any] = []
    for n, ev in enumerate(events):
        last = checker.feed({**ev, "sequence_number": n})
    return checker, last


def _start() -> list[dict[str, Any]]:
    return [{"type": "response.created", "response": RESP}, {"type": "response.in_progress", "response": RESP}]


def _rules(illegal: dict[str, dict[str, tuple[str, str]]]) -> set[str]:
    return {rule for moves in illegal.values() for rule, _ in moves.values()}


@pytest.mark.parametrize("machine", ["item", "part", "field"])
def test_tables_are_total(machine: str) -> None:
    legal, illegal, _ = MACHINES[machine]
    assert set(legal) == set(illegal)
    symbols = {s for moves in (*legal.values(), *illegal.values()) for s in moves}
    for state in legal:
        # each (state, symbol) is legal or names its rule, never both, and leads to a state
        assert set(legal[state]) | set(illegal[state]) == symbols, state
        assert not set(legal[state]) & set(illegal[state]), state
        targets = [*legal[state].values(), *(nxt for _, nxt in illegal[state].values())]
        assert set(targets) <= set(legal), state


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("itype", ["function_call", "message"])
def test_every_item_move_gets_the_tables_verdict(itype: str, fast_path: bool) -> None:
    grammar_rules = _rules(ITEM_ILLEGAL)
    pairs = 0
    for state, path in _paths("item").items():
        for sym in {*ITEM_GRAMMAR[state], *ITEM_ILLEGAL[state]}:
            nxt, rule = move("item", state, sym)
            events = _start() + [_item_event(s, itype) for s in [*path, sym]]
            checker, last = _feed_all(events, fast_path)
            got = {f.rule for f in last} & grammar_rules
            assert got == ({rule} if rule else set()), (state, sym, [f.message for f in last])
            it = checker.state.items.get(0)
            assert (it.phase if it is not None else "absent") == nxt, (state, sym)
            pairs += 1
    assert pairs == 9


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize(("machine", "itype", "kind", "ptype"), VALUES)
def test_every_part_move_gets_the_tables_verdict(
    machine: str, itype: str, kind: str, ptype: str | None, fast_path: bool
) -> None:
    legal, illegal, _ = MACHINES[machine]
    grammar_rules = _rules(PART_ILLEGAL) | _rules(FIELD_ILLEGAL)
    explicit = machine == "part"
    # The event playing each role for this value (roles its type has no event for are absent).
    by_role: dict[str, tuple[str, SubEvent]] = {}
    for etype, sub in SUB_EVENTS.items():
        if etype == event_for(sub.role, itype, kind, ptype) and sub.kind == kind and sub.explicit == explicit:
            by_role[sub.role] = (etype, sub)
    judged = 0
    for state, path in _paths(machine).items():
        if any(role not in by_role for role in path):
            continue  # unreachable for this value (a shell command has no part.done)
        prefix = [*_start(), _item_event(ADDED, itype)]
        prefix += [_value_event(*by_role[role], itype, ptype) for role in path]
        for role, (etype, sub) in by_role.items():
            nxt, rule = move(machine, state, role)
            checker, last = _feed_all([*prefix, _value_event(etype, sub, itype, ptype)], fast_path)
            got = {f.rule for f in last} & grammar_rules
            assert got == ({rule} if rule else set()), (state, role, [f.message for f in last])
            part = checker.state.items[0].parts.get((kind, 0))
            assert (part.phase if part is not None else "absent") == nxt, (state, role)
            assert sub.role in legal[state] or sub.role in illegal[state]
            judged += 1
    assert judged >= 2 * len(by_role)
