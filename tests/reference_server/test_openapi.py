"""The OpenAPI document describes what the server does: every parameter the validator accepts,
every route's answers and error statuses; schemathesis (all checks, positive and negative data,
the stateful phase) finds nothing against the in-process app."""

from __future__ import annotations

import copy
import json
import os
from typing import Any, Literal, get_args, get_origin, get_type_hints

import jsonschema
import pytest
from fastapi.testclient import TestClient
from openai.types.responses.response_input_item_param import ResponseInputItemParam
from openai.types.responses.tool_param import ToolParam

from reference_server import create_app
from reference_server.core.settings import Settings
from reference_server.protocol import request as rq
from reference_server.protocol import request_options as ro
from reference_server.protocol.errors import APIError
from reference_server.sources.backends.schema_instance import instance
from reference_server.web.openapi import ERROR_STATUSES
from reference_server.web.openapi_request import UNDESCRIBED

from .openapi_cases import Consistency
from .test_request_surface import EVERYTHING


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with TestClient(create_app()) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _create_schema(document: dict[str, Any]) -> dict[str, Any]:
    return document["components"]["schemas"]["CreateResponse"]


def test_every_parameter_the_validator_accepts_is_described(document: dict[str, Any]) -> None:
    properties = _create_schema(document)["properties"]
    assert set(properties) == rq.SUPPORTED_PARAMS | set(ro.UNSUPPORTED_PARAMS)
    undescribed = sorted(name for name, schema in properties.items() if schema == UNDESCRIBED)
    assert not undescribed, f"describe these in reference_server/web/openapi_request.py: {undescribed}"
    for name in ro.UNSUPPORTED_PARAMS:
        assert properties[name]["type"] == "null"


# ---------------------------------------------------------------------------- drift: types and keys
def _literals(hint: Any) -> set[str]:
    if get_origin(hint) is Literal:
        return {a for a in get_args(hint) if isinstance(a, str)}
    return set().union(*(_literals(a) for a in get_args(hint))) if get_args(hint) else set()


def _sdk_keys_by_type(union: Any) -> dict[str, set[str]]:
    """openai-python's TypedDicts of a union (input items, tools): `type` value -> their keys."""
    out: dict[str, set[str]] = {}
    for typed_dict in get_args(union):
        hints = get_type_hints(typed_dict)
        for kind in _literals(hints.get("type")):
            out.setdefault(kind, set()).update(hints)
    return out


def _refusal(body: dict[str, Any]) -> APIError | None:
    try:
        rq.parse_create_request(body)
    except APIError as exc:
        return exc
    return None


def _type_const(variant: dict[str, Any]) -> str:
    schema = variant["properties"]["type"]
    return next(s["const"] for s in [schema, *schema.get("anyOf", [])] if "const" in s)


def _variants(document: dict[str, Any], name: str) -> dict[str, list[dict[str, Any]]]:
    """A component's `anyOf` variants by `type` (refs resolved; open passive tools left out)."""
    schemas = document["components"]["schemas"]
    out: dict[str, list[dict[str, Any]]] = {}
    for variant in schemas[name]["anyOf"]:
        if "$ref" in variant:
            variant = schemas[variant["$ref"].rsplit("/", 1)[1]]
        if variant.get("additionalProperties") is False:
            out.setdefault(_type_const(variant), []).append(variant)
    return out


def _tool_types(document: dict[str, Any]) -> set[str]:
    schemas = document["components"]["schemas"]
    passive = next(v for v in schemas["Tool"]["anyOf"] if "enum" in v.get("properties", {}).get("type", {}))
    return set(_variants(document, "Tool")) | set(passive["properties"]["type"]["enum"])


