"""Serving helpers for the proxy tests: apps under uvicorn on 127.0.0.1 (free port) in a thread,
and an ASGI wrapper that keeps the bytes an upstream really sent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from conformance.proxy import ProxyApp, ProxyOptions


class Served:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(2048)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                server_header=False, date_header=False, timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 60  # a hang guard: a loaded machine starts slowly
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


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
