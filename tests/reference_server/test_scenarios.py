"""Every request scenario streamed through the conformance checker (no finding of warning level or
worse), plus what each scenario must mean: items, tool calls, usage, storage."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from reference_server import create_app
from reference_server.protocol.harmony import build_conversation, render_prompt
from reference_server.protocol.request import parse_create_request
from reference_server.sources.backends.scripted import ScriptedBackend

from .helpers import assert_conformant, sse_events

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 2},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city", "unit", "days"],
        "additionalProperties": False,
    },
    "strict": True,
}
TIME = {
    "type": "function",
    "name": "get_time",
    "description": "Current time in a timezone",
    "parameters": {
        "type": "object",
        "properties": {"tz": {"type": "string"}, "opts": {
            "type": "object", "properties": {"fmt": {"type": "string", "enum": ["iso", "unix"]}},
            "required": ["fmt"], "additionalProperties": False}},
        "required": ["tz", "opts"],
        "additionalProperties": False,
    },
}
MODEL = "gpt-oss-test"


def stream(client: TestClient, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """POST a streaming request, check it, return (events, terminal response)."""
    req = {"model": MODEL, **body, "stream": True}
    with client.stream("POST", "/v1/responses", json=req) as r:
        assert r.status_code == 200, r.read()
        content_type = r.headers["content-type"]
        data = b"".join(r.iter_bytes())
    result = assert_conformant(data, request=req, content_type=content_type)
    events = sse_events(data)
    assert result.terminal_response == events[-1]["response"]
    return events, events[-1]["response"]


def calls(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in response["output"] if item["type"] == "function_call"]


def final_text(response: dict[str, Any]) -> str:
    messages = [i for i in response["output"] if i["type"] == "message" and i.get("phase") == "final_answer"]
    assert len(messages) == 1, response["output"]
    return str(messages[0]["content"][0]["text"])


def test_plain_text(client: TestClient) -> None:
    events, resp = stream(client, {"input": "Tell me about tides."})
    assert resp["status"] == "completed"
    assert [i["type"] for i in resp["output"]] == ["message"]
    assert "Tell me about tides." in final_text(resp)
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert len(deltas) > 3  # streamed token by token, not in one piece
    usage = resp["usage"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_usage_counts_real_tokens(client: TestClient, encoding: Any) -> None:
    body = {"model": MODEL, "input": "Count me.", "instructions": "Be brief."}
    _events, resp = stream(client, body)
    prompt = render_prompt(encoding, build_conversation(parse_create_request(body), []))
    assert resp["usage"]["input_tokens"] == len(prompt)
    # output = every generated token: the message's header, its text and the <|return|> stop token.
    text = final_text(resp)
    completion = encoding.encode(f"<|channel|>final<|message|>{text}<|return|>", allowed_special="all")
    assert resp["usage"]["output_tokens"] == len(completion)


@pytest.mark.parametrize("effort", ["low", "high"])
def test_reasoning(client: TestClient, effort: str) -> None:
    events, resp = stream(client, {"input": "Why is the sky blue?", "reasoning": {"effort": effort}})
    kinds = [i["type"] for i in resp["output"]]
    assert kinds == ["reasoning", "message"]
    reasoning = resp["output"][0]
    assert reasoning["content"][0]["type"] == "reasoning_text"
    assert "Why is the sky blue?" in reasoning["content"][0]["text"]
    assert any(e["type"] == "response.reasoning_text.delta" for e in events)
    usage = resp["usage"]
    assert 0 < usage["output_tokens_details"]["reasoning_tokens"] < usage["output_tokens"]
    assert resp["reasoning"]["effort"] == effort


def test_tool_auto_named_in_text(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "Use get_weather for Paris.", "tools": [WEATHER, TIME]})
    assert [c["name"] for c in calls(resp)] == ["get_weather"]
    # A commentary preamble announces the call, as gpt-oss does.
    assert resp["output"][0]["type"] == "message" and resp["output"][0]["phase"] == "commentary"
    args = json.loads(calls(resp)[0]["arguments"])
    jsonschema.validate(args, WEATHER["parameters"])
    assert calls(resp)[0]["call_id"].startswith("call_") and calls(resp)[0]["id"].startswith("fc_")


def test_tool_auto_parallel_calls_every_tool(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "What can you find out?", "tools": [WEATHER, TIME]})
    found = calls(resp)
    assert [c["name"] for c in found] == ["get_weather", "get_time"]
    jsonschema.validate(json.loads(found[1]["arguments"]), TIME["parameters"])
    assert len({c["call_id"] for c in found}) == 2


def test_parallel_tool_calls_false_makes_one_call(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "What can you find out?", "tools": [WEATHER, TIME],
                                    "parallel_tool_calls": False})
    assert len(calls(resp)) == 1
    assert resp["parallel_tool_calls"] is False


def test_max_tool_calls_bounds_the_calls(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "Anything?", "tools": [WEATHER, TIME], "max_tool_calls": 1})
    assert len(calls(resp)) == 1


def test_tool_choice_none(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "Use get_weather now.", "tools": [WEATHER], "tool_choice": "none"})
    assert calls(resp) == []
    assert final_text(resp)


def test_tool_choice_required(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "Hello", "tools": [TIME], "tool_choice": "required",
                                    "reasoning": {"effort": "medium"}})
    assert [c["name"] for c in calls(resp)] == ["get_time"]
    assert resp["output"][0]["type"] == "reasoning"


def test_tool_choice_named_function(client: TestClient) -> None:
    choice = {"type": "function", "name": "get_time"}
    _events, resp = stream(client, {"input": "Use get_weather.", "tools": [WEATHER, TIME], "tool_choice": choice})
    assert [c["name"] for c in calls(resp)] == ["get_time"]
    assert resp["tool_choice"] == choice


def test_tool_choice_allowed_tools(client: TestClient) -> None:
    choice = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_weather"}]}
    _events, resp = stream(client, {"input": "Anything", "tools": [WEATHER, TIME], "tool_choice": choice})
    assert [c["name"] for c in calls(resp)] == ["get_weather"]


def test_tool_round_trip_with_full_input(client: TestClient) -> None:
    first = {"input": [{"role": "user", "content": "Use get_weather please"}], "tools": [WEATHER], "store": False}
    _events, resp = stream(client, first)
    call = calls(resp)[0]
    second = {
        "input": [*first["input"], *resp["output"],
                  {"type": "function_call_output", "call_id": call["call_id"], "output": '{"temp_c": 21}'}],
        "tools": [WEATHER],
        "store": False,
    }
    _events, resp2 = stream(client, second)
    assert calls(resp2) == []
    assert '{"temp_c": 21}' in final_text(resp2)


def test_tool_round_trip_with_previous_response_id(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "Use get_time", "tools": [TIME], "reasoning": {"effort": "low"}})
    call = calls(resp)[0]
    _events, resp2 = stream(client, {
        "previous_response_id": resp["id"], "tools": [TIME],
        "input": [{"type": "function_call_output", "call_id": call["call_id"], "output": "12:00 UTC"}],
    })
    assert "12:00 UTC" in final_text(resp2)
    assert resp2["previous_response_id"] == resp["id"]


def test_unknown_call_id_is_a_bad_request(client: TestClient) -> None:
    r = client.post("/v1/responses", json={"model": MODEL, "input": [
        {"type": "function_call_output", "call_id": "call_nope", "output": "x"}]})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "input[0].call_id"


def test_previous_response_id_chains_conversation(client: TestClient) -> None:
    _events, first = stream(client, {"input": "My name is Ada."})
    _events, second = stream(client, {"input": "What is my name?", "previous_response_id": first["id"]})
    text = final_text(second)
    assert 'You said earlier: "My name is Ada."' in text
    # The continuation shares the earlier prompt: the scripted backend's prefix cache reports it.
    details = second["usage"]["input_tokens_details"]
    assert 0 < details["cached_tokens"] < second["usage"]["input_tokens"]


def test_multi_turn_input_items(client: TestClient) -> None:
    _events, resp = stream(client, {"input": [
        {"role": "developer", "content": "Answer in English."},
        {"role": "user", "content": [{"type": "input_text", "text": "First question"}]},
        {"role": "assistant", "content": "First answer", "phase": "final_answer"},
        {"role": "user", "content": "Second question"},
    ]})
    assert 'You said earlier: "First question"' in final_text(resp)


def test_image_input_is_accepted_and_acknowledged(client: TestClient) -> None:
    _events, resp = stream(client, {"input": [{"role": "user", "content": [
        {"type": "input_text", "text": "What is in this picture?"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
    ]}]})
    assert "cannot see images" in final_text(resp)


def test_unknown_previous_response_id(client: TestClient) -> None:
    r = client.post("/v1/responses", json={"model": MODEL, "input": "x", "previous_response_id": "resp_nope"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "previous_response_not_found"
    assert r.json()["error"]["param"] == "previous_response_id"


def test_json_schema_format(client: TestClient) -> None:
    schema = {"type": "object", "properties": {
        "answer": {"type": "string", "maxLength": 40},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
    }, "required": ["answer", "confidence", "tags"], "additionalProperties": False}
    fmt = {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}
    _events, resp = stream(client, {"input": "Reply please", "text": {"format": fmt}})
    jsonschema.validate(json.loads(final_text(resp)), schema)
    assert resp["text"]["format"] == fmt


def test_json_object_format(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "Answer as JSON", "text": {"format": {"type": "json_object"}}})
    assert isinstance(json.loads(final_text(resp)), dict)


def test_max_output_tokens_ends_incomplete(client: TestClient) -> None:
    events, resp = stream(client, {"input": "A long question about many things", "max_output_tokens": 16,
                                   "reasoning": {"effort": "high"}})
    assert resp["status"] == "incomplete"
    assert resp["incomplete_details"] == {"reason": "max_output_tokens"}
    assert resp["usage"]["output_tokens"] == 16
    assert resp["output"][-1]["status"] == "incomplete"
    assert all(i["status"] == "completed" for i in resp["output"][:-1])
    assert events[-1]["type"] == "response.incomplete"


def test_backend_failure_mid_stream(encoding: Any) -> None:
    app = create_app(backend=ScriptedBackend(fail_after_tokens=12, encoding=encoding), encoding=encoding)
    with TestClient(app) as client:
        events, resp = stream(client, {"input": "Fail please", "reasoning": {"effort": "high"}})
        types = [e["type"] for e in events]
        assert types[-1] == "response.failed" and "error" in types
        error = events[types.index("error")]
        assert error["code"] == "server_error" and "message" in error and "error" not in error
        assert resp["error"]["code"] == "server_error"
        # Non-stream: a 500 in the error shape.
        r = client.post("/v1/responses", json={"model": MODEL, "input": "again"})
        assert r.status_code == 500 and r.json()["error"]["type"] == "server_error"


def test_nested_error_style(encoding: Any) -> None:
    from reference_server.core.settings import Settings

    app = create_app(backend=ScriptedBackend(fail_after_tokens=0, encoding=encoding), encoding=encoding,
                     settings=Settings(error_style="nested"))
    with TestClient(app) as client, client.stream(
            "POST", "/v1/responses", json={"model": MODEL, "input": "x", "stream": True}) as r:
        events = sse_events(b"".join(r.iter_bytes()))
    error = next(e for e in events if e["type"] == "error")
    assert set(error["error"]) == {"type", "code", "message", "param"}


def test_store_false_is_not_retrievable(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "Forget me", "store": False})
    r = client.get(f"/v1/responses/{resp['id']}")
    assert r.status_code == 404 and r.json()["error"]["message"]


def test_stored_response_equals_terminal_snapshot(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "Keep me", "metadata": {"k": "v"}, "tools": [WEATHER],
                                    "tool_choice": "none"})
    got = client.get(f"/v1/responses/{resp['id']}")
    assert got.status_code == 200 and got.json() == resp
    items = client.get(f"/v1/responses/{resp['id']}/input_items").json()
    assert items["object"] == "list" and items["has_more"] is False
    assert items["data"][0]["content"] == [{"type": "input_text", "text": "Keep me"}]
    assert items["first_id"] == items["last_id"] == items["data"][0]["id"]
    deleted = client.delete(f"/v1/responses/{resp['id']}").json()
    assert deleted == {"id": resp["id"], "object": "response.deleted", "deleted": True}
    assert client.get(f"/v1/responses/{resp['id']}").status_code == 404
    assert client.delete(f"/v1/responses/{resp['id']}").status_code == 404


def test_input_items_pagination(client: TestClient) -> None:
    body = {"model": MODEL, "input": [{"role": "user", "content": f"m{i}"} for i in range(5)]}
    rid = client.post("/v1/responses", json=body).json()["id"]
    page = client.get(f"/v1/responses/{rid}/input_items", params={"limit": 2, "order": "asc"}).json()
    assert [p["content"][0]["text"] for p in page["data"]] == ["m0", "m1"] and page["has_more"]
    page2 = client.get(f"/v1/responses/{rid}/input_items",
                       params={"limit": 2, "order": "asc", "after": page["last_id"]}).json()
    assert [p["content"][0]["text"] for p in page2["data"]] == ["m2", "m3"]
    desc = client.get(f"/v1/responses/{rid}/input_items").json()
    assert desc["data"][0]["content"][0]["text"] == "m4"


def _normalize(obj: Any) -> Any:
    """Drop what legitimately differs between two generations (ids, times, prefix-cache hits)."""
    if isinstance(obj, dict):
        return {k: _normalize(v) for k, v in obj.items() if k not in ("id", "call_id", "created_at", "completed_at", "cached_tokens")}
    if isinstance(obj, list):
        return [_normalize(v) for v in obj]
    return obj


@pytest.mark.parametrize("extra", [{}, {"tools": [WEATHER], "reasoning": {"effort": "low"}}])
def test_non_stream_body_equals_streamed_snapshot(client: TestClient, extra: dict[str, Any]) -> None:
    body = {"model": MODEL, "input": "Same either way", **extra}
    r = client.post("/v1/responses", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    import conformance

    check = conformance.check_response(r.json(), request=body)
    assert not check.errors("warning"), check.findings
    _events, streamed = stream(client, body)
    assert _normalize(r.json()) == _normalize(streamed)


def test_explicit_nulls_are_absent(client: TestClient) -> None:
    nulls = {k: None for k in ("metadata", "tools", "max_output_tokens", "temperature", "top_p", "instructions",
                               "tool_choice", "text", "reasoning", "user", "previous_response_id", "truncation",
                               "parallel_tool_calls", "store", "include", "prompt_cache_key", "service_tier")}
    _events, resp = stream(client, {"input": "nulls", **nulls})
    assert resp["metadata"] == {} and resp["tools"] == [] and resp["temperature"] == 1.0


def test_background_response(client: TestClient) -> None:
    r = client.post("/v1/responses", json={"model": MODEL, "input": "later", "background": True})
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["background"] is True
    rid = r.json()["id"]
    import time

    deadline = time.monotonic() + 30  # a hang guard
    while True:
        got = client.get(f"/v1/responses/{rid}").json()
        if got["status"] not in ("queued", "in_progress") or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert got["status"] == "completed" and got["output"]
    # Replaying its events is a conformant stream from the start.
    with client.stream("GET", f"/v1/responses/{rid}", params={"stream": "true"}) as s:
        data = b"".join(s.iter_bytes())
    events = sse_events(data)
    assert [e["type"] for e in events[:3]] == ["response.created", "response.queued", "response.in_progress"]
    assert_conformant(data)
    r = client.post(f"/v1/responses/{rid}/cancel")
    assert r.status_code == 400 and "completed" in r.json()["error"]["message"]


def test_background_stream_and_cancel(encoding: Any) -> None:
    app = create_app(backend=ScriptedBackend(delay=0.02, encoding=encoding), encoding=encoding)
    with TestClient(app) as client:
        body = {"model": MODEL, "input": "stream in background", "background": True, "stream": True}
        with client.stream("POST", "/v1/responses", json=body) as s:
            data = b"".join(s.iter_bytes())
        assert_conformant(data, request=body)
        r = client.post("/v1/responses", json={"model": MODEL, "input": "cancel me", "background": True})
        rid = r.json()["id"]
        cancelled = client.post(f"/v1/responses/{rid}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert client.get(f"/v1/responses/{rid}").json()["status"] == "cancelled"
        assert client.post(f"/v1/responses/{rid}/cancel").json()["status"] == "cancelled"  # idempotent
        plain = client.post("/v1/responses", json={"model": MODEL, "input": "fg"}).json()
        r = client.post(f"/v1/responses/{plain['id']}/cancel")
        assert r.status_code == 400


def test_models_and_health(client: TestClient) -> None:
    models = client.get("/v1/models").json()
    assert models["object"] == "list" and models["data"][0]["id"] == "gpt-oss-scripted"
    assert client.get("/v1/models/gpt-oss-scripted").json()["object"] == "model"
    assert client.get("/v1/models/nope").status_code == 404
    assert client.get("/health").json()["status"] == "ok"


def test_strict_model_names(encoding: Any) -> None:
    from reference_server.core.settings import Settings

    app = create_app(encoding=encoding, settings=Settings(accept_any_model=False))
    with TestClient(app) as client:
        r = client.post("/v1/responses", json={"model": "gpt-4o", "input": "x"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
        ok = client.post("/v1/responses", json={"model": "gpt-oss-scripted", "input": "x"})
        assert ok.status_code == 200 and ok.json()["model"] == "gpt-oss-scripted"
