"""Bad input never gives a 5xx or FastAPI's 422: structure-aware fuzzing of create bodies (a valid
skeleton with one place corrupted), bodies that are not JSON objects at all, and the limits and
null handling the official API has."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .request_strategies import corrupted_bodies, parse_param, resolves, valid_bodies
from .test_requests import assert_error_shape

# Checks that span fields: the error names the field that carries the rule, not the corrupted one.
CROSS_FIELD_PARAMS = {"tool_choice", "text.format", "background", "stream_options", "input"}


def _post(client: TestClient, raw: bytes, content_type: str = "application/json") -> Any:
    return client.post("/v1/responses", content=raw, headers={"Content-Type": content_type})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=valid_bodies())
def test_valid_skeletons_are_accepted(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/v1/responses", json=body)
    assert r.status_code == 200, (body, r.text)
    assert r.json()["status"] in ("completed", "incomplete")  # "scalars" set max_output_tokens 64


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=corrupted_bodies())
def test_one_corrupted_field_is_a_4xx_naming_it(client: TestClient, case: tuple[dict[str, Any], Any]) -> None:
    body, path = case
    r = client.post("/v1/responses", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert r.status_code < 500 and r.status_code != 422, (body, path, r.text)
    if r.status_code == 200:
        return  # the corruption happened to be valid (e.g. a null for an optional field)
    assert r.status_code == 400, (body, path, r.text)
    error = assert_error_shape(r.json())
    assert error["type"] == "invalid_request_error"
    assert isinstance(error["code"], str) and error["code"], error
    param = error["param"]
    if param is None:
        return
    # The param is a real location of this body (a missing one: its parent exists) ...
    where = parse_param(param)
    assert resolves(body, where, allow_missing_leaf=error["code"] == "missing_required_parameter"), (param, body)
    # ... on the corrupted path (the place itself, an ancestor or a child), a sibling when a
    # discriminator changed (another `type` has other fields), or a cross-field rule.
    shared = min(len(where), len(path))
    on_path = where[:shared] == tuple(path[:shared])
    sibling = path[-1] in ("type", "role") and where[:len(path) - 1] == tuple(path[:-1])
    cross_field = any(param == p or param.startswith((p + ".", p + "[")) for p in CROSS_FIELD_PARAMS)
    assert on_path or sibling or cross_field, (param, path, body)


def _deep(depth: int) -> bytes:
    return b'{"model":"m","input":"x","metadata":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(("raw", "content_type"), [
    (b"", "application/json"),
    (b"   \n", "application/json"),
    (b"[]", "application/json"),
    (b'["model", "m"]', "application/json"),
    (b'"a string"', "application/json"),
    (b"42", "application/json"),
    (b"true", "application/json"),
    (b"null", "application/json"),
    (b"\xff\xfe\x00", "application/json"),
    (b'{"model":"m","input":"\xc3\x28"}', "application/json"),  # invalid UTF-8 inside a string
    (b'{"model":"m","input":"\\ud800"}', "application/json"),  # a lone surrogate
    (b'{"model":"m","input":"x","metadata":{"\\udfff":"v"}}', "application/json"),
    (b'{"model":"m","input":"x","temperature":NaN}', "application/json"),
    (b'{"model":"m","input":"x","tools":[{"type":"function","name":"f","parameters":'
     b'{"type":"object","default":Infinity}}]}', "application/json"),
    (_deep(100_000), "application/json"),
    (_deep(500), "application/json"),
    (b"model=m&input=x", "application/x-www-form-urlencoded"),
    (b"<xml/>", "text/xml"),
    (b'{"model":"m","input":"x"', "application/json"),
])
def test_bodies_that_are_not_a_json_object(client: TestClient, raw: bytes, content_type: str) -> None:
    r = _post(client, raw, content_type)
    assert r.status_code == 400, r.text
    error = assert_error_shape(r.json())
    assert error["type"] == "invalid_request_error" and error["code"] in ("invalid_json", "invalid_type"), error


def test_deep_nesting_names_where(client: TestClient) -> None:
    r = _post(client, _deep(500))
    error = assert_error_shape(r.json())
    assert error["param"] is not None and error["param"].startswith("metadata"), error
    # Deep inside a tool schema (valid JSON Schema: unknown keywords are allowed), where harmony's
    # parser (128 levels) or the schema checker would otherwise fail with a 500.
    schema: Any = {"type": "object", "properties": {}}
    schema["x-extra"] = json.loads("[" * 150 + "]" * 150)
    r = client.post("/v1/responses", json={"model": "m", "input": "x", "tools": [
        {"type": "function", "name": "f", "parameters": schema}]})
    assert r.status_code == 400, r.text
    error = assert_error_shape(r.json())
    assert error["param"].startswith("tools[0].parameters.x-extra[0]"), error


@pytest.mark.parametrize(("raw", "content_type"), [
    (b'{"model":"m","input":"x"}', "text/plain"),  # curl -d without a content type: still JSON
    (b'{"model":"m","input":"x"}', "application/x-www-form-urlencoded"),
    (b'\xef\xbb\xbf{"model":"m","input":"x"}', "application/json"),  # a UTF-8 byte order mark
    (b'{"model":"ignored","model":"m","input":"x"}', "application/json"),  # duplicate keys: the last wins
    (b'{"model":"m","input":"\\ud83d\\ude00 ok"}', "application/json"),  # a surrogate pair is fine
])
def test_lenient_but_unambiguous_bodies(client: TestClient, raw: bytes, content_type: str) -> None:
    r = _post(client, raw, content_type)
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "m"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=64))
def test_random_bytes(client: TestClient, raw: bytes) -> None:
    r = _post(client, raw)
    assert r.status_code in (200, 400), (raw, r.text)
    if r.status_code == 400:
        assert_error_shape(r.json())
