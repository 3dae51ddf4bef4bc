"""Tests of conformance.contracts: the schemas themselves, real captures, negatives, bad input."""

from __future__ import annotations

import copy
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jsonschema
import pytest
from jsonschema import Draft202012Validator

from conformance import contracts
from conformance.contracts import SchemaIssue, validate_event
from conformance.contracts_bundle import bundled
from conformance.resources import fixtures_dir, schemas_dir
from tests.paths import SEED

# Which tolerance tags each real capture produces (docs/contracts.md lists the same table).
EXPECTED_TOLERANCES: dict[str, set[str]] = {
    "basic-text-with-reasoning.sse": {"usage-cache-write-tokens-absent"},
    "dotnet-codeinterpretertoolstreaming.sse": {"usage-cache-write-tokens-absent"},
    "dotnet-filesearchcallstreaming.sse": {"usage-cache-write-tokens-absent"},
    "dotnet-functioncallstreamingworks.sse": {"usage-cache-write-tokens-absent",
                                              "function-call-arguments-done-name-absent"},
    "fantasy-parallel-tools-gpt-5.sse": {"usage-cache-write-tokens-absent",
                                         "function-call-arguments-done-name-absent"},
    "pydantic-background-queued-gpt-4o.sse": {"usage-cache-write-tokens-absent"},
    "pydantic-hosted-shell-gpt-5.2.sse": {"usage-cache-write-tokens-absent"},
    "pydantic-logprobs-gpt-4o-mini.sse": {"usage-cache-write-tokens-absent"},
    "pydantic-phase-gpt-5.5-step1.sse": {"function-call-arguments-done-name-absent"},
    "pydantic-thinking-o3-mini.sse": {"usage-cache-write-tokens-absent"},
    "vercel-error-failed-gpt-5-nano.sse": {"error-event-nested", "response-error-code-undocumented"},
    "vercel-mcp-tool-gpt-5-mini.sse": {"usage-cache-write-tokens-absent"},
    "vercel-reasoning-encrypted-fc-gpt-5.1-codex-max-step1.sse": {
        "usage-cache-write-tokens-absent", "function-call-arguments-done-name-absent"},
    "web-search-with-citations.sse": {"usage-cache-write-tokens-absent"},
}


# -- the schema files --------------------------------------------------------------------------
def _schema_files() -> list[Path]:
    return sorted(p for p in schemas_dir().rglob("*.json") if p.name != "index.json")


