"""openai-python (the pinned release) as a real client against the server under uvicorn on a loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from reference_server import create_app
from reference_server.core.settings import Settings

from .helpers import ServerThread, serve

KEY = "sk-test-reference"
TOOL = {
    "type": "function",
    "name": "lookup",
    "description": "Look a word up",
    "parameters": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"],
                   "additionalProperties": False},
    "strict": True,
}


@pytest.fixture(scope="module")
def server(encoding: Any) -> Iterator[ServerThread]:
    with serve(create_app(encoding=encoding, settings=Settings(api_key=KEY))) as s:
        yield s


@pytest.fixture
def client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=20)


def test_create_non_stream(client: openai.OpenAI) -> None:
    resp = client.responses.create(model="any-model", input="Hello from the SDK", metadata={"a": "b"})
    assert resp.status == "completed" and resp.model == "any-model"
    assert "Hello from the SDK" in resp.output_text
    assert resp.metadata == {"a": "b"}
    assert resp.usage is not None and resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    again = client.responses.retrieve(resp.id)
    assert again.model_dump() == resp.model_dump()


def test_create_stream(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="m", input="Stream it", stream=True,
                                          reasoning={"effort": "low"}))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == events[-1].response.output_text


def test_stream_helper_tool_round_trip(client: openai.OpenAI) -> None:
    with client.responses.stream(model="m", input="Please lookup 'harmony'", tools=[TOOL]) as stream:
        for _event in stream:
            pass
        first = stream.get_final_response()
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "lookup" and json.loads(call.arguments)["word"]
    with client.responses.stream(
        model="m", previous_response_id=first.id, tools=[TOOL],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "a musical term"}],
    ) as stream:
        final = stream.get_final_response()
    assert "a musical term" in final.output_text
    assert final.previous_response_id == first.id


def test_structured_output_parse(client: openai.OpenAI) -> None:
    from pydantic import BaseModel

    class Reply(BaseModel):
        answer: str
        score: int

    parsed = client.responses.parse(model="m", input="Give me a reply", text_format=Reply)
    assert isinstance(parsed.output_parsed, Reply)


def test_errors_reach_the_sdk_typed(client: openai.OpenAI, server: ServerThread) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="m", input="x", max_output_tokens=3)
    assert bad.value.code == "integer_below_min_value" and bad.value.param == "max_output_tokens"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_missing")
    wrong = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as auth:
        wrong.responses.create(model="m", input="x")
    assert auth.value.code == "invalid_api_key"
    deleted = client.responses.create(model="m", input="bye")
    client.responses.delete(deleted.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(deleted.id)
