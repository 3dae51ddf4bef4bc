"""A protocol-perfect OpenAI Responses API server (harmony encoding, pluggable token backends).

It never imports `conformance`: the checker judges this server, so they share no logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app"]


def create_app(backend: Any = None, encoding: Any = None, store: Any = None, settings: Any = None) -> FastAPI:
    """See `reference_server.web.app.create_app` (imported lazily: `import reference_server` stays cheap)."""
    from .web.app import create_app as _create_app

    return _create_app(backend=backend, encoding=encoding, store=store, settings=settings)
