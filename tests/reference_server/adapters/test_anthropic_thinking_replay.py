"""Multi-turn tool use with extended thinking through proxy mode to the fake Anthropic upstream,
which refuses, like the real API, a tool-use turn whose thinking did not come back signed: the
signature reaches the client as `encrypted_content` and goes back upstream byte for byte, whether
the client chains with `previous_response_id` (stored items) or carries the items itself
(`store: false` + `include: ["reasoning.encrypted_content"]`), over raw HTTP and openai-python."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
import openai
import pytest

from conformance import check_sse
from reference_server.testing.fake_upstreams import (
    REDACTED_THINKING_TRIGGER,
    thinking_signature,
)

from .helpers import proxy_over_fake_client

WEATHER = {"type": "function", "name": "get_weather", "strict": True, "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
    "additionalProperties": False}}
ASK = "Please use get_weather for Oslo."
TURN = {"model": "m", "tools": [WEATHER], "reasoning": {"effort": "low"}}
STATELESS = {"store": False, "include": ["reasoning.encrypted_content"]}


def proxy() -> contextlib.AbstractAsyncContextManager[tuple[httpx.AsyncClient, Any]]:
    """(client of an Anthropic proxy, the fake upstream app), lifespan run like a server would."""
    return proxy_over_fake_client("anthropic")


async def create(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """A response, streamed when `body` says so (the stream checked, its terminal snapshot returned)."""
    r = await http.post("/responses", json=body)
    assert r.status_code == 200, r.text
    if not body.get("stream"):
        return dict(r.json())
    result = check_sse(r.content, request=body, content_type=r.headers["content-type"])
    assert not result.errors(), [(f.rule, f.message) for f in result.errors()]
    assert result.terminal_response is not None
    return dict(result.terminal_response)


def tool_output(first: dict[str, Any]) -> dict[str, Any]:
    call = next(item for item in first["output"] if item["type"] == "function_call")
    return {"type": "function_call_output", "call_id": call["call_id"], "output": "Snow, -3C"}


def replayed_turn(fake: Any) -> list[dict[str, Any]]:
    """The assistant blocks of the tool-use turn, as the upstream received them on turn 2."""
    messages = fake.state.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    return list(messages[1]["content"])


def signed_reasoning(first: dict[str, Any]) -> dict[str, Any]:
    reasoning = first["output"][0]
    assert [i["type"] for i in first["output"]] == ["reasoning", "function_call"]
    text = reasoning["content"][0]["text"]
    assert text and reasoning["encrypted_content"] == thinking_signature(text)  # the upstream's own
    return dict(reasoning)


@pytest.mark.parametrize("stream", [False, True])
async def test_previous_response_id_replays_the_stored_signed_thinking(stream: bool) -> None:
    async with proxy() as (http, fake):
        first = await create(http, {**TURN, "input": ASK, "stream": stream})
        reasoning = signed_reasoning(first)
        second = await create(http, {**TURN, "stream": stream, "previous_response_id": first["id"],
                                     "input": [tool_output(first)]})
        blocks = replayed_turn(fake)
    assert blocks[0] == {"type": "thinking", "thinking": reasoning["content"][0]["text"],
                         "signature": reasoning["encrypted_content"]}
    assert [b["type"] for b in blocks] == ["thinking", "tool_use"]
    assert second["status"] == "completed" and "Snow, -3C" in second["output"][-1]["content"][0]["text"]


@pytest.mark.parametrize("stream", [False, True])
async def test_stateless_client_carries_the_signature_back(stream: bool) -> None:
    async with proxy() as (http, fake):
        first = await create(http, {**TURN, **STATELESS, "input": ASK, "stream": stream})
        reasoning = signed_reasoning(first)
        history = [{"role": "user", "content": ASK}, *first["output"], tool_output(first)]
        second = await create(http, {**TURN, **STATELESS, "input": history, "stream": stream})
        blocks = replayed_turn(fake)
    # Not re-sealed with the server's key on the way out, not opened on the way in.
    assert blocks[0]["signature"] == reasoning["encrypted_content"]
    assert blocks[0]["thinking"] == reasoning["content"][0]["text"]
    assert second["status"] == "completed" and second["output"][0]["encrypted_content"] == thinking_signature(
        second["output"][0]["content"][0]["text"])


async def test_redacted_thinking_round_trips() -> None:
    ask = f"{ASK} {REDACTED_THINKING_TRIGGER}"
    async with proxy() as (http, fake):
        first = await create(http, {**TURN, **STATELESS, "input": ask, "stream": True})
        reasoning = first["output"][0]
        history = [{"role": "user", "content": ask}, *first["output"], tool_output(first)]
        second = await create(http, {**TURN, **STATELESS, "input": history})
        stateless_blocks = replayed_turn(fake)
        stored = await create(http, {**TURN, "input": ask})
        chained = await create(http, {**TURN, "previous_response_id": stored["id"], "input": [tool_output(stored)]})
        chained_blocks = replayed_turn(fake)
    # A redacted block is a reasoning item with no text: its data is the encrypted_content.
    assert reasoning["type"] == "reasoning" and reasoning["content"] == [] and reasoning["summary"] == []
    assert [i["type"] for i in first["output"]] == ["reasoning", "function_call"]
    assert stateless_blocks[0] == {"type": "redacted_thinking", "data": reasoning["encrypted_content"]}
    assert chained_blocks[0] == {"type": "redacted_thinking", "data": stored["output"][0]["encrypted_content"]}
    assert second["status"] == "completed" and chained["status"] == "completed"


async def test_unsigned_or_altered_thinking_is_refused_by_the_upstream() -> None:
    async with proxy() as (http, fake):
        first = await create(http, {**TURN, **STATELESS, "input": ASK})
        reasoning = signed_reasoning(first)
        call, output = first["output"][1], tool_output(first)
        unsigned = {k: v for k, v in reasoning.items() if k != "encrypted_content"}
        altered = {**reasoning, "content": [{"type": "reasoning_text", "text": "Something else."}]}
        answers = {name: await http.post("/responses", json={**TURN, **STATELESS, "input": [
            {"role": "user", "content": ASK}, *item, call, output]})
            for name, item in (("dropped", []), ("unsigned", [unsigned]), ("altered", [altered]))}
        # Unsigned reasoning is skipped; without thinking enabled nothing requires it.
        plain = await create(http, {**{k: v for k, v in TURN.items() if k != "reasoning"}, **STATELESS,
                                    "input": [{"role": "user", "content": ASK}, unsigned, call, output]})
        plain_sent = fake.state.requests[-1]["messages"][1]["content"]
    for name in ("dropped", "unsigned"):
        r = answers[name]
        assert r.status_code == 400, (name, r.text)
        assert "Expected `thinking` or `redacted_thinking`, but found `tool_use`" in r.json()["error"]["message"]
    assert answers["altered"].status_code == 400
    assert "Invalid `signature` in `thinking` block" in answers["altered"].json()["error"]["message"]
    assert plain["status"] == "completed" and [b["type"] for b in plain_sent] == ["tool_use"]


async def test_openai_python_two_turn_tool_call_with_reasoning() -> None:
    async with proxy() as (http, fake):
        sdk: Any = openai.AsyncOpenAI(api_key="k", base_url="http://proxy/v1", http_client=http, max_retries=0)
        # Stateless, streamed: the completed response's items go back as input.
        events = [event async for event in await sdk.responses.create(input=ASK, stream=True, **TURN, **STATELESS)]
        first = events[-1].response
        assert events[-1].type == "response.completed"
        call = next(item for item in first.output if item.type == "function_call")
        output = {"type": "function_call_output", "call_id": call.call_id, "output": "Snow, -3C"}
        history = [{"role": "user", "content": ASK}, *[i.model_dump(exclude_none=True) for i in first.output], output]
        second = await sdk.responses.create(input=history, **TURN, **STATELESS)
        stateless_blocks = replayed_turn(fake)
        # Stored, chained by id.
        stored = await sdk.responses.create(input=ASK, **TURN)
        stored_call = next(item for item in stored.output if item.type == "function_call")
        chained = await sdk.responses.create(previous_response_id=stored.id, **TURN, input=[
            {"type": "function_call_output", "call_id": stored_call.call_id, "output": "Snow, -3C"}])
        chained_blocks = replayed_turn(fake)
    assert first.output[0].type == "reasoning" and first.output[0].encrypted_content
    assert stateless_blocks[0] == {"type": "thinking", "thinking": first.output[0].content[0].text,
                                   "signature": first.output[0].encrypted_content}
    assert chained_blocks[0]["signature"] == stored.output[0].encrypted_content
    assert "Snow, -3C" in second.output_text and "Snow, -3C" in chained.output_text


async def test_the_signature_is_the_upstreams_not_the_servers_seal() -> None:
    """With include, the server seals its own backends' reasoning; an Anthropic upstream's
    signature is never replaced by such a seal, on `output_item.done` or in the terminal snapshot."""
    async with proxy() as (http, _):
        r = await http.post("/responses", json={**TURN, **STATELESS, "input": ASK, "stream": True})
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    done = next(e["item"] for e in events if e["type"] == "response.output_item.done"
                and e["item"]["type"] == "reasoning")
    assert done["encrypted_content"] == thinking_signature(done["content"][0]["text"])
    assert events[-1]["response"]["output"][0] == done


async def test_a_compacted_chain_keeps_the_signatures() -> None:
    """After automatic compaction, the conversation a chained turn expands holds stored reasoning
    after the compaction item: its signature is not opened as a seal of the server's."""
    async with proxy() as (http, fake):
        first = await create(http, {**TURN, "input": ASK})
        second = await create(http, {**TURN, "previous_response_id": first["id"], "input": [tool_output(first)],
                                     "context_management": [{"type": "compaction", "compact_threshold": 1}]})
        third = await create(http, {**TURN, "previous_response_id": second["id"], "input": "And tomorrow?"})
        messages = fake.state.requests[-1]["messages"]
    assert [i["type"] for i in second["output"]] == ["compaction", "reasoning", "message"]
    assert third["status"] == "completed"
    thinking = [b for m in messages if m["role"] == "assistant" for b in m["content"] if b["type"] == "thinking"]
    assert [b["signature"] for b in thinking] == [first["output"][0]["encrypted_content"],
                                                  second["output"][1]["encrypted_content"]]
