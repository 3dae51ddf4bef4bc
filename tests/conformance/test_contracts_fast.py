"""The hand-compiled fast path (contracts_fast) must agree with full jsonschema validation.

Valid instances come from the schemas (see test_contracts_sdk.strategy_for); hypothesis then
deletes a key or replaces a value anywhere in them, with values chosen to hit JSON Schema's
corner cases (1.0 is an integer, true is not a number, null, empty containers).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import contracts
from conformance.contracts_fast import json_equal
from tests.conformance.test_contracts_sdk import strategy_for

TRICKY = st.sampled_from([None, True, False, 0, 1, 1.0, -1, 2.5, "", "x", [], {}, [1], {"a": 1},
                          "response", "message", "output_text", 10**20])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*path, i)))
    return out


@st.composite
def mutated(draw: st.DrawFn, event_type: str) -> Any:
    event = copy.deepcopy(draw(strategy_for(event_type)))
    action = draw(st.sampled_from(["keep", "delete", "replace", "replace"]))
    paths = [p for p in _paths(event) if p and p != ("type",)]
    if action == "keep" or not paths:
        return event
    path = draw(st.sampled_from(paths))
    parent = event
    for p in path[:-1]:
        parent = parent[p]
    if action == "delete":
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    else:
        parent[path[-1]] = draw(TRICKY | JSON)
    return event


def _full_is_valid(event_type: str, event: Any) -> bool:
    c = contracts._contracts()
    return bool(c.compiled(c.events[event_type]).validator.is_valid(event))


@pytest.mark.parametrize("event_type", sorted(contracts.known_event_types()))
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fast_path_agrees_with_jsonschema(event_type: str, data: st.DataObject) -> None:
    c = contracts._contracts()
    fast = c.compiled(c.events[event_type]).fast
    assert fast is not None, f"no fast path for {event_type}"
    event = data.draw(mutated(event_type))
    full = _full_is_valid(event_type, event)
    assert fast(event) == full
    issues = contracts.validate_event(event)
    assert (issues == []) == full, [str(i) for i in issues]


@pytest.mark.parametrize(("value", "valid"), [
    (1, True), (1.0, True), (1.5, False), (True, False), ("1", False), (None, False), (10**30, True)])
def test_integer_semantics_match(value: Any, valid: bool) -> None:
    event = {"type": "response.output_text.delta", "sequence_number": value, "item_id": "m",
             "output_index": 0, "content_index": 0, "delta": "d", "logprobs": []}
    c = contracts._contracts()
    compiled = c.compiled(c.events["response.output_text.delta"])
    assert compiled.fast is not None
    assert compiled.fast(event) is valid
    assert compiled.validator.is_valid(event) is valid


def test_json_equal() -> None:
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal(0, False)
    assert json_equal([1, {"a": None}], [1.0, {"a": None}]) and not json_equal({"a": 1}, {"b": 1})
    assert not json_equal("1", 1) and json_equal(None, None) and not json_equal(None, 0)


def test_every_schema_has_a_fast_path() -> None:
    c = contracts._contracts()
    missing = [name for name in contracts.schema_names()
               if c.compiled(c.id_for(name) or "").fast is None]
    assert missing == []