def _refs(node: Any, base: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if "$id" in node:
            base = urljoin(base, node["$id"])
        for key, value in node.items():
            if key == "$ref":
                found.append((base, value))
            elif key not in ("enum", "const"):
                found.extend(_refs(value, base))
    elif isinstance(node, list):
        for x in node:
            found.extend(_refs(x, base))
    return found


def test_every_schema_is_valid_2020_12_with_an_id_matching_its_path() -> None:
    files = _schema_files()
    assert len(files) > 100
    base = json.loads((schemas_dir() / "index.json").read_text())["base"]
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(doc)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema", path
        assert doc["$id"] == base + path.relative_to(schemas_dir()).as_posix(), path


def _keys_below_the_root(node: Any) -> set[str]:
    found: set[str] = set()
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        if isinstance(child, dict):
            found |= set(child)
        found |= _keys_below_the_root(child)
    return found


def test_every_ref_resolves() -> None:
    # The jsonschema registry is not crawled (contracts._Contracts.registry): that is exact only
    # while no subschema declares an `$id` or an anchor, so every `$ref` is a document + pointer.
    c = contracts._contracts()
    for doc in c.documents.values():
        assert not {"$id", "$anchor", "$dynamicAnchor"} & _keys_below_the_root(doc), doc["$id"]
    resolver = c.registry.resolver()
    count = 0
    for doc in c.documents.values():
        for base, ref in _refs(doc, doc["$id"]):
            resolved = resolver.lookup(urljoin(base, ref))
            assert isinstance(resolved.contents, dict), (base, ref)
            count += 1
    assert count > 300


def test_no_event_item_or_response_schema_is_closed() -> None:
    # Live streams carry `obfuscation`, `stream_id` and vendor fields: objects stay open.
    for path in _schema_files():
        rel = path.relative_to(schemas_dir()).as_posix()
        if rel.startswith(("events/", "items/", "parts/", "response.json", "output_item.json")):
            text = path.read_text(encoding="utf-8")
            assert '"additionalProperties": false' not in text, rel


def test_index_maps_every_event_type_to_its_schema() -> None:
    index = json.loads((schemas_dir() / "index.json").read_text())
    assert set(index["events"]) == contracts.known_event_types()
    assert {"sdk", "openapi", "open_responses"} <= set(index["versions"])
    for etype, entry in index["events"].items():
        doc = json.loads((schemas_dir() / entry["file"]).read_text())
        assert doc["$id"] == entry["$id"]
        assert doc["properties"]["type"]["const"] == etype
        assert "sequence_number" in doc["required"], etype
        assert doc["properties"]["sequence_number"]["type"] == "integer", etype
        assert entry["source"]


def test_response_required_and_nullable_fields() -> None:
    doc = json.loads((schemas_dir() / "response.json").read_text())
    required = set(doc["required"])
    assert {"id", "object", "created_at", "model", "output", "parallel_tool_calls", "tool_choice",
            "tools", "error", "incomplete_details", "instructions", "metadata", "temperature",
            "top_p"} <= required
    assert doc["properties"]["object"]["const"] == "response"
    assert set(doc["properties"]["status"]["enum"]) - {None} == {
        "completed", "failed", "in_progress", "cancelled", "queued", "incomplete"}
    reason = json.loads((schemas_dir() / "incomplete_details.json").read_text())["properties"]["reason"]
    assert set(reason["enum"]) - {None} == {"max_output_tokens", "content_filter", "max_messages", "steered"}


# -- real captures -------------------------------------------------------------------------------
def _capture_dir() -> Path:
    try:
        copied = fixtures_dir() / "streams" / "positive" / "openai-api"
    except FileNotFoundError:
        copied = None
    if copied is not None and any(copied.glob("*.sse")):
        return copied
    if any(SEED.glob("*.sse")):
        return SEED
    pytest.fail("no real captures: neither fixtures/streams/positive/openai-api/*.sse nor "
                "../shared/fixtures-seed/openai-api/*.sse exists")


def _events(path: Path) -> list[Any]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            if data != "[DONE]":
                out.append(json.loads(data))
    return out


def test_real_captures_validate_except_tolerances() -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    files = sorted(_capture_dir().glob("*.sse"))
    assert len(files) >= 14
    for path in files:
        events = _events(path)
        assert events, path.name
        for i, event in enumerate(events):
            for issue in validate_event(event):
                assert issue.tolerance is not None, f"{path.name} event {i}: {issue}"
                seen[path.name].add(issue.tolerance)
    for name, expected in EXPECTED_TOLERANCES.items():
        assert seen.get(name, set()) == expected, name


def test_every_tolerance_is_documented_and_seen_or_explained() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text(encoding="utf-8")
    used = set().union(*EXPECTED_TOLERANCES.values())
    for name, tol in contracts.TOLERANCES.items():
        assert tol.name == name and tol.description and tol.evidence
        assert f"`{name}`" in doc, f"tolerance {name} missing from docs/contracts.md"
    assert used <= set(contracts.TOLERANCES)
    assert "sequence-number-absent" in contracts.TOLERANCES


# -- tolerances are tags, not loosened schemas ------------------------------------------------
DELTA = {"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_1",
         "output_index": 0, "content_index": 0, "delta": "Hi", "logprobs": []}


def test_missing_sequence_number_is_tagged() -> None:
    event = {k: v for k, v in DELTA.items() if k != "sequence_number"}
    issues = validate_event(event)
    assert issues == [SchemaIssue("invalid", "/sequence_number", issues[0].message, "required",
                                  "sequence-number-absent")]


def test_delta_without_logprobs_is_tagged() -> None:
    issues = validate_event({k: v for k, v in DELTA.items() if k != "logprobs"})
    assert [(i.pointer, i.tolerance) for i in issues] == [("/logprobs", "output-text-logprobs-absent")]


def test_function_call_arguments_done_without_name_is_tagged() -> None:
    event = {"type": "response.function_call_arguments.done", "sequence_number": 9, "item_id": "fc_1",
             "output_index": 1, "arguments": "{}"}
    issues = validate_event(event)
    assert [(i.pointer, i.tolerance) for i in issues] == [("/name", "function-call-arguments-done-name-absent")]
    assert validate_event({**event, "name": "get_weather"}) == []


def test_error_event_flat_and_nested_forms() -> None:
    flat = {"type": "error", "sequence_number": 2, "code": "server_error", "message": "boom", "param": None}
    assert validate_event(flat) == []
    nested = {"type": "error", "sequence_number": 2,
              "error": {"type": "server_error", "code": "server_error", "message": "boom", "param": None}}
    issues = validate_event(nested)
    assert [(i.pointer, i.validator, i.tolerance) for i in issues] == [("", "x-error-form", "error-event-nested")]
    broken = {"type": "error", "sequence_number": 2, "error": {"type": "server_error", "message": 5}}
    issues = validate_event(broken)
    assert issues[0].tolerance == "error-event-nested"
    assert [(i.pointer, i.tolerance) for i in issues[1:]] == [("/error/message", None)]
    # Neither form: the flat form's own issues, untagged.
    issues = validate_event({"type": "error", "sequence_number": 2})
    assert {i.pointer for i in issues} == {"/message", "/code", "/param"}
    assert all(i.tolerance is None for i in issues)


def test_undocumented_response_error_code_is_tagged() -> None:
    response = _minimal("response")
    response["status"] = "failed"
    response["error"] = {"code": "insufficient_quota", "message": "quota"}
    issues = contracts.validate_response(response)
    assert [(i.pointer, i.validator, i.tolerance) for i in issues] == [
        ("/error/code", "enum", "response-error-code-undocumented")]


def test_usage_without_cache_write_tokens_is_tagged() -> None:
    usage: dict[str, Any] = {"input_tokens": 3, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 5}
    issues = contracts.validate("usage", usage)
    assert [(i.pointer, i.tolerance) for i in issues] == [
        ("/input_tokens_details/cache_write_tokens", "usage-cache-write-tokens-absent")]
    usage["input_tokens_details"]["cache_write_tokens"] = 0
    assert contracts.validate("usage", usage) == []
    del usage["output_tokens_details"]["reasoning_tokens"]
    issues = contracts.validate("usage", usage)
    assert [(i.pointer, i.tolerance) for i in issues] == [("/output_tokens_details/reasoning_tokens", None)]


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [None, 0, 1.5, True, "response.created", [], [{"type": "x"}], b"{}"])
def test_non_objects_are_not_events(value: Any) -> None:
    issues = validate_event(value)
    assert len(issues) == 1 and issues[0].kind == "not-an-event" and issues[0].pointer == ""


