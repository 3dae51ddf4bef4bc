"""What the runner talks to: an HTTP base URL, an in-process ASGI app, or the embedded server.

A `Target` knows its base URL, how to authenticate, and how to build the httpx transport; it
never appears in reports with its secrets (`label` is the printable name).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from conformance.runner.errors import TargetError
from conformance.runner.lifespan import Lifespan, LifespanError

# Base URL used for in-process apps when none is given: OpenAI-style paths under /v1.
DEFAULT_APP_BASE_URL = "http://asgi-app/v1"


@dataclass
class Target:
    base_url: str
    label: str
    kind: Literal["url", "app", "embedded"]
    api_key: str | None = None
    auth_header: str = "Authorization"
    bearer: bool = True
    app: Any = None  # ASGI app for kind "app"
    _lifespan: Lifespan | None = field(default=None, repr=False)

    def auth_headers(self, api_key: str | None = None) -> dict[str, str]:
        """Headers that carry `api_key` (default: the target's); empty without a key."""
        key = self.api_key if api_key is None else api_key
        if not key:
            return {}
        return {self.auth_header: f"Bearer {key}" if self.bearer else key}

    def secrets(self) -> list[str]:
        """Strings that must never appear in a report."""
        out = []
        if self.api_key:
            out.append(self.api_key)
            out.extend(self.auth_headers().values())
        return out

    def transport(self) -> httpx.AsyncBaseTransport | None:
        if self.app is None:
            return None
        app = self._lifespan.wrap() if self._lifespan else self.app
        # A crashing app becomes a 500, as a real server would answer, not an exception here.
        return httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def astart(self) -> None:
        """Run the in-process app's lifespan startup (no-op for URL targets)."""
        if self.app is None or self._lifespan is not None:
            return
        lifespan = Lifespan(self.app)
        try:
            await lifespan.startup()
        except LifespanError as exc:
            raise TargetError(f"the app's startup failed: {exc}") from None
        self._lifespan = lifespan

    async def aclose(self) -> None:
        if self._lifespan is not None:
            lifespan, self._lifespan = self._lifespan, None
            await lifespan.shutdown()


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TargetError(f"--base-url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {url!r}")
    return url.rstrip("/")


def base_url_target(
    url: str, *, api_key: str | None = None, auth_header: str = "Authorization", bearer: bool = True
) -> Target:
    base = _check_base_url(url)
    return Target(base_url=base, label=base, kind="url", api_key=api_key, auth_header=auth_header, bearer=bearer)


def is_app_factory(obj: Any) -> bool:
    """A plain (not async) function or method that needs no argument: a factory such as
    `create_app`, not an ASGI app (which takes scope, receive, send)."""
    if isinstance(obj, type) or inspect.iscoroutinefunction(obj):
        return False
    if not (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return False  # an app object (FastAPI, Starlette) is called per request
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    return not any(p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)


def load_app(spec: str) -> Any:
    """Import `module:attr` (attr may be dotted); a factory (`module:create_app`, see
    `is_app_factory`) is called once to build the app. Cwd is importable."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise TargetError(f"--app must look like module:attr (e.g. myserver.main:app), got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure is the user's app: report it in one line
        raise TargetError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    for name in attr.split("."):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise TargetError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise TargetError(f"{spec} is not an ASGI application (not callable)")
    if is_app_factory(obj):
        try:
            obj = obj()
        except Exception as exc:  # the user's factory: one line, no traceback
            raise TargetError(f"{spec} looks like an app factory, but calling {attr}() failed: "
                              f"{type(exc).__name__}: {exc}") from None
        if not callable(obj):
            raise TargetError(f"{spec} is a factory whose result is not an ASGI application "
                              f"({type(obj).__name__})")
    return obj


def app_target(
    app: Any,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    auth_header: str = "Authorization",
    bearer: bool = True,
    label: str | None = None,
) -> Target:
    """An in-process ASGI app (`module:attr` string or the app object), no socket."""
    if isinstance(app, str):
        label = label or f"app {app}"
        app = load_app(app)
    base = _check_base_url(base_url or DEFAULT_APP_BASE_URL)
    return Target(
        base_url=base,
        label=label or f"app {getattr(app, '__module__', '?')}",
        kind="app",
        api_key=api_key,
        auth_header=auth_header,
        bearer=bearer,
        app=app,
    )


@contextlib.contextmanager
def embedded_target(*, api_key: str | None = None, backend: str | None = None) -> Iterator[Target]:
    """Start the reference server on 127.0.0.1 (random port, generated key); stop it after."""
    from conformance.runner.embedded import EmbeddedServer

    server = EmbeddedServer(api_key=api_key, backend=backend)
    server.start()
    try:
        yield Target(
            base_url=server.base_url,
            label=f"embedded reference server ({server.backend_name} backend)",
            kind="embedded",
            api_key=server.api_key,
        )
    finally:
        server.stop()


@contextlib.contextmanager
def open_target(
    *,
    base_url: str | None = None,
    app: str | Any | None = None,
    reference: bool = False,
    api_key: str | None = None,
    auth_header: str = "Authorization",
    bearer: bool = True,
    reference_backend: str | None = None,
) -> Iterator[Target]:
    """One target from CLI-style choices; the embedded reference server when none is given
    (it then requires `api_key` when one is given, else a generated one)."""
    if reference and (base_url or app):
        raise TargetError("--reference cannot be combined with --base-url or --app (nor can --reference-backend)")
    if app is not None:
        yield app_target(app, base_url=base_url, api_key=api_key, auth_header=auth_header, bearer=bearer)
    elif base_url:
        yield base_url_target(base_url, api_key=api_key, auth_header=auth_header, bearer=bearer)
    else:
        with embedded_target(api_key=api_key, backend=reference_backend) as target:
            yield target
