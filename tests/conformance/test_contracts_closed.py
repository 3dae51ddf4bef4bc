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


@pytest.fixture
def nothing_learnt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that has not yet seen any tolerated absence."""
    for name, empty in (("_ABSENCE_FAILS", set()), ("_ABSENCE_SUBJECTS", set()), ("_ABSENCE_ORDER", {})):
        monkeypatch.setattr(contracts, name, empty)


def test_a_first_seen_absence_is_settled_by_the_closed_variant(nothing_learnt: None) -> None:
    # Every fixture event that lacks a tolerated field, met first: the closed call answers (no
    # jsonschema, no walk), exactly as the long way does, and learns what the long way learns.
    answered = 0
    for event in EVENTS:
        subject = "event:" + event["type"]
        if event["type"] == "error" or not contracts._absences(event, subject):
            continue
        contracts._ABSENCE_FAILS.clear()
        quick = contracts.quick_issues(event)
        if quick is None:
            continue
        learnt = set(contracts._ABSENCE_FAILS)
        contracts._ABSENCE_FAILS.clear()
        assert quick == _long_way(event), event["type"]
        assert learnt == contracts._ABSENCE_FAILS  # the long way learnt the same
        answered += 1
    assert answered > 10


def test_a_first_seen_absence_with_another_fault_is_left_to_the_long_way(nothing_learnt: None) -> None:
    event = next(e for e in EVENTS if e["type"] == "response.completed" and contracts._absences(e, "event:" + e["type"]))
    unknown = copy.deepcopy(event)
    unknown["response"]["surprise"] = 1
    assert contracts.quick_issues(unknown) is None
    wrong = copy.deepcopy(event)
    wrong["response"]["status"] = 5
    assert contracts.quick_issues(wrong) is None
    assert not contracts._ABSENCE_FAILS


def test_checking_a_real_capture_needs_no_jsonschema() -> None:
    # The one-file check of a real stream (a `response.completed` without `cache_write_tokens`,
    # a `function_call_arguments.done` without `name`) decides everything with the compiled
    # closed variants: jsonschema and its registry stay unimported.
    import subprocess
    import sys

    captures = sorted((FIXTURES / "positive" / "openai-api").glob("*.sse"))
    script = (
        "import sys\nfrom conformance import check_sse\n"
        "for path in sys.argv[1:]:\n"
        "    assert check_sse(open(path, 'rb').read()).summary['error'] == 0, path\n"
        "print(sorted(m for m in ('jsonschema', 'referencing') if m in sys.modules))\n"
    )
    paths = [str(p) for p in captures if not p.name.startswith("vercel-error")]  # its `error` event: the long way
    proc = subprocess.run([sys.executable, "-c", script, *paths], capture_output=True, text=True, timeout=300,
                          cwd=FIXTURES.parents[1])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
