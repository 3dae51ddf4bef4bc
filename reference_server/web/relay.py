"""Proxy mode in front of a Responses upstream: a relay. `/v1/responses` goes through with the
model mapped and comes back as the upstream sent it (a broken stream still ends with a terminal
event); stored-response routes are relayed as they are; `/v1/chat/completions` is served through
the reverse converters.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from reference_server.core.settings import Settings
from reference_server.protocol.errors import APIError
from reference_server.protocol.events import RESPONSE_DEFAULTS
from reference_server.protocol.json_body import decode_json_body
from reference_server.protocol.sse import MEDIA_TYPE, STREAM_HEADERS, encode_event
from reference_server.sources.adapters.chat_completions import (
    cc_to_responses_request,
    response_to_completion,
)
from reference_server.sources.adapters.common import ConversionError
from reference_server.sources.adapters.responses_relay import ResponsesRelayState
from reference_server.sources.adapters.responses_to_cc_stream import ResponsesToCCStream
from reference_server.sources.adapters.sse_decode import SSEDecoder, SSEMessage
from reference_server.sources.adapters.upstream_client import (
    Upstream,
    UpstreamFailure,
    decode_payload,
    with_idle_timeout,
)
from reference_server.web.error_handlers import install_error_handlers
from reference_server.web.middleware import GuardMiddleware

log = logging.getLogger("reference_server.proxy")


def relay_app(up: Upstream, settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await up.aclose()

    app = FastAPI(title="Responses proxy", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware, api_key=settings.api_key, max_body_bytes=settings.max_body_bytes)

    async def read_json(request: Request) -> dict[str, Any]:
        body = decode_json_body(await request.body())
        if not isinstance(body, dict):
            raise APIError(400, "The request body must be a JSON object.", code="invalid_json")
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise APIError(400, "Missing required parameter: 'model'.", param="model",
                           code="missing_required_parameter")
        return body

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "mode": "proxy", "upstream": up.kind}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": i, "object": "model", "created": 0, "owned_by": "proxy"} for i in await up.model_ids()]}

    @app.post("/v1/responses")
    async def responses(request: Request) -> Response:
        return await _relay_responses(up, await read_json(request))

    # Stored responses live upstream: these routes are relayed as they are.
    @app.api_route("/v1/responses/{rest:path}", methods=["GET", "DELETE", "POST"])
    async def stored(rest: str, request: Request) -> Response:
        try:
            resp = await up.client().request(request.method, f"{up.url}/responses/{rest}",
                                             params=dict(request.query_params), headers=up.headers())
        except httpx.HTTPError as exc:
            log.warning("upstream request failed: %s", up.scrub(str(exc)))
            raise APIError(502, "The upstream could not be reached.", type="server_error",
                           code="upstream_unreachable") from None
        if resp.status_code >= 400:
            failure = up.failure(resp.status_code, resp.content)
            raise APIError(failure.status, failure.message, type=failure.type, code=failure.code)
        return Response(resp.content, status_code=resp.status_code, media_type=resp.headers.get("content-type"))

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body = await read_json(request)
        try:
            upstream_body = cc_to_responses_request(body, model=up.model(body["model"]))
        except ConversionError as exc:
            raise APIError(400, exc.message, param=exc.param, code="unsupported_value") from None
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if body.get("stream"):
            conv = ResponsesToCCStream(model=body["model"], include_usage=include_usage)
            return StreamingResponse(_stream_cc(up, upstream_body, conv), media_type=MEDIA_TYPE,
                                     headers=STREAM_HEADERS)
        answer = await _post(up, "/responses", upstream_body)
        if answer.get("status") == "failed":
            err = answer.get("error") or {}
            raise APIError(502, up.scrub(f"Upstream response failed: {err.get('message', 'unknown error')}"),
                           type="server_error", code=err.get("code") or "upstream_error")
        try:
            completion = response_to_completion(answer)
        except ConversionError as exc:
            raise APIError(502, exc.message, type="server_error", code="upstream_protocol_error") from None
        completion["model"] = body["model"]
        return JSONResponse(completion)

    return app


async def _post(up: Upstream, path: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return await up.post_json(path, body)
    except UpstreamFailure as exc:
        raise APIError(exc.status, exc.message, type=exc.type, code=exc.code) from None


def _cc_sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


async def _stream_cc(up: Upstream, body: dict[str, Any], conv: ResponsesToCCStream) -> AsyncIterator[bytes]:
    """CC SSE for a Responses upstream stream: chunks, then `[DONE]`, or `{"error": …}` on failure."""
    try:
        async with contextlib.aclosing(up.events("/responses", body)) as items:
            async for item in items:
                if isinstance(item, dict):
                    for chunk in conv.feed(item):
                        yield _cc_sse(chunk)
                if conv.done:
                    break
    except UpstreamFailure as exc:
        conv.error, conv.done = {"message": exc.message, "type": "server_error", "code": exc.code}, True
    except (TimeoutError, httpx.TimeoutException):
        conv.error, conv.done = {"message": f"The upstream stalled: no data for {up.timeout:g} s.",
                                 "type": "server_error", "code": "upstream_timeout"}, True
    except httpx.HTTPError as exc:
        log.warning("upstream stream broke: %s", up.scrub(str(exc)))
        conv.error, conv.done = {"message": "The upstream connection was lost mid-stream.",
                                 "type": "server_error", "code": "upstream_disconnected"}, True
    conv.finish()
    if conv.error is not None:
        yield _cc_sse({"error": {**conv.error, "message": up.scrub(str(conv.error.get("message"))), "param": None}})
    else:
        yield b"data: [DONE]\n\n"


async def _relay_responses(up: Upstream, body: dict[str, Any]) -> Response:
    """A Responses upstream: the request goes through with the model mapped, the answer comes
    back as the upstream sent it. An upstream HTTP error is known before any byte is relayed, so
    it becomes an OpenAI error answer even for a stream request."""
    body = {**body, "model": up.model(body["model"])}
    if not body.get("stream"):
        return JSONResponse(await _post(up, "/responses", body))
    client = up.client()
    try:
        resp = await client.send(
            client.build_request("POST", f"{up.url}/responses", json=body, headers=up.headers()), stream=True)
    except httpx.HTTPError as exc:
        log.warning("upstream request failed: %s", up.scrub(str(exc)))
        raise APIError(502, "The upstream could not be reached.", type="server_error",
                       code="upstream_unreachable") from None
    if resp.status_code >= 400:
        failure = up.failure(resp.status_code, await resp.aread())
        await resp.aclose()
        raise APIError(failure.status, failure.message, type=failure.type, code=failure.code)

    # Until the first event arrives nothing is promised: a failure then is an HTTP error answer.
    chunks = with_idle_timeout(resp.aiter_raw(), up.timeout)
    decoder = SSEDecoder()
    head: list[SSEMessage] = []
    try:
        while not head:
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                head = [m for m in decoder.close() if not isinstance(decode_payload(m.data), tuple)]
                break
            head = decoder.feed(chunk)
    except (TimeoutError, httpx.TimeoutException):
        await resp.aclose()
        raise APIError(504, f"The upstream stalled: no data for {up.timeout:g} s.", type="server_error",
                       code="upstream_timeout") from None
    except httpx.HTTPError as exc:
        await resp.aclose()
        log.warning("upstream relay broke: %s", up.scrub(str(exc)))
        raise APIError(502, "The upstream connection was lost before the first event.", type="server_error",
                       code="upstream_disconnected") from None
    if not head:
        await resp.aclose()
        raise APIError(502, "The upstream stream ended before its first event.", type="server_error",
                       code="upstream_protocol_error")
    state = ResponsesRelayState(_echo_fields(body))
    return StreamingResponse(_relay_stream(up, resp, chunks, decoder, head, state),
                             media_type=MEDIA_TYPE, headers=STREAM_HEADERS)


def _echo_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The request fields a response echoes: for a response the relay must make up itself."""
    return {k: v for k, v in body.items() if k in RESPONSE_DEFAULTS or k == "model"}


