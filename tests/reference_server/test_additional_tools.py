"""`additional_tools` input items: Codex CLI (0.171) declares its tools as a developer input item
instead of in `tools`. The server offers those tools to the model like the ones in `tools`
(the namespace `functions` meaning plain top-level tools) and keeps the item out of the
conversation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

MODEL = "gpt-oss-test"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather of a city", "strict": True,
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}
CLOCK = {"type": "namespace", "name": "clock", "description": "Time", "tools": [
    {"type": "function", "name": "sleep", "description": "Wait", "strict": False,
     "parameters": {"type": "object", "properties": {}}}]}


def additional(*tools: Any) -> dict[str, Any]:
    return {"type": "additional_tools", "id": "at_1", "role": "developer", "tools": list(tools)}


def create(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/v1/responses", json={"model": MODEL, **body})


def test_tools_of_an_additional_tools_item_are_offered(client: TestClient) -> None:
    functions = {"type": "namespace", "name": "functions", "description": "", "tools": [WEATHER]}
    r = create(client, {"input": [additional(functions, CLOCK),
                                  {"role": "user", "content": "What is the weather? Use get_weather."}],
                        "tool_choice": "required"})
    assert r.status_code == 200, r.text
    resp = r.json()
    calls = [i for i in resp["output"] if i["type"] == "function_call"]
    assert calls and calls[0]["name"] in ("get_weather", "sleep")
    assert [t["name"] for t in resp["tools"]] == ["get_weather", "clock"]  # `functions` flattened
    assert all(t["type"] != "namespace" or t["name"] != "functions" for t in resp["tools"])
    items = client.get(f"/v1/responses/{resp['id']}/input_items").json()["data"]
    assert [i["type"] for i in items] == ["message"]  # the declaration is not a turn


def test_additional_tools_join_the_tools_parameter(client: TestClient) -> None:
    r = create(client, {"input": [additional(CLOCK), {"role": "user", "content": "hi"}], "tools": [WEATHER]})
    assert r.status_code == 200, r.text
    assert [t["name"] for t in r.json()["tools"]] == ["get_weather", "clock"]


def test_bad_additional_tools_name_the_param(client: TestClient) -> None:
    r = create(client, {"input": [{"role": "user", "content": "hi"}, additional({"type": "nope"})]})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "input[1].tools[0].type"
    r = create(client, {"input": [additional("not a tool")]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input[0].tools[0]"
    r = create(client, {"input": [additional(WEATHER)], "tools": [WEATHER]})
    assert r.status_code == 400 and "declared twice" in r.json()["error"]["message"]
    r = create(client, {"input": [{"type": "additional_tools", "tools": [WEATHER], "extra": 1}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input[0].extra"
