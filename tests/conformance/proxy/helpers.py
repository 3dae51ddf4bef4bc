"""Serving helpers for the proxy tests: apps under uvicorn on 127.0.0.1 (free port) in a thread,
and an ASGI wrapper that keeps the bytes an upstream really sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from conformance.proxy import ProxyApp, ProxyOptions
from tests.reference_server.helpers import ServerThread


class Served(ServerThread):
    """The reference tests' uvicorn thread, bare (no headers of uvicorn's own: the proxy's bytes
    are compared with a direct connection's) and with a deep backlog (50 concurrent streams)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app, bare=True, backlog=2048, grace=5)


@contextmanager
def serve(app: Any) -> Iterator[Served]:
    server = Served(app).start()
    try:
        yield server
    finally:
        server.stop()


class Tap:
    """ASGI wrapper: `sent[i]` is the body the wrapped app sent for its i-th request, as sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: list[bytes] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []

        async def tapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, tapped)
        finally:
            with self.lock:
                self.sent.append(b"".join(parts))


@contextmanager
def proxied(upstream_app: Any, **options: Any) -> Iterator[tuple[ProxyApp, Served]]:
    """The upstream app and a proxy in front of it, both served; yields (proxy app, its server)."""
    with serve(upstream_app) as upstream:
        proxy = ProxyApp(ProxyOptions(upstream_url=upstream.url + "/v1", **options))
        with serve(proxy) as front:
            yield proxy, front
