"""End to end: the HTTP server streaming from the torch backend passes the conformance checker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from reference_server.sources.backends.torch.backend import TorchBackend
from reference_server.sources.backends.torch.model import GptOss

from ..helpers import assert_conformant, serve, sse_events
from .conftest import make_backend

create_app = pytest.importorskip("reference_server").create_app

TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}


@pytest.fixture(scope="module")
def server(tiny_model: GptOss, encoding: Any) -> Iterator[Any]:
    backend: TorchBackend = make_backend(tiny_model, message_token_budget=16)
    try:
        with serve(create_app(backend=backend, encoding=encoding)) as srv:
            yield srv
    finally:
        backend.scheduler.stop()


def _stream(server: Any, body: dict[str, Any]) -> bytes:
    with httpx.stream("POST", f"{server.url}/v1/responses", json=body, timeout=60) as resp:
        assert resp.status_code == 200, resp.read()
        return resp.read()


@pytest.mark.parametrize("tool_choice", ["required", "auto", "none"])
def test_streamed_tool_request_is_conformant(server: Any, tool_choice: str) -> None:
    body = {"model": "gpt-oss-torch-tiny", "input": "Weather in Oslo?", "tools": [TOOL],
            "tool_choice": tool_choice, "stream": True, "max_output_tokens": 300}
    data = _stream(server, body)
    result = assert_conformant(data, request=body)
    final = result.terminal_response
    assert final["status"] == "completed"
    calls = [item for item in final["output"] if item["type"] == "function_call"]
    if tool_choice == "required":
        assert len(calls) == 1 and calls[0]["name"] == "get_weather"
        jsonschema.validate(json.loads(calls[0]["arguments"]), TOOL["parameters"])
    if tool_choice == "none":
        assert not calls


def test_reasoning_and_structured_output_over_http(server: Any) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
              "additionalProperties": False}
    body = {"model": "gpt-oss-torch-tiny", "input": "Answer in JSON", "stream": True,
            "reasoning": {"effort": "low"},
            "text": {"format": {"type": "json_schema", "name": "a", "schema": schema, "strict": True}}}
    data = _stream(server, body)
    result = assert_conformant(data, request=body)
    output = result.terminal_response["output"]
    assert [item["type"] for item in output] == ["reasoning", "message"]
    text = output[1]["content"][0]["text"]
    jsonschema.validate(json.loads(text), schema)
    assert any(e["type"] == "response.reasoning_text.delta" for e in sse_events(data))
