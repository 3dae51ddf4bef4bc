"""Cross-check the event schemas against openai-python's own models.

hypothesis-jsonschema generates instances from each event schema (a bundled, size-bounded copy);
every one must validate with zero issues here AND load through the SDK's ResponseStreamEvent
TypeAdapter into the class of the same `type`.
"""

from __future__ import annotations

import functools
import json
import typing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from conformance import contracts
from conformance.contracts_bundle import bundled


def _patch_hypothesis_jsonschema() -> None:
    """hypothesis-jsonschema 0.23.1 (the latest) calls `cu.many(...).more()`, an API that
    hypothesis 6.170 replaced by a context manager + iterator. Give it the old interface, only
    inside hypothesis_jsonschema (its module-level `cu` reference), nowhere else."""
    import types

    import hypothesis.internal.conjecture.utils as cu
    import hypothesis_jsonschema._from_schema as hjs

    if hasattr(cu.many, "more") or getattr(hjs.cu, "_contracts_compat", False):
        return

    class OldMany:
        def __init__(self, data: Any, **sizes: Any) -> None:
            self._many = cu.many(data, **sizes)
            self._many.__enter__()
            self._it = iter(self._many)

        def more(self) -> bool:
            if next(self._it, StopIteration) is StopIteration:
                self._many.__exit__(None, None, None)
                return False
            return True

        def reject(self, why: str | None = None) -> None:
            self._many.reject(why)

    proxy = types.SimpleNamespace(**{k: getattr(cu, k) for k in dir(cu) if not k.startswith("__")})
    proxy.many = OldMany
    proxy._contracts_compat = True
    hjs.cu = proxy  # type: ignore[assignment]


_patch_hypothesis_jsonschema()

SDK_EVENT_CLASSES = typing.get_args(typing.get_args(ResponseStreamEvent)[0])
SDK_TYPES = {typing.get_args(c.model_fields["type"].annotation)[0]: c for c in SDK_EVENT_CLASSES}
ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)

MAX_ITEMS = 2


def test_every_sdk_event_type_has_a_schema() -> None:
    assert len(SDK_TYPES) == len(SDK_EVENT_CLASSES)  # no duplicate literal
    missing = set(SDK_TYPES) - contracts.known_event_types()
    assert not missing, f"SDK event types without a schema: {sorted(missing)}"


def test_extra_event_types_are_the_open_responses_variants() -> None:
    extra = contracts.known_event_types() - set(SDK_TYPES)
    assert extra == {"response.reasoning.delta", "response.reasoning.done"}


def _dispatch_branches(node: dict[str, Any]) -> list[Any] | None:
    cases = node.get("allOf")
    if not isinstance(cases, list) or not cases:
        return None
    if not all(isinstance(c, dict) and set(c) == {"if", "then"} for c in cases):
        return None
    return [c["then"] for c in cases]


def for_generation(node: Any) -> Any:
    """An equivalent-or-narrower schema hypothesis-jsonschema generates quickly from."""
    if isinstance(node, list):
        return [for_generation(x) for x in node]
    if not isinstance(node, dict):
        return node
    branches = _dispatch_branches(node)
    if branches is not None:  # discriminated dispatch -> anyOf of the (type-const) branches
        return {"anyOf": [for_generation(b) for b in branches]}
    if set(node) == {"if", "else"} and node["if"] == {"type": "null"}:
        return {"anyOf": [{"type": "null"}, for_generation(node["else"])]}
    if set(node) == {"if", "then", "else"} and node["if"] == {"type": "object"}:
        return {"anyOf": [for_generation(node["then"]), for_generation(node["else"])]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("description", "title", "$comment") or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {k: for_generation(v) for k, v in value.items()}
        elif key in ("enum", "const", "required"):
            out[key] = value
        else:
            out[key] = for_generation(value)
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False  # narrower: no random extra keys
    if node.get("type") == "array" or "items" in node:
        out["maxItems"] = min(node.get("maxItems", MAX_ITEMS), MAX_ITEMS)
    return out


# hypothesis-jsonschema re-canonicalises every object property on every draw: for the events
# that embed a Response or an output item that costs ~2 s per example, and even small events
# spend most of their time there. So the object/array/anyOf structure is composed here (each
# distinct subschema built once) and every leaf still comes from hypothesis-jsonschema's
# from_schema. (Composing every event, not only those over 8,000 characters, halved the time
# of this file and of test_contracts_fast.)
_OBJECT_KEYS = frozenset({"type", "properties", "required", "additionalProperties"})


def _key(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True)


@functools.cache
def _composed(key: str) -> st.SearchStrategy[Any]:
    schema = json.loads(key)
    if isinstance(schema, dict) and set(schema) == {"anyOf"}:
        return st.one_of([_composed(_key(b)) for b in schema["anyOf"]])
    if isinstance(schema, dict) and "properties" in schema and set(schema) <= _OBJECT_KEYS:
        required = set(schema.get("required", []))
        props = schema["properties"]
        assert required <= set(props), "a required property without a schema"
        return st.fixed_dictionaries(
            {k: _composed(_key(v)) for k, v in props.items() if k in required},
            optional={k: _composed(_key(v)) for k, v in props.items() if k not in required},
        )
    if isinstance(schema, dict) and schema.get("type") == "array" and \
            set(schema) <= {"type", "items", "maxItems", "minItems"}:
        return st.lists(_composed(_key(schema.get("items", {}))),
                        min_size=schema.get("minItems", 0), max_size=schema["maxItems"])
    return from_schema(schema)


@functools.cache
def strategy_for(event_type: str) -> st.SearchStrategy[Any]:
    schema = for_generation(bundled(event_type))
    schema.pop("$schema", None)
    return _composed(_key(schema))


@pytest.mark.parametrize("event_type", sorted(SDK_TYPES))
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_generated_events_load_in_the_sdk(event_type: str, data: st.DataObject) -> None:
    event = data.draw(strategy_for(event_type))
    assert event["type"] == event_type
    issues = contracts.validate_event(event)
    assert issues == [], [str(i) for i in issues]
    loaded = ADAPTER.validate_python(event)
    assert isinstance(loaded, SDK_TYPES[event_type]), type(loaded).__name__