@pytest.mark.parametrize("value", [{}, {"type": None}, {"type": 3}, {"type": ["x"]}, {"delta": "x"}])
def test_objects_without_a_string_type_are_not_events(value: dict[str, Any]) -> None:
    issues = validate_event(value)
    assert [(i.kind, i.pointer) for i in issues] == [("not-an-event", "/type")]


@pytest.mark.parametrize("etype", ["response.apply_patch_call_operation_diff.delta", "acme.custom", ""])
def test_unknown_event_type(etype: str) -> None:
    issues = validate_event({"type": etype, "sequence_number": 1})
    assert [(i.kind, i.pointer) for i in issues] == [("unknown-event", "/type")]
    assert etype in issues[0].message or etype == ""


@pytest.mark.parametrize("value", [None, 3, "x", [], {"type": []}, {"type": "message"}, float("nan")])
def test_other_validators_never_raise(value: Any) -> None:
    for fn in (contracts.validate_response, contracts.validate_item, contracts.validate_request):
        issues = fn(value)
        assert all(isinstance(i, SchemaIssue) and "\n" not in i.message for i in issues)
    assert contracts.validate_item(value), value  # none of these is a valid item


def test_python_values_that_are_not_json_never_raise() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    for value in ({1, 2}, (1, 2), b"x", object(), float("inf"), deep, {1: 2}):
        event: dict[Any, Any] = {**DELTA, "delta": value, "logprobs": value, 7: value}
        issues = validate_event(event)
        assert issues and all("\n" not in i.message for i in issues)
        assert contracts.validate_response({"id": value})


def test_unknown_schema_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no schema named"):
        contracts.validate("no-such-schema", {})
    assert {"response", "usage", "output_item", "request", "items/message"} <= set(contracts.schema_names())


# -- discriminated unions: one clear error ----------------------------------------------------
def test_unknown_item_type_is_one_issue_at_the_item() -> None:
    event = {"type": "response.output_item.added", "sequence_number": 3, "output_index": 0,
             "item": {"type": "hologram", "id": "h_1"}}
    issues = validate_event(event)
    assert len(issues) == 1
    assert issues[0].pointer == "/item" and issues[0].validator == "enum"
    assert '"hologram"' in issues[0].message and "output item" in issues[0].message


