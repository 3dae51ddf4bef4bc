"""`conformance upstream`'s HTTP edge: a Starlette app serving one provider's API with the
cooperative model, plus the control and log paths under `/_conformance/` (outside every
provider's API):

  GET    /_conformance/exchanges[?after=N]  the requests received and what was answered
  DELETE /_conformance/exchanges            forget them
  POST   /_conformance/script               what to do with the next model request (a queue)

A script is a JSON object: `{"status": 500}` (an HTTP error, OpenAI/Anthropic-shaped body),
`{"disconnect_after": N}` (N frames, then the connection drops), `{"stall_after": N,
"stall_s": S}` (N frames, then silence), `{"error_event_after": N}` (N frames, then the
provider's error event), `{"finish": "content_filter"}`, `{"usage_chunks": true}` (Chat Completions: a usage-only chunk
after every chunk, running counts), `{"sse": "<raw SSE text>"}` (a recorded stream, sent as it is).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

from conformance.upstream import wire
from conformance.upstream.generations import request_error
from conformance.upstream.model import KINDS, answer, anthropic_request_error, read_request
from conformance.upstream.recorded import summarize

CONTROL = "/_conformance"
PATHS = {"chat-completions": "/chat/completions", "anthropic": "/messages", "responses": "/responses"}
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "cookie", "proxy-authorization",
                            "openai-api-key", "anthropic-api-key"})


class ScriptedDisconnect(ConnectionResetError):
    """Raised mid-body to drop the connection on purpose (the server then aborts it)."""


class QuietDisconnects(logging.Filter):
    """A log filter for the server's error logger: a scripted disconnect is not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, ScriptedDisconnect):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


def quiet_server_logs() -> None:
    """Keep `uvicorn.error` from printing a traceback for every scripted disconnect."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietDisconnects) for f in logger.filters):
        logger.addFilter(QuietDisconnects())


def fingerprint(value: str) -> str:
    """How the log names a credential without holding it: sha256 hex of the value."""
    return hashlib.sha256(value.encode()).hexdigest()


def scrub_headers(headers: list[tuple[str, str]]) -> tuple[list[list[str]], list[str]]:
    """Headers with credential values replaced by `***`, and the fingerprints of those values
    (each with and without a `Bearer ` prefix) so a runner can tell whether its key came through."""
    out, prints = [], []
    for name, value in headers:
        if name.lower() in SECRET_HEADERS:
            prints.append(fingerprint(value))
            if value.lower().startswith("bearer "):
                prints.append(fingerprint(value[7:].strip()))
            value = "***"
        out.append([name, value])
    return out, prints


class UpstreamState:
    """The request log and the script queue (shared by the app's routes)."""

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"upstream kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind = kind
        self.exchanges: list[dict[str, Any]] = []
        self.scripts: list[dict[str, Any]] = []
        # Responses: each stored response's conversation (its input and answer), for
        # `previous_response_id` continuations.
        self.conversations: dict[str, list[tuple[str, str]]] = {}


def _error_body(kind: str, status: int, message: str) -> dict[str, Any]:
    if kind == "anthropic":
        return {"type": "error", "error": {"type": "api_error" if status >= 500 else "invalid_request_error",
                                           "message": message}}
    return {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error",
                      "param": None, "code": None}}


def _error_frame(kind: str, rid: str, n: int, ans: Any, request: dict[str, Any]) -> list[bytes]:
    msg = "The upstream model failed (scripted error event)."
    if kind == "anthropic":
        return [wire.sse({"type": "error", "error": {"type": "overloaded_error", "message": msg}}, "error")]
    if kind == "chat-completions":
        return [wire.sse({"error": {"message": msg, "type": "server_error", "code": "scripted"}})]
    return wire.responses_failure(ans, str(request.get("model") or ""), rid, n, msg, request)


