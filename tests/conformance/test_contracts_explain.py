"""The explaining validator (contracts_explain) gives exactly jsonschema's errors.

It descends only into the union branch an object's `type` names; the stock Draft 2020-12
validator, over the same documents with their `$schema`, is the reference."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from conformance import contracts
from conformance.contracts_explain import explaining_validator
from conformance.contracts_unions import union_branches
from tests.conformance.test_contracts_fast import mutated
from tests.conformance.test_contracts_shortcut import EVENTS

# Event types whose schemas reach a generated union (an item, a part, an annotation, a Response).
UNION_EVENTS = sorted(t for t in contracts.known_event_types()
                      if t.startswith(("response.output_item.", "response.content_part.", "response.output_text.annotation"))
                      or t in ("response.created", "response.completed", "response.incomplete", "response.failed"))


def _stock() -> Registry[Any]:
    c = contracts._contracts()
    return Registry().with_resources(
        [(uri, DRAFT202012.create_resource(doc)) for uri, doc in c.documents.items()]).crawl()


STOCK = _stock()


def _key(error: Any) -> tuple[Any, ...]:
    return (error.message, error.validator, list(error.absolute_path), list(error.absolute_schema_path),
            error.instance, [_key(sub) for sub in error.context or ()])


@functools.cache
def _validators(event_type: str) -> tuple[Any, Any]:
    c = contracts._contracts()
    doc = c.documents[c.events[event_type]]
    return explaining_validator(doc, c.registry), Draft202012Validator(doc, registry=STOCK)


def _both(event: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    ours, stock = _validators(event["type"])
    return [_key(e) for e in ours.iter_errors(event)], [_key(e) for e in stock.iter_errors(event)]


def test_the_generated_unions_are_recognised() -> None:
    c = contracts._contracts()

    def all_ofs(node: Any) -> list[list[Any]]:
        if isinstance(node, dict):
            here = [node["allOf"]] if isinstance(node.get("allOf"), list) else []
            return here + [a for v in node.values() for a in all_ofs(v)]
        return [a for v in node for a in all_ofs(v)] if isinstance(node, list) else []

    found = [union_branches(a) is not None for doc in c.documents.values() for a in all_ofs(doc)]
    assert sum(found) > 50  # items, parts, annotations, tools, inputs, ...
    items = c.documents[c.base + "output_item.json"]
    assert union_branches(items["allOf"]) == {t: i for i, t in enumerate(items["properties"]["type"]["enum"])}
    branch = {"if": {"properties": {"type": {"const": "a"}}, "required": ["type"]}, "then": {}}
    assert union_branches([branch, {**branch, "else": {}}]) is None  # not the generated shape
    assert union_branches([branch, branch]) is None  # two branches for one type
    assert union_branches([{"required": ["type"]}]) is None


def test_every_fixture_event_gets_jsonschemas_errors() -> None:
    failing = 0
    for event in EVENTS:
        if event["type"] in contracts.known_event_types():
            ours, stock = _both(event)
            assert ours == stock, event["type"]
            failing += bool(stock)
    assert failing > 100  # the negative fixtures: errors to compare, not only silence


@pytest.mark.parametrize("item", [
    {"type": "patch_preview", "id": "x"},  # a type no branch names
    {"type": 5, "id": "x"},  # not a string: the plain keyword
    {"id": "x"},  # no type
    ["not", "an", "object"],
    {"type": "message", "id": "m", "role": "assistant", "status": "done", "content": [{"type": 1}]},
])
def test_odd_items_get_jsonschemas_errors(item: Any) -> None:
    event = {"type": "response.output_item.done", "sequence_number": 1, "output_index": 0, "item": item}
    ours, stock = _both(event)
    assert ours == stock and stock


@pytest.mark.parametrize("event_type", UNION_EVENTS)
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_mutated_events_get_jsonschemas_errors(event_type: str, data: st.DataObject) -> None:
    event = data.draw(mutated(event_type))
    ours, stock = _both(event)
    assert ours == stock
