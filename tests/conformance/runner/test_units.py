"""Small pieces of the runner: output parsing, redaction, response comparison, lifespan,
retries on transport errors only."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conformance.cli import UsageError
from conformance.cli.run import parse_outputs
from conformance.runner.client import HttpClient, TransportFailure
from conformance.runner.targets import app_target, base_url_target
from conformance.scenarios.base import first_difference, shape_difference

FORMATS = ["text", "json", "junit", "markdown", "html"]


def test_parse_outputs() -> None:
    got = parse_outputs(["html:r.html", "r.json", "junit:out/results.xml", "notes.md", "r.txt"], FORMATS)
    assert got == [
        ("html", Path("r.html")),
        ("json", Path("r.json")),
        ("junit", Path("out/results.xml")),
        ("markdown", Path("notes.md")),
        ("text", Path("r.txt")),
    ]
    with pytest.raises(UsageError, match="say which format"):
        parse_outputs(["report"], FORMATS)


def test_first_difference_and_shape() -> None:
    assert first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}) is None
    assert first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}) == ("/a/1/b", 2, 3)
    assert first_difference({"a": 1}, {"a": 1.0}) == ("/a", 1, 1.0)
    assert first_difference([1], [1, 2]) == ("/length", 1, 2)
    msg = {"type": "message", "status": "completed", "content": [{"type": "output_text", "text": "hi"}]}
    a = {"object": "response", "status": "completed", "output": [msg], "usage": {"input_tokens": 1}}
    b = {**a, "output": [{**msg, "content": [{"type": "output_text", "text": "other words"}]}]}
    assert shape_difference(a, b) is None  # different text, same structure
    c = {**a, "output": [{**msg, "content": [{"type": "refusal", "refusal": "no"}]}]}
    assert shape_difference(a, c) == "/output/0/content/0: 'output_text' vs 'refusal'"


def test_in_process_app_gets_its_lifespan_and_state() -> None:
    @asynccontextmanager
    async def lifespan(app):
        yield {"greeting": "hello from lifespan"}

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"data": [{"id": request.state.greeting}]})

    app = Starlette(routes=[Route("/v1/models", models)], lifespan=lifespan)
    target = app_target(app)

    async def go() -> str:
        await target.astart()
        client = HttpClient(target, timeout=5)
        try:
            res = await client.request("GET", "models")
        finally:
            await client.aclose()
            await target.aclose()
        return res.json()["data"][0]["id"]

    assert asyncio.run(go()) == "hello from lifespan"


def _client_with(handler, retries: int) -> HttpClient:
    target = base_url_target("http://example.invalid/v1")
    target.transport = lambda: httpx.MockTransport(handler)  # type: ignore[method-assign]
    return HttpClient(target, timeout=5, retries=retries)


def test_retries_transport_errors_only() -> None:
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(500, json={"error": {}})

    async def go(retries: int) -> int:
        client = _client_with(flaky, retries)
        try:
            return (await client.request("GET", "models")).status
        finally:
            await client.aclose()

    assert asyncio.run(go(1)) == 500  # retried once after the refusal; the 500 is not retried
    assert calls == ["/v1/models", "/v1/models"]
    calls.clear()
    with pytest.raises(TransportFailure, match="ConnectError: connection refused"):
        asyncio.run(go(0))


def test_auth_header_variants() -> None:
    t = base_url_target("http://x/v1", api_key="k1")
    assert t.auth_headers() == {"Authorization": "Bearer k1"}
    t2 = base_url_target("http://x/v1", api_key="k1", auth_header="api-key", bearer=False)
    assert t2.auth_headers() == {"api-key": "k1"}
    assert "k1" in t2.secrets() and base_url_target("http://x/v1").auth_headers() == {}
