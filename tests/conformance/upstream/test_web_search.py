"""The Anthropic upstream runs Anthropic's web search server tool: it searches when the tool is
forced, or offered and the user asks to search; results honour the domain filters; the stream
follows the Messages grammar with the search's blocks and a cited text; a web search tool
Anthropic would refuse gets its 400. Chat Completions and Responses upstreams keep the skip."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from conformance.runner.upstream import skips_for
from conformance.sse import SSEParser
from conformance.upstream.app import create_upstream_app
from conformance.upstream.grammar import AnthropicGrammar

SEARCH = {"type": "web_search_20250305", "name": "web_search"}
ASK = "Search the web: how are citations streamed?"
FORCE = {"type": "tool", "name": "web_search"}
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def _post(app: Any, body: dict[str, Any]) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://u") as c:
            return await c.post("/v1/messages", json={"model": "m", "max_tokens": 1000, **body})

    return asyncio.run(go())


def _events(raw: bytes) -> list[dict[str, Any]]:
    grammar, errors, out = AnthropicGrammar(), [], []
    parser = SSEParser()
    for msg in [*parser.feed(raw), *parser.close()]:
        data = json.loads(msg.data)
        errors += grammar.feed(msg.event, data)
        out.append(data)
    assert errors + grammar.finish() == []
    return out


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


@pytest.mark.parametrize("tool, text, choice, hosts", [
    (SEARCH, "Tell me about streaming events.", FORCE, {"docs.example.com", "news.example.org"}),
    ({**SEARCH, "allowed_domains": ["harmony.example", "openai.com"]}, ASK, None, {"harmony.example", "openai.com"}),
    ({**SEARCH, "blocked_domains": ["news.example.org"], "max_uses": 3,
      "user_location": {"type": "approximate", "city": "Paris"}}, ASK, {"type": "any"}, {"docs.example.com"}),
])
def test_a_search_streams_as_anthropic_does(tool: dict[str, Any], text: str, choice: dict[str, Any] | None,
                                            hosts: set[str]) -> None:
    app = create_upstream_app("anthropic")
    body = {"messages": [{"role": "user", "content": text}], "tools": [tool], "stream": True,
            **({"tool_choice": choice} if choice else {})}
    events = _events(_post(app, body).content)
    starts = [e["content_block"] for e in events if e["type"] == "content_block_start"]
    assert [b["type"] for b in starts] == ["server_tool_use", "web_search_tool_result", "text", "text"]
    call, result = starts[0], starts[1]
    query = "".join(e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta"
                    and e["index"] == 0)
    assert call["name"] == "web_search" and json.loads(query) == {"query": text}
    assert result["tool_use_id"] == call["id"] and {_host(r["url"]) for r in result["content"]} == hosts
    assert all(r["type"] == "web_search_result" and r["title"] and r["encrypted_content"] and "page_age" in r
               for r in result["content"])
    cited = [e["delta"] for e in events if e["type"] == "content_block_delta" and e["index"] == 2]
    assert cited[0]["type"] == "citations_delta" and {d["type"] for d in cited[1:]} == {"text_delta"}
    citation = cited[0]["citation"]
    assert citation["type"] == "web_search_result_location" and citation["cited_text"]
    assert citation["encrypted_index"] and citation["url"] == result["content"][0]["url"]
    assert events[-2]["usage"]["server_tool_use"] == {"web_search_requests": 1}
    said = app.state.upstream.exchanges[-1]["answer"]
    assert said["searches"][0]["query"] == text and said["citations"] == [citation["url"]]
    texts = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"
             and e["delta"]["type"] == "text_delta"]
    assert "".join(texts) == said["text"] and events[-2]["usage"]["output_tokens"] == said["usage"]["output_tokens"]


def test_a_search_not_streamed() -> None:
    app = create_upstream_app("anthropic")
    res = _post(app, {"messages": [{"role": "user", "content": ASK}], "tools": [SEARCH]})
    body = res.json()
    assert [b["type"] for b in body["content"]] == ["server_tool_use", "web_search_tool_result", "text", "text"]
    assert body["content"][0]["input"] == {"query": ASK}
    (citation,) = body["content"][2]["citations"]
    assert citation["url"] == body["content"][1]["content"][0]["url"]
    assert body["usage"]["server_tool_use"] == {"web_search_requests": 1} and body["stop_reason"] == "end_turn"


@pytest.mark.parametrize("body", [
    {"messages": [{"role": "user", "content": "Say hello."}], "tools": [SEARCH]},  # not asked to search
    {"messages": [{"role": "user", "content": ASK}], "tools": [SEARCH], "tool_choice": {"type": "none"}},
    {"messages": [{"role": "user", "content": ASK}], "tools": [SEARCH, {"name": "get_weather", "input_schema": WEATHER}],
     "tool_choice": {"type": "tool", "name": "get_weather"}},  # another tool forced
    {"messages": [{"role": "user", "content": ASK}]},  # no search tool offered
])
def test_no_search_unless_forced_or_asked(body: dict[str, Any]) -> None:
    app = create_upstream_app("anthropic")
    content = _post(app, body).json()["content"]
    assert "server_tool_use" not in {b["type"] for b in content} and "searches" not in app.state.upstream.exchanges[-1]["answer"]


def test_a_forced_search_calls_no_function() -> None:
    app = create_upstream_app("anthropic")
    body = {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tool_choice": FORCE,
            "tools": [{"name": "get_weather", "input_schema": WEATHER}, SEARCH]}
    content = _post(app, body).json()["content"]
    assert [b["type"] for b in content] == ["server_tool_use", "web_search_tool_result", "text", "text"]


@pytest.mark.parametrize("tool, message", [
    ({"type": "web_search"}, "tools.0: Input tag 'web_search' found"),
    ({"type": "web_search_preview", "name": "web_search"}, "tools.0: Input tag 'web_search_preview' found"),
    ({**SEARCH, "filters": {"allowed_domains": ["a.com"]}}, "tools.0.web_search_20250305.filters: Extra inputs"),
    ({**SEARCH, "name": "search"}, "tools.0.web_search_20250305.name: Input should be 'web_search'"),
    ({**SEARCH, "max_uses": 0}, "max_uses: Input should be greater than 0"),
    ({**SEARCH, "allowed_domains": "a.com"}, "allowed_domains: Input should be a valid list of strings"),
    ({**SEARCH, "allowed_domains": ["a.com"], "blocked_domains": ["b.com"]}, "cannot specify both"),
    ({**SEARCH, "user_location": {"city": "Paris"}}, "user_location.type: Input should be 'approximate'"),
    ({**SEARCH, "user_location": {"type": "approximate", "street": "x"}}, "user_location.street: Extra inputs"),
])
def test_a_web_search_tool_anthropic_refuses_is_a_400(tool: dict[str, Any], message: str) -> None:
    app = create_upstream_app("anthropic")
    res = _post(app, {"messages": [{"role": "user", "content": ASK}], "tools": [tool], "stream": True})
    assert res.status_code == 400
    body = res.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(message) or message in body["error"]["message"]
    assert app.state.upstream.exchanges[-1]["answer"] == {"status": 400, "error": body["error"]["message"]}


def test_only_chat_completions_and_relays_skip_web_search() -> None:
    anthropic, cc, relay = skips_for("anthropic"), skips_for("chat-completions"), skips_for("responses")
    searches = {sid for sid in cc if sid.startswith("web-search-")}
    assert len(searches) == 6 and searches <= set(relay)
    assert not any(sid.startswith("web-search-") for sid in anthropic)
    assert "Chat Completions API has no web search" in cc["web-search-forced"]
