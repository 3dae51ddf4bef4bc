"""Proxy mode end to end: the app over httpx's ASGI transport, upstreams mocked with respx and
driven by the upstream streams in fixtures/upstream; openai-python as the client."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
import respx

from reference_server.proxy_cli import parse_model_map
from reference_server.web.proxy import create_proxy_app
from tests.reference_server.adapters.helpers import SEED, load_fixture, sse_payloads, strip_ids
from tests.reference_server.adapters.upstream_readers import cc_content

UP = "http://upstream.test/v1"
SECRET = "sk-upstream-SECRET-123"
KEY = "proxy-key"
TOOLS = [{"type": "function", "name": n, "parameters": {"type": "object", "properties": {}}, "strict": False}
         for n in ("get_weather", "get_time", "updateIssueList", "lookup", "weather")]


async def body_stream(raw: bytes, *, pieces: int = 7, then: Any = None) -> AsyncIterator[bytes]:
    """The upstream body in uneven network reads; `then` is an exception to raise or a delay."""
    step = max(1, len(raw) // pieces)
    for start in range(0, len(raw), step):
        yield raw[start:start + step]
        await asyncio.sleep(0)
    if isinstance(then, BaseException):
        raise then
    if isinstance(then, float):
        await asyncio.sleep(then)


def sse_response(raw: bytes, **kw: Any) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body_stream(raw, **kw))


def completion_from_chunks(payloads: list[Any]) -> dict[str, Any]:
    """The non-stream completion equivalent to a CC chunk stream."""
    content = cc_content(payloads)
    finish, usage, tool_calls, names = None, None, [], {}
    for p in payloads:
        if not isinstance(p, dict):
            continue
        usage = p.get("usage") or usage
        for ch in p.get("choices") or []:
            finish = ch.get("finish_reason") or finish
            for tc in (ch.get("delta") or {}).get("tool_calls") or []:
                if tc.get("id"):
                    names[tc["id"]] = tc["function"]["name"]
    for call_id, args in content["arguments"].items():
        tool_calls.append({"id": call_id, "type": "function", "function": {"name": names[call_id], "arguments": args}})
    message: dict[str, Any] = {"role": "assistant", "content": content["text"] or None}
    if content["reasoning"]:
        message["reasoning_content"] = content["reasoning"]
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "up-model",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}


@pytest.fixture
async def upstream_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make_app(kind: Any, client: httpx.AsyncClient, timeout: float = 5.0) -> Any:
    return create_proxy_app(kind, UP, upstream_api_key=SECRET, model_map={"client-model": "up-model"},
                            api_key=KEY, timeout=timeout, http_client=client)


def proxy_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy.test",
                             headers={"Authorization": f"Bearer {KEY}"}, timeout=30)


def sdk(app: Any) -> Any:  # Any: the SDK's overloads reject plain dict arguments
    return openai.AsyncOpenAI(api_key=KEY, base_url="http://proxy.test/v1", http_client=proxy_client(app),  # type: ignore[arg-type]
                              max_retries=0)


def check_body(body: bytes, request: dict[str, Any], *, failed: bool = False) -> Any:
    from conformance import check_sse

    result = check_sse(body, request=request, content_type="text/event-stream")
    errors = result.errors()
    assert not errors, [(f.rule, f.message) for f in errors]
    assert result.terminal_response is not None
    return result


# ------------------------------------------------------------------------------ happy paths
@pytest.mark.parametrize("name", ["openai-parallel-tool-calls", "deepseek-reasoning-tool-call",
                                  "azure-text-usage-chunk", "interleaved-tool-arguments", "finish-length"])
async def test_cc_upstream_stream_vs_nonstream_with_openai_python(name: str, upstream_client: httpx.AsyncClient) -> None:
    raw, meta = load_fixture("chat-completions", name)
    payloads = sse_payloads(raw)
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if json.loads(request.content).get("stream"):
            return sse_response(raw)
        return httpx.Response(200, json=completion_from_chunks(payloads))

    app = make_app("chat-completions", upstream_client)
    request = {"model": "client-model", "input": "Hello", "tools": TOOLS}
    with respx.mock(assert_all_called=True) as mock:
        mock.post(f"{UP}/chat/completions").mock(side_effect=upstream)
        client = sdk(app)
        async with client.responses.stream(**request) as stream:
            seen_events = [event async for event in stream]
            # get_final_response() demands response.completed; an incomplete one ends the stream too.
            final = (await stream.get_final_response() if meta["expected"]["status"] == "completed"
                     else seen_events[-1].response)
        kinds = [e.type for e in seen_events]
        plain = await client.responses.create(**request)
        async with proxy_client(app) as raw_client:
            body = (await raw_client.post("/v1/responses", json={**request, "stream": True})).content
    assert kinds[0] == "response.created" and kinds[-1] in ("response.completed", "response.incomplete")
    assert final.status == meta["expected"]["status"]
    assert strip_ids(final.model_dump()) == strip_ids(plain.model_dump())
    check_body(body, request)
    sent = json.loads(seen[0].content)
    assert sent["model"] == "up-model" and sent["stream_options"] == {"include_usage": True}
    assert seen[0].headers["authorization"] == f"Bearer {SECRET}"
    assert all(SECRET.encode() not in b for b in (body, json.dumps(final.model_dump()).encode()))


@pytest.mark.parametrize("name", ["thinking-parallel-tools", "anthropic-thinking-signature", "max-tokens"])
async def test_anthropic_upstream_stream_with_openai_python(name: str, upstream_client: httpx.AsyncClient) -> None:
    raw, meta = load_fixture("anthropic", name)
    app = make_app("anthropic", upstream_client)
    with respx.mock() as mock:
        route = mock.post(f"{UP}/messages").mock(side_effect=lambda r: sse_response(raw))
        async with sdk(app).responses.stream(model="client-model", input="Hello", tools=TOOLS) as stream:
            events = [event async for event in stream]
            final = (await stream.get_final_response() if meta["expected"]["status"] == "completed"
                     else events[-1].response)
    assert final.status == meta["expected"]["status"]
    assert [i.type for i in final.output] == meta["expected"]["output_types"]
    headers = route.calls[0].request.headers
    assert headers["x-api-key"] == SECRET and headers["anthropic-version"] == "2023-06-01"
    assert json.loads(route.calls[0].request.content)["model"] == "up-model"


async def test_anthropic_upstream_nonstream(upstream_client: httpx.AsyncClient) -> None:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
               "content": [{"type": "text", "text": "Hi!"}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 3, "output_tokens": 2}}
    app = make_app("anthropic", upstream_client)
    with respx.mock() as mock:
        mock.post(f"{UP}/messages").mock(return_value=httpx.Response(200, json=message))
        resp = await sdk(app).responses.create(model="client-model", input="Hello")
    assert resp.output_text == "Hi!" and resp.usage is not None and resp.usage.total_tokens == 5


# ------------------------------------------------------------------------------ failures
@pytest.mark.parametrize(("status", "ours"), [(500, 502), (429, 429), (400, 400), (401, 502), (529, 503)])
async def test_upstream_http_errors(status: int, ours: int, upstream_client: httpx.AsyncClient) -> None:
    err = {"error": {"message": f"boom (key {SECRET})", "type": "server_error", "code": "x_failed"}}
    app = make_app("chat-completions", upstream_client)
    with respx.mock() as mock:
        mock.post(f"{UP}/chat/completions").mock(return_value=httpx.Response(status, json=err))
        async with proxy_client(app) as client:
            plain = await client.post("/v1/responses", json={"model": "client-model", "input": "x"})
            streamed = await client.post("/v1/responses", json={"model": "client-model", "input": "x", "stream": True})
    assert plain.status_code == ours
    assert set(plain.json()["error"]) == {"message", "type", "param", "code"}
    assert "boom" in plain.json()["error"]["message"] and SECRET not in plain.text
    assert streamed.status_code == 200 and SECRET not in streamed.text
    result = check_body(streamed.content, {"model": "client-model", "input": "x"}, failed=True)
    assert result.terminal_response["status"] == "failed"


async def test_upstream_disconnect_mid_stream(upstream_client: httpx.AsyncClient, caplog: Any) -> None:
    raw, _ = load_fixture("chat-completions", "openai-parallel-tool-calls")
    cut = raw[: len(raw) // 2]
    app = make_app("chat-completions", upstream_client)
    caplog.set_level(logging.DEBUG)
    request = {"model": "client-model", "input": "x", "tools": TOOLS, "stream": True}
    with respx.mock() as mock:
        mock.post(f"{UP}/chat/completions").mock(
            side_effect=lambda r: sse_response(cut, then=httpx.ReadError(f"reset by peer {SECRET}")))
        async with proxy_client(app) as client:
            resp = await client.post("/v1/responses", json=request)
    result = check_body(resp.content, request, failed=True)
    assert result.terminal_response["status"] == "failed"
    assert "lost mid-stream" in result.terminal_response["error"]["message"]
    assert SECRET not in caplog.text and SECRET not in resp.text


async def test_upstream_eof_without_finish_fails(upstream_client: httpx.AsyncClient) -> None:
    raw, _ = load_fixture("chat-completions", "disconnect-mid-stream")
    app = make_app("chat-completions", upstream_client)
    request = {"model": "client-model", "input": "x", "tools": TOOLS, "stream": True}
    with respx.mock() as mock:
        mock.post(f"{UP}/chat/completions").mock(side_effect=lambda r: sse_response(raw))
        async with proxy_client(app) as client:
            resp = await client.post("/v1/responses", json=request)
    result = check_body(resp.content, request, failed=True)
    assert result.terminal_response["error"]["code"] == "server_error"


async def test_upstream_stall_fails_within_timeout(upstream_client: httpx.AsyncClient) -> None:
    raw, _ = load_fixture("anthropic", "anthropic-text")
    app = make_app("anthropic", upstream_client, timeout=0.3)
    request = {"model": "client-model", "input": "x", "stream": True}
    with respx.mock() as mock:
        mock.post(f"{UP}/messages").mock(side_effect=lambda r: sse_response(raw[:300], then=30.0))
        async with proxy_client(app) as client:
            started = time.monotonic()
            resp = await client.post("/v1/responses", json=request)
            print(f"stall reported after {time.monotonic() - started:.2f} s (upstream stalls 30 s)")
    # "stalled" comes from the proxy's idle timer: had it not fired, the upstream's 30 s pause
    # would have ended in a stream without a terminal event instead.
    result = check_body(resp.content, request, failed=True)
    assert "stalled: no data for 0.3 s" in result.terminal_response["error"]["message"]


# ------------------------------------------------------------------------------ Responses upstream
async def test_chat_completions_served_from_responses_upstream(upstream_client: httpx.AsyncClient) -> None:
    raw = (SEED / "fantasy-parallel-tools-gpt-5.sse").read_bytes()
    final = sse_payloads(raw)[-1]["response"]

    def upstream(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["model"] == "up-model" and body["input"][0] == {"role": "user", "content": "add and multiply"}
        return sse_response(raw) if body.get("stream") else httpx.Response(200, json=final)

    app = make_app("responses", upstream_client)
    with respx.mock() as mock:
        mock.post(f"{UP}/responses").mock(side_effect=upstream)
        client = sdk(app)
        messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "add and multiply"}]
        plain = await client.chat.completions.create(model="client-model", messages=messages)
        chunks = [c async for c in await client.chat.completions.create(
            model="client-model", messages=messages, stream=True, stream_options={"include_usage": True})]
    assert plain.choices[0].finish_reason == "tool_calls"
    calls = plain.choices[0].message.tool_calls or []
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_inViAUr9eV0GDtyOywkCxp59", "add", "{\"a\":2,\"b\":3}"),
        ("call_Op66UUnzuOoKmgGeFJQJFTUY", "multiply", "{\"a\":2,\"b\":3}")]
    rebuilt: dict[int, list[str]] = {}
    for chunk in chunks:
        for ch in chunk.choices:
            for tc in ch.delta.tool_calls or []:
                rebuilt.setdefault(tc.index, [tc.id or "", ""])[1] += tc.function.arguments or ""
    assert {i: tuple(v) for i, v in rebuilt.items()} == {i: (c.id, c.function.arguments) for i, c in enumerate(calls)}
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == plain.usage.total_tokens == 332


async def test_responses_upstream_relays_and_maps_model(upstream_client: httpx.AsyncClient) -> None:
    raw = (SEED / "basic-text-with-reasoning.sse").read_bytes()
    app = make_app("responses", upstream_client)
    with respx.mock() as mock:
        route = mock.post(f"{UP}/responses").mock(side_effect=lambda r: sse_response(raw))
        async with sdk(app).responses.stream(model="client-model", input="hi") as stream:
            final = await stream.get_final_response()
    assert json.loads(route.calls[0].request.content)["model"] == "up-model"
    assert final.output_text.startswith("Hello")


async def test_cc_stream_error_from_responses_upstream(upstream_client: httpx.AsyncClient) -> None:
    raw = (SEED / "vercel-error-failed-gpt-5-nano.sse").read_bytes()
    app = make_app("responses", upstream_client)
    with respx.mock() as mock:
        mock.post(f"{UP}/responses").mock(side_effect=lambda r: sse_response(raw))
        async with proxy_client(app) as client:
            resp = await client.post("/v1/chat/completions", json={
                "model": "client-model", "stream": True, "messages": [{"role": "user", "content": "x"}]})
    last = resp.text.strip().split("\n\n")[-1]
    assert last.startswith("data: {\"error\"") and "quota" in last and "[DONE]" not in resp.text


# ------------------------------------------------------------------------------ edges
async def test_auth_bad_input_and_misc(upstream_client: httpx.AsyncClient) -> None:
    app = make_app("chat-completions", upstream_client)
    async with proxy_client(app) as client:
        assert (await client.get("/health")).json()["upstream"] == "chat-completions"
        assert [m["id"] for m in (await client.get("/v1/models")).json()["data"]] == ["client-model"]
        denied = await client.post("/v1/responses", json={"model": "m", "input": "x"}, headers={"Authorization": "Bearer no"})
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
        bad = await client.post("/v1/responses", content=b"{nope", headers={"content-type": "application/json"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
        hosted = await client.post("/v1/responses", json={"model": "m", "input": "x", "tools": [{"type": "code_interpreter"}]})
        # the reference server's own validation: hosted tools are refused at their `type`
        assert hosted.status_code == 400 and hosted.json()["error"]["param"] == "tools[0].type"
        no_model = await client.post("/v1/responses", json={"input": "x"})
        assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "model"
        not_here = await client.post("/v1/chat/completions", json={"model": "m", "messages": []})
        assert not_here.status_code == 404


async def test_unreachable_upstream_is_a_clean_error() -> None:
    async with httpx.AsyncClient() as upstream_client:
        app = create_proxy_app("chat-completions", "http://127.0.0.1:9/v1", http_client=upstream_client, timeout=2)
        async with proxy_client(app) as client:
            resp = await client.post("/v1/responses", json={"model": "m", "input": "x"})
            streamed = await client.post("/v1/responses", json={"model": "m", "input": "x", "stream": True})
    assert resp.status_code == 502 and resp.json()["error"]["code"] == "upstream_unreachable"
    check_body(streamed.content, {"model": "m", "input": "x"}, failed=True)


def test_model_map_parsing() -> None:
    assert parse_model_map(["a=b", "c=d=e"]) == {"a": "b", "c": "d=e"}
    with pytest.raises(ValueError, match="CLIENT_MODEL=UPSTREAM_MODEL"):
        parse_model_map(["nope"])


async def test_responses_upstream_stream_error_is_an_http_error(upstream_client: httpx.AsyncClient) -> None:
    app = make_app("responses", upstream_client)
    with respx.mock() as mock:
        mock.post(f"{UP}/responses").mock(return_value=httpx.Response(
            400, json={"error": {"message": "bad model", "type": "invalid_request_error", "code": "model_not_found"}}))
        async with proxy_client(app) as client:
            resp = await client.post("/v1/responses", json={"model": "client-model", "input": "x", "stream": True})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "model_not_found"


def test_command_line_flags_build_the_app() -> None:
    import argparse

    from reference_server.proxy_cli import add_proxy_arguments, app_from_args

    parser = argparse.ArgumentParser()
    add_proxy_arguments(parser)
    args = parser.parse_args(["--upstream", "anthropic", "--upstream-url", UP, "--model-map", "a=b",
                              "--upstream-timeout", "5"])
    assert (args.upstream, args.model_map, args.upstream_timeout) == ("anthropic", ["a=b"], 5.0)
    assert app_from_args(args).title == "Responses proxy"
    with pytest.raises(SystemExit):
        app_from_args(parser.parse_args(["--upstream", "anthropic"]))


async def test_upstream_error_chunk_quoting_the_key_is_scrubbed(upstream_client: httpx.AsyncClient) -> None:
    raw = (b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
           b'data: {"error":{"message":"key ' + SECRET.encode() + b' revoked","code":"invalid_api_key"}}\n\n')
    app = make_app("chat-completions", upstream_client)
    request = {"model": "client-model", "input": "x", "stream": True}
    with respx.mock() as mock:
        mock.post(f"{UP}/chat/completions").mock(side_effect=lambda r: sse_response(raw))
        async with proxy_client(app) as client:
            resp = await client.post("/v1/responses", json=request)
            result = check_body(resp.content, request, failed=True)
            stored = await client.get(f"/v1/responses/{result.terminal_response['id']}")
    assert "key *** revoked" in result.terminal_response["error"]["message"]
    assert SECRET not in resp.text and SECRET not in stored.text and stored.json()["status"] == "failed"


async def test_responses_upstream_relays_stored_response_routes(upstream_client: httpx.AsyncClient) -> None:
    app = make_app("responses", upstream_client)
    with respx.mock() as mock:
        got = mock.get(f"{UP}/responses/resp_1/input_items").mock(
            return_value=httpx.Response(200, json={"object": "list", "data": []}))
        mock.delete(f"{UP}/responses/resp_2").mock(return_value=httpx.Response(
            404, json={"error": {"message": "No response resp_2", "type": "invalid_request_error", "code": None}}))
        async with proxy_client(app) as client:
            listed = await client.get("/v1/responses/resp_1/input_items", params={"limit": 5})
            missing = await client.delete("/v1/responses/resp_2")
            denied = await client.get("/v1/responses/resp_1", headers={"Authorization": "Bearer wrong"})
    assert listed.json() == {"object": "list", "data": []} and got.calls[0].request.url.params["limit"] == "5"
    assert got.calls[0].request.headers["authorization"] == f"Bearer {SECRET}"
    assert missing.status_code == 404 and "No response resp_2" in missing.json()["error"]["message"]
    assert denied.status_code == 401
