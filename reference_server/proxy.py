"""Proxy mode: a real Responses endpoint in front of a Chat Completions or Anthropic Messages
upstream (storage, previous_response_id, validation, auth: the reference server's own HTTP layer
over an `UpstreamSource`), or a relay in front of a Responses upstream.

IO only: every translation is a pure converter from `reference_server.adapters`; the upstream
calls go through `adapters.upstream_client`. The upstream key is sent upstream and nowhere else.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from reference_server.adapters.anthropic import json_tool_name, responses_to_anthropic_request
from reference_server.adapters.anthropic_stream import AnthropicToResponsesStream, message_to_events
from reference_server.adapters.cc_stream import CCToResponsesStream
from reference_server.adapters.chat_completions import (
    cc_to_responses_request,
    completion_to_chunks,
    response_to_completion,
    responses_to_cc_request,
)
from reference_server.adapters.common import ConversionError
from reference_server.adapters.responses_relay import ResponsesRelayState
from reference_server.adapters.responses_to_cc_stream import ResponsesToCCStream
from reference_server.adapters.sse_decode import SSEDecoder, SSEMessage
from reference_server.adapters.upstream_client import (
    Upstream,
    UpstreamFailure,
    decode_payload,
    with_idle_timeout,
)
from reference_server.errors import APIError, install_error_handlers
from reference_server.events import RESPONSE_DEFAULTS, Event
from reference_server.json_body import decode_json_body
from reference_server.middleware import GuardMiddleware
from reference_server.request import CreateRequest, PassiveTool
from reference_server.service import Prepared
from reference_server.settings import Settings
from reference_server.sse import MEDIA_TYPE, STREAM_HEADERS, encode_event
from reference_server.store import ResponseStore

log = logging.getLogger("reference_server.proxy")

UpstreamKind = Literal["chat-completions", "anthropic", "responses"]
UPSTREAMS: tuple[str, ...] = ("chat-completions", "anthropic", "responses")
DEFAULT_TIMEOUT = 60.0


# ---------------------------------------------------------------------------------------------
# The upstream-driven ResponseSource (chat-completions, anthropic)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamCall:
    """What `UpstreamSource.plan` made of a request: the upstream body and how to read the answer."""

    path: str
    body: dict[str, Any]
    stream: bool
    request: dict[str, Any]  # the Responses-shaped request the converters were given
    json_tool: str | None = None  # Anthropic: the synthetic structured-output tool


def upstream_request(req: CreateRequest, context: list[dict[str, Any]]) -> dict[str, Any]:
    """The Responses request the converters translate: the stored conversation expanded in
    front of the new input, only what the upstream should see (metadata, store, ids and the
    proxy's own bookkeeping stay here), sampling values only when they differ from the default
    (Anthropic refuses temperature and top_p together)."""
    _check_tool_outputs([*context, *req.input_items], len(context))
    out: dict[str, Any] = {"model": req.model, "input": [*context, *req.input_items], "stream": req.stream}
    if req.instructions:
        out["instructions"] = req.instructions
    # Tools the model never calls here (web_search, tool_search) are not forwarded either.
    tools = [t.echo() for t in req.tools if not isinstance(t, PassiveTool)]
    if tools:
        out["tools"] = tools
        out["tool_choice"] = req.tool_choice
        # max_tool_calls 1 is the one limit an upstream can be asked for; larger ones are not enforced.
        out["parallel_tool_calls"] = req.parallel_tool_calls and req.max_tool_calls != 1
    if req.temperature != 1.0:
        out["temperature"] = req.temperature
    if req.top_p != 1.0:
        out["top_p"] = req.top_p
    if req.max_output_tokens is not None:
        out["max_output_tokens"] = req.max_output_tokens
    if req.reasoning.get("effort") is not None:
        out["reasoning"] = {"effort": req.reasoning["effort"]}
    if req.text["format"]["type"] != "text":
        out["text"] = {"format": req.text["format"]}
    if req.user:
        out["user"] = req.user
    if req.safety_identifier:
        out["safety_identifier"] = req.safety_identifier
    return out


def _check_tool_outputs(items: list[dict[str, Any]], offset: int) -> None:
    """The reference server's rule: a function_call_output must answer a call made earlier."""
    calls: set[str] = set()
    for position, item in enumerate(items):
        if item.get("type") == "function_call":
            calls.add(item["call_id"])
        elif item.get("type") == "function_call_output" and item["call_id"] not in calls:
            param = f"input[{position - offset}].call_id" if position >= offset else "previous_response_id"
            raise APIError(400, f"No tool call found for function call output with call_id {item['call_id']}.",
                           param=param, code="invalid_value")


class UpstreamSource:
    """A `ResponseSource` whose output comes from a Chat Completions or Anthropic upstream."""

    name = "proxy"

    def __init__(self, up: Upstream) -> None:
        if up.kind not in ("chat-completions", "anthropic"):
            raise ValueError(f"UpstreamSource serves chat-completions or anthropic upstreams, not {up.kind!r}")
        self.up = up

    async def model_ids(self) -> list[str]:
        return await self.up.model_ids()

    def health(self) -> dict[str, Any]:
        return {"mode": "proxy", "upstream": self.up.kind}

    async def aclose(self) -> None:
        await self.up.aclose()

    async def plan(self, req: CreateRequest, context: list[dict[str, Any]]) -> UpstreamCall:
        request = upstream_request(req, context)
        model = self.up.model(req.model)
        try:
            if self.up.kind == "chat-completions":
                return UpstreamCall("/chat/completions", responses_to_cc_request(request, model=model),
                                    req.stream, request)
            return UpstreamCall("/messages", responses_to_anthropic_request(request, model=model), req.stream,
                                request, json_tool_name(request))
        except ConversionError as exc:
            raise APIError(400, exc.message, param=exc.param, code="unsupported_value") from None

    def _converter(self, prep: Prepared) -> CCToResponsesStream | AnthropicToResponsesStream:
        call: UpstreamCall = prep.plan
        if self.up.kind == "chat-completions":
            return CCToResponsesStream(call.request, writer=prep.writer)
        return AnthropicToResponsesStream(call.request, writer=prep.writer, json_tool=call.json_tool)

    async def run(self, prep: Prepared) -> AsyncIterator[Event]:
        call: UpstreamCall = prep.plan
        conv = self._converter(prep)
        if call.stream:
            async for event in self._streamed(call, conv):
                yield event
            return
        try:
            answer = await self.up.post_json(call.path, call.body)
            replay = (completion_to_chunks(answer) if self.up.kind == "chat-completions"
                      else message_to_events(answer))
        except UpstreamFailure as exc:
            prep.http_error = APIError(exc.status, exc.message, type=exc.type, code=exc.code)
            events = conv.fail(exc.message, exc.code)
        except ConversionError as exc:
            message = f"The upstream answer could not be translated: {exc.message}"
            prep.http_error = APIError(502, message, type="server_error", code="upstream_protocol_error")
            events = conv.fail(message, "upstream_protocol_error")
        else:
            events = []
            for piece in replay:
                events += conv.feed(piece)
            events += conv.finish()
        for event in events:
            yield event

    async def _streamed(self, call: UpstreamCall,
                        conv: CCToResponsesStream | AnthropicToResponsesStream) -> AsyncIterator[Event]:
        """The converted upstream stream; always ends with a terminal event."""
        up = self.up
        try:
            async with contextlib.aclosing(up.events(call.path, call.body)) as items:
                async for item in items:
                    if isinstance(item, tuple):
                        events = conv.fail(f"The upstream sent data that is not JSON: {item[1]!r}",
                                           "upstream_protocol_error")
                    elif item == "[DONE]":
                        events = conv.finish()
                    else:
                        if isinstance(item, dict) and (item.get("error") or item.get("type") == "error"):
                            # An upstream error message may quote the key: it would be shown and stored.
                            item = json.loads(up.scrub(json.dumps(item)))
                        events = conv.feed(item)
                    for event in events:
                        yield event
                    if conv.done:
                        return
            events = conv.finish()
        except UpstreamFailure as exc:
            events = conv.fail(exc.message, exc.code)
        except TimeoutError:
            events = conv.fail(f"The upstream stalled: no data for {up.timeout:g} s.", "upstream_timeout")
        except httpx.TimeoutException:
            events = conv.fail(f"The upstream did not answer within {up.timeout:g} s.", "upstream_timeout")
        except httpx.HTTPError as exc:
            log.warning("upstream stream broke: %s", up.scrub(str(exc)))
            events = conv.fail("The upstream connection was lost mid-stream.", "upstream_disconnected")
        for event in events:
            yield event


# ---------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------


def create_proxy_app(
    upstream: UpstreamKind,
    upstream_url: str,
    upstream_api_key: str | None = None,
    model_map: dict[str, str] | None = None,
    api_key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    http_client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    store: ResponseStore | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    """The proxy app. `timeout` bounds connecting and every silence of the upstream (a stall
    ends the stream with `response.failed`); `api_key` (when set) is what clients must send
    (it overrides `settings.api_key`). The upstream is reached with `http_client` (kept open:
    it is the caller's), else a client of our own over `transport` (e.g. `httpx.ASGITransport`
    around a fake upstream). `store` defaults to an in-memory one. A Responses upstream gets a
    relay instead (see `_relay_app`)."""
    if upstream not in UPSTREAMS:
        raise ValueError(f"upstream must be one of {', '.join(UPSTREAMS)}, not {upstream!r}")
    if http_client is not None and transport is not None:
        raise ValueError("create_proxy_app: pass http_client or transport, not both")
    settings = settings or Settings()
    if api_key is not None:
        settings = dataclasses.replace(settings, api_key=api_key)
    up = Upstream(upstream, upstream_url, upstream_api_key, dict(model_map or {}), timeout, http_client, transport)
    if upstream == "responses":
        return _relay_app(up, settings)
    from reference_server.app import create_app

    app = create_app(store=store, settings=settings, source=UpstreamSource(up))
    app.title = "Responses proxy"
    return app


# ---------------------------------------------------------------------------------------------
# Responses upstream: a relay (plus Chat Completions served through the reverse converters)
# ---------------------------------------------------------------------------------------------


def _relay_app(up: Upstream, settings: Settings) -> FastAPI:
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



# ---------------------------------------------------------------------------------------------
# Command line (wired into `python -m reference_server`)
# ---------------------------------------------------------------------------------------------


def parse_model_map(pairs: list[str] | None) -> dict[str, str]:
    """`["a=b", "c=d"]` -> {"a": "b", "c": "d"}; raises ValueError naming a malformed pair."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, target = pair.partition("=")
        if not sep or not name or not target:
            raise ValueError(f"--model-map expects CLIENT_MODEL=UPSTREAM_MODEL, got {pair!r}")
        out[name] = target
    return out


def add_proxy_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "proxy mode", "serve /v1/responses through an upstream API instead of a token backend "
                      "(--db, --api-key, --done-sentinel, --nested-errors, --max-body-bytes still apply)")
    group.add_argument("--upstream", choices=UPSTREAMS, help="upstream API kind; enables proxy mode")
    group.add_argument("--upstream-url", help="upstream base URL, e.g. https://api.openai.com/v1")
    group.add_argument("--upstream-api-key", default=None,
                       help="upstream key (default: $UPSTREAM_API_KEY); never logged or returned")
    group.add_argument("--model-map", action="append", metavar="CLIENT=UPSTREAM", default=[],
                       help="rename a model on its way upstream (repeatable); GET /v1/models lists the "
                            "CLIENT names (else the upstream's models)")
    group.add_argument("--upstream-timeout", type=float, default=None,
                       help=f"seconds of upstream silence before the response fails (default {DEFAULT_TIMEOUT:g})")


# Flags of the token-backend path that mean nothing in proxy mode.
_BACKEND_FLAGS = (("backend", "--backend"), ("checkpoint", "--checkpoint"), ("backend_option", "--backend-option"),
                  ("model_id", "--model-id"), ("strict_model", "--strict-model"))


def proxy_args_error(args: argparse.Namespace) -> str | None:
    """Why these flags do not combine (one line), or None. Checks both directions: proxy flags
    without --upstream, backend flags with it."""
    upstream = getattr(args, "upstream", None)
    if upstream is None:
        for attr, flag in (("upstream_url", "--upstream-url"), ("upstream_api_key", "--upstream-api-key"),
                           ("model_map", "--model-map"), ("upstream_timeout", "--upstream-timeout")):
            if getattr(args, attr, None):
                return f"{flag} needs --upstream chat-completions|anthropic|responses"
        return None
    for attr, flag in _BACKEND_FLAGS:
        if getattr(args, attr, None):
            return f"{flag} does not apply in proxy mode (--upstream {upstream})"
    url = getattr(args, "upstream_url", None)
    if not url:
        return f"--upstream {upstream} needs --upstream-url"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"--upstream-url must be an http(s) URL such as https://api.openai.com/v1, got {url!r}"
    timeout = getattr(args, "upstream_timeout", None)
    if timeout is not None and not timeout > 0:
        return f"--upstream-timeout must be positive, got {timeout:g}"
    try:
        parse_model_map(getattr(args, "model_map", None))
    except ValueError as exc:
        return str(exc)
    return None


def app_from_args(args: argparse.Namespace, *, store: ResponseStore | None = None,
                  settings: Settings | None = None) -> FastAPI:
    """The proxy app for parsed flags; SystemExit (one line) when they do not combine."""
    problem = proxy_args_error(args)
    if problem:
        raise SystemExit(problem)
    timeout = getattr(args, "upstream_timeout", None)
    return create_proxy_app(
        args.upstream,
        args.upstream_url,
        upstream_api_key=getattr(args, "upstream_api_key", None) or os.environ.get("UPSTREAM_API_KEY"),
        model_map=parse_model_map(args.model_map),
        api_key=getattr(args, "api_key", None),
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        store=store,
        settings=settings,
    )


def run_from_args(args: argparse.Namespace, *, store: ResponseStore | None = None,
                  settings: Settings | None = None) -> int:
    """Serve the proxy with uvicorn on `args.host`/`args.port`; returns the exit status."""
    import uvicorn

    app = app_from_args(args, store=store, settings=settings)
    host, port = getattr(args, "host", "127.0.0.1"), getattr(args, "port", 8000)
    host_in_url = f"[{host}]" if ":" in host else host
    keyed = (settings is not None and settings.api_key) or getattr(args, "api_key", None)
    print(f"reference-server: proxy mode, serving the Responses API at http://{host_in_url}:{port}/v1 "
          f"in front of {args.upstream} upstream {urlsplit(args.upstream_url).netloc}"
          f"{', API key required' if keyed else ''}", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=getattr(args, "log_level", "info"))
    except OSError as exc:
        print(f"reference-server: error: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0
