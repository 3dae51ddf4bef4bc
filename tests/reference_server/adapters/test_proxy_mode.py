"""Proxy mode as a real Responses endpoint over the fake upstreams: storage, previous_response_id
expanded into the upstream's messages, the reference server's validation, structured output and
tool_choice per upstream kind, background, disconnects, and the command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema
import pytest

from conformance import check_sse
from conformance.runner.lifespan import Lifespan
from reference_server import create_app
from reference_server.__main__ import main
from reference_server.testing.fake_upstreams import create_chat_completions_app
from reference_server.testing.proxy_targets import FAKE_UPSTREAM_KEY, proxy_over_fake
from reference_server.web.proxy import create_proxy_app
from tests.reference_server.helpers import serve

KINDS = ["chat-completions", "anthropic"]
CITY = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"], "additionalProperties": False}
FORMAT = {"format": {"type": "json_schema", "name": "city_info", "schema": CITY, "strict": True}}


def tool(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name, "strict": True, "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
        "additionalProperties": False}}


@contextlib.asynccontextmanager
async def proxy(kind: str, **options: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """(client of the proxy, the fake upstream app), lifespan run like a server would."""
    app = proxy_over_fake(kind, api_key=None, **options)  # type: ignore[arg-type]
    lifespan = Lifespan(app)
    await lifespan.startup()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy/v1") as http:
            yield http, app.state.fake_upstream
    finally:
        await lifespan.shutdown()


def sent(fake: Any) -> dict[str, Any]:
    return fake.state.requests[-1]  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", KINDS)
async def test_stored_responses(kind: str) -> None:
    async with proxy(kind) as (http, _):
        created = (await http.post("/responses", json={"model": "m", "input": "Keep this.", "metadata": {"a": "b"}}))
        body = created.json()
        got = await http.get(f"/responses/{body['id']}")
        items = (await http.get(f"/responses/{body['id']}/input_items")).json()
        deleted = (await http.delete(f"/responses/{body['id']}")).json()
        gone = await http.get(f"/responses/{body['id']}")
        unstored = (await http.post("/responses", json={"model": "m", "input": "x", "store": False})).json()
        not_kept = await http.get(f"/responses/{unstored['id']}")
    assert created.status_code == 200 and body["store"] is True and body["metadata"] == {"a": "b"}
    assert got.json() == body
    assert items["object"] == "list" and items["data"][0]["content"][0]["text"] == "Keep this."
    assert deleted == {"id": body["id"], "object": "response.deleted", "deleted": True}
    assert gone.status_code == 404 and not_kept.status_code == 404 and unstored["store"] is False


@pytest.mark.parametrize("kind", KINDS)
async def test_previous_response_id_expands_the_conversation_upstream(kind: str) -> None:
    async with proxy(kind) as (http, fake):
        first = (await http.post("/responses", json={
            "model": "m", "input": "The code word is PELICAN.", "instructions": "Be brief.",
            "reasoning": {"effort": "low"}})).json()
        second = await http.post("/responses", json={
            "model": "m", "input": "What was the code word?", "previous_response_id": first["id"], "stream": True})
        upstream = sent(fake)
    events = [json.loads(line[6:]) for line in second.text.splitlines() if line.startswith("data: ")]
    final = events[-1]["response"]
    assert final["previous_response_id"] == first["id"] and "PELICAN" in final["output"][0]["content"][0]["text"]
    answer = first["output"][-1]["content"][0]["text"]
    reasoning = first["output"][0]["content"][0]["text"]
    assert [i["type"] for i in first["output"]] == ["reasoning", "message"]
    if kind == "chat-completions":
        # Turn 1's instructions are not carried over (as in the Responses API); its reasoning is.
        assert upstream["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "The code word is PELICAN."}]},
            {"role": "assistant", "content": answer, "reasoning_content": reasoning},
            {"role": "user", "content": [{"type": "text", "text": "What was the code word?"}]}]
    else:
        # Turn 1's thinking goes back signed, exactly as it came.
        signature = first["output"][0]["encrypted_content"]
        assert "system" not in upstream
        assert upstream["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "The code word is PELICAN."}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": reasoning, "signature": signature},
                                              {"type": "text", "text": answer}]},
            {"role": "user", "content": [{"type": "text", "text": "What was the code word?"}]}]


BAD_BODIES: list[dict[str, Any]] = [
    {"input": "x"},
    {"model": "m", "input": 42},
    {"model": "m", "input": "x", "max_output_tokens": 8},
    {"model": "m", "input": "x", "metadata": {f"k{i}": "v" for i in range(17)}},
    {"model": "m", "input": "x", "tools": [tool("a")], "tool_choice": {"type": "function", "name": "b"}},
    {"model": "m", "input": "x", "temperature": 3},
    {"model": "m", "input": "x", "frobnicate": True},
    {"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}},
    {"model": "m", "input": [{"type": "function_call_output", "call_id": "nope", "output": "r"}]},
    {"model": "m", "input": "x", "previous_response_id": "resp_unknown"},
    {"model": "m", "input": "x", "background": True, "store": False},
]


@pytest.mark.parametrize("kind", KINDS)
async def test_invalid_requests_get_the_reference_servers_answer(kind: str, encoding: Any) -> None:
    reference = create_app(encoding=encoding)
    async with (proxy(kind) as (http, fake),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=reference), base_url="http://ref/v1") as ref):
        for body in BAD_BODIES:
            ours, theirs = await http.post("/responses", json=body), await ref.post("/responses", json=body)
            assert ours.status_code == theirs.status_code and ours.status_code in (400, 404), body
            assert ours.json() == theirs.json(), body
        assert fake.state.requests == []  # nothing invalid went upstream


async def test_anthropic_structured_output_through_a_forced_tool() -> None:
    request = {"model": "m", "input": "Name the largest city of Japan and its population.", "text": FORMAT}
    async with proxy("anthropic") as (http, fake):
        plain = (await http.post("/responses", json=request)).json()
        forced = sent(fake)
        streamed = await http.post("/responses", json={**request, "stream": True})
        thinking = (await http.post("/responses", json={**request, "reasoning": {"effort": "low"}})).json()
        instructed = sent(fake)
    assert forced["tool_choice"] == {"type": "tool", "name": "city_info"}
    assert forced["tools"][-1]["input_schema"] == CITY and "thinking" not in forced
    assert [i["type"] for i in plain["output"]] == ["message"]
    jsonschema.validate(json.loads(plain["output"][0]["content"][0]["text"]), CITY)
    result = check_sse(streamed.content, request={**request, "stream": True}, content_type="text/event-stream")
    assert result.ok and result.terminal_response is not None
    assert result.terminal_response["output"][0]["content"] == plain["output"][0]["content"]
    # With thinking on, Anthropic refuses forced calls: the format becomes an instruction.
    assert "tools" not in instructed and "JSON Schema" in instructed["system"] and "thinking" in instructed
    assert [i["type"] for i in thinking["output"]] == ["reasoning", "message"]
    jsonschema.validate(json.loads(thinking["output"][1]["content"][0]["text"]), CITY)


@pytest.mark.parametrize("kind", KINDS)
async def test_tool_choice_variants_reach_the_upstream(kind: str) -> None:
    tools = [tool("get_weather"), tool("get_time")]
    allowed = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]}
    async with proxy(kind) as (http, fake):
        narrowed = (await http.post("/responses", json={"model": "m", "input": "use get_weather",
                                                        "tools": tools, "tool_choice": allowed})).json()
        narrowed_sent = sent(fake)
        capped = (await http.post("/responses", json={"model": "m", "input": "x", "tools": tools,
                                                      "tool_choice": "required", "max_tool_calls": 1})).json()
        capped_sent = sent(fake)
        parallel = (await http.post("/responses", json={"model": "m", "input": "x", "tools": tools,
                                                        "tool_choice": "required"})).json()
    names = [t.get("name") or t["function"]["name"] for t in narrowed_sent["tools"]]
    assert names == ["get_time"] and narrowed["tool_choice"] == allowed  # the echo is the client's choice
    assert [(i["type"], i["name"]) for i in narrowed["output"]] == [("function_call", "get_time")]
    if kind == "chat-completions":
        assert narrowed_sent["tool_choice"] == "required" and capped_sent["parallel_tool_calls"] is False
    else:
        assert narrowed_sent["tool_choice"] == {"type": "any"}
        assert capped_sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert len(capped["output"]) == 1 and capped["parallel_tool_calls"] is True and capped["max_tool_calls"] == 1
    calls = parallel["output"]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"] and calls[0]["call_id"] != calls[1]["call_id"]


async def test_a_forced_web_search_is_refused_by_a_chat_completions_proxy() -> None:
    """A Chat Completions upstream has no web search: an offered one is the model's to skip, but a
    forced one cannot be honoured, so it is a 400 naming tool_choice (before, the response
    completed without any search, breaking the forced choice's contract)."""
    web = {"type": "web_search_preview"}
    async with proxy("chat-completions") as (http, fake):
        offered = await http.post("/responses", json={"model": "m", "input": "Hello", "tools": [web]})
        calls = len(fake.state.requests)
        forced = await http.post("/responses", json={"model": "m", "input": "Hello", "tools": [web],
                                                     "tool_choice": web, "stream": True})
        assert len(fake.state.requests) == calls  # refused before anything went upstream
    assert offered.status_code == 200 and offered.json()["status"] == "completed"
    assert "tools" not in sent(fake)  # the web search tool is not forwarded
    assert forced.status_code == 400
    error = forced.json()["error"]
    assert error["param"] == "tool_choice" and error["code"] == "unsupported_value"
    assert "forces a web search" in error["message"] and "chat-completions" in error["message"]


@pytest.mark.parametrize("stream", [False, True])
async def test_an_anthropic_proxy_forwards_web_search_and_a_forced_choice(stream: bool) -> None:
    """An Anthropic upstream searches the web itself: the tool goes as its server tool (domains,
    location and max_tool_calls mapped), a forced choice forces it by name, and its search and
    citation come back as a web_search_call item and a url_citation annotation."""
    web = {"type": "web_search", "filters": {"allowed_domains": ["example.edu"]},
           "user_location": {"type": "approximate", "city": "Oslo", "country": "NO"}}
    body = {"model": "m", "input": "Tell me about fjords.", "tools": [web], "max_tool_calls": 3,
            "tool_choice": {"type": "web_search_preview"}, "reasoning": {"effort": "high"}, "stream": stream}
    async with proxy("anthropic") as (http, fake):
        got = await http.post("/responses", json=body)
        upstream = sent(fake)
        if stream:
            check = check_sse(got.content, request=body, content_type="text/event-stream")
            assert check.ok, check.findings
            response = check.terminal_response
        else:
            response = got.json()
    assert got.status_code == 200
    assert upstream["tools"] == [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3,
                                  "allowed_domains": ["example.edu"],
                                  "user_location": {"type": "approximate", "city": "Oslo", "country": "NO"}}]
    # Forced: Anthropic refuses thinking with a forced tool_choice, so the choice wins.
    assert upstream["tool_choice"] == {"type": "tool", "name": "web_search"} and "thinking" not in upstream
    assert [item["type"] for item in response["output"]] == ["web_search_call", "message"]
    search = response["output"][0]
    assert search["status"] == "completed" and search["action"]["query"] == "Tell me about fjords."
    annotations = [a for part in response["output"][1]["content"] for a in part.get("annotations", [])]
    assert [a["url"] for a in annotations] == ["https://example.edu/tell-me-about-fjords"]
    assert response["tools"] == [web] and response["tool_choice"] == {"type": "web_search_preview"}


