"""An app factory that reads its upstream URL from an environment variable (for --upstream-env)."""

from __future__ import annotations

import os
from typing import Any

ENV = "CONFORMANCE_TEST_UPSTREAM_URL"


def create_app() -> Any:
    from reference_server.web.proxy import create_proxy_app

    return create_proxy_app("anthropic", os.environ[ENV], api_key="sk-proxy-client-key-123")