@pytest.mark.parametrize("what", ["input items", "tools"])
def test_the_types_described_are_the_types_the_validator_accepts(document: dict[str, Any], what: str) -> None:
    """Every type openai-python knows (and every hosted tool type) is accepted by the validator
    exactly when the document describes it."""
    if what == "tools":
        described = _tool_types(document)
        universe = described | set(_sdk_keys_by_type(ToolParam)) | rq.HOSTED_TOOL_TYPES | {"bogus"}

        def body(kind: str) -> dict[str, Any]:
            return {"model": "m", "input": "x", "tools": [{"type": kind}]}
        where = "tools[0].type"
    else:
        described = set(_variants(document, "InputItem"))
        universe = described | set(_sdk_keys_by_type(ResponseInputItemParam)) | {"bogus"}

        def body(kind: str) -> dict[str, Any]:
            return {"model": "m", "input": [{"type": kind}]}
        where = "input[0].type"
    accepted = set()
    for kind in universe:
        refusal = _refusal(body(kind))
        if refusal is None or refusal.param != where:  # refused for another reason: the type is known
            accepted.add(kind)
    if what != "tools":
        # Codex CLI's `additional_tools` item is lifted into `tools` before validation proper; it
        # is not described yet (schemathesis would generate tool lists the lifting refuses).
        accepted.discard("additional_tools")
    assert accepted == described, f"described, not accepted: {described - accepted}; " \
                                  f"accepted, not described: {accepted - described}"
    assert {"function", "custom", "namespace", "web_search"} <= described if what == "tools" else \
        {"message", "function_call", "custom_tool_call_output", "item_reference", "reasoning"} <= described


@pytest.mark.parametrize("what", ["input items", "tools"])
def test_the_keys_described_are_the_keys_the_validator_accepts(document: dict[str, Any], what: str) -> None:
    """For each closed item or tool type: every key described is accepted (as null), and every
    other key openai-python declares for that type is refused as an unknown parameter."""
    sdk = _sdk_keys_by_type(ToolParam if what == "tools" else ResponseInputItemParam)
    checked = 0
    for kind, variants in _variants(document, "Tool" if what == "tools" else "InputItem").items():
        described = set().union(*(v["properties"] for v in variants))
        for variant in variants:
            example = instance(variant, root=document)
            place, wrap = ("tools[0]", lambda x: {"model": "m", "input": "x", "tools": [x]}) if what == "tools" \
                else ("input[0]", lambda x: {"model": "m", "input": [x]})
            assert _refusal(wrap(example)) is None, (kind, example)
            for key in (described | sdk.get(kind, set()) | {"x_undescribed"}) - set(example):
                refusal = _refusal(wrap({**example, key: None}))
                unknown = refusal is not None and refusal.code == "unknown_parameter" \
                    and refusal.param == f"{place}.{key}"
                assert unknown == (key not in described), (kind, key, refusal and refusal.message)
                checked += 1
    assert checked > 10