async def test_an_anthropic_proxy_replays_a_search_turn_without_the_search() -> None:
    """previous_response_id over a searched turn: the web_search_call item is not sent back (its
    results' encrypted_content is not kept), the answer text is."""
    web = {"type": "web_search"}
    async with proxy("anthropic") as (http, fake):
        first = (await http.post("/responses", json={"model": "m", "input": "Search the web for fjords.",
                                                      "tools": [web]})).json()
        second = await http.post("/responses", json={"model": "m", "input": "Thanks.", "tools": [web],
                                                      "previous_response_id": first["id"]})
        replayed = sent(fake)["messages"]
    assert first["output"][0]["type"] == "web_search_call" and second.status_code == 200
    assert [m["role"] for m in replayed] == ["user", "assistant", "user"]
    assert {b["type"] for b in replayed[1]["content"]} == {"text"}
    assert "According to" in replayed[1]["content"][0]["text"]


@pytest.mark.parametrize(("tool", "param"), [
    ({"type": "web_search", "external_web_access": False}, "tools[0].external_web_access"),
    ({"type": "web_search", "filters": {"blocked_domains": ["x.com"]}}, "tools[0].filters.blocked_domains"),
    ({"type": "web_search", "color": "blue"}, "tools[0].color"),
])
async def test_an_anthropic_proxy_refuses_what_its_web_search_cannot_honour(tool: dict[str, Any],
                                                                             param: str) -> None:
    async with proxy("anthropic") as (http, fake):
        got = await http.post("/responses", json={"model": "m", "input": "Hello", "tools": [tool]})
        assert fake.state.requests == []
    assert got.status_code == 400 and got.json()["error"]["param"] == param


