"""Tolerated absences (contracts_tolerances.ABSENCES) skip jsonschema: the shortcut must give
exactly the issues jsonschema's explanation gives (pointer, message, keyword, tolerance)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from conformance import contracts
from conformance.contracts_tolerances import ABSENCES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "streams"


def _events() -> Iterator[dict[str, Any]]:
    for path in sorted(FIXTURES.rglob("*.sse")):
        for line in path.read_bytes().splitlines():
            if not line.startswith(b"data:"):
                continue
            try:
                event = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                continue
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                yield event


EVENTS = list(_events())


def _explained(event: dict[str, Any]) -> list[contracts.SchemaIssue]:
    """The slow path: jsonschema's errors, explained."""
    c = contracts._contracts()
    uri = c.events[event["type"]]
    return contracts._issues(c.compiled(uri), event, "event:" + event["type"])


def _known(event: dict[str, Any]) -> bool:
    return event["type"] in contracts.known_event_types() and event["type"] != "error"


def test_fixture_events_agree_with_jsonschema() -> None:
    checked = 0
    for event in EVENTS:
        if _known(event):
            assert contracts.validate_event(event) == _explained(event), event["type"]
            checked += 1
    assert checked > 1000


def _without(event: dict[str, Any], path: tuple[str, ...], key: str) -> dict[str, Any] | None:
    out = copy.deepcopy(event)
    obj: Any = out
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or key not in obj:
        return None
    del obj[key]
    return out


@pytest.mark.parametrize(("pattern", "path", "key"), [(a[0], a[1], a[2]) for a in ABSENCES if a[0].startswith("event:")])
def test_each_absence_matches_the_slow_explanation(pattern: str, path: tuple[str, ...], key: str) -> None:
    from fnmatch import fnmatchcase

    made = 0
    for event in EVENTS:
        if not _known(event) or not fnmatchcase("event:" + event["type"], pattern):
            continue
        mutated = _without(event, path, key)
        if mutated is None:
            continue
        fast = contracts.validate_event(mutated)
        assert fast == _explained(mutated)
        made += 1
        if made >= 20:
            break
    # `name` is never sent (the real captures lack it: test_fixture_events_agree covers those)
    if key != "name":
        assert made > 0, f"no fixture event carries {key} at {path}"


def test_response_body_absence_agrees() -> None:
    bodies = [e["response"] for e in EVENTS if e["type"] == "response.completed"]
    assert bodies
    c = contracts._contracts()
    compiled = c.compiled(c.id_for("response") or "")
    for body in bodies[:20]:
        mutated = _without(body, ("usage", "input_tokens_details"), "cache_write_tokens")
        if mutated is None:
            continue
        shortcut = contracts.validate_response(mutated)
        assert shortcut == contracts._issues(compiled, mutated, "response")
        assert [i.tolerance for i in shortcut] == ["usage-cache-write-tokens-absent"]


def test_two_absences_agree_with_jsonschema() -> None:
    event = next(e for e in EVENTS if e["type"] == "response.function_call_arguments.done" and "name" not in e)
    mutated = {k: v for k, v in event.items() if k != "sequence_number"}
    for _ in range(2):  # the first explains and learns the order, the second takes the shortcut
        issues = contracts.validate_event(mutated)
        assert issues == _explained(mutated)
    assert {i.pointer for i in issues} == {"/name", "/sequence_number"}


@pytest.mark.parametrize("etype", ["response.completed"])
def test_old_snapshot_without_sequence_and_cache_write_agrees(etype: str) -> None:
    """A pre-2025 lifecycle event: no sequence_number, no cache_write_tokens (two tolerances)."""
    made = 0
    for event in EVENTS:
        if event["type"] != etype:
            continue
        mutated = _without(event, ("response", "usage", "input_tokens_details"), "cache_write_tokens")
        if mutated is None:
            continue
        del mutated["sequence_number"]
        for _ in range(2):
            issues = contracts.validate_event(mutated)
            assert issues == _explained(mutated)
        assert {i.tolerance for i in issues} == {"sequence-number-absent", "usage-cache-write-tokens-absent"}
        made += 1
    assert made > 0


def test_absences_with_another_fault_are_explained() -> None:
    """A stand-in cannot hide a real defect: with a wrong type elsewhere, jsonschema explains."""
    event = next(e for e in EVENTS if e["type"] == "response.output_text.done" and "logprobs" in e)
    mutated = {k: v for k, v in event.items() if k not in ("sequence_number", "logprobs")}
    mutated["output_index"] = "zero"
    for _ in range(2):
        issues = contracts.validate_event(mutated)
        assert issues == _explained(mutated)
    assert "/output_index" in {i.pointer for i in issues}


def _completed_without_cache_write() -> dict[str, Any]:
    for event in EVENTS:
        if event["type"] == "response.completed":
            mutated = _without(event, ("response", "usage", "input_tokens_details"), "cache_write_tokens")
            if mutated is not None and contracts.validate_event(event) == []:
                return mutated
    raise AssertionError("no valid response.completed with cache_write_tokens among the fixtures")


def test_a_learnt_absence_costs_one_predicate_call() -> None:
    c = contracts._contracts()
    compiled = c.compiled(c.events["response.completed"])
    mutated = _completed_without_cache_write()
    contracts.validate_event(mutated)  # learns that the absence alone fails the original
    seen: list[Any] = []
    predicate = compiled.fast
    assert predicate is not None
    compiled.fast = lambda instance: seen.append(instance) or predicate(instance)
    try:
        issues = contracts.validate_event(mutated)
    finally:
        compiled.fast = predicate
    assert [i.tolerance for i in issues] == ["usage-cache-write-tokens-absent"]
    assert issues == _explained(mutated)
    assert len(seen) == 1 and seen[0] is not mutated  # the instance with the stand-in only


@pytest.mark.parametrize(("where", "value"), [(("response", "status"), 5), (("sequence_number",), "7"),
                                              (("response", "usage", "input_tokens_details", "cached_tokens"), None)])
def test_a_learnt_absence_does_not_hide_another_fault(where: tuple[str, ...], value: Any) -> None:
    """After the shortcut learnt this absence, a later snapshot with the same absence and one more
    defect is still explained in full by jsonschema."""
    mutated = _completed_without_cache_write()
    contracts.validate_event(mutated)
    contracts.validate_event(mutated)
    broken = copy.deepcopy(mutated)
    obj: Any = broken
    for part in where[:-1]:
        obj = obj[part]
    obj[where[-1]] = value
    issues = contracts.validate_event(broken)
    assert issues == _explained(broken)
    assert "/" + "/".join(where) in {i.pointer for i in issues}
    assert "/response/usage/input_tokens_details/cache_write_tokens" in {i.pointer for i in issues}
