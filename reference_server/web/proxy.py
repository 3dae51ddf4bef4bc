"""Proxy mode: a real Responses endpoint in front of a Chat Completions or Anthropic Messages
upstream (storage, previous_response_id, validation, auth: the reference server's own HTTP layer
over an `UpstreamSource`), or a relay in front of a Responses upstream (`relay`).

IO only: every translation is a pure converter from `reference_server.sources.adapters`; the upstream
calls go through `adapters.upstream_client`. The upstream key is sent upstream and nowhere else.
The command line flags are `proxy_cli`'s.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import httpx
from fastapi import FastAPI

from reference_server.core.settings import Settings
from reference_server.core.store import ResponseStore
from reference_server.sources.adapters.upstream_client import Upstream
from reference_server.sources.upstream_source import UpstreamSource
from reference_server.web.relay import relay_app

UpstreamKind = Literal["chat-completions", "anthropic", "responses"]
UPSTREAMS: tuple[str, ...] = ("chat-completions", "anthropic", "responses")
DEFAULT_TIMEOUT = 60.0


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
    relay instead (see `relay.relay_app`)."""
    if upstream not in UPSTREAMS:
        raise ValueError(f"upstream must be one of {', '.join(UPSTREAMS)}, not {upstream!r}")
    if http_client is not None and transport is not None:
        raise ValueError("create_proxy_app: pass http_client or transport, not both")
    settings = settings or Settings()
    if api_key is not None:
        settings = dataclasses.replace(settings, api_key=api_key)
    up = Upstream(upstream, upstream_url, upstream_api_key, dict(model_map or {}), timeout, http_client, transport)
    if upstream == "responses":
        return relay_app(up, settings)
    # Imported here: relay mode and the command line need none of the server app.
    from reference_server.web.app import create_app

    app = create_app(store=store, settings=settings, source=UpstreamSource(up))
    app.title = "Responses proxy"
    return app
