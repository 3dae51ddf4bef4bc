"""The upstream's own streams follow each wire format: CC chunks through openai-python's
chat.completions streaming, Anthropic events through the Messages grammar, Responses events
through this project's checker; and what they carry is what the request log says."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest

from conformance import check_sse
from conformance.sse import SSEParser
from conformance.upstream.app import create_upstream_app
from conformance.upstream.grammar import AnthropicGrammar
from conformance.upstream.model import instance

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
           "required": ["city", "unit"]}
ASK_BOTH = "What is the weather in Paris and in Tokyo?"


def _log(app: Any) -> dict[str, Any]:
    return app.state.upstream.exchanges[-1]


@pytest.mark.parametrize("request_fields, expect", [
    ({"messages": [{"role": "user", "content": "hi"}]}, "text"),
    ({"messages": [{"role": "user", "content": ASK_BOTH}], "reasoning_effort": "low",
      "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]}, "calls"),
    ({"messages": [{"role": "user", "content": "count"}], "max_tokens": 5}, "length"),
])
def test_cc_stream_parses_with_openai_python(request_fields: dict[str, Any], expect: str) -> None:
    app = create_upstream_app("chat-completions")

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            client = openai.AsyncOpenAI(base_url="http://upstream/v1", api_key="x", http_client=http)
            async with client.chat.completions.stream(model="m", stream_options={"include_usage": True},
                                                      **request_fields) as stream:
                async for _ in stream:
                    pass
                try:
                    return await stream.get_final_completion()
                except openai.LengthFinishReasonError as exc:  # the SDK's parse helper refuses `length`
                    return exc.completion

    completion = asyncio.run(go())
    said = _log(app)["answer"]
    choice = completion.choices[0]
    assert (choice.message.content or "") == said["text"]
    assert [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []] == [
        (c["id"], c["name"], c["arguments"]) for c in said["calls"]]
    assert completion.usage is not None and completion.usage.completion_tokens == said["usage"]["output_tokens"]
    if expect == "calls":
        assert choice.finish_reason == "tool_calls" and len(said["calls"]) == 2 and said["reasoning"]
        for call in said["calls"]:
            assert set(json.loads(call["arguments"])) == {"city", "unit"}
    elif expect == "length":
        assert choice.finish_reason == "length" and completion.usage.completion_tokens == 5
    else:
        assert choice.finish_reason == "stop"


def _stream(app: Any, path: str, body: dict[str, Any]) -> bytes:
    async def go() -> bytes:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://u") as c:
            return (await c.post(path, json={**body, "stream": True})).content

    return asyncio.run(go())


@pytest.mark.parametrize("body", [
    {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 500},
    {"messages": [{"role": "user", "content": ASK_BOTH}], "max_tokens": 2000,
     "thinking": {"type": "enabled", "budget_tokens": 1024},
     "tools": [{"name": "get_weather", "input_schema": WEATHER}]},
    {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
])
def test_anthropic_stream_follows_the_messages_grammar(body: dict[str, Any]) -> None:
    app = create_upstream_app("anthropic")
    raw = _stream(app, "/v1/messages", {"model": "m", **body})
    grammar, errors, types = AnthropicGrammar(), [], []
    parser = SSEParser()
    for msg in [*parser.feed(raw), *parser.close()]:
        data = json.loads(msg.data)
        types.append(data["type"])
        errors += grammar.feed(msg.event, data)
    errors += grammar.finish()
    assert errors == []
    assert types[:2] == ["message_start", "ping"] and types[-2:] == ["message_delta", "message_stop"]
    said = _log(app)["answer"]
    if "thinking" in body:
        assert "signature_delta" in raw.decode() and len(said["calls"]) == 2


def test_grammar_catches_a_delta_outside_its_block() -> None:
    g = AnthropicGrammar()
    assert g.feed("message_start", {"type": "message_start", "message": {}}) == []
    g.feed("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}})
    assert g.feed("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "input_json_delta", "partial_json": "{"}})
    assert g.finish() == ["the stream ended without message_stop"]


@pytest.mark.parametrize("body", [
    {"input": "hi", "reasoning": {"effort": "low"}},
    {"input": ASK_BOTH, "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER}]},
    {"input": "hi", "max_output_tokens": 16},
])
def test_responses_stream_passes_the_checker(body: dict[str, Any]) -> None:
    app = create_upstream_app("responses")
    request = {"model": "m", **body}
    result = check_sse(_stream(app, "/v1/responses", request), request={**request, "stream": True},
                       content_type="text/event-stream")
    assert [f.rule for f in result.findings if f.severity == "error"] == []
    assert result.terminal_response is not None


def test_instance_is_valid_for_its_schema() -> None:
    from jsonschema import Draft202012Validator

    schema = {"type": "object", "required": ["a", "b", "c"], "additionalProperties": False,
              "properties": {"a": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
                             "b": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 3}]},
                             "c": {"type": ["number", "null"], "minimum": 4}}}
    assert list(Draft202012Validator(schema).iter_errors(instance(schema))) == []


@pytest.mark.parametrize("kind, path", [("chat-completions", "/v1/chat/completions"), ("anthropic", "/v1/messages"),
                                        ("responses", "/v1/responses")])
@pytest.mark.parametrize("body", [
    [], "text", {"messages": 5, "tools": 7, "input": 3, "tool_choice": [1], "max_tokens": "x", "system": 4},
    {"messages": [{"role": "user", "content": [None, 5, {"type": "text"}]}], "tools": [None, {"function": 3}],
     "tool_choice": {"type": "allowed_tools", "allowed_tools": 4}, "response_format": {"type": "json_schema",
     "json_schema": {"schema": {"type": "object", "properties": 3, "required": "a"}}}, "stream": True},
    {"input": [{"type": "message", "content": None}, 5], "text": {"format": {"type": "json_schema", "schema": []}},
     "tools": [{"type": "function", "name": "f", "parameters": {"type": "array", "minItems": "2"}}], "stream": True},
])
def test_odd_bodies_get_an_answer_never_a_crash(kind: str, path: str, body: Any) -> None:
    app = create_upstream_app(kind)

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://u") as c:
            return await c.post(path, json=body)

    res = asyncio.run(go())
    assert res.status_code in (200, 400)
    assert _log(app)["answer"]["status"] == res.status_code


def test_recorded_streams_are_summarized() -> None:
    from conformance.resources import fixtures_dir
    from conformance.upstream.recorded import summarize

    folder = fixtures_dir() / "upstream"
    cc = summarize("chat-completions", (folder / "chat-completions/openai-parallel-tool-calls.sse").read_bytes())
    assert cc is not None and len(cc["calls"]) == 2 and all(json.loads(c["arguments"]) for c in cc["calls"])
    cut = summarize("chat-completions", (folder / "chat-completions/disconnect-mid-stream.sse").read_bytes())
    assert cut is not None and cut["error"]
    thinking = summarize("anthropic", (folder / "anthropic/anthropic-thinking-signature.sse").read_bytes())
    assert thinking is not None and thinking["reasoning"] and thinking["text"] and thinking["finish"] == "stop"
    assert thinking["usage"]["input_tokens"] == 45  # message_start.usage of the built stream
    refusal = summarize("anthropic", (folder / "anthropic/refusal-stop.sse").read_bytes())
    assert refusal is not None and refusal["finish"] == "content_filter"
    # Content as typed parts (Mistral): text parts are text, thinking parts reasoning.
    parts = summarize("chat-completions", (folder / "chat-completions/mistral-thinking-parts.sse").read_bytes())
    assert parts is not None and parts["text"] == "3 × 7 = 21"
    assert parts["reasoning"] == "Three times seven is asked. Seven added three times: 7, 14, 21."


def test_every_recorded_upstream_stream_is_summarized_without_an_exception() -> None:
    from conformance.resources import fixtures_dir
    from conformance.upstream.recorded import summarize

    streams = sorted((fixtures_dir() / "upstream").glob("*/*.sse"))
    assert len(streams) >= 20
    for path in streams:
        summary = summarize(path.parent.name, path.read_bytes())
        assert summary is not None, path.name
        assert all(isinstance(summary[k], str) for k in ("text", "refusal", "reasoning")), path.name
