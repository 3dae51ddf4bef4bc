"""Test helpers: run the reference server under uvicorn on a loopback port, parse SSE, check streams."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from reference_server.protocol.token_backend import GenerationRequest
from reference_server.sources.backends.scripted import ScriptedBackend


class ServerThread:
    """uvicorn serving `app` on 127.0.0.1:<random port> in a background thread."""

    def __init__(self, app: Any, *, bare: bool = False, backlog: int | None = None,
                 grace: float = 2) -> None:
        """`bare`: no `server`/`date` header of uvicorn's own (byte-for-byte comparisons);
        `backlog`: listen on the socket before uvicorn does (many concurrent clients)."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        if backlog is not None:
            self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                server_header=not bare, date_header=not bare,
                                timeout_graceful_shutdown=int(grace))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
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
def serve(app: Any) -> Iterator[ServerThread]:
    server = ServerThread(app).start()
    try:
        yield server
    finally:
        server.stop()


def sse_events(data: bytes) -> list[dict[str, Any]]:
    """The JSON events of a (well-formed, LF-framed) SSE body, asserting event: == type."""
    events = []
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        name = next(line[7:] for line in lines if line.startswith("event: "))
        payload = "\n".join(line[6:] for line in lines if line.startswith("data: "))
        event = json.loads(payload)
        assert event["type"] == name
        events.append(event)
    return events


def assert_conformant(data: bytes, request: dict[str, Any] | None = None,
                      content_type: str | None = "text/event-stream; charset=utf-8",
                      unknown_fields: frozenset[str] = frozenset()) -> Any:
    """Run the conformance checker; fail with its findings if any is a warning or worse (a
    reference server should not even deviate from what the official API does).

    `unknown_fields`: fields the request itself carried that are newer than the contracts; the
    server echoes them as the live API does, and the checker rightly reports them as unknown."""
    import conformance

    result = conformance.check_sse(data, request=request, content_type=content_type)
    errors = [f for f in result.errors("warning")
              if not any(f'unknown field "{name}"' in f.message for name in unknown_fields)]
    assert not errors, "\n".join(str(f) for f in errors)
    return result


class RecordingBackend(ScriptedBackend):
    """The scripted backend, keeping every prompt it was asked to complete."""

    def __init__(self, encoding: Any) -> None:
        super().__init__(encoding=encoding)
        self.encoding = encoding
        self.prompts: list[str] = []

    def generate(self, request: GenerationRequest) -> Any:
        self.prompts.append(self.encoding.decode(list(request.prompt_tokens)))
        return super().generate(request)
