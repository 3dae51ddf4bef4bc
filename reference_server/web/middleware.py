"""ASGI middleware at the HTTP edge: request-body size limit (413), API-key check (401), and the
`Allow` header of 405 answers.

The first two answer with the OpenAI error shape before any route runs; neither touches response bodies,
so streaming and disconnect detection are unaffected.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..protocol.errors import error_body
from ..protocol.sse import dumps

# Routes that answer without a key (liveness probes).
PUBLIC_PATHS = frozenset({"/health"})


async def _send_error(send: Send, status: int, message: str, *, code: str | None,
                      headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = dumps(error_body(message, type="invalid_request_error", code=code))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def authorized(scope: Scope, api_key: bytes | None) -> bool:
    """Whether the request (an HTTP request or a WebSocket upgrade) carries the key, if one is set."""
    if api_key is None or scope.get("path") in PUBLIC_PATHS:
        return True
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            # compare_digest: the time taken must not reveal how much of the key matched.
            return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), api_key)
    return False


class GuardMiddleware:
    """Rejects unauthenticated requests (when a key is set) and bodies over `max_body_bytes`.

    The body is read here in full (it is JSON and must be parsed whole anyway) and replayed to
    the app; later `receive()` calls go to the server, so `http.disconnect` still arrives.
    """

    def __init__(self, app: ASGIApp, *, api_key: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.max_body_bytes = max_body_bytes

    def _authorized(self, scope: Scope) -> bool:
        return authorized(scope, self.api_key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._authorized(scope):
            await _send_error(send, 401, "Incorrect API key provided. Pass it as 'Authorization: Bearer <key>'.",
                              code="invalid_api_key", headers=[(b"www-authenticate", b"Bearer")])
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                declared_size = int(declared)
            except ValueError:
                await _send_error(send, 400, "Invalid Content-Length header.", code=None)
                return
            if declared_size > self.max_body_bytes:
                await self._too_large(send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _send_error(send, 413, f"Request body too large: the limit is {self.max_body_bytes} bytes.",
                          code="request_too_large")


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """The methods some route answers at this request's path (HEAD comes with GET)."""
    methods: set[str] = set()
    for route in router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


class AllowHeaderMiddleware:
    """Adds `Allow` to 405 answers, listing every method routed at the path (RFC 9110 15.5.6:
    a 405 MUST carry it). Starlette's own header names only the first matching route's methods,
    and the JSON error handler drops it."""

    def __init__(self, app: ASGIApp, *, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                allow = ", ".join(allowed_methods(self.router, scope)).encode()
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, send_with_allow)


def middleware_options(settings: Any) -> dict[str, Any]:
    return {"api_key": settings.api_key, "max_body_bytes": settings.max_body_bytes}
