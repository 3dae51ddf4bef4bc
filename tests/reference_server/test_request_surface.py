"""The request surface of openai-python 3.54's `responses.create` (plus what OpenAI's own clients
send) and the Response shape the live API returns today."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient
from openai.resources.responses import Responses

from reference_server import create_app
from reference_server.protocol.events import OBFUSCATION_TARGET
from reference_server.protocol.request import SUPPORTED_PARAMS
from reference_server.protocol.request_options import UNSUPPORTED_PARAMS

from .helpers import ServerThread, assert_conformant, serve, sse_events
from .test_requests import assert_error_shape

# The keyword arguments of the SDK's create() that are not request body fields.
SDK_TRANSPORT_ARGS = {"self", "extra_headers", "extra_query", "extra_body", "timeout"}

# The fields of a live `response.completed` snapshot (PROTOCOL.md, "Live Response shape, 2026").
LIVE_FIELDS = {
    "id", "object", "created_at", "completed_at", "status", "background", "error", "incomplete_details",
    "instructions", "max_output_tokens", "max_tool_calls", "model", "moderation", "output",
    "parallel_tool_calls", "previous_response_id", "presence_penalty", "frequency_penalty", "prompt_cache_key",
    "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier", "store", "temperature", "text",
    "tool_choice", "tools", "tool_usage", "top_logprobs", "top_p", "truncation", "usage", "user", "metadata",
}

EVERYTHING: dict[str, Any] = {
    "model": "m", "input": "Say something", "instructions": "Be brief.", "background": False,
    "include": ["message.output_text.logprobs"], "max_output_tokens": 64, "max_tool_calls": 2,
    "metadata": {"k": "v"}, "parallel_tool_calls": False, "prompt_cache_key": "pck", "prompt_cache_retention": "24h",
    "reasoning": {"effort": "low", "summary": None}, "safety_identifier": "user-hash", "service_tier": "flex",
    "store": True, "temperature": 0.5, "text": {"format": {"type": "text"}, "verbosity": "low"},
    "tool_choice": "auto", "tools": [], "top_logprobs": 3, "top_p": 0.9, "truncation": "auto", "user": "u-1",
    "presence_penalty": 0.5, "frequency_penalty": -0.25, "client_metadata": {"originator": "codex_exec"},
    "access_programs": {"cyber": "standard"}, "image": {"context_compression": "auto"},
    "background_options": {"completion_window": "soonest", "continuation_id": "c-1"},
    "prompt_cache_options": {"mode": "explicit", "ttl": "12h"},
    "context_management": [{"type": "compaction", "compact_threshold": 1}],
}


def test_every_sdk_parameter_is_handled() -> None:
    """Each body parameter the SDK can send is either implemented or refused by name."""
    params = set(inspect.signature(Responses.create).parameters) - SDK_TRANSPORT_ARGS
    assert params - SUPPORTED_PARAMS - set(UNSUPPORTED_PARAMS) == set()
    assert set(EVERYTHING) >= params - set(UNSUPPORTED_PARAMS) - {"stream", "stream_options", "previous_response_id"}


def test_everything_at_once_is_accepted_and_echoed(client: TestClient) -> None:
    r = client.post("/v1/responses", json=EVERYTHING)
    assert r.status_code == 200, r.text
    resp = r.json()
    assert set(resp) >= LIVE_FIELDS
    for key in ("instructions", "max_output_tokens", "max_tool_calls", "metadata", "parallel_tool_calls",
                "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "service_tier", "store",
                "temperature", "top_logprobs", "top_p", "truncation", "user", "presence_penalty",
                "frequency_penalty", "access_programs"):
        assert resp[key] == EVERYTHING[key], key
    assert resp["text"]["verbosity"] == "low"
    assert resp["image"] == {"context_compression": "disabled"}  # nothing to compress: text-only model
    assert resp["prompt_cache_options"] == {"mode": "explicit", "ttl": "12h", "comparison_response_id": None}
    assert "client_metadata" not in resp and "background_options" not in resp


def test_defaults_of_the_live_shape(client: TestClient) -> None:
    body = {"model": "m", "input": "hi", "stream": True}
    with client.stream("POST", "/v1/responses", json=body) as s:
        data = b"".join(s.iter_bytes())
    events = sse_events(data)
    assert_conformant(data, request=body)
    snapshots = [e["response"] for e in events if "response" in e]
    for snap in snapshots:
        assert set(snap) >= LIVE_FIELDS
        assert (snap["presence_penalty"], snap["frequency_penalty"], snap["moderation"]) == (0.0, 0.0, None)
        assert snap["tool_usage"] == {
            "image_gen": {"input_tokens": 0, "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
                          "output_tokens": 0, "total_tokens": 0},
            "web_search": {"num_requests": 0}}
        # completed_at exactly when completed, and never before created_at.
        assert (snap["completed_at"] is not None) == (snap["status"] == "completed")
    final = snapshots[-1]
    assert final["status"] == "completed" and final["completed_at"] >= final["created_at"]
    assert final["usage"]["input_tokens_details"]["cache_write_tokens"] == 0


@pytest.mark.parametrize(
    ("extra", "param", "code"),
    [
        ({"presence_penalty": 2.5}, "presence_penalty", "decimal_above_max_value"),
        ({"frequency_penalty": -3}, "frequency_penalty", "decimal_below_min_value"),
        ({"frequency_penalty": "high"}, "frequency_penalty", "invalid_type"),
        ({"client_metadata": ["x"]}, "client_metadata", "invalid_type"),
        ({"client_metadata": {"originator": 7}}, "client_metadata.originator", "invalid_type"),
        ({"access_programs": {"cyber": "red"}}, "access_programs.cyber", "invalid_value"),
        ({"image": {"detail": "low"}}, "image.detail", "unknown_parameter"),
        ({"background_options": {"completion_window": "8h"}}, "background_options.completion_window",
         "invalid_value"),
        ({"prompt_cache_options": {"ttl": "1d"}}, "prompt_cache_options.ttl", "invalid_value"),
        ({"prompt_cache_options": {"prewarm": 1}}, "prompt_cache_options.prewarm", "invalid_type"),
        ({"conversation": {"id": "conv_1"}}, "conversation", "unsupported_parameter"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt", "unsupported_parameter"),
        ({"context_management": [{"type": "summary"}]}, "context_management[0].type", "invalid_value"),
        ({"moderation": {"model": "omni-moderation-latest"}}, "moderation", "unsupported_parameter"),
        ({"truly_unknown": 1}, "truly_unknown", "unknown_parameter"),
    ],
)
def test_bad_values_name_the_param(client: TestClient, extra: dict[str, Any], param: str, code: str) -> None:
    r = client.post("/v1/responses", json={"model": "m", "input": "x", **extra})
    assert r.status_code == 400, r.text
    error = assert_error_shape(r.json())
    assert (error["param"], error["code"]) == (param, code)
    if code == "unsupported_parameter":
        assert "not supported by this server" in error["message"]


def test_nulls_of_unsupported_params_are_absent(client: TestClient) -> None:
    body = {"model": "m", "input": "x", **{key: None for key in UNSUPPORTED_PARAMS}}
    assert client.post("/v1/responses", json=body).status_code == 200


def test_long_windows_need_background(client: TestClient) -> None:
    body = {"model": "m", "input": "x", "background": True, "background_options": {"completion_window": "2h"}}
    r = client.post("/v1/responses", json=body)
    assert r.status_code == 200 and r.json()["status"] in ("queued", "in_progress", "completed")


# --------------------------------------------------------------------------- obfuscation
def _stream(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    with client.stream("POST", "/v1/responses", json=body) as s:
        data = b"".join(s.iter_bytes())
    assert_conformant(data, request=body)
    return sse_events(data)


def test_deltas_are_padded_by_default(client: TestClient) -> None:
    events = _stream(client, {"model": "m", "input": "Please lookup the weather", "stream": True,
                              "reasoning": {"effort": "low"},
                              "tools": [{"type": "function", "name": "lookup", "parameters": {
                                  "type": "object", "properties": {"q": {"type": "string"}}}}]})
    deltas = [e for e in events if e["type"].endswith(".delta")]
    assert {e["type"] for e in deltas} >= {"response.function_call_arguments.delta",
                                           "response.reasoning_text.delta"}
    for e in deltas:
        assert e["obfuscation"].isalnum() or e["obfuscation"] == ""
        assert len(e["delta"]) + len(e["obfuscation"]) == max(OBFUSCATION_TARGET, len(e["delta"]))
    assert len({e["obfuscation"] for e in deltas if len(e["delta"]) < 8}) > 1  # random, not constant
    assert all("obfuscation" not in e for e in events if not e["type"].endswith(".delta"))


def test_obfuscation_can_be_turned_off(client: TestClient) -> None:
    events = _stream(client, {"model": "m", "input": "hi", "stream": True,
                              "stream_options": {"include_obfuscation": False}})
    assert any(e["type"] == "response.output_text.delta" for e in events)
    assert all("obfuscation" not in e for e in events)


# --------------------------------------------------------------------------- openai-python
@pytest.fixture(scope="module")
def server(encoding: Any) -> Iterator[ServerThread]:
    with serve(create_app(encoding=encoding)) as s:
        yield s


def test_openai_python_round_trip(server: ServerThread) -> None:
    sdk = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0, timeout=20)
    resp = sdk.responses.create(model="m", input="Hello", top_logprobs=2, truncation="auto",
                                prompt_cache_options={"ttl": "30m"}, image={"context_compression": "enabled"},
                                extra_body={"client_metadata": {"originator": "codex_cli_rs"},
                                            "presence_penalty": 1.0, "frequency_penalty": 0.5})
    assert resp.status == "completed" and resp.completed_at is not None and resp.completed_at >= resp.created_at
    assert resp.tool_usage is not None and resp.tool_usage.web_search.num_requests == 0
    assert resp.tool_usage.image_gen.total_tokens == 0
    assert resp.usage is not None and resp.usage.input_tokens_details.cache_write_tokens == 0
    assert resp.top_logprobs == 2 and resp.truncation == "auto"
    assert (resp.model_extra or {}).items() >= {"presence_penalty": 1.0, "frequency_penalty": 0.5}.items()
    with sdk.responses.stream(model="m", input="Stream it", include=["message.output_text.logprobs"]) as stream:
        deltas = [e for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(e.delta for e in deltas) == final.output_text
    assert "".join(lp.token for e in deltas for lp in e.logprobs) == final.output_text
    part = final.output[-1].content[0]  # type: ignore[union-attr]
    assert part.type == "output_text" and part.logprobs and "".join(lp.token for lp in part.logprobs) == part.text


# --------------------------------------------------------------------------- logprobs
def test_output_text_logprobs_when_included(client: TestClient) -> None:
    body = {"model": "m", "input": "Tell me about naïve cafés", "stream": True, "top_logprobs": 2,
            "include": ["message.output_text.logprobs"], "reasoning": {"effort": "low"}}
    events = _stream(client, body)
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert deltas and all(e["logprobs"] for e in deltas)
    for e in deltas:  # every token of the delta, in order, and nothing else
        assert "".join(lp["token"] for lp in e["logprobs"]) == e["delta"]
        for lp in e["logprobs"]:
            assert lp["logprob"] == 0.0 and lp["top_logprobs"] == [{"token": lp["token"], "logprob": 0.0}]
    done = next(e for e in events if e["type"] == "response.output_text.done")
    part = events[-1]["response"]["output"][-1]["content"][0]
    assert len(done["logprobs"]) == len(part["logprobs"]) == sum(len(e["logprobs"]) for e in deltas)
    assert bytes(b for lp in part["logprobs"] for b in lp["bytes"]).decode() == part["text"]
    assert all("logprobs" not in e for e in events if e["type"] == "response.reasoning_text.delta")


def test_no_logprobs_unless_included(client: TestClient) -> None:
    events = _stream(client, {"model": "m", "input": "hi", "stream": True, "top_logprobs": 5})
    assert all(e["logprobs"] == [] for e in events if e["type"] == "response.output_text.delta")


def test_a_codex_shaped_conversation(client: TestClient) -> None:
    """Codex CLI's body (function tools only here): client_metadata, store false, encrypted
    reasoning, a prompt_cache_key; its second turn sends the output back, reasoning without text."""
    shell = {"type": "function", "name": "shell", "description": "Run a command", "strict": False,
             "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {
                 "type": "string"}}}, "required": ["command"], "additionalProperties": False}}
    base = {"model": "gpt-5-codex", "instructions": "You are a coding agent.", "tools": [shell],
            "tool_choice": "auto", "parallel_tool_calls": False, "reasoning": {"effort": "medium", "summary": "auto"},
            "store": False, "stream": True, "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "0f6c1d2e-codex-session", "text": {"verbosity": "low"},
            "client_metadata": {"x-codex-installation-id": "abc", "originator": "codex_exec"}}
    user = [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<env/>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Please shell ls"}]}]
    first = _stream(client, {**base, "input": user})[-1]["response"]
    assert first["status"] == "completed" and first["store"] is False
    call = next(item for item in first["output"] if item["type"] == "function_call")
    echoed = [{**item, "content": None} if item["type"] == "reasoning" else item for item in first["output"]]
    second = _stream(client, {**base, "input": [*user, *echoed, {
        "type": "function_call_output", "call_id": call["call_id"], "output": "README.md"}]})[-1]["response"]
    assert "README.md" in second["output"][-1]["content"][0]["text"]
