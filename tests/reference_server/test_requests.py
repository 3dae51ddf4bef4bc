"""Request validation: every bad request is a 400 (never 422/5xx) in the OpenAI error shape with the
offending `param`; hypothesis-generated bodies never produce a server error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server import create_app

from .helpers import assert_conformant

TOOL = {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}


def assert_error_shape(body: Any) -> dict[str, Any]:
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str)
    return dict(error)


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"input": "x"}, "model", "missing_required_parameter"),
        ({"model": "", "input": "x"}, "model", "empty_string"),
        ({"model": 3, "input": "x"}, "model", "invalid_type"),
        ({"model": "m"}, "input", "missing_required_parameter"),
        ({"model": "m", "input": 5}, "input", "invalid_type"),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role", "invalid_value"),
        ({"model": "m", "input": [{"role": "user"}]}, "input[0].content", "missing_required_parameter"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "output_text", "text": "x"}]}]},
         "input[0].content[0].type", "invalid_value"),
        ({"model": "m", "input": [{"type": "mystery"}]}, "input[0].type", "invalid_value"),
        ({"model": "m", "input": "x", "max_output_tokens": 15}, "max_output_tokens", "integer_below_min_value"),
        ({"model": "m", "input": "x", "max_output_tokens": "9"}, "max_output_tokens", "invalid_type"),
        ({"model": "m", "input": "x", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata",
         "object_above_max_properties"),
        ({"model": "m", "input": "x", "metadata": {"k" * 65: "v"}}, "metadata", "string_above_max_length"),
        ({"model": "m", "input": "x", "metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length"),
        ({"model": "m", "input": "x", "metadata": {"k": 1}}, "metadata.k", "invalid_type"),
        ({"model": "m", "input": "x", "temperature": 3}, "temperature", "decimal_above_max_value"),
        ({"model": "m", "input": "x", "top_p": -0.1}, "top_p", "decimal_below_min_value"),
        ({"model": "m", "input": "x", "unknown_thing": 1}, "unknown_thing", "unknown_parameter"),
        ({"model": "m", "input": "x", "conversation": "conv_1"}, "conversation", "unsupported_parameter"),
        ({"model": "m", "input": "x", "tool_choice": "required"}, "tool_choice", "invalid_value"),
        ({"model": "m", "input": "x", "tools": [TOOL], "tool_choice": {"type": "function", "name": "g"}},
         "tool_choice", "invalid_value"),
        ({"model": "m", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name",
         "missing_required_parameter"),
        ({"model": "m", "input": "x", "tools": [{"type": "function", "name": "bad name"}]}, "tools[0].name",
         "invalid_value"),
        ({"model": "m", "input": "x", "tools": [TOOL, TOOL]}, "tools[1].name", "invalid_value"),
        ({"model": "m", "input": "x", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}, "tools[0].type", "unsupported_value"),
        ({"model": "m", "input": "x", "tools": [{**TOOL, "parameters": {"type": "object", "properties": 3}}]},
         "tools[0].parameters", "invalid_schema"),
        ({"model": "m", "input": "x", "tools": [{**TOOL, "strict": True, "parameters": {
            "type": "object", "properties": {"a": {"type": "string"}}}}]}, "tools[0].parameters",
         "invalid_function_parameters"),
        ({"model": "m", "input": "x", "reasoning": {"effort": "extreme"}}, "reasoning.effort", "invalid_value"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "n"}}},
         "text.format.schema", "missing_required_parameter"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}}, "text.format", "invalid_value"),
        ({"model": "m", "input": "x", "background": True, "store": False}, "background", "invalid_value"),
        ({"model": "m", "input": "x", "include": ["everything"]}, "include[0]", "invalid_value"),
        ({"model": "m", "input": "x", "stream_options": {"include_obfuscation": False}}, "stream_options",
         "invalid_value"),
    ],
)
def test_bad_requests(client: TestClient, body: dict[str, Any], param: str, code: str) -> None:
    r = client.post("/v1/responses", json=body)
    assert r.status_code == 400, r.text
    error = assert_error_shape(r.json())
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")


@pytest.mark.parametrize("raw", [b"", b"{", b"[1,2]", b"null", b"\xff\xfe", b'{"model": "m", "input": "x",}'])
def test_unparseable_bodies(client: TestClient, raw: bytes) -> None:
    r = client.post("/v1/responses", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert_error_shape(r.json())


def test_routes_never_leak_framework_errors(client: TestClient) -> None:
    for method, path, status in [("GET", "/v1/nothing", 404), ("PUT", "/v1/responses", 405),
                                 ("GET", "/v1/responses/resp_x", 404),
                                 ("GET", "/v1/responses/resp_x/input_items?limit=0", 400),
                                 ("GET", "/v1/responses/resp_x/input_items?limit=abc", 400),
                                 ("GET", "/v1/responses/resp_x?stream=maybe", 400),
                                 ("POST", "/v1/responses/resp_x/cancel", 404),
                                 ("DELETE", "/v1/responses/resp_x", 404)]:
        r = client.request(method, path)
        assert r.status_code == status, (method, path, r.text)
        assert_error_shape(r.json())


def test_internal_fault_is_a_500_in_error_shape(encoding: Any) -> None:
    class BrokenBackend:
        name, model_id = "broken", "broken"

        def generate(self, request: Any) -> Any:
            raise RuntimeError("a bug")

        async def aclose(self) -> None:
            return None

    app = create_app(backend=BrokenBackend(), encoding=encoding)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/v1/responses", json={"model": "m", "input": "x"})
        assert r.status_code == 500
        assert assert_error_shape(r.json())["type"] == "server_error"
        # Streaming: the crash still ends the stream properly, with error + response.failed.
        body = {"model": "m", "input": "x", "stream": True}
        with client.stream("POST", "/v1/responses", json=body) as s:
            data = b"".join(s.iter_bytes())
    result = assert_conformant(data, request=body)
    assert result.terminal_response["status"] == "failed"


# --------------------------------------------------------------------------- property tests
json_scalars = st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
FIELDS = ["model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "reasoning", "text",
          "max_output_tokens", "temperature", "top_p", "metadata", "store", "previous_response_id", "user",
          "truncation", "include", "max_tool_calls", "top_logprobs", "service_tier", "bogus", "presence_penalty",
          "frequency_penalty", "client_metadata", "access_programs", "image", "background_options",
          "prompt_cache_options", "stream_options", "conversation", "context_management"]
VALID = {"model": "m", "input": "hello"}


@st.composite
def mutated_bodies(draw: Any) -> Any:
    kind = draw(st.sampled_from(["field", "drop", "item", "whole"]))
    body: Any = dict(VALID)
    if kind == "field":
        body[draw(st.sampled_from(FIELDS))] = draw(json_values)
    elif kind == "drop":
        body.pop(draw(st.sampled_from(sorted(body))))
    elif kind == "item":
        body["input"] = [draw(st.dictionaries(st.sampled_from(["type", "role", "content", "call_id", "output",
                                                                 "name", "arguments", "summary", "id",
                                                                 "encrypted_content"]),
                                               json_values, max_size=4))]
    else:
        body = draw(json_values)
    return body


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=mutated_bodies())
def test_generated_bodies_never_cause_server_errors(client: TestClient, body: Any) -> None:
    r = client.post("/v1/responses", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert r.status_code < 500, (body, r.text)
    if r.status_code != 200:
        assert r.status_code in (400, 404), (body, r.text)
        assert_error_shape(r.json())
    else:
        assert r.json()["object"] == "response"
