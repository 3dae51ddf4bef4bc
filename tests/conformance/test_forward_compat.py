"""Verdicts that hold on traffic the suite has never seen: properties over the positive corpus.

* Forward compatibility: what a newer API sends and the contracts do not know (new fields
  anywhere, new output item types, new event types between events, new values of open-ended
  enums) is never an error, and each unknown thing is reported once, as a warning.
* Partial items: `output_item.added` carries only what a client needs to open the item.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import check_sse
from conformance.contracts import known_event_types
from conformance.fixture_corpus import load_fixtures
from conformance.resources import schemas_dir
from conformance.sse import SSEParser
from conformance.testing import build_stream, function_call, message, to_sse

POSITIVE = [fx for fx in load_fixtures() if not fx.negative and fx.kind == "sse"]
KNOWN_EVENTS = known_event_types()
KNOWN_ITEMS = frozenset(json.loads((schemas_dir() / "output_item.json").read_text())["properties"]["type"]["enum"])
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def _decode(fx: Any) -> tuple[list[Any], bool]:
    """The fixture's decoded events and whether it ended with `[DONE]`."""
    parser = SSEParser()
    msgs = [*parser.feed(fx.body()), *parser.close()]
    events, done = [], False
    for m in msgs:
        if m.data == "[DONE]":
            done = True
            continue
        events.append(orjson.loads(m.data))
    return events, done


def _check(fx: Any, events: list[Any], done: bool) -> Any:
    return check_sse(to_sse(events, done=done), profile=fx.profile, request=fx.request, content_type=fx.content_type)


def _renumber(events: list[Any], numbered: bool) -> None:
    """Sequence numbers 0, 1, 2, … again after insertions (none at all for an old recording)."""
    for n, ev in enumerate(events):
        if numbered:
            ev["sequence_number"] = n
        else:
            ev.pop("sequence_number", None)


def _errors(result: Any) -> list[str]:
    return [f"{f.rule} @{f.event_index}: {f.message}" for f in result.findings if f.severity == "error"]


# -- forward compatibility --------------------------------------------------------------------------
NAMES = st.from_regex(r"[a-z]{3,8}", fullmatch=True).map(lambda s: f"zz_{s}")
VALUES = st.one_of(st.integers(0, 9), st.text("abc", max_size=4), st.booleans(), st.just({"k": [1, 2]}), st.none())


def _items_with_id(events: list[Any], item_id: Any) -> list[dict[str, Any]]:
    """Every copy of one output item: in added/done events and in every snapshot's output."""
    out = []
    for ev in events:
        item = ev.get("item")
        if isinstance(item, dict) and item.get("id") == item_id:
            out.append(item)
        resp = ev.get("response")
        for x in (resp.get("output") or []) if isinstance(resp, dict) else ():
            if isinstance(x, dict) and x.get("id") == item_id:
                out.append(x)
    return out


