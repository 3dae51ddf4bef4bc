"""Proxy mode in front of each model generation. The fake Anthropic upstream refuses, as the live
API does, manual thinking and sampling parameters on the newest Claude models, adaptive thinking
on the older ones, and temperature with top_p together on Claude 4.1-4.6; the fake Chat
Completions upstream refuses `max_tokens` and sampling values on OpenAI's reasoning models. One
request every client might send (an effort, a temperature, a top_p, an output limit) is
answered, with its reasoning, whatever the model behind the proxy."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import openai
import pytest

from conformance import check_sse
from reference_server.sources.adapters.chat_completions import responses_to_cc_request
from reference_server.testing.fake_upstreams import FakeRequestError, anthropic_turn, cc_turn

from .helpers import proxy_over_fake_client

MODELS = ["claude-opus-4-7", "claude-sonnet-5", "claude-mythos-preview", "claude-opus-4-6",
          "claude-sonnet-4-5-20250929", "claude-3-7-sonnet-20250219"]
BODY = {"model": "client-model", "input": "Say hello.", "reasoning": {"effort": "high", "summary": "auto"},
        "temperature": 0.4, "top_p": 0.9, "max_output_tokens": 6000}


def proxy_to(model: str, kind: Any = "anthropic") -> contextlib.AbstractAsyncContextManager[tuple[httpx.AsyncClient, Any]]:
    """(an httpx client of a proxy whose upstream model is `model`, the fake upstream app)."""
    return proxy_over_fake_client(kind, {"client-model": model})


async def streamed_by_openai_python(http: httpx.AsyncClient) -> Any:
    """BODY streamed through openai-python; its final Response."""
    sdk = openai.AsyncOpenAI(base_url="http://proxy/v1", api_key="none", max_retries=0, http_client=http)
    async with sdk.responses.stream(**BODY) as stream:  # type: ignore[call-overload]
        async for _ in stream:
            pass
        return await stream.get_final_response()


@pytest.mark.parametrize("model", MODELS)
async def test_a_reasoning_request_with_sampling_values_is_answered(model: str) -> None:
    async with proxy_to(model) as (http, fake):
        final = await streamed_by_openai_python(http)
        sent = fake.state.requests[-1]
    assert final.status == "completed" and final.output_text
    assert final.output[0].type == "reasoning"  # the model thought
    assert sent["model"] == model


@pytest.mark.parametrize("model", MODELS)
async def test_the_stream_conforms_without_reasoning_too(model: str) -> None:
    body = {**BODY, "stream": True, "reasoning": {"effort": "none"}}
    async with proxy_to(model) as (http, _fake):
        r = await http.post("/responses", json=body)
    assert r.status_code == 200, r.text
    result = check_sse(r.content, request=body, content_type=r.headers["content-type"])
    assert not result.errors(), [(f.rule, f.message) for f in result.errors()]
    assert result.terminal_response is not None
    assert [item["type"] for item in result.terminal_response["output"]] == ["message"]


@pytest.mark.parametrize(("model", "body", "param"), [
    ("claude-opus-4-7", {"thinking": {"type": "enabled", "budget_tokens": 2048}}, "thinking.type"),
    ("claude-opus-4-7", {"temperature": 0.5}, "temperature"),
    ("claude-sonnet-5", {"top_p": 0.9}, "top_p"),
    ("claude-sonnet-4-5", {"thinking": {"type": "adaptive"}}, "thinking.type"),
    ("claude-opus-4-6", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}},
     "output_config.effort"),
    ("fake-claude", {"temperature": 0.5, "top_p": 0.9}, "top_p"),
    ("claude-sonnet-4-6", {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "So"}]},
     "messages"),
])
def test_the_fake_refuses_what_the_generation_refuses(model: str, body: dict[str, Any], param: str) -> None:
    # The fake stands for the live API in every test above: it must refuse what that refuses.
    request = {"model": model, "max_tokens": 4096, "messages": [{"role": "user", "content": "hi"}], **body}
    with pytest.raises(FakeRequestError) as refused:
        anthropic_turn(request)
    assert refused.value.param == param


# -- Chat Completions: OpenAI's reasoning models ---------------------------------------------------

CC_MODELS = ["gpt-5-mini", "o3", "gpt-5.1", "gpt-6-luna", "gpt-6.2-sol-healthcare", "gpt-4.1", "gpt-5-chat-latest",
             "deepseek-chat"]


@pytest.mark.parametrize("model", CC_MODELS)
async def test_a_cc_upstream_answers_the_same_request(model: str) -> None:
    async with proxy_to(model, "chat-completions") as (http, fake):
        final = await streamed_by_openai_python(http)
        sent = fake.state.requests[-1]
    assert final.status == "completed" and final.output_text
    assert sent["model"] == model and sent.get("max_completion_tokens", sent.get("max_tokens")) == 6000


@pytest.mark.parametrize(("model", "limit", "sampling"), [
    ("gpt-5-mini", "max_completion_tokens", {}),
    ("o4-mini", "max_completion_tokens", {}),
    ("gpt-5.2-codex", "max_completion_tokens", {}),
    ("gpt-6-astra", "max_completion_tokens", {}),
    ("gpt-6.1-terra", "max_completion_tokens", {}),
    ("gpt-7", "max_completion_tokens", {}),  # a later major, before anyone has listed it
    ("gpt-5-chat-latest", "max_completion_tokens", {"temperature": 0.4, "top_p": 0.9}),
    ("gpt-4.1", "max_tokens", {"temperature": 0.4, "top_p": 0.9}),
    ("openai/gpt-5", "max_tokens", {"temperature": 0.4, "top_p": 0.9}),  # a gateway normalises itself
    ("mistral-large-latest", "max_tokens", {"temperature": 0.4, "top_p": 0.9}),
])
def test_the_output_limit_and_sampling_follow_the_model(model: str, limit: str, sampling: dict[str, Any]) -> None:
    out = responses_to_cc_request(BODY, model=model)
    assert {k: out[k] for k in ("max_tokens", "max_completion_tokens") if k in out} == {limit: 6000}
    assert {k: out[k] for k in ("temperature", "top_p") if k in out} == sampling


@pytest.mark.parametrize(("model", "body", "param"), [
    ("gpt-5-mini", {"max_tokens": 100}, "max_tokens"),
    ("o3", {"temperature": 0.2}, "temperature"),
    ("gpt-5.1", {"top_p": 0.5}, "top_p"),
    ("gpt-6-sol", {"temperature": 0.7}, "temperature"),
    ("gpt-6.2-astra", {"max_tokens": 100}, "max_tokens"),
])
def test_the_cc_fake_refuses_what_openai_refuses(model: str, body: dict[str, Any], param: str) -> None:
    with pytest.raises(FakeRequestError) as refused:
        cc_turn({"model": model, "messages": [{"role": "user", "content": "hi"}], **body})
    assert refused.value.param == param


async def test_the_operator_is_told_once_what_was_not_sent(caplog: pytest.LogCaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # The client's request succeeds and its response echoes the temperature it asked for: the
    # log is the one place that says the upstream model never got it.
    from reference_server.sources import upstream_source

    monkeypatch.setattr(upstream_source, "_DROPPED_NOTED", set())  # a process that said nothing yet
    caplog.set_level("INFO", logger="reference_server.proxy")
    body = {**BODY, "reasoning": {"effort": "none"}}
    async with proxy_to("claude-sonnet-5") as (http, fake):
        for _ in range(2):
            r = await http.post("/responses", json=body)
            assert r.status_code == 200 and r.json()["temperature"] == 0.4
        assert "temperature" not in fake.state.requests[-1]
    notes = [rec.getMessage() for rec in caplog.records if "not sent" in rec.getMessage()]
    assert sorted(n.split(":")[1].split()[0] for n in notes) == ["temperature", "top_p"]  # once each
    assert all("claude-sonnet-5" in n for n in notes)


async def test_a_prefill_the_model_cannot_take_is_a_clear_400() -> None:
    # The Responses API continues after a final assistant message; Claude 4.6 and later refuse
    # one. The client is told which input and why, before anything goes upstream.
    body = {"model": "client-model", "input": [{"role": "user", "content": "Name a colour."},
                                                {"role": "assistant", "content": "The colour is"}]}
    async with proxy_to("claude-opus-4-7") as (http, fake):
        r = await http.post("/responses", json=body)
        assert r.status_code == 400 and r.json()["error"]["param"] == "input"
        assert "assistant prefill" in r.json()["error"]["message"] and not fake.state.requests
    async with proxy_to("claude-sonnet-4-5") as (http, fake):  # an older model continues it
        assert (await http.post("/responses", json=body)).status_code == 200
        assert fake.state.requests[-1]["messages"][-1]["role"] == "assistant"


WEATHER = {"type": "function", "name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.mark.parametrize(("summary", "readable"), [("auto", True), (None, False)])
async def test_opus_4_7_thinking_is_readable_when_the_client_asks_and_replays_either_way(
        summary: str | None, readable: bool) -> None:
    # Opus 4.7 sends its thinking blocks empty unless asked for their summarised text: a client
    # asking for a reasoning summary reads it, one that does not gets the signed block alone,
    # which goes back upstream byte for byte in the tool loop.
    reasoning = {"effort": "low", **({"summary": summary} if summary else {})}
    turn = {"model": "client-model", "tools": [WEATHER], "reasoning": reasoning}
    async with proxy_to("claude-opus-4-7") as (http, fake):
        first = (await http.post("/responses", json={**turn, "input": "Please use get_weather for Oslo."})).json()
        sent = fake.state.requests[-1]
        assert sent["thinking"] == {"type": "adaptive", **({"display": "summarized"} if summary else {})}
        thought = first["output"][0]
        assert thought["type"] == "reasoning"
        text = "".join(part["text"] for part in thought.get("content") or [])
        assert bool(text) is readable and thought["encrypted_content"]
        call = next(item for item in first["output"] if item["type"] == "function_call")
        second = await http.post("/responses", json={**turn, "previous_response_id": first["id"], "input": [
            {"type": "function_call_output", "call_id": call["call_id"], "output": "Snow"}]})
        assert second.status_code == 200 and second.json()["status"] == "completed", second.text
        replayed = fake.state.requests[-1]["messages"][1]["content"][0]
        assert replayed["type"] == "thinking" and replayed["thinking"] == text