def test_error_inside_a_known_item_type_points_inside_it() -> None:
    item = _minimal("items/message")
    item["content"] = [{"type": "output_text", "text": 5, "annotations": [], "logprobs": []}]
    issues = contracts.validate_item(item)
    assert [(i.pointer, i.validator) for i in issues] == [("/content/0/text", "type")]
    item["content"][0] = {"type": "output_text", "text": "t", "annotations": [{"type": "url_citation"}],
                          "logprobs": []}
    pointers = {i.pointer for i in contracts.validate_item(item)}
    assert pointers == {f"/content/0/annotations/0/{f}" for f in ("start_index", "end_index", "url", "title")}


def test_anyof_reports_the_most_specific_error() -> None:
    response = _minimal("response")
    response["tool_choice"] = {"type": "function"}  # object branch: a function choice needs `name`
    issues = contracts.validate_response(response)
    assert [(i.pointer, i.validator) for i in issues] == [("/tool_choice/name", "required")]
    response["tool_choice"] = "sometimes"
    issues = contracts.validate_response(response)
    assert [i.pointer for i in issues] == ["/tool_choice"]
    assert "not valid under any" not in issues[0].message


def test_union_errors_blame_the_closest_branch() -> None:
    issues = contracts.validate_request({"input": [{"type": "message", "role": "wizard", "content": "x"}]})
    assert [(i.pointer, i.validator) for i in issues] == [("/input/0/role", "enum")]
    issues = contracts.validate_request({"model": 5})
    assert [(i.pointer, i.validator, i.message) for i in issues] == [
        ("/model", "type", "expected string, got integer")]
    issues = contracts.validate_request({"tools": [{"type": "bogus_tool"}]})
    assert [(i.pointer, i.validator) for i in issues] == [("/tools/0", "enum")]
    assert '"bogus_tool"' in issues[0].message


def test_request_limits() -> None:
    assert contracts.validate_request({"model": "gpt-5", "input": "hi"}) == []
    assert contracts.validate_request({"model": "gpt-5", "input": "hi", "metadata": None,
                                       "tools": None, "temperature": None}) == []
    issues = contracts.validate_request({"model": "gpt-5", "max_output_tokens": 15})
    assert [(i.pointer, i.validator) for i in issues] == [("/max_output_tokens", "minimum")]
    many = {f"k{i}": "v" for i in range(17)}
    assert [i.validator for i in contracts.validate_request({"metadata": many})] == ["maxProperties"]
    assert [i.pointer for i in contracts.validate_request({"metadata": {"k": "v" * 513}})] == ["/metadata/k"]


# -- negative tests for every event family: generated from the schemas --------------------------
class _Builder:
    """Builds a minimal valid instance of a bundled schema and records the mutation points.

    `stable` is False below an anyOf (which branch best_match blames is a heuristic)."""

    def __init__(self) -> None:
        self.required: list[tuple[str, ...]] = []  # paths of required properties
        self.leaves: list[tuple[tuple[str, ...], str]] = []  # (path, json type) of primitive leaves
        self.consts: list[tuple[str, ...]] = []  # paths of const leaves
        self.dispatched: set[tuple[str, ...]] = set()  # objects reached through a `type` dispatch

    def build(self, s: Any, path: tuple[str, ...] = (), stable: bool = True, depth: int = 0) -> Any:
        if not isinstance(s, dict):
            return None
        if "const" in s:
            if stable and path:
                self.consts.append(path)
            return s["const"]
        if "enum" in s:
            return next(v for v in s["enum"] if v is not None)
        cases = s.get("allOf")
        if cases and all("then" in c for c in cases):  # discriminated dispatch
            self.dispatched.add(path)
            return self.build(cases[0]["then"], path, stable, depth)
        if "if" in s:  # nullable (if null/else) or object-or-other (if object/then/else)
            return self.build(s.get("then", s.get("else")), path, stable, depth)
        if "anyOf" in s:
            return self.build(s["anyOf"][0], path, False, depth)
        t = s.get("type")
        if isinstance(t, list):
            t = next(x for x in t if x != "null")
        if t == "object" or "properties" in s:
            out = {}
            for name in s.get("required", []):
                sub = s.get("properties", {}).get(name, {})
                if stable:
                    self.required.append((*path, name))
                out[name] = self.build(sub, (*path, name), stable, depth + 1)
            return out
        if t == "array":
            if depth > 6 or "items" not in s:
                return []
            return [self.build(s["items"], (*path, "0"), stable, depth + 1)]
        value = {"string": "x", "integer": max(0, s.get("minimum", 0)), "number": 0.5,
                 "boolean": False}.get(t or "")
        if t in ("string", "integer", "number", "boolean") and stable and path:
            self.leaves.append((path, t))
        return value


