"""The relay in front of a Responses upstream when the upstream stream breaks off, stalls or ends
without a terminal event: what the client gets is closed (open parts and items done, the cut
item `incomplete`) and ends with `error` + `response.failed`, sequence numbers continued. Judged
by the conformance checker and read with openai-python."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
import respx

from reference_server.sources.adapters.responses_relay import ResponsesRelayState
from reference_server.web.proxy import create_proxy_app
from tests.reference_server.adapters.helpers import SEED, sse_payloads

UP = "http://upstream.test/v1"
KEY = "proxy-key"
REQUEST = {"model": "client-model", "input": "hi", "stream": True}
# Real captures: reasoning + text, a function call, reasoning summaries, parallel calls.
CAPTURES = ["basic-text-with-reasoning", "dotnet-functioncallstreamingworks", "pydantic-thinking-o3-mini",
            "fantasy-parallel-tools-gpt-5"]
MODES = ["break", "stall", "premature-end"]


def capture(name: str) -> tuple[bytes, list[dict[str, Any]]]:
    raw = (SEED / f"{name}.sse").read_bytes()
    return raw, [p for p in sse_payloads(raw) if isinstance(p, dict)]


def messages(raw: bytes) -> list[bytes]:
    """The capture's SSE messages, each with its blank line."""
    text = raw.replace(b"\r\n", b"\n")
    return [m + b"\n\n" for m in text.split(b"\n\n") if m.strip()]


