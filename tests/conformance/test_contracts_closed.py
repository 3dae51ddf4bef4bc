"""The closed variants (contracts_closed) answer for the open schema and the unknown-field walk
together: whenever `quick_issues` answers, its answer is exactly theirs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import contracts
from conformance.contracts_closed import closed_documents, refers_to
from tests.conformance.test_contracts_fast import _paths, mutated
from tests.conformance.test_contracts_shortcut import EVENTS

pytest.importorskip("jsonschema_rs")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "streams"


def _long_way(event: dict[str, Any]) -> list[contracts.SchemaIssue]:
    return contracts.validate_event(event) + contracts.unknown_field_issues(event)


def test_every_fixture_event_gets_the_long_ways_answer() -> None:
    answered = 0
    for event in EVENTS:
        quick = contracts.quick_issues(event)
        if quick is not None:
            assert quick == _long_way(event), event["type"]
            answered += 1
    # The point of it: most events of real and built streams are settled by the closed call.
    assert answered > 0.8 * len(EVENTS)


def test_fixture_snapshots_and_bodies_agree() -> None:
    bodies = [e["response"] for e in EVENTS if isinstance(e.get("response"), dict)]
    bodies += [orjson.loads(p.read_bytes()) for p in sorted(FIXTURES.rglob("*.body.json"))]
    clean = 0
    for body in bodies:
        if contracts.quick_issues(body, "response") == []:
            assert contracts.validate_response(body) == []
            assert contracts.unknown_field_issues(body, "response") == []
            clean += 1
    assert clean > 0


DELTA = {"type": "response.output_text.delta", "sequence_number": 3, "item_id": "msg_1", "output_index": 0,
         "content_index": 0, "delta": "hi", "logprobs": []}
ADDED = {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
         "item": {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}}


def test_valid_event_and_live_fields_are_clean() -> None:
    assert contracts.quick_issues(DELTA) == []
    assert contracts.quick_issues({**DELTA, "obfuscation": "xyz"}) == []  # a known live-API field


@pytest.mark.parametrize("event", [
    {**DELTA, "brand_new": 1},  # at the top
    {**ADDED, "item": {**ADDED["item"], "brand_new": 1}},  # in a union variant (if/then dispatch)
    {**ADDED, "item": {**ADDED["item"], "content": [{"type": "output_text", "text": "", "annotations": [],
                                                     "brand_new": 1}]}},  # deeper, in an array
])
def test_an_unknown_field_anywhere_is_left_to_the_walk(event: dict[str, Any]) -> None:
    assert contracts.quick_issues(event) is None
    assert any(i.validator == "x-unknown-field" for i in _long_way(event))


def test_an_invalid_event_is_left_to_jsonschema() -> None:
    event = {**DELTA, "output_index": "0"}
    assert contracts.quick_issues(event) is None
    assert [i.pointer for i in _long_way(event)] == ["/output_index"]


def test_conditions_keep_the_open_schemas() -> None:
    # A closed `if` would change which branch applies: `if` subschemas and their refs stay open.
    base = "https://x.example/s/"
    docs = {base + "a.json": {"$id": base + "a.json", "type": "object", "properties": {"k": {"type": "string"}},
                              "if": {"properties": {"k": {"const": "v"}}, "$ref": "b.json"},
                              "then": {"$ref": "b.json"}}}
    variants = closed_documents(docs, base, ("obfuscation",))
    closed = variants[base.rstrip("/") + "-closed/a.json"]
    assert "unevaluatedProperties" not in closed["if"] and closed["if"]["$ref"] == base + "b.json"
    assert refers_to(variants, base)  # so the closed registry must hold the open schemas too
    assert not refers_to(contracts._contracts().closed_documents, contracts._contracts().base)  # today's
    assert closed["then"]["$ref"] == base.rstrip("/") + "-closed/b.json"
    assert closed["unevaluatedProperties"] is False  # properties + applicators: sees their keys
    assert closed["properties"]["obfuscation"] is True


def test_one_of_branches_stay_open() -> None:
    # {"a": 1} matches both open branches (oneOf fails); closing them would leave exactly one.
    base = "https://x.example/s/"
    docs = {base + "u.json": {"$id": base + "u.json", "oneOf": [
        {"type": "object", "properties": {"a": {"type": "integer"}}},
        {"type": "object", "properties": {"b": {"type": "integer"}}}]}}
    closed = closed_documents(docs, base, ())[base.rstrip("/") + "-closed/u.json"]
    assert closed["oneOf"] == docs[base + "u.json"]["oneOf"]


@st.composite
def with_new_key(draw: st.DrawFn, event_type: str) -> Any:
    """A schema-made event, maybe mutated, with maybe a new key in one of its objects."""
    event = copy.deepcopy(draw(mutated(event_type)))
    objects = [p for p in _paths(event) if isinstance(_at(event, p), dict)]
    if objects and draw(st.booleans()):
        target = _at(event, draw(st.sampled_from(objects)))
        target[draw(st.sampled_from(["brand_new", "store", "status", "id", "type", "text"]))] = draw(
            st.sampled_from([None, 1, "x", [], {}]))
    return event


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        node = node[p]
    return node


@pytest.mark.parametrize("event_type", sorted(contracts.known_event_types() - {"error"}))
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_events_agree(event_type: str, data: st.DataObject) -> None:
    event = data.draw(with_new_key(event_type))
    quick = contracts.quick_issues(event)
    if quick is not None:
        assert quick == _long_way(event)