def _minimal(name: str) -> Any:
    return copy.deepcopy(_Builder().build(bundled(name)))


def _pointer(path: tuple[str, ...]) -> str:
    return "".join("/" + p for p in path)


def _get_parent(obj: Any, path: tuple[str, ...]) -> Any:
    for p in path[:-1]:
        obj = obj[int(p)] if isinstance(obj, list) else obj[p]
    return obj


def _set(obj: Any, path: tuple[str, ...], value: Any) -> None:
    parent = _get_parent(obj, path)
    if isinstance(parent, list):
        parent[int(path[-1])] = value
    else:
        parent[path[-1]] = value


def _validate(name: str, obj: Any) -> list[SchemaIssue]:
    return validate_event(obj) if name in contracts.known_event_types() else contracts.validate(name, obj)


NEGATIVE_SUBJECTS = [*sorted(contracts.known_event_types()), "response", "output_item", "usage"]


@pytest.mark.parametrize("name", NEGATIVE_SUBJECTS)
def test_negatives_report_the_right_pointer(name: str) -> None:
    builder = _Builder()
    valid = builder.build(bundled(name))
    assert _validate(name, valid) == [], name
    assert builder.required, name
    wrong = {"string": 12345, "integer": "12", "number": "1.5", "boolean": "yes"}
    for path in builder.required:
        if name in contracts.known_event_types() and path == ("type",):
            continue  # without `type` it is not an event at all (tested above)
        obj = copy.deepcopy(valid)
        del _get_parent(obj, path)[path[-1]]
        issues = _validate(name, obj)
        assert any(i.pointer == _pointer(path) and i.validator == "required" for i in issues), \
            (name, path, [str(i) for i in issues])
    for path, jtype in builder.leaves:
        obj = copy.deepcopy(valid)
        _set(obj, path, wrong[jtype])
        issues = _validate(name, obj)
        assert any(i.pointer == _pointer(path) and i.validator in ("type", "enum") for i in issues), \
            (name, path, [str(i) for i in issues])
    for path in builder.consts:
        if name in contracts.known_event_types() and path == ("type",):
            continue
        obj = copy.deepcopy(valid)
        _set(obj, path, "wrong-const-value")
        issues = _validate(name, obj)
        if path[-1] == "type" and path[:-1] in builder.dispatched:  # a discriminator: one "unknown ... type" issue at the object
            expected = [(_pointer(path[:-1]), "enum")]
        else:
            expected = [(_pointer(path), "const")]
        assert [(i.pointer, i.validator) for i in issues] == expected, (name, path, [str(i) for i in issues])


def test_issue_messages_are_one_line() -> None:
    event = {"type": "response.completed", "sequence_number": "x",
             "response": {"id": 1, "object": "resp\nonse", "output": [{"type": "message"}]}}
    issues = validate_event(event)
    assert len(issues) > 5
    for issue in issues:
        assert "\n" not in issue.message and len(issue.message) <= 240
        assert issue.kind == "invalid" and issue.pointer.startswith("/")


# -- speed -------------------------------------------------------------------------------------------
def test_a_valid_delta_never_reaches_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid delta never reaches jsonschema (the fast path answers it alone), which is what
    makes it over 10x faster than naive validation; both rates are printed, not asserted."""
    c = contracts._contracts()
    doc = c.documents[c.events["response.output_text.delta"]]
    validate_event(DELTA)
    n_fast, n_naive = 5000, 50
    t0 = time.perf_counter()
    for _ in range(n_fast):
        validate_event(DELTA)
    fast_rate = n_fast / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(n_naive):
        jsonschema.validate(DELTA, doc, cls=Draft202012Validator, registry=c.registry)
    naive_rate = n_naive / (time.perf_counter() - t0)
    print(f"delta validation: {fast_rate:,.0f}/s fast path, {naive_rate:,.0f}/s naive jsonschema "
          f"({fast_rate / naive_rate:.0f}x)")

    def no_jsonschema(*args: Any) -> Any:
        raise AssertionError("a valid delta reached jsonschema")

    monkeypatch.setattr(contracts, "_issues", no_jsonschema)
    assert validate_event(DELTA) == []
    bad = {**DELTA, "delta": 5}
    monkeypatch.undo()
    assert [i.pointer for i in validate_event(bad)] == ["/delta"]  # the fast path only says "valid"
