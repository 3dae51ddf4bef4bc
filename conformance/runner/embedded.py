"""The embedded target: the reference server under uvicorn in a background thread.

The ONLY module of `conformance` that imports `reference_server` (the checker and the server
share no logic; this just launches it). Binds 127.0.0.1 on a free port with a generated key.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from typing import Any

from conformance.runner.errors import TargetError


def _default_backend() -> str:
    try:
        from reference_server.sources.backends import default_backend_name
    except ImportError:
        return "scripted"
    return default_backend_name()


class EmbeddedServer:
    """`start()` returns once the server accepts connections; `stop()` shuts it down."""

    def __init__(
        self, *, api_key: str | None = None, backend: str | None = None, startup_timeout: float = 60.0
    ) -> None:
        # A generated key makes the auth scenarios meaningful against the reference server.
        self.api_key = api_key or f"sk-embedded-{secrets.token_urlsafe(18)}"
        # None: what `reference-server` itself runs by default (torch's tiny model when torch
        # is installed, else the scripted backend).
        self.backend_name = backend or _default_backend()
        self.startup_timeout = startup_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def _make_app(self) -> Any:
        try:
            from reference_server import create_app
            from reference_server.core.settings import Settings
        except ImportError as exc:
            from conformance.extras import missing_extra

            why = missing_extra(exc) or f"is not available ({exc})"
            raise TargetError(f"the embedded reference server {why}; or run against a server "
                              "with --base-url URL") from None
        try:
            from reference_server.sources.backends import get_backend

            backend = get_backend(self.backend_name)
            return create_app(backend=backend, settings=Settings(api_key=self.api_key))
        except Exception as exc:  # its construction failing is a target problem, not a crash here
            from conformance.extras import missing_extra

            needs = missing_extra(exc) or missing_extra(exc.__cause__)
            if needs:
                raise TargetError(f"the embedded reference server {needs}; or run against a server "
                                  "with --base-url URL") from None
            raise TargetError(f"the embedded reference server failed to start: {type(exc).__name__}: {exc}") from None

    def start(self) -> None:
        import uvicorn

        app = self._make_app()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)

        def serve() -> None:
            try:
                self._server.run(sockets=[sock])
            except BaseException as exc:  # reported by start() / stop(), never lost in the thread
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=serve, name="embedded-reference-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                why = f"{type(self._error).__name__}: {self._error}" if self._error else "did not start in time"
                raise TargetError(f"the embedded reference server failed to start: {why}")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():  # a stuck stream: give up politely, the thread is a daemon
                self._server.force_exit = True
                self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