@st.composite
def newer_api(draw: Any) -> tuple[Any, list[Any], bool, list[str]]:
    """A positive fixture as a newer API would send it, and what it added (the unknown things)."""
    fx = draw(st.sampled_from(POSITIVE))
    events, done = _decode(fx)
    events = copy.deepcopy(events)
    numbered = "sequence_number" in events[0]
    added: list[str] = []
    used: set[str] = set()
    for _ in range(draw(st.integers(1, 4))):
        name = draw(NAMES.filter(lambda n: n not in used))
        used.add(name)
        what = draw(st.sampled_from(["event-field", "response-field", "item-field", "event-type", "item-type", "enum"]))
        # The fields of a new event or item type are not judged one by one: the type is the news.
        known = [
            ev for ev in events
            if ev.get("type") in KNOWN_EVENTS and (not isinstance(ev.get("item"), dict) or ev["item"].get("type") in KNOWN_ITEMS)
        ]
        if what == "event-field":
            ev = draw(st.sampled_from(known))
            ev[name] = draw(VALUES)
            added.append(f'unknown field "{name}"')
        elif what == "response-field":
            value = draw(VALUES)
            for ev in events:
                if isinstance(ev.get("response"), dict):
                    ev["response"][name] = copy.deepcopy(value)
            added.append(f'unknown field "{name}"')
        elif what == "item-field":
            ids = sorted({ev["item"]["id"] for ev in known if isinstance(ev.get("item"), dict) and isinstance(ev["item"].get("id"), str)})
            if not ids:
                continue
            value = draw(VALUES)
            for item in _items_with_id(events, draw(st.sampled_from(ids))):
                item[name] = copy.deepcopy(value)
            added.append(f'unknown field "{name}"')
        elif what == "event-type":
            at = draw(st.integers(1, len(events) - 1))
            events.insert(at, {"type": f"response.{name}.delta", "sequence_number": 0, "delta": "x"})
            added.append(f"'response.{name}.delta'")
        elif what == "item-type":
            term = events[-1] if events[-1].get("type") == "response.completed" else None
            if term is None:
                continue  # a new last item would end an incomplete/failed response: not the point here
            index = sum(1 for ev in events if ev.get("type") == "response.output_item.added")
            item = {"id": f"{name}_1", "type": name, "status": "in_progress"}
            done_item = {**item, "status": "completed", "detail": {"a": 1}}
            events[-1:-1] = [
                {"type": "response.output_item.added", "sequence_number": 0, "output_index": index, "item": item},
                {"type": "response.output_item.done", "sequence_number": 0, "output_index": index, "item": done_item},
            ]
            term["response"]["output"].append(copy.deepcopy(done_item))
            added.append(f'unknown output item type "{name}"')
        else:
            snaps = [ev["response"] for ev in events if isinstance(ev.get("response"), dict)]
            free = [f for f in ("service_tier", "truncation") if f not in used]
            if not free:
                continue
            field = draw(st.sampled_from(free))
            used.add(field)
            for resp in snaps:
                resp[field] = name
            added.append(f'"{name}" is not one of')
    _renumber(events, numbered)
    return fx, events, done, added


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(newer_api())
def test_what_the_contracts_do_not_know_is_one_warning_each(case: Any) -> None:
    fx, events, done, added = case
    result = _check(fx, events, done)
    assert not _errors(result), (fx.name, added, _errors(result))
    for thing in added:
        hits = [f for f in result.findings if thing in f.message]
        assert len(hits) == 1, (fx.name, thing, [f.message for f in hits])
        assert hits[0].severity == "warning"
        assert "openai-python 3.60" in hits[0].message  # names the contract version


def test_what_the_contracts_know_keeps_its_checks() -> None:
    evs = build_stream(message("a b"), function_call())
    evs[-1]["response"]["status"] = "done-ish"  # a closed enum: status
    evs[-2]["item"]["status"] = "finished"  # the function call's done item
    evs[-1]["response"]["output"][1]["status"] = "finished"
    evs[-1]["response"]["temperature"] = "hot"  # a known field of the wrong type
    result = check_sse(to_sse(evs))
    rules = {f.rule for f in result.findings if f.severity == "error"}
    assert {"schema.response", "item.status", "lifecycle.status-mismatch"} <= rules
    assert any("/response/temperature" in f.message and f.severity == "error" for f in result.findings)


# -- partial items ------------------------------------------------------------------------------------
OPEN = ("type", "id", "status", "call_id")
# openai-python's accumulator mutates these from the added item on (content parts are appended to
# a message's `content`; argument deltas are added to a call's `arguments`): they stay too.
OPEN_BY_TYPE = {"message": ("content",), "function_call": ("arguments",)}


@pytest.mark.parametrize("fx", POSITIVE, ids=[fx.name for fx in POSITIVE])
def test_partial_items_at_added_are_no_error(fx: Any) -> None:
    # call_id stays: openai-python >=3.54 identifies call items by it from output_item.added on
    # (a call_id that appears only at done makes it raise "identity changed"); so do the fields
    # its accumulator mutates (OPEN_BY_TYPE).
    events, done = _decode(fx)
    events = copy.deepcopy(events)
    stripped = 0
    for ev in events:
        if ev.get("type") == "response.output_item.added" and isinstance(ev.get("item"), dict):
            keep = OPEN + OPEN_BY_TYPE.get(ev["item"].get("type"), ())
            ev["item"] = {k: v for k, v in ev["item"].items() if k in keep}
            stripped += 1
    result = _check(fx, events, done)
    assert not _errors(result), _errors(result)
    assert stripped == sum(1 for ev in events if ev.get("type") == "response.output_item.added")


@pytest.mark.parametrize(("kind", "field"), [("message", "content"), ("function_call", "arguments")])
def test_fields_the_accumulator_mutates_stay_required_at_added(kind: str, field: str) -> None:
    fx = next(fx for fx in POSITIVE if any(
        ev.get("type") == "response.output_item.added" and ev.get("item", {}).get("type") == kind
        for ev in _decode(fx)[0]))
    events, done = _decode(fx)
    events = copy.deepcopy(events)
    for ev in events:
        if ev.get("type") == "response.output_item.added" and ev["item"].get("type") == kind:
            ev["item"].pop(field, None)
    assert any(e.startswith("schema.item") and f'"{field}"' in e for e in _errors(_check(fx, events, done)))