def request_for(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The request a capture answered, as far as the checker needs it (its tools)."""
    tools = events[0]["response"].get("tools") or []
    return {**REQUEST, "tools": tools} if tools else REQUEST


def check(body: bytes, request: dict[str, Any]) -> Any:
    from conformance import check_sse

    result = check_sse(body, request=request, content_type="text/event-stream")
    errors = result.errors()
    assert not errors, [(f.rule, f.message) for f in errors]
    return result


def assert_failed_properly(events: list[dict[str, Any]], code: str) -> None:
    """error then response.failed at the end; every item in the failed response is done, the cut
    one (if any) incomplete; sequence numbers 0.. without a gap."""
    assert [e["type"] for e in events[-1:]] == ["response.failed"]
    errors = [e for e in events if e["type"] == "error"]
    # response.error.code has a closed enum: the proxy's own code is named in the message.
    assert len(errors) == 1 and errors[0]["code"] == "server_error" and f"(upstream code: {code})" in errors[0]["message"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"] == {"code": "server_error", "message": errors[0]["message"]}
    done = {e["output_index"]: e["item"] for e in events if e["type"] == "response.output_item.done"}
    added = {e["output_index"] for e in events if e["type"] == "response.output_item.added"}
    assert set(done) == added and [i["id"] for i in failed["output"]] == [done[k]["id"] for k in sorted(done)]


# ------------------------------------------------------------------------------ sans-IO, every cut
@pytest.mark.parametrize("name", CAPTURES)
def test_every_cut_of_a_capture_is_closed_consistently(name: str) -> None:
    """The stream cut after each of its non-terminal events: the events so far plus `fail()`
    pass the checker, and the item open at the cut is `incomplete`."""
    _, events = capture(name)
    cuts = range(len(events) - 1) if len(events) < 120 else range(0, len(events) - 1, 7)
    for cut in cuts:
        state = ResponsesRelayState({"model": "up-model"})
        for event in events[:cut]:
            state.feed(event)
        closing = state.fail("The upstream connection was lost mid-stream.", "upstream_disconnected")
        out = events[:cut] + closing
        from conformance import check_events

        result = check_events(out, request=request_for(events))
        assert not result.errors(), (cut, [(f.rule, f.message) for f in result.errors()])
        assert_failed_properly(out, "upstream_disconnected")
        open_at_cut = ({e["output_index"] for e in events[:cut] if e["type"] == "response.output_item.added"}
                       - {e["output_index"] for e in events[:cut] if e["type"] == "response.output_item.done"})
        closed = {e["output_index"]: e["item"]["status"] for e in closing if e["type"] == "response.output_item.done"}
        assert set(closed) == open_at_cut and set(closed.values()) <= {"incomplete"}
        assert state.done and state.fail("again", "x") == []


def test_a_finished_stream_gets_nothing_and_an_upstream_error_is_not_repeated() -> None:
    _, events = capture("basic-text-with-reasoning")
    state = ResponsesRelayState()
    for event in events:
        state.feed(event)
    assert state.done and state.fail("late", "upstream_timeout") == []
    # An upstream `error` event, then the stream ends: response.failed carries that error.
    state = ResponsesRelayState()
    upstream_error = {"type": "error", "sequence_number": 5, "code": "server_error", "message": "boom", "param": None}
    for event in [*events[:5], upstream_error]:
        state.feed(event)
    closing = state.fail(state.eof_message, "upstream_protocol_error")
    assert "error" not in [e["type"] for e in closing]
    assert closing[-1]["response"]["error"] == {"code": "server_error", "message": "boom"}
    assert closing[0]["sequence_number"] == 6


# ------------------------------------------------------------------------------ through the proxy
async def body(chunks: list[bytes], mode: str) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)
    if mode == "break":
        raise httpx.ReadError("connection reset by peer")
    if mode == "stall":
        await asyncio.sleep(30)  # far beyond the proxy's stall limit; cancelled by it


def app_over(client: httpx.AsyncClient) -> Any:
    return create_proxy_app("responses", UP, upstream_api_key="sk-up", model_map={"client-model": "up-model"},
                            api_key=KEY, timeout=0.3, http_client=client)


def proxy_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy.test",
                             headers={"Authorization": f"Bearer {KEY}"}, timeout=30)


CODES = {"break": "upstream_disconnected", "stall": "upstream_timeout", "premature-end": "upstream_protocol_error"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["basic-text-with-reasoning", "dotnet-functioncallstreamingworks"])
@pytest.mark.parametrize("where", ["mid-item", "mid-message-bytes", "before-created"])
async def test_relay_ends_a_broken_stream_with_response_failed(name: str, mode: str, where: str) -> None:
    raw, upstream_events = capture(name)
    request = request_for(upstream_events)
    msgs = messages(raw)
    cut = {"mid-item": len(msgs) // 2, "mid-message-bytes": len(msgs) // 2, "before-created": 0}[where]
    chunks = msgs[:cut]
    if where == "mid-message-bytes":
        chunks.append(msgs[cut][: len(msgs[cut]) // 2])  # half an event: must not reach the client
    async with httpx.AsyncClient() as upstream_client:
        app = app_over(upstream_client)
        with respx.mock() as mock:
            mock.post(f"{UP}/responses").mock(side_effect=lambda r: httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=body(chunks, mode)))
            async with proxy_client(app) as client:
                resp = await client.post("/v1/responses", json=request)
    if where == "before-created":
        # Nothing relayed yet: an OpenAI error answer, like an upstream HTTP error.
        assert resp.status_code == (504 if mode == "stall" else 502), resp.text
        assert resp.json()["error"]["code"] == CODES[mode] and resp.json()["error"]["type"] == "server_error"
        return
    assert resp.status_code == 200
    check(resp.content, request)
    events = [p for p in sse_payloads(resp.content) if isinstance(p, dict)]
    assert_failed_properly(events, CODES[mode])
    assert len(events) > cut  # the relayed events, then the closing ones
    relayed = [json.loads(m.split(b"data: ", 1)[1]) for m in msgs[:cut]]
    assert events[:cut] == relayed  # what the upstream sent went through unchanged


@pytest.mark.parametrize("mode", MODES)
async def test_openai_python_reads_the_failed_stream(mode: str) -> None:
    raw, _ = capture("dotnet-functioncallstreamingworks")
    msgs = messages(raw)
    chunks = msgs[: len(msgs) // 2]  # inside the function call's arguments
    async with httpx.AsyncClient() as upstream_client:
        app = app_over(upstream_client)
        sdk = openai.AsyncOpenAI(api_key=KEY, base_url="http://proxy.test/v1", http_client=proxy_client(app),
                                 max_retries=0)
        seen: list[str] = []
        with respx.mock() as mock:
            mock.post(f"{UP}/responses").mock(side_effect=lambda r: httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=body(chunks, mode)))
            async with sdk.responses.stream(model="client-model", input="hi") as stream:
                async for event in stream:
                    seen.append(event.type)
                    if event.type == "response.output_item.done":
                        assert event.item.status == "incomplete"
                    if event.type == "error":
                        assert event.code == "server_error" and CODES[mode] in event.message
                    if event.type == "response.failed":
                        assert event.response.status == "failed" and event.response.error is not None
                        assert event.response.error.code == "server_error"
                        assert event.response.output[-1].status == "incomplete"
    assert seen[-2:] == ["response.output_item.done", "response.failed"] and "error" in seen


async def test_non_stream_upstream_failures_are_openai_error_bodies() -> None:
    async with httpx.AsyncClient() as upstream_client:
        app = app_over(upstream_client)
        with respx.mock() as mock:
            route = mock.post(f"{UP}/responses")
            async with proxy_client(app) as client:
                route.mock(side_effect=httpx.ReadError("connection reset by peer"))
                broke = await client.post("/v1/responses", json={"model": "client-model", "input": "hi"})
                route.mock(return_value=httpx.Response(200, content=b'{"id": "resp_1", "object": "resp'))
                cut = await client.post("/v1/responses", json={"model": "client-model", "input": "hi"})
    for resp, code in ((broke, "upstream_unreachable"), (cut, "upstream_protocol_error")):
        assert resp.status_code == 502, resp.text
        err = resp.json()["error"]
        assert err["code"] == code and err["type"] == "server_error" and err["message"]