@pytest.mark.parametrize("kind", KINDS)
async def test_background_response_completes(kind: str) -> None:
    async with proxy(kind) as (http, _):
        queued = (await http.post("/responses", json={"model": "m", "input": "Hello", "background": True})).json()
        deadline = time.monotonic() + 30  # a hang guard
        while True:
            got = (await http.get(f"/responses/{queued['id']}")).json()
            if got["status"] == "completed" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
    assert queued["status"] == "queued" and got["status"] == "completed"
    assert got["output"][0]["content"][0]["text"] == 'You said: "Hello".'


async def test_upstream_refusal_is_its_status_or_a_stored_failed_response() -> None:
    # Anthropic refuses temperature and top_p together; the proxy forwards what the client set.
    request = {"model": "m", "input": "x", "temperature": 0.5, "top_p": 0.5}
    async with proxy("anthropic") as (http, _):
        plain = await http.post("/responses", json=request)
        streamed = await http.post("/responses", json={**request, "stream": True})
        result = check_sse(streamed.content, request={**request, "stream": True}, content_type="text/event-stream")
        terminal = result.terminal_response or {}
        stored = (await http.get(f"/responses/{terminal.get('id')}")).json()
    assert plain.status_code == 400 and plain.json()["error"]["code"] == "invalid_request_error"
    assert "cannot both be specified" in plain.json()["error"]["message"]
    assert result.ok and terminal["status"] == "failed" and "cannot both" in terminal["error"]["message"]
    assert stored == terminal