CODEX_LIKE = {
    "model": "m", "stream": True, "store": False, "include": ["reasoning.encrypted_content"],
    "client_metadata": {"originator": "codex_exec"},
    "tools": [{"type": "namespace", "name": "shell", "description": "Shell tools", "tools": [
        {"type": "function", "name": "run", "parameters": {"type": "object", "properties": {}}},
        {"type": "custom", "name": "patch", "format": {"type": "grammar", "syntax": "regex", "definition": "[a-z]+"}}]},
        {"type": "web_search", "search_context_size": "low"}, {"type": "browser_search"}, {"type": "tool_search"}],
    "tool_choice": {"type": "allowed_tools", "mode": "required",
                    "tools": [{"type": "custom", "name": "patch"}, {"type": "web_search"}]},
    "input": [{"type": "message", "role": "developer", "content": "Be brief."},
              {"role": "user", "content": [{"type": "input_text", "text": "fix it"}]},
              {"type": "reasoning", "summary": [], "encrypted_content": None},
              {"type": "custom_tool_call", "call_id": "c1", "name": "patch", "input": "abc", "namespace": "shell"},
              {"type": "custom_tool_call_output", "call_id": "c1", "output": "ok"},
              {"type": "function_call", "call_id": "c2", "name": "run", "arguments": "{}", "caller": {"type": "direct"}},
              {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "done"}]},
              {"type": "item_reference", "id": "msg_1"}, {"id": "msg_2"}],
}
GOOD_BODIES: list[dict[str, Any]] = [
    EVERYTHING, CODEX_LIKE,
    {"model": "m", "input": [{"role": "user", "content": "hi"}], "tools": [
        {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}],
     "tool_choice": {"type": "function", "name": "f"}, "stream": True, "stream_options": {"include_obfuscation": False}},
    {"model": "m", "input": "x", "background": True, "background_options": {"completion_window": "8h"}},
]
BAD_BODIES: list[dict[str, Any]] = [
    {"input": "hi"},  # no model
    {"model": "m"},  # no input, no previous_response_id
    {"model": "m", "input": "x", "stream_options": {}},  # stream_options without stream
    {"model": "m", "input": "x", "background": True, "store": False},
    {"model": "m", "input": "x", "tool_choice": "required"},  # no tools
    {"model": "m", "input": "x", "tool_choice": "required", "tools": [{"type": "web_search"}]},  # none callable
    {"model": "m", "input": "x", "prompt": {"id": "p"}},  # unsupported, not null
    {"model": "m", "input": "x", "bogus": 1},
    {"model": "m", "input": [{"role": "user", "content": [{"type": "output_text", "text": "x"}]}]},
    {"model": "m", "input": "x", "max_output_tokens": rq.MIN_MAX_OUTPUT_TOKENS - 1},
    {"model": "m", "input": "x", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]},  # hosted
    {"model": "m", "input": "x", "tools": [{"type": "namespace", "name": "functions", "description": "d",
                                            "tools": [{"type": "function", "name": "f"}]}]},  # reserved
    {"model": "m", "input": "x", "tools": [{"type": "custom", "name": "c", "format": {"type": "grammar",
                                                                                    "syntax": "ebnf", "definition": "x"}}]},
    {"model": "m", "input": "x", "background_options": {"completion_window": "2h"}},  # not background
    {"model": "m", "input": "x", "prompt_cache_options": {"prewarm": 1}},
    {"model": "m", "input": [{"type": "item_reference", "id": "msg_1", "status": "completed"}]},
    {"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}", "async": True}]},
]


def test_the_create_body_schema_is_valid_json_schema_and_judges_bodies(document: dict[str, Any]) -> None:
    schema = {**_create_schema(document), "$defs": document["components"]["schemas"]}
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    validator = jsonschema.Draft202012Validator(json.loads(text))
    validator.check_schema(validator.schema)
    for good in GOOD_BODIES:
        assert validator.is_valid(good), good
        assert _refusal(good) is None, good  # and the server agrees
    for bad in BAD_BODIES:
        assert not validator.is_valid(bad), bad
        assert _refusal(bad) is not None, bad


@pytest.mark.parametrize(("body", "valid"), [
    ({"model": "m", "input": "hi"}, True),
    ({"model": "m", "previous_response_id": "resp_1"}, True),
    ({"model": "m", "input": [], "previous_response_id": "resp_1"}, True),
    ({"model": "m", "input": []}, False),  # nothing to compact: the server answers 400
    ({"model": "m", "input": None}, False),
    ({"model": "m"}, False),
])
def test_the_compact_body_schema_says_what_the_server_refuses(document: dict[str, Any], body: dict[str, Any],
                                                               valid: bool) -> None:
    schema = {**document["components"]["schemas"]["CompactResponse"], "$defs": document["components"]["schemas"]}
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    assert jsonschema.Draft202012Validator(json.loads(text)).is_valid(body) is valid


