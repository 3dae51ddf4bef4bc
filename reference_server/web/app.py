"""The FastAPI application: Responses endpoints over `ResponseService`, errors in OpenAI shape.

`create_app()` with no arguments gives a working server: scripted backend, in-memory store,
no API key. `create_app(source=...)` serves another `ResponseSource` (proxy mode) over the same
HTTP layer.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..core.compact import compact
from ..core.service import ResponseService, ResponseSource
from ..core.settings import Settings
from ..core.store import ResponseStore
from ..protocol.errors import APIError
from ..protocol.events import Event
from ..protocol.json_body import decode_json_body
from ..protocol.sse import DONE, MEDIA_TYPE, STREAM_HEADERS, encode_event
from ..protocol.token_backend import TokenBackend
from .error_handlers import install_error_handlers, openai_error
from .middleware import AllowHeaderMiddleware, GuardMiddleware
from .openapi import install_openapi
from .websocket import install_websocket

_STARTED = int(time.time())
_INLINE_DECODE_BYTES = 64 * 1024  # larger bodies are decoded and validated in a worker thread
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")


async def _read_json(request: Request) -> tuple[Any, bool]:
    """The decoded body, and whether it is large (then decoded in a worker thread)."""
    raw = await request.body()
    if len(raw) > _INLINE_DECODE_BYTES:
        return await anyio.to_thread.run_sync(decode_json_body, raw), True
    return decode_json_body(raw), False


def _bool_query(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise APIError(400, f"Invalid value for '{name}': expected true or false.", param=name, code="invalid_value")


def _int_query(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise APIError(400, f"Invalid value for '{name}': expected an integer.", param=name,
                       code="invalid_type") from None
    if not lo <= number <= hi:
        raise APIError(400, f"Invalid value for '{name}': expected an integer between {lo} and {hi}.",
                       param=name, code="invalid_value")
    return number


class _EventStream(StreamingResponse):
    """An SSE response that closes its event source however the response ends. (When the
    client disconnects, Starlette cancels the sending task while the generators are suspended
    and leaves closing them to the garbage collector: generation would stop late, or never if
    a reference cycle kept them alive.)"""

    def __init__(self, events: AsyncGenerator[Event, None], done_sentinel: bool) -> None:
        self._events = events

        async def body() -> AsyncIterator[bytes]:
            async for event in events:
                yield encode_event(event)
            if done_sentinel:
                yield DONE

        super().__init__(body(), media_type=MEDIA_TYPE, headers=STREAM_HEADERS)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
                await self._events.aclose()


def _sse(events: AsyncGenerator[Event, None], done_sentinel: bool) -> StreamingResponse:
    return _EventStream(events, done_sentinel)


async def _final_response(request: Request, events: AsyncGenerator[Event, None]) -> dict[str, Any] | None:
    """The terminal snapshot of a non-stream response, or None if it ended without one. A client
    that disconnects first stops the generation (stored `cancelled`), as for a stream."""
    final: dict[str, Any] | None = None

    async def watch_disconnect(scope: anyio.CancelScope) -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(watch_disconnect, group.cancel_scope)
        async with contextlib.aclosing(events) as stream:
            async for event in stream:
                if event["type"] in _TERMINAL:
                    final = event["response"]
        group.cancel_scope.cancel()
    return final


def _not_found(response_id: str) -> APIError:
    return APIError(404, f"Response with id '{response_id}' not found.")


def create_app(
    backend: TokenBackend | None = None,
    encoding: Any = None,
    store: ResponseStore | None = None,
    settings: Settings | None = None,
    *,
    source: ResponseSource | None = None,
) -> FastAPI:
    """A Responses API server. Defaults: scripted backend, in-memory SQLite store, no API key.

    `source` replaces the harmony/backend path (then `backend` and `encoding` must be None); the
    app owns it and calls its `aclose()` at shutdown."""
    settings = settings or Settings()
    if source is None:
        source = _backend_source(backend, encoding, settings)
    elif backend is not None or encoding is not None:
        raise ValueError("create_app: pass either a source or a backend/encoding, not both")
    owns_store = store is None
    if store is None:
        store = ResponseStore(":memory:")
    service = ResponseService(source, store, settings)
    the_source = source

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await service.shutdown()
        await the_source.aclose()
        if owns_store:
            store.close()

    app = FastAPI(title="Responses reference server", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.service = service
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware, api_key=settings.api_key, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(AllowHeaderMiddleware, router=app.router)

    @app.post("/v1/responses", response_model=None)
    async def create_response(request: Request) -> Response:
        body, large = await _read_json(request)
        prep = await service.prepare(body, large=large)
        req = prep.request
        if req.background:
            job = await service.start_background(prep)
            if req.stream:
                return _sse(job.follow(), settings.done_sentinel)
            return JSONResponse(prep.writer.snapshot())
        if req.stream:
            return _sse(service.stream(prep), settings.done_sentinel)
        final = await _final_response(request, service.stream(prep))
        if final is None and prep.writer.snapshot()["status"] == "cancelled":
            # Nobody is left to read this; the status is for the access log (nginx's convention).
            return openai_error(499, "The client closed the connection before the response was ready.",
                                code="client_disconnected")
        if final is None or final["status"] == "failed":
            if prep.http_error is not None:
                raise prep.http_error
            message = (final or {}).get("error", {}).get("message") or "generation did not finish"
            raise APIError(500, f"The server had an error while processing your request: {message}",
                           type="server_error", code="server_error")
        return JSONResponse(final)

    install_websocket(app, service, settings)

    @app.post("/v1/responses/compact")
    async def compact_response(request: Request) -> dict[str, Any]:
        return await compact(service, decode_json_body(await request.body()))

    @app.get("/v1/responses/{response_id}", response_model=None)
    async def get_response(response_id: str, request: Request) -> Response:
        after = _int_query(request, "starting_after", -1, -1, 2**31)  # checked even when unused
        if _bool_query(request, "stream"):
            job = service.jobs.get(response_id)
            if job is None:
                if await service.get(response_id) is None:
                    raise _not_found(response_id)
                raise APIError(400, "Only background responses created by this server process can be "
                                    "streamed again.", param="stream")
            return _sse(job.follow(after), settings.done_sentinel)
        response = await service.get(response_id)
        if response is None:
            raise _not_found(response_id)
        return JSONResponse(response)

    @app.delete("/v1/responses/{response_id}")
    async def delete_response(response_id: str) -> dict[str, Any]:
        job = service.jobs.pop(response_id, None)
        if job is not None and job.task is not None and not job.task.done():
            job.task.cancel()
            with contextlib.suppress(BaseException):
                await job.task
        if not await anyio.to_thread.run_sync(store.delete, response_id):
            raise _not_found(response_id)
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    @app.get("/v1/responses/{response_id}/input_items")
    async def list_input_items(response_id: str, request: Request) -> dict[str, Any]:
        limit = _int_query(request, "limit", 20, 1, 100)
        order = request.query_params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise APIError(400, "Invalid value for 'order': expected 'asc' or 'desc'.", param="order",
                           code="invalid_value")
        stored = await anyio.to_thread.run_sync(store.get, response_id)
        if stored is None:
            raise _not_found(response_id)
        items = list(stored.input_items)
        if order == "desc":
            items.reverse()
        after = request.query_params.get("after")
        if after is not None:
            ids = [item.get("id") for item in items]
            if after not in ids:
                raise APIError(400, f"Invalid value for 'after': no input item '{after}' in this response.",
                               param="after", code="invalid_value")
            items = items[ids.index(after) + 1:]
        page = items[:limit]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }

    @app.post("/v1/responses/{response_id}/cancel")
    async def cancel_response(response_id: str) -> dict[str, Any]:
        return await service.cancel(response_id)

    def _model(model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": _STARTED, "owned_by": "reference-server"}

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [_model(m) for m in await the_source.model_ids()]}

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str) -> dict[str, Any]:
        if model_id not in await the_source.model_ids():
            raise APIError(404, f"The model '{model_id}' does not exist.", param="model", code="model_not_found")
        return _model(model_id)

    @app.get("/health", response_model=None)
    async def health() -> JSONResponse:
        info = {"status": "ok", **the_source.health(),
                "background_jobs": sum(1 for j in service.jobs.values() if not j.finished)}
        # A source that can serve nothing more (a dead model thread) says why, with a 503.
        return JSONResponse(info, status_code=200 if info["status"] == "ok" else 503)

    install_openapi(app)
    return app


def _backend_source(backend: TokenBackend | None, encoding: Any, settings: Settings) -> ResponseSource:
    from ..sources.backend_source import BackendSource
    from ..sources.backends import get_backend

    if encoding is None:
        from ..protocol.vocab import harmony_encoding

        encoding = harmony_encoding()
    owns_backend = backend is None
    if backend is None:
        backend = get_backend("scripted", encoding=encoding)
    return BackendSource(backend, encoding, settings, owns_backend=owns_backend)
