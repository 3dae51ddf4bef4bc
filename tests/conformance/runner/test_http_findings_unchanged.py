"""The live runner's http.* findings, message for message, against targets that break HTTP in
different ways: the judging of status, error shape, content type and timeouts moved from the
runner into the registry's exchange rules, and the runner must report exactly what it did before.

`http_findings.json` was written by the runner before the move (`python -m
tests.conformance.runner.test_http_findings_unchanged` writes it again).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from conformance.runner import RunOptions, app_target, run_scenarios
from conformance.scenarios import catalogue
from tests.conformance.runner import fakes

GOLDEN = Path(__file__).with_name("data") / "http_findings.json"
# Ids the fakes number per process: the same run in another test order names other ids.
_IDS = re.compile(r"\b(resp|msg|fc|call|rs)_[0-9A-Za-z_]+")


def _text_app() -> Starlette:
    """200 answers that are not JSON, a stream refused with an HTML 503, bad requests accepted."""

    async def create(request: Request) -> Response:
        try:
            req = json.loads(await request.body())
        except ValueError:
            return Response("<html>oops</html>", 502, media_type="text/html")
        if isinstance(req, dict) and req.get("stream"):
            return Response("<html>busy</html>", 503, media_type="text/html")
        if isinstance(req, dict) and "model" not in req:
            return JSONResponse({"id": "resp_1", "object": "response"}, 200)
        return Response("hello", 200, media_type="text/plain")

    async def get_response(request: Request) -> Response:
        return Response(b'{"id": "resp_1"}', 200, media_type="text/plain")

    async def delete_response(request: Request) -> Response:
        return JSONResponse({"error": "gone"}, 410)

    return Starlette(routes=[
        Route("/v1/responses", create, methods=["POST"]),
        Route("/v1/responses/{rid}", get_response, methods=["GET"]),
        Route("/v1/responses/{rid}", delete_response, methods=["DELETE"]),
    ])


def _accept_all_app() -> Starlette:
    """Every request answered 200 with the correct fake's answer to a valid one, bad ones too."""
    good = fakes.make_app()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await good(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            req = json.loads(body)
        except ValueError:
            req = None
        if not isinstance(req, dict):
            req = {}
        req = {**req, "model": fakes.MODEL, "input": "hi", "max_output_tokens": 64, "tool_choice": "auto",
               "metadata": {}}
        fixed = json.dumps(req).encode()
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": fixed, "more_body": False}

        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        await good({**scope, "headers": [*headers, (b"content-length", str(len(fixed)).encode())]}, replay, send)

    return app  # type: ignore[return-value]


def _hanging_headers_app() -> Starlette:
    """Streams that send headers and then nothing; non-stream answers that never come."""
    import asyncio

    async def create(request: Request) -> Response:
        req = json.loads(await request.body())
        if req.get("stream"):
            async def body() -> Any:
                await asyncio.sleep(3600)
                yield b""

            return StreamingResponse(body(), media_type="text/event-stream")
        await asyncio.sleep(3600)
        return Response(b"")

    return Starlette(routes=[Route("/v1/responses", create, methods=["POST"])])


def _bad_delete_app() -> Starlette:
    """The correct fake, except that DELETE answers 200 with an object that is no deletion."""
    good = fakes.make_app()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "DELETE":
            await JSONResponse({"id": "resp_other", "object": "response", "deleted": "yes"})(scope, receive, send)
            return
        await good(scope, receive, send)

    return app  # type: ignore[return-value]


BAD_REQUESTS = ",".join(s.id for s in catalogue() if "errors" in s.tags)
CASES: dict[str, tuple[Any, str, float]] = {
    "server-error": (fakes.server_error_app, f"basic-response,{BAD_REQUESTS}", 30.0),
    "fastapi-422": (fakes.fastapi_422_app, f"basic-response,{BAD_REQUESTS}", 30.0),
    "text": (_text_app(), f"basic-response,streaming-response,get-stored-response,delete-response,{BAD_REQUESTS}", 30.0),
    "accept-all": (_accept_all_app(), BAD_REQUESTS, 30.0),
    "bad-delete": (_bad_delete_app(), "delete-response", 30.0),
    "hanging-stream": (fakes.hanging_app, "streaming-response", 0.5),
    "hanging-headers": (_hanging_headers_app(), "streaming-response,basic-response", 0.5),
}


def _findings(name: str) -> list[list[Any]]:
    from conformance.scenarios import select

    app, selection, timeout = CASES[name]
    chosen, _ = select(selection.split(","), [])
    report = run_scenarios(app_target(app), chosen, RunOptions(timeout=timeout, model=fakes.MODEL))
    rows = []
    for case in report.cases:
        for f in case.findings:
            if f.rule.startswith("http."):
                rows.append([case.id, f.rule, f.severity, _IDS.sub(r"\1_*", f.message),
                             _IDS.sub(r"\1_*", f.excerpt or "")])
    return rows


def test_http_findings_are_those_the_runner_gave_before() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert set(golden) == set(CASES)
    for name in CASES:
        assert _findings(name) == golden[name], name


def test_the_golden_file_covers_every_single_exchange_rule() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    seen = {row[1] for rows in golden.values() for row in rows}
    assert {"http.status", "http.server-error", "http.error-shape", "http.bad-request", "http.content-type",
            "http.timeout", "http.object-shape"} <= seen


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps({name: _findings(name) for name in CASES}, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {GOLDEN}\n")