async def test_client_disconnect_stops_the_upstream_and_stores_cancelled() -> None:
    fake = create_chat_completions_app(delay=0.01)
    essay = {"model": "m", "input": "Write a 2000-word essay about lighthouses.", "stream": True}
    with serve(fake) as upstream:
        app = create_proxy_app("chat-completions", f"{upstream.url}/v1", timeout=5)
        with serve(app) as server, httpx.Client(base_url=f"{server.url}/v1", timeout=10) as http:
            with http.stream("POST", "/responses", json=essay) as resp:
                head = b""
                for chunk in resp.iter_bytes():
                    head += chunk
                    if head.count(b"response.output_text.delta") >= 3:
                        break
            at_close = fake.state.frames_sent
            time.sleep(0.3)  # 30 frame intervals: a live upstream stream would have sent ~30 more
            after = fake.state.frames_sent
            response_id = head.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()
            stored = http.get(f"/responses/{response_id}").json()
    assert after - at_close <= 3 and after < 100  # the answer has ~2000 frames
    assert stored["status"] == "cancelled"


def test_command_line_serves_the_proxy(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    monkeypatch.setenv("UPSTREAM_API_KEY", FAKE_UPSTREAM_KEY)
    status = main(["--upstream", "anthropic", "--upstream-url", "http://up.test/v1", "--port", "0", "--db", ":memory:",
                   "--api-key", "client-key", "--model-map", "claude=claude-x", "--nested-errors"])
    out = capsys.readouterr().out
    assert status == 0 and served["app"].title == "Responses proxy" and served["port"] > 0
    assert "proxy mode" in out and "anthropic" in out and FAKE_UPSTREAM_KEY not in out
    with pytest.raises(SystemExit) as info:
        main(["--upstream", "anthropic", "--upstream-url", "http://up.test/v1", "--backend", "torch"])
    assert info.value.code == 2 and "does not apply in proxy mode" in capsys.readouterr().err
