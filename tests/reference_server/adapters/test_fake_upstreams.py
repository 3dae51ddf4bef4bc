"""The scripted fake upstreams: a stream adds up to the non-stream answer, answers follow the
request (tools, tool_choice, parallel calls, JSON, reasoning, max_tokens), bad requests get the
API's own 400, and the same request always gets the same answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest

from reference_server.testing.fake_upstreams import (
    REDACTED_THINKING_TRIGGER,
    create_anthropic_app,
    create_chat_completions_app,
    redacted_data,
    thinking_signature,
)

WEATHER = {"type": "object", "properties": {"city": {"type": "string", "minLength": 2}}, "required": ["city"],
           "additionalProperties": False}
CC_TOOLS = [{"type": "function", "function": {"name": n, "parameters": WEATHER}} for n in ("get_weather", "get_time")]
AN_TOOLS = [{"name": n, "input_schema": WEATHER} for n in ("get_weather", "get_time")]
CITY = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"], "additionalProperties": False}
ESSAY = "Write a detailed 500-word essay about lighthouses."


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake/v1",
                             headers={"anthropic-version": "2023-06-01"})


def sse_data(raw: str) -> list[Any]:
    out = []
    for block in raw.strip().split("\n\n"):
        data = "".join(line[6:] for line in block.split("\n") if line.startswith("data: "))
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


# ------------------------------------------------------------------------------ Chat Completions
def cc_rebuild(chunks: list[Any]) -> dict[str, Any]:
    """The completion a client assembles from the chunks."""
    content, reasoning, calls, finish, usage = "", "", {}, None, None
    for chunk in chunks[:-1]:
        usage = chunk.get("usage") or usage
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content += delta.get("content") or ""
            reasoning += delta.get("reasoning_content") or ""
            for tc in delta.get("tool_calls") or []:
                slot = calls.setdefault(tc["index"], {"id": tc.get("id"), "name": "", "arguments": ""})
                slot["name"] += tc.get("function", {}).get("name") or ""
                slot["arguments"] += tc["function"].get("arguments") or ""
            finish = choice["finish_reason"] or finish
    return {"content": content, "reasoning": reasoning, "calls": [calls[i] for i in sorted(calls)],
            "finish": finish, "usage": usage}


CC_CASES: dict[str, dict[str, Any]] = {
    "text": {"messages": [{"role": "user", "content": "Hello there"}]},
    "parallel": {"messages": [{"role": "user", "content": "Weather in Paris? use get_weather and get_time"}],
                 "tools": CC_TOOLS, "tool_choice": "auto"},
    "serial": {"messages": [{"role": "user", "content": "Anything"}], "tools": CC_TOOLS, "tool_choice": "required",
               "parallel_tool_calls": False},
    "forced": {"messages": [{"role": "user", "content": "use get_weather"}], "tools": CC_TOOLS,
               "tool_choice": {"type": "function", "function": {"name": "get_time"}}},
    "none": {"messages": [{"role": "user", "content": "use get_weather"}], "tools": CC_TOOLS, "tool_choice": "none"},
    "json": {"messages": [{"role": "user", "content": "Largest city of Japan?"}],
             "response_format": {"type": "json_schema", "json_schema": {"name": "c", "schema": CITY, "strict": True}}},
    "reasoning": {"messages": [{"role": "user", "content": "Why?"}], "reasoning_effort": "high"},
    "length": {"messages": [{"role": "user", "content": ESSAY}], "max_tokens": 16},
}


@pytest.mark.parametrize("case", list(CC_CASES))
async def test_cc_stream_adds_up_to_the_completion(case: str) -> None:
    body = {"model": "fake-chat-model", **CC_CASES[case]}
    async with client(create_chat_completions_app()) as http:
        plain = (await http.post("/chat/completions", json=body)).json()
        again = (await http.post("/chat/completions", json=body)).json()
        raw = (await http.post("/chat/completions", json={**body, "stream": True,
                                                         "stream_options": {"include_usage": True}})).text
    assert plain == again  # deterministic
    chunks = sse_data(raw)
    assert chunks[-1] == "[DONE]" and chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    streamed = cc_rebuild(chunks)
    message, choice = plain["choices"][0]["message"], plain["choices"][0]
    assert streamed["content"] == (message["content"] or "")
    assert streamed["reasoning"] == message.get("reasoning_content", "")
    assert streamed["calls"] == [{"id": c["id"], **c["function"]} for c in message.get("tool_calls", [])]
    assert streamed["finish"] == choice["finish_reason"] and streamed["usage"] == plain["usage"]
    usage = plain["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    names = [c["function"]["name"] for c in message.get("tool_calls", [])]
    for call in message.get("tool_calls", []):
        jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER)
    expected_names = {"parallel": ["get_weather", "get_time"], "serial": ["get_weather"], "forced": ["get_time"]}
    assert names == expected_names.get(case, [])
    if case == "json":
        jsonschema.validate(json.loads(message["content"]), CITY)
    if case == "reasoning":
        assert message["reasoning_content"] and usage["completion_tokens_details"]["reasoning_tokens"] > 0
    if case == "length":
        assert choice["finish_reason"] == "length" and usage["completion_tokens"] == 16
    elif names:
        assert choice["finish_reason"] == "tool_calls" and len({c["id"] for c in message["tool_calls"]}) == len(names)


async def test_cc_conversation_rules() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
    after_tool = {"model": "m", "tools": CC_TOOLS, "messages": [
        {"role": "user", "content": "first question"}, {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "3C and rain"}]}
    multi = {"model": "m", "messages": [{"role": "user", "content": "My name is Ada."},
                                        {"role": "assistant", "content": "Hi Ada."},
                                        {"role": "user", "content": [{"type": "text", "text": "Name?"}, {
                                            "type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}]}
    async with client(create_chat_completions_app()) as http:
        answered = (await http.post("/chat/completions", json=after_tool)).json()["choices"][0]
        recalled = (await http.post("/chat/completions", json=multi)).json()["choices"][0]["message"]["content"]
    assert answered["finish_reason"] == "stop" and "3C and rain" in answered["message"]["content"]
    assert "Name?" in recalled and "My name is Ada." in recalled and "image" in recalled


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "m", "messages": []}, "messages"),
    ({"model": "m", "messages": [{"role": "tool", "tool_call_id": "x", "content": "r"}]}, "messages[0].role"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"}, "tool_choice"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": CC_TOOLS,
      "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "parallel_tool_calls": True}, "parallel_tool_calls"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {}}, "stream_options"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
])
async def test_cc_rejects_what_openai_rejects(body: dict[str, Any], param: str) -> None:
    async with client(create_chat_completions_app()) as http:
        resp = await http.post("/chat/completions", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["param"] == param
    assert set(resp.json()["error"]) == {"message", "type", "param", "code"}


async def test_cc_key_and_models() -> None:
    async with client(create_chat_completions_app(api_key="k", models=("a", "b"))) as http:
        assert (await http.get("/models")).status_code == 401
        models = await http.get("/models", headers={"Authorization": "Bearer k"})
    assert [m["id"] for m in models.json()["data"]] == ["a", "b"]


# ------------------------------------------------------------------------------ Anthropic
def an_rebuild(events: list[Any]) -> dict[str, Any]:
    """The Message a client assembles from the events."""
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for e in events:
        if e["type"] == "message_start":
            message = {**e["message"]}
        elif e["type"] == "content_block_start":
            blocks[e["index"]] = dict(e["content_block"])
        elif e["type"] == "content_block_delta":
            d, block = e["delta"], blocks[e["index"]]
            if d["type"] == "text_delta":
                block["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                block["thinking"] += d["thinking"]
            elif d["type"] == "signature_delta":
                block["signature"] += d["signature"]
            elif d["type"] == "citations_delta":
                block["citations"].append(d["citation"])
            else:
                partial[e["index"]] = partial.get(e["index"], "") + d["partial_json"]
        elif e["type"] == "content_block_stop" and e["index"] in partial:
            blocks[e["index"]]["input"] = json.loads(partial[e["index"]])
        elif e["type"] == "message_delta":
            message["stop_reason"] = e["delta"]["stop_reason"]
            message["usage"] = {**message["usage"], **e["usage"]}
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search"}
AN_CASES: dict[str, dict[str, Any]] = {
    "text": {"messages": [{"role": "user", "content": "Hello there"}]},
    "parallel": {"messages": [{"role": "user", "content": "use get_weather and get_time for Paris"}], "tools": AN_TOOLS},
    "serial": {"messages": [{"role": "user", "content": "Anything"}], "tools": AN_TOOLS,
               "tool_choice": {"type": "any", "disable_parallel_tool_use": True}},
    "forced": {"messages": [{"role": "user", "content": "x"}], "tools": AN_TOOLS,
               "tool_choice": {"type": "tool", "name": "get_time"}},
    "thinking": {"messages": [{"role": "user", "content": "Why?"}], "thinking": {"type": "enabled", "budget_tokens": 1024}},
    "json-by-prompt": {"system": "Be brief.\n\nAnswer with JSON valid against this JSON Schema: " + json.dumps(CITY),
                       "messages": [{"role": "user", "content": "Largest city of Japan?"}]},
    "web-search-asked": {"messages": [{"role": "user", "content": "Search the web for Oslo news"}],
                         "tools": [WEB_SEARCH]},
    "web-search-forced": {"messages": [{"role": "user", "content": "Oslo news"}], "tools": [*AN_TOOLS, WEB_SEARCH],
                          "tool_choice": {"type": "tool", "name": "web_search"}},
    "web-search-thinking": {"messages": [{"role": "user", "content": "Search: Oslo"}], "tools": [WEB_SEARCH],
                            "thinking": {"type": "enabled", "budget_tokens": 1024}},
}


@pytest.mark.parametrize("case", list(AN_CASES))
async def test_anthropic_stream_adds_up_to_the_message(case: str) -> None:
    body = {"model": "fake-claude", "max_tokens": 2048, **AN_CASES[case]}
    async with client(create_anthropic_app()) as http:
        plain = (await http.post("/messages", json=body)).json()
        raw = (await http.post("/messages", json={**body, "stream": True})).text
    frames = raw.strip().split("\n\n")
    assert all(f.split("\n")[0] == "event: " + json.loads(f.split("\n")[1][6:])["type"] for f in frames)
    assert an_rebuild(sse_data(raw)) == plain
    kinds = [b["type"] for b in plain["content"]]
    calls = [b for b in plain["content"] if b["type"] == "tool_use"]
    for call in calls:
        jsonschema.validate(call["input"], WEATHER)
    expected = {"parallel": ["get_weather", "get_time"], "serial": ["get_weather"], "forced": ["get_time"]}
    assert [c["name"] for c in calls] == expected.get(case, [])
    assert plain["stop_reason"] == ("tool_use" if calls else "end_turn")
    if case == "thinking":
        assert kinds == ["thinking", "text"] and plain["content"][0]["signature"]
    if case == "json-by-prompt":
        jsonschema.validate(json.loads(plain["content"][0]["text"]), CITY)
    if case.startswith("web-search"):
        searched = kinds[kinds.index("server_tool_use"):][:3]
        assert searched == ["server_tool_use", "web_search_tool_result", "text"]
        assert kinds[0] == ("thinking" if case == "web-search-thinking" else "server_tool_use")
        assert plain["usage"]["server_tool_use"] == {"web_search_requests": 1}
    else:
        assert "server_tool_use" not in kinds and "server_tool_use" not in plain["usage"]


async def test_anthropic_web_search_results_and_citation() -> None:
    """The search's query is the user's text, its results lie within allowed_domains (or outside
    blocked_domains), and the text after it cites the first result."""
    ask = [{"role": "user", "content": "Search the web: Oslo harbour"}]
    allowed = {**WEB_SEARCH, "allowed_domains": ["example.edu", "oslo.example"]}
    blocked = {**WEB_SEARCH, "blocked_domains": ["docs.example.com"]}
    async with client(create_anthropic_app()) as http:
        narrowed = (await http.post("/messages", json={"model": "m", "max_tokens": 500, "tools": [allowed],
                                                       "messages": ask})).json()
        fewer = (await http.post("/messages", json={"model": "m", "max_tokens": 500, "tools": [blocked],
                                                    "messages": ask})).json()
        unasked = (await http.post("/messages", json={"model": "m", "max_tokens": 500, "tools": [WEB_SEARCH],
                                                      "messages": [{"role": "user", "content": "Hello"}]})).json()
    use, result, cited = narrowed["content"][:3]
    assert use["input"] == {"query": "Search the web: Oslo harbour"} and result["tool_use_id"] == use["id"]
    assert [r["url"] for r in result["content"]] == ["https://example.edu/search-the-web-oslo-harbour",
                                                     "https://oslo.example/about"]
    assert all(r["encrypted_content"] and "page_age" in r for r in result["content"])
    citation = cited["citations"][0]
    assert citation["type"] == "web_search_result_location" and citation["url"] == result["content"][0]["url"]
    assert citation["cited_text"] in cited["text"] and citation["encrypted_index"]
    assert [r["url"].split("/")[2] for r in fewer["content"][1]["content"]] == ["news.example.org"]
    assert [b["type"] for b in unasked["content"]] == ["text"]  # auto, and nothing asked to search


async def test_anthropic_max_tokens_and_tool_results() -> None:
    short = {"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": ESSAY}]}
    round_trip = {"model": "m", "max_tokens": 500, "tools": AN_TOOLS, "messages": [
        {"role": "user", "content": "use get_weather"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                           "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "3C"}]}]}
    async with client(create_anthropic_app()) as http:
        cut = (await http.post("/messages", json=short)).json()
        answered = (await http.post("/messages", json=round_trip)).json()
    assert cut["stop_reason"] == "max_tokens" and cut["usage"]["output_tokens"] == 16
    assert answered["stop_reason"] == "end_turn" and "3C" in answered["content"][0]["text"]


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ({"model": "m", "max_tokens": 9, "messages": []}, "messages"),
    ({"model": "m", "max_tokens": 9, "messages": [{"role": "assistant", "content": [
        {"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]}, "tools"),
    ({"model": "m", "max_tokens": 9, "tools": AN_TOOLS, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t", "content": "r"}]}]}, "messages.0.content.0"),
    ({"model": "m", "max_tokens": 4096, "tools": AN_TOOLS, "tool_choice": {"type": "any"},
      "thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": [{"role": "user", "content": "x"}]},
     "tool_choice"),
    ({"model": "m", "max_tokens": 4096, "temperature": 0.2, "thinking": {"type": "enabled", "budget_tokens": 1024},
      "messages": [{"role": "user", "content": "x"}]}, "temperature"),
    ({"model": "m", "max_tokens": 1024, "thinking": {"type": "enabled", "budget_tokens": 1024},
      "messages": [{"role": "user", "content": "x"}]}, "thinking.budget_tokens"),
    ({"model": "m", "max_tokens": 9, "temperature": 0.5, "top_p": 0.5, "messages": [{"role": "user", "content": "x"}]},
     "top_p"),
    ({"model": "m", "max_tokens": 9, "tools": [{**WEB_SEARCH, "type": "web_search_2025"}],
      "messages": [{"role": "user", "content": "x"}]}, "tools.0"),
    ({"model": "m", "max_tokens": 9, "tools": [{**WEB_SEARCH, "filters": {}}],
      "messages": [{"role": "user", "content": "x"}]}, "tools.0.web_search_20250305.filters"),
    ({"model": "m", "max_tokens": 9, "tools": [{**WEB_SEARCH, "name": "search"}],
      "messages": [{"role": "user", "content": "x"}]}, "tools.0.web_search_20250305.name"),
    ({"model": "m", "max_tokens": 9, "tools": [{**WEB_SEARCH, "allowed_domains": ["a.com"], "blocked_domains": ["b.com"]}],
      "messages": [{"role": "user", "content": "x"}]}, "tools.0"),
    ({"model": "m", "max_tokens": 9, "tools": [{**WEB_SEARCH, "user_location": {"city": "Oslo"}}],
      "messages": [{"role": "user", "content": "x"}]}, "tools.0.web_search_20250305.user_location.type"),
    ({"model": "m", "max_tokens": 9, "tools": [{**WEB_SEARCH, "max_uses": 0}],
      "messages": [{"role": "user", "content": "x"}]}, "tools.0.web_search_20250305.max_uses"),
    ({"model": "m", "max_tokens": 4096, "tools": [WEB_SEARCH], "tool_choice": {"type": "tool", "name": "web_search"},
      "thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": [{"role": "user", "content": "x"}]},
     "tool_choice"),
])
async def test_anthropic_rejects_what_anthropic_rejects(body: dict[str, Any], param: str) -> None:
    async with client(create_anthropic_app()) as http:
        resp = await http.post("/messages", json=body)
    assert resp.status_code == 400 and resp.json()["type"] == "error"
    assert resp.json()["error"]["type"] == "invalid_request_error"
    message = resp.json()["error"]["message"]
    assert message.startswith(param) if param.startswith("tools.") else param.split(".")[0] in message


THINKING = {"type": "enabled", "budget_tokens": 1024}


def tool_loop(*assistant: dict[str, Any], ask: str = "use get_weather") -> dict[str, Any]:
    """A thinking-enabled request continuing a tool call whose assistant turn is `assistant`."""
    call = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
    return {"model": "m", "max_tokens": 4096, "thinking": THINKING, "tools": AN_TOOLS, "messages": [
        {"role": "user", "content": ask}, {"role": "assistant", "content": [*assistant, call]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "3C"}]}]}


async def test_anthropic_signs_thinking_and_wants_it_back() -> None:
    first = {"model": "m", "max_tokens": 4096, "thinking": THINKING, "tools": AN_TOOLS,
             "messages": [{"role": "user", "content": "use get_weather"}]}
    async with client(create_anthropic_app()) as http:
        plain = (await http.post("/messages", json=first)).json()
        streamed = an_rebuild(sse_data((await http.post("/messages", json={**first, "stream": True})).text))
        thinking = plain["content"][0]
        signed = await http.post("/messages", json=tool_loop(thinking))
        refused = {name: await http.post("/messages", json=body) for name, body in {
            "missing": tool_loop(),
            "text first": tool_loop({"type": "text", "text": "Checking."}),
            "altered": tool_loop({**thinking, "thinking": thinking["thinking"] + " "}),
            "forged": tool_loop({**thinking, "signature": thinking_signature("other")}),
            "unsigned": tool_loop({"type": "thinking", "thinking": thinking["thinking"]}),
            "forged redacted": tool_loop({"type": "redacted_thinking", "data": "bm90IGlzc3VlZCBieSB0aGUgZmFrZQ=="}),
        }.items()}
        without_thinking = await http.post("/messages", json={**tool_loop(), "thinking": {"type": "disabled"}})
    assert streamed == plain and [b["type"] for b in plain["content"]] == ["thinking", "tool_use"]
    assert thinking["signature"] == thinking_signature(thinking["thinking"])
    assert signed.status_code == 200 and "3C" in signed.json()["content"][-1]["text"]
    assert without_thinking.status_code == 200  # the rule holds only with thinking enabled
    for name, r in refused.items():
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", name
    message = {name: r.json()["error"]["message"] for name, r in refused.items()}
    assert message["missing"].startswith("messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, "
                                         "but found `tool_use`. When `thinking` is enabled, a final `assistant` "
                                         "message must start with a thinking block")
    assert "but found `text`" in message["text first"]
    assert message["altered"] == message["forged"] == "messages.1.content.0: Invalid `signature` in `thinking` block"
    assert message["unsigned"] == "messages.1.content.0.signature: Field required"
    assert message["forged redacted"] == "messages.1.content.0: Invalid `data` in `redacted_thinking` block"


async def test_anthropic_redacted_thinking_on_the_documented_trigger() -> None:
    ask = f"use get_weather {REDACTED_THINKING_TRIGGER}"
    first = {"model": "m", "max_tokens": 4096, "thinking": THINKING, "tools": AN_TOOLS,
             "messages": [{"role": "user", "content": ask}]}
    async with client(create_anthropic_app()) as http:
        plain = (await http.post("/messages", json=first)).json()
        streamed = an_rebuild(sse_data((await http.post("/messages", json={**first, "stream": True})).text))
        replayed = await http.post("/messages", json=tool_loop(plain["content"][0], ask=ask))
    block = plain["content"][0]
    assert streamed == plain and block["type"] == "redacted_thinking" and set(block) == {"type", "data"}
    assert block["data"] != redacted_data("") and replayed.status_code == 200


async def test_anthropic_headers_key_and_models() -> None:
    app = create_anthropic_app(api_key="k")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake/v1") as http:
        no_version = await http.get("/models", headers={"x-api-key": "k"})
        wrong_key = await http.get("/models", headers={"x-api-key": "no", "anthropic-version": "2023-06-01"})
        models = await http.get("/models", headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert no_version.status_code == 400 and wrong_key.status_code == 401
    assert [m["id"] for m in models.json()["data"]] == ["fake-claude"]