async def _relay_stream(up: Upstream, resp: httpx.Response, chunks: AsyncIterator[bytes], decoder: SSEDecoder,
                        head: list[SSEMessage], state: ResponsesRelayState) -> AsyncIterator[bytes]:
    """The upstream's events as they came (re-framed one SSE message at a time, so nothing is cut
    mid-message); a break, a stall or an end without a terminal event gets the closing events
    and `error` + `response.failed` from `state`."""
    failure: tuple[str, str] | None = None
    try:
        for msg in head:
            yield _relayed(msg, state)
        async for chunk in chunks:
            for msg in decoder.feed(chunk):
                yield _relayed(msg, state)
        for msg in decoder.close():
            # A last message without its blank line counts when whole; a cut-off one is dropped.
            if isinstance(decode_payload(msg.data), tuple):
                log.warning("upstream stream ended inside an event: its fragment is dropped")
                continue
            yield _relayed(msg, state)
    except (TimeoutError, httpx.TimeoutException):
        failure = (f"The upstream stalled: no data for {up.timeout:g} s.", "upstream_timeout")
    except httpx.HTTPError as exc:
        log.warning("upstream relay broke: %s", up.scrub(str(exc)))
        failure = ("The upstream connection was lost mid-stream.", "upstream_disconnected")
    finally:
        await resp.aclose()
    if not state.done:
        message, code = failure or (state.eof_message, "upstream_protocol_error")
        for event in state.fail(message, code):
            yield encode_event(event)


def _relayed(msg: SSEMessage, state: ResponsesRelayState) -> bytes:
    payload = decode_payload(msg.data)
    if isinstance(payload, dict):
        state.feed(payload)
    prefix = b""
    if payload == "[DONE]" and not state.done:
        # The sentinel ends the stream: what the client is owed goes before it.
        prefix = b"".join(encode_event(e) for e in state.fail(state.eof_message, "upstream_protocol_error"))
    head = f"event: {msg.event}\n" if msg.event is not None else ""
    return prefix + (head + "".join(f"data: {line}\n" for line in msg.data.split("\n")) + "\n").encode()