def test_every_route_documents_its_errors_in_the_openai_shape(document: dict[str, Any]) -> None:
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            statuses = {int(s) for s in operation["responses"]}
            assert 422 not in statuses, (method, path)  # the server never answers FastAPI's 422
            assert {200, 405, 500, 503} <= statuses, (method, path)
            assert (401 in statuses) == (path != "/health"), (method, path)  # /health needs no key
            for status in statuses - {200}:
                assert operation["responses"][str(status)]["content"]["application/json"]["schema"] == error_ref
    create = document["paths"]["/v1/responses"]["post"]
    assert {400, 404, 413} <= {int(s) for s in create["responses"]}
    assert set(create["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateResponse"}
    assert set(ERROR_STATUSES) >= {400, 401, 404, 405, 413, 500, 503}


def test_an_integral_decimal_is_an_integer() -> None:
    """JSON has one number type; JSON Schema's `integer` includes 32.0, and so does the server."""
    with TestClient(create_app()) as client:
        r = client.post("/v1/responses", json={"model": "m", "input": "hi", "max_output_tokens": 32.0})
        assert r.status_code == 200, r.text
        assert r.json()["max_output_tokens"] == 32
        r = client.post("/v1/responses", json={"model": "m", "input": "hi", "max_output_tokens": 32.5})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_type"


@pytest.mark.parametrize("parameters", [
    {"minLength": 2_000_000},  # harmony's tokenizer overflowed its stack on the 2 MB argument
    {"type": "object", "properties": {"a": {"type": "array", "minItems": 10**12}}, "required": ["a"]},
    {"type": "object", "minProperties": 10**12},
], ids=["long-string", "huge-array", "huge-object"])
def test_a_tool_schema_demanding_a_huge_argument_is_answered(parameters: dict[str, Any]) -> None:
    """Found by schemathesis: the scripted model wrote whatever size a tool schema demanded."""
    body = {"model": "m", "input": "call it", "tool_choice": "required",
            "tools": [{"type": "function", "name": "f", "parameters": parameters, "strict": False}]}
    with TestClient(create_app()) as client:
        r = client.post("/v1/responses", json=body)
    assert r.status_code == 200, r.text
    assert "function_call" in [item["type"] for item in r.json()["output"]]


@pytest.mark.parametrize(("extra", "param"), [
    ({"tools": [{"type": {}}]}, "tools[0].type"),
    ({"tools": [{"type": ["web_search"]}]}, "tools[0].type"),
    ({"tools": [{"type": "web_search"}],
      "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": {"a": 1}}]}}, "tool_choice.tools[0].type"),
], ids=["tool-object", "tool-array", "allowed-tools-entry"])
def test_a_tool_type_that_is_not_a_string_is_a_400(extra: dict[str, Any], param: str) -> None:
    """Found by schemathesis (negative coverage): an object or array as a tool type was looked up
    in a set and answered 500."""
    with TestClient(create_app()) as client:
        r = client.post("/v1/responses", json={"model": "m", "input": "x", **extra})
    assert r.status_code == 400, r.text
    assert (r.json()["error"]["param"], r.json()["error"]["code"]) == (param, "invalid_type")


def test_reasoning_generate_summary_is_checked_even_beside_a_null_summary() -> None:
    """The document types `generate_summary` like `summary`; a null `summary` means absent, so
    the deprecated name then applies (it was ignored, invalid values included)."""
    body = {"model": "m", "input": "x", "reasoning": {"summary": None, "generate_summary": 5}}
    with pytest.raises(APIError) as refused:
        rq.parse_create_request(body)
    assert (refused.value.param, refused.value.code) == ("reasoning.generate_summary", "invalid_type")
    body["reasoning"]["generate_summary"] = "concise"
    assert rq.parse_create_request(body).reasoning["summary"] == "concise"


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("TRACE", "/v1/responses", "POST"),
    ("PUT", "/v1/responses/resp_1", "DELETE, GET"),
    ("PATCH", "/v1/responses/resp_1/cancel", "POST"),
    ("POST", "/health", "GET"),
])
def test_405_lists_the_allowed_methods(method: str, path: str, allow: str) -> None:
    with TestClient(create_app()) as client:
        r = client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json()["error"]["code"] == "method_not_allowed"


# ---------------------------------------------------------------------------- schemathesis
# The full coverage phase sends every boundary and every schema violation it can derive
# (~1300 requests, ~12 s here): set OPENAPI_FUZZ_FULL=1 to run it. By default the negative
# coverage is left out and fuzzing stays small, so the test sends a few hundred requests.
FULL = os.environ.get("OPENAPI_FUZZ_FULL") == "1"
SEED = int(os.environ.get("OPENAPI_FUZZ_SEED", "20260"))
CREATE_EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_CREATE_EXAMPLES", "100" if FULL else "30"))
# A schema-valid request that a stored response's state refuses with 400, as the official API
# does: cancelling a foreground response, streaming one again, paging after an unknown item.
STATEFUL_400 = ("POST /v1/responses/{response_id}/cancel", "GET /v1/responses/{response_id}",
                "GET /v1/responses/{response_id}/input_items")


