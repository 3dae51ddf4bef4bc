"""Proxy-mode apps in front of the fake upstreams, in process (no socket): what the live
conformance runner is pointed at to check proxy mode end to end.

    conformance run --app reference_server.testing.proxy_targets:chat_completions_proxy --api-key sk-proxy-demo
    conformance run --app reference_server.testing.proxy_targets:anthropic_proxy --api-key sk-proxy-demo
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from fastapi import FastAPI

from reference_server.testing.fake_upstreams import (
    create_anthropic_app,
    create_chat_completions_app,
)
from reference_server.web.proxy import create_proxy_app

# The key these demo proxies require (testing only; auth scenarios need one to run).
DEMO_API_KEY = "sk-proxy-demo"
# The fake upstream's own key: the proxy sends it, the fake checks it.
FAKE_UPSTREAM_KEY = "sk-fake-upstream"
FAKE_UPSTREAM_URL = "http://fake-upstream/v1"


def proxy_over_fake(kind: Literal["chat-completions", "anthropic"], *, api_key: str | None = DEMO_API_KEY,
                    model_map: dict[str, str] | None = None, **fake_options: Any) -> FastAPI:
    """A proxy app whose upstream is a fresh fake of `kind`, reached over httpx's ASGI transport.
    The fake is `app.state.fake_upstream` (its recorded requests: `.state.requests`)."""
    factory = create_chat_completions_app if kind == "chat-completions" else create_anthropic_app
    fake = factory(api_key=FAKE_UPSTREAM_KEY, **fake_options)
    app = create_proxy_app(kind, FAKE_UPSTREAM_URL, upstream_api_key=FAKE_UPSTREAM_KEY, model_map=model_map,
                           api_key=api_key, transport=httpx.ASGITransport(app=fake))
    app.state.fake_upstream = fake
    return app


chat_completions_proxy = proxy_over_fake("chat-completions")
anthropic_proxy = proxy_over_fake("anthropic")
