"""ASGI lifespan for in-process targets: httpx's ASGITransport never sends lifespan events.

Runs an app's startup before the first request and its shutdown at the end, and hands the
lifespan `state` to every request scope the way uvicorn does (Starlette apps rely on it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class LifespanError(RuntimeError):
    """The app reported `lifespan.startup.failed` (or crashed during startup)."""


class Lifespan:
    """Drives one app's lifespan protocol; `wrap()` is the app to send requests to."""

    def __init__(self, app: ASGIApp, *, timeout: float = 30.0) -> None:
        self.app = app
        self.timeout = timeout
        self.state: dict[str, Any] = {}
        self.supported = False
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._to_app.get, self._from_app.put)
        except BaseException as exc:  # an app without lifespan support raises: that is allowed
            await self._from_app.put({"type": "_crashed", "message": f"{type(exc).__name__}: {exc}"})
            if not isinstance(exc, Exception):
                raise
        finally:
            await self._from_app.put(None)

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        msg = await asyncio.wait_for(self._from_app.get(), self.timeout)
        if msg is None or msg["type"] == "_crashed":
            # ASGI spec: an app that raises on the lifespan scope does not support it.
            return
        if msg["type"] == "lifespan.startup.failed":
            raise LifespanError(msg.get("message") or "lifespan startup failed")
        self.supported = msg["type"] == "lifespan.startup.complete"

    async def shutdown(self) -> None:
        if self._task is None:
            return
        if self.supported and not self._task.done():
            await self._to_app.put({"type": "lifespan.shutdown"})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wait_shutdown(), self.timeout)
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        self._task = None

    async def _wait_shutdown(self) -> None:
        while True:
            msg = await self._from_app.get()
            if msg is None or msg["type"].startswith("lifespan.shutdown") or msg["type"] == "_crashed":
                return

    def wrap(self) -> ASGIApp:
        """The app with a copy of the lifespan state in each request scope."""
        app, state = self.app, self.state

        async def with_state(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] in ("http", "websocket") and "state" not in scope:
                scope = {**scope, "state": dict(state)}
            await app(scope, receive, send)

        return with_state