def _config(api_key: str | None = None) -> Any:
    from schemathesis.config import SchemathesisConfig

    accepted = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
    return SchemathesisConfig.from_dict({
        **({"headers": {"Authorization": f"Bearer {api_key}"}} if api_key else {}),
        "seed": SEED,
        "generation": {"max-examples": 25 if FULL else 8},
        "phases": {"coverage": {"generation": {"mode": "all" if FULL else "positive"}}},
        "operations": [
            *({"include-name": name, "checks": {"positive_data_acceptance": {"expected-statuses": accepted}}}
              for name in STATEFUL_400),
            # The create body is where nearly all of the surface is: it gets more examples.
            {"include-name": "POST /v1/responses", "generation": {"max-examples": CREATE_EXAMPLES}},
        ],
    })


def _seed(client: TestClient, headers: dict[str, str]) -> Consistency:
    """A stored response whose message item and sealed reasoning the generated bodies refer to."""
    r = client.post("/v1/responses", headers=headers, json={
        "model": "m", "input": "hi", "include": ["reasoning.encrypted_content"], "reasoning": {"effort": "low"}})
    assert r.status_code == 200, r.text
    output = r.json()["output"]
    message = next(item["id"] for item in output if item["type"] == "message")
    sealed = next(item["encrypted_content"] for item in output if item["type"] == "reasoning")
    r = client.post("/v1/responses/compact", headers=headers, json={"model": "m", "input": "hi"})
    assert r.status_code == 200, r.text
    window = r.json()["output"][-1]["encrypted_content"]
    return Consistency(message, sealed, window)


def test_positive_cases_are_made_to_refer_to_what_the_server_keeps() -> None:
    """A schema-valid body naming an unknown item or carrying foreign encrypted content is a 400;
    the case fixer makes such bodies refer to a stored response, and they are answered."""
    body = copy.deepcopy({**CODEX_LIKE, "stream": False})
    body["input"][2]["encrypted_content"] = "gAAAAAforeign"
    with TestClient(create_app()) as client:
        assert client.post("/v1/responses", json=body).status_code == 400
        fixed = _seed(client, {})(copy.deepcopy(body))
        r = client.post("/v1/responses", json=fixed)
    assert r.status_code == 200, r.text
    assert [item.get("type") for item in fixed["input"]].count("item_reference") == 1


@pytest.mark.parametrize("api_key", [None, "sk-openapi-test"], ids=["no-key", "key"])
def test_schemathesis_finds_nothing(api_key: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install '.[dev]')")
    from schemathesis.engine import Status, events, from_schema
    from schemathesis.generation.modes import GenerationMode

    app = create_app(settings=Settings(api_key=api_key))
    auth = {"headers": {"Authorization": f"Bearer {api_key}"}} if api_key else {}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(api_key), **auth)

    mapped = 0
    consistent: Consistency | None = None

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:  # the signature schemathesis calls
        nonlocal mapped
        if consistent and (case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE):
            case.body = consistent(case.body)
            mapped += 1
        return case

    findings: list[str] = []
    requests = 0
    with TestClient(app) as client:  # the app's lifespan: startup and orderly shutdown
        consistent = _seed(client, auth.get("headers", {}))
        for event in from_schema(schema).execute():
            if isinstance(event, events.FatalError | events.NonFatalError):
                findings.append(f"{type(event).__name__}: {event.info}")
            if not isinstance(event, events.ScenarioFinished):
                continue
            requests += len(event.recorder.interactions)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status is Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        finding = (f"{event.label}: {check.name}: {failure.title}\n{failure.message}\n"
                                   f"{check.failure_info.code_sample[:600]}")
                        if finding not in findings:
                            findings.append(finding)
    with capsys.disabled():
        print(f"\nschemathesis: {requests} requests, {len(findings)} findings")
    assert requests > 50 and mapped > 0
    assert not findings, "\n\n".join(findings)
