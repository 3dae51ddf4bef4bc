"""The official API's request rules, field by field: explicit nulls everywhere mean "absent", the
limits at and one past their edge, the `param` path and `code` of each refusal, unicode
anywhere, and the edges of `input_items` pagination."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from reference_server.protocol.request import SUPPORTED_PARAMS

from .test_requests import assert_error_shape

TOOL = {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}
# Response fields that differ between any two responses.
VOLATILE = {"id", "created_at", "completed_at", "output", "usage"}


def _echo(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k not in VOLATILE}


def test_every_optional_top_level_field_accepts_null(client: TestClient) -> None:
    base = {"model": "m", "input": "nulls"}
    reference = _echo(client.post("/v1/responses", json=base).json())
    for key in sorted(SUPPORTED_PARAMS - {"model", "input"}):
        r = client.post("/v1/responses", json={**base, key: None})
        assert r.status_code == 200, (key, r.text)
        assert _echo(r.json()) == reference, key


@pytest.mark.parametrize("body", [
    {"reasoning": {"effort": None, "summary": None}},
    {"text": {"format": None, "verbosity": None}},
    {"instructions": "json", "text": {"format": {"type": "json_schema", "name": "n", "strict": None,
                                                 "description": None, "schema": {"type": "object"}}}},
    {"tools": [{"type": "function", "name": "f", "description": None, "parameters": None, "strict": None}]},
    {"stream": True, "stream_options": {"include_obfuscation": None}},
    {"input": [{"type": None, "role": "user", "content": "x", "id": None, "status": None}]},
    {"input": [{"type": "message", "role": "assistant", "content": "x", "phase": None},
               {"role": "user", "content": [{"type": "input_image", "image_url": "https://e.x/a.png",
                                             "detail": None, "file_id": None}]}]},
    {"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}", "id": None,
                "status": None},
               {"type": "function_call_output", "call_id": "c", "output": "o", "id": None, "status": None},
               {"type": "reasoning", "summary": None, "content": None, "encrypted_content": None, "id": None}]},
])
def test_nested_nulls_are_absent(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/v1/responses", json={"model": "m", "input": "x", **body})
    assert r.status_code == 200, r.text


def test_max_output_tokens_minimum(client: TestClient) -> None:
    r = client.post("/v1/responses", json={"model": "m", "input": "x", "max_output_tokens": 15})
    error = assert_error_shape(r.json())
    assert (r.status_code, error["param"], error["code"]) == (400, "max_output_tokens", "integer_below_min_value")
    r = client.post("/v1/responses", json={"model": "m", "input": "x", "max_output_tokens": 16})
    assert r.status_code == 200 and r.json()["max_output_tokens"] == 16
    assert r.json()["usage"]["output_tokens"] <= 16


# Characters outside the BMP count as one character, as in the official API.
KEY64 = "ключ😀" + "k" * 59
VALUE512 = "значение 😀 " + "v" * 501


def test_metadata_at_its_limits_is_accepted_and_kept(client: TestClient) -> None:
    metadata = {f"{i:02d}{KEY64[2:]}": VALUE512 for i in range(16)}
    assert all(len(k) == 64 for k in metadata) and len(VALUE512) == 512
    r = client.post("/v1/responses", json={"model": "m", "input": "x", "metadata": metadata, "stream": False})
    assert r.status_code == 200, r.text
    assert r.json()["metadata"] == metadata
    assert client.get(f"/v1/responses/{r.json()['id']}").json()["metadata"] == metadata


@pytest.mark.parametrize(("metadata", "param", "code"), [
    ({f"k{i}": "v" for i in range(17)}, "metadata", "object_above_max_properties"),
    ({KEY64 + "x": "v"}, "metadata", "string_above_max_length"),
    ({"ключ": VALUE512 + "x"}, "metadata.ключ", "string_above_max_length"),
    ({"k": 1}, "metadata.k", "invalid_type"),
    ({"k": None}, "metadata.k", "invalid_type"),
    ([], "metadata", "invalid_type"),
])
def test_metadata_one_past_its_limits(client: TestClient, metadata: Any, param: str, code: str) -> None:
    r = client.post("/v1/responses", json={"model": "m", "input": "x", "metadata": metadata})
    error = assert_error_shape(r.json())
    assert (r.status_code, error["param"], error["code"]) == (400, param, code)


@pytest.mark.parametrize(("body", "param", "code"), [
    # Wrong types at every level, with the path the official API reports.
    ({"input": [{"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": 5}]}]},
     "input[0].content[1].type", "invalid_type"),
    ({"input": [{"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "output_text",
                                                                                   "text": "b"}]}]},
     "input[0].content[1].type", "invalid_value"),
    ({"input": [{"role": "user", "content": [{"type": "input_text", "text": "a", "extra": 1}]}]},
     "input[0].content[0].extra", "unknown_parameter"),
    ({"input": [{"content": "who am I?"}]}, "input[0].role", "missing_required_parameter"),
    ({"input": [{"role": "user", "content": "x", "id": 7}]}, "input[0].id", "invalid_type"),
    ({"input": [{"role": "user", "content": "x", "status": "done"}]}, "input[0].status", "invalid_value"),
    ({"input": [{"type": "reasoning", "summary": 0}]}, "input[0].summary", "invalid_type"),
    ({"input": [{"type": "reasoning", "summary": [{}]}]}, "input[0].summary[0].type", "missing_required_parameter"),
    ({"input": [{"type": "reasoning", "content": ""}]}, "input[0].content", "invalid_type"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}]},
     "input[0].arguments", "invalid_type"),
    ({"tools": [{**TOOL, "strict": "yes"}]}, "tools[0].strict", "invalid_type"),
    ({"tools": [{**TOOL, "parameters": {"$schema": [], "type": "object"}}]}, "tools[0].parameters.$schema",
     "invalid_type"),
    ({"tools": [TOOL], "tool_choice": {"type": "allowed_tools", "tools": [{"type": "function", "name": "f"}]}},
     "tool_choice.mode", "missing_required_parameter"),
    ({"tools": [TOOL], "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function",
                                                                                          "name": ["f"]}]}},
     "tool_choice.tools[0].name", "invalid_type"),
    ({"tools": [TOOL], "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{}]}},
     "tool_choice.tools[0].type", "missing_required_parameter"),
    ({"tools": [TOOL], "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": []}},
     "tool_choice.tools", "empty_array"),
    ({"text": {"format": {}}}, "text.format.type", "missing_required_parameter"),
    ({"text": {"format": {"type": 1}}}, "text.format.type", "invalid_type"),
    ({"reasoning": {"effort": 5}}, "reasoning.effort", "invalid_type"),
    ({"reasoning": {"effort": "low", "budget": 3}}, "reasoning.budget", "unknown_parameter"),
    ({"temperature": "hot"}, "temperature", "invalid_type"),
    ({"tools": [{"type": "function", "name": "naïve"}]}, "tools[0].name", "invalid_value"),
])
def test_refusals_name_the_exact_param(client: TestClient, body: dict[str, Any], param: str, code: str) -> None:
    r = client.post("/v1/responses", json={"model": "m", "input": "x", **body})
    assert r.status_code == 400, r.text
    error = assert_error_shape(r.json())
    assert (error["param"], error["code"]) == (param, code), error


@pytest.mark.parametrize("parameters", [
    # Keywords of one dialect are plain keys in another: a strict check must not trip on them.
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {},
     "additionalProperties": False, "$defs": 5, "prefixItems": "x"},
    {"type": "object", "properties": {}, "additionalProperties": False, "definitions": [1]},
    {"$schema": "http://json-schema.org/draft-03/schema#", "type": "object",
     "properties": {"a": {"type": "string", "required": True}}, "additionalProperties": False},
])
@pytest.mark.parametrize("strict", [None, True, False])
def test_unusual_schema_dialects_never_crash(client: TestClient, parameters: dict[str, Any],
                                             strict: bool | None) -> None:
    tool = {"type": "function", "name": "f", "parameters": parameters, "strict": strict}
    r = client.post("/v1/responses", json={"model": "m", "input": "x", "tools": [tool], "tool_choice": "none"})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert assert_error_shape(r.json())["param"] == "tools[0].parameters"


def test_unicode_everywhere(client: TestClient) -> None:
    text = "Ünïcødé 😀👩‍👩‍👧 中文 עברית \u0000 NUL"
    body = {"model": "m", "input": [{"role": "user", "content": text}], "instructions": "日本語で",
            "metadata": {"ключ😀": "значение\u0000"}, "user": "ユーザー",
            "tools": [{**TOOL, "description": "Beschreibung ✓"}], "tool_choice": "none"}
    resp = client.post("/v1/responses", json=body).json()
    assert text in resp["output"][-1]["content"][0]["text"]
    assert resp["metadata"] == body["metadata"] and resp["instructions"] == "日本語で"
    assert client.get(f"/v1/responses/{resp['id']}").json() == resp
    items = client.get(f"/v1/responses/{resp['id']}/input_items").json()["data"]
    assert items[0]["content"][0]["text"] == text


def test_input_items_pagination_edges(client: TestClient) -> None:
    items = [{"role": "user", "content": f"m{i}", "id": f"msg_{i}"} for i in range(5)]
    rid = client.post("/v1/responses", json={"model": "m", "input": items}).json()["id"]

    def page(**params: Any) -> Any:
        return client.get(f"/v1/responses/{rid}/input_items", params=params)

    everything = page().json()
    assert [i["id"] for i in everything["data"]] == [f"msg_{i}" for i in (4, 3, 2, 1, 0)]  # desc by default
    assert (everything["first_id"], everything["last_id"], everything["has_more"]) == ("msg_4", "msg_0", False)
    one = page(limit=1, order="asc").json()
    assert ([i["id"] for i in one["data"]], one["has_more"]) == (["msg_0"], True)
    rest = page(limit=100, order="asc", after="msg_0").json()
    assert [i["id"] for i in rest["data"]] == ["msg_1", "msg_2", "msg_3", "msg_4"] and rest["has_more"] is False
    last = page(order="asc", after="msg_4").json()
    assert (last["data"], last["first_id"], last["last_id"], last["has_more"]) == ([], None, None, False)
    exact = page(limit=4, order="desc", after="msg_4").json()
    assert [i["id"] for i in exact["data"]] == ["msg_3", "msg_2", "msg_1", "msg_0"] and exact["has_more"] is False
    for params, param in [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "x"}, "limit"),
                          ({"order": "up"}, "order"), ({"after": "msg_nope"}, "after")]:
        r = page(**params)
        assert r.status_code == 400 and assert_error_shape(r.json())["param"] == param, (params, r.text)
    assert client.get("/v1/responses/resp_nope/input_items").status_code == 404