def create_upstream_app(kind: str) -> Any:
    """The Starlette app of a `conformance upstream` of `kind` (state: `app.state.upstream`)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    state = UpstreamState(kind)

    async def exchanges(request: Request) -> Response:
        if request.method == "DELETE":
            state.exchanges.clear()
            return JSONResponse({"deleted": True})
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return JSONResponse(_error_body("responses", 400, "after must be an integer"), status_code=400)
        return JSONResponse({"kind": kind, "exchanges": state.exchanges[after:], "next": len(state.exchanges)})

    async def script(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse(_error_body("responses", 400, "a script is a JSON object"), status_code=400)
        state.scripts.append(body)
        return JSONResponse({"queued": len(state.scripts)})

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "conformance-upstream", "object": "model",
                                                          "created": 0, "owned_by": "conformance"}]})

    async def model_call(request: Request) -> Response:
        raw = await request.body()
        headers, prints = scrub_headers(list(request.headers.items()))
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record: dict[str, Any] = {"index": len(state.exchanges), "method": request.method,
                                  "path": request.url.path, "headers": headers, "credentials": prints,
                                  "body": body}
        state.exchanges.append(record)
        plan = state.scripts.pop(0) if state.scripts else {}
        record["script"] = plan or None
        if not isinstance(body, dict):
            record["answer"] = {"status": 400, "error": "body is not a JSON object"}
            return JSONResponse(_error_body(kind, 400, "The body must be a JSON object."), status_code=400)
        if "status" in plan:
            status = int(plan["status"])
            record["answer"] = {"status": status, "error": "scripted HTTP error"}
            return JSONResponse(_error_body(kind, status, "Scripted upstream failure."), status_code=status)
        refused = (anthropic_request_error(body) if kind == "anthropic" else None) or request_error(kind, body)
        if refused is not None:
            record["answer"] = {"status": 400, "error": refused}
            return JSONResponse(_error_body(kind, 400, refused), status_code=400)
        view = read_request(kind, body)
        prev = body.get("previous_response_id") if kind == "responses" else None
        if prev is not None:
            if prev not in state.conversations:
                record["answer"] = {"status": 404, "error": "unknown previous_response_id"}
                return JSONResponse(_error_body(kind, 404, f"Previous response with id '{prev}' not found."),
                                    status_code=404)
            view.messages = state.conversations[prev] + view.messages
        ans = answer(view, server_search=kind == "anthropic")
        if plan.get("finish"):
            ans.finish = str(plan["finish"])
        model = view.model or "conformance-upstream"
        rid = {"chat-completions": "chatcmpl-", "anthropic": "msg_", "responses": "resp_"}[kind] + secrets.token_hex(8)
        if kind == "responses" and body.get("store") is not False:
            said = [("assistant", "".join(ans.text))] if ans.text else []
            state.conversations[rid] = view.messages + said + [("call", f"{c.name}({c.arguments})") for c in ans.calls]
        summary = ans.summary()
        record["answer"] = {"status": 200, "stream": view.stream, **summary}
        if not view.stream and "sse" not in plan:
            out = {"chat-completions": wire.cc_body, "anthropic": wire.anthropic_body,
                   "responses": lambda a, m, r: wire.responses_body(a, m, r, body)}[kind](ans, model, rid)
            return JSONResponse(out)
        if "sse" in plan:
            frames = [str(plan["sse"]).encode()]
            known = plan.get("expected") if isinstance(plan.get("expected"), dict) else None
            record["answer"] = summarize(kind, frames[0], known) or {"status": 200, "stream": True, "recorded": True}
        elif kind == "chat-completions":
            frames = wire.cc_stream(ans, model, rid, include_usage=view.include_usage,
                                    usage_chunks=bool(plan.get("usage_chunks")))
            if not view.include_usage:
                summary["usage"] = None
                record["answer"]["usage"] = None
        elif kind == "anthropic":
            frames = wire.anthropic_stream(ans, model, rid)
        else:
            frames = wire.responses_stream(ans, model, rid, body)
        cut = None
        for key in ("disconnect_after", "stall_after", "error_event_after"):
            if key in plan:
                cut = min(int(plan[key]), len(frames) - 1)
                if kind == "responses":  # before the first item opens: the failure closes nothing
                    cut = min(cut, 2)
                record["answer"] = {"status": 200, "stream": True, "error": key.removesuffix("_after")}
        return StreamingResponse(_frames(frames, cut, plan, rid, ans, body), media_type="text/event-stream")

    async def _frames(frames: list[bytes], cut: int | None, plan: dict[str, Any], rid: str, ans: Any,
                      body: dict[str, Any]) -> AsyncIterator[bytes]:
        for n, frame in enumerate(frames):
            if cut is not None and n == cut:
                if "stall_after" in plan:
                    await asyncio.sleep(float(plan.get("stall_s", 30)))
                    return
                if "error_event_after" in plan:
                    for f in _error_frame(kind, rid, n, ans, body):
                        yield f
                    return
                raise ScriptedDisconnect("scripted mid-stream disconnect")
            yield frame

    path = PATHS[kind]
    routes = [
        Route(f"{CONTROL}/exchanges", exchanges, methods=["GET", "DELETE"]),
        Route(f"{CONTROL}/script", script, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route(f"/v1{path}", model_call, methods=["POST"]),
        Route(path, model_call, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.upstream = state
    return app
