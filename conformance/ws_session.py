"""A recording WebSocket client for the Responses API: every message and the close go into a
transcript (conformance.transcript's format), with the exact text of each message.

Used by the live runner's `websocket` scenarios and by `record`; needs the `websockets` package
(the `run` extra).
"""

from __future__ import annotations

import json
import time
from typing import Any

from conformance.protocol import TERMINAL_TYPES


class UpgradeRefused(Exception):
    """The server answered the upgrade with an HTTP status instead of switching protocols."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"the WebSocket upgrade was answered with HTTP {status}")
        self.status = status
        self.body = body


class RecordingSocket:
    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 30.0,
                 headers: dict[str, str] | None = None) -> None:
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import connect

        self.records: list[dict[str, Any]] = []
        self.timeout = timeout
        self._t0 = time.monotonic()
        all_headers = dict(headers or {})
        if api_key:
            all_headers["Authorization"] = f"Bearer {api_key}"
        ws_url = url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        try:
            self._ws = connect(ws_url, additional_headers=all_headers, max_size=None, open_timeout=timeout)
        except InvalidStatus as exc:
            raise UpgradeRefused(exc.response.status_code, exc.response.body or b"") from None
        self.closed = False

    def _t(self) -> float:
        return round(time.monotonic() - self._t0, 6)

    def send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        self.records.append({"dir": "client", "text": text, "t": self._t()})
        self._ws.send(text)

    def recv(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next server message, or None once the socket is closed (the close is recorded)."""
        from websockets.exceptions import ConnectionClosed

        try:
            text = self._ws.recv(timeout=self.timeout if timeout is None else timeout)
        except ConnectionClosed as exc:
            self._record_close(exc.rcvd.code if exc.rcvd else 1006, exc.rcvd.reason if exc.rcvd else "", "server")
            return None
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.records.append({"dir": "server", "text": text, "t": self._t()})
        try:
            value = json.loads(text)
        except ValueError:
            return {"type": None, "_unparsed": text}
        return value if isinstance(value, dict) else {"type": None, "_unparsed": text}

    def until(self, *types: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """Messages up to and including the first whose type is in `types` (or an error outside
        a response when "error" is listed); stops early if the socket closes."""
        out: list[dict[str, Any]] = []
        while True:
            event = self.recv(timeout)
            if event is None:
                return out
            out.append(event)
            if event.get("type") in types:
                return out

    def response(self, timeout: float | None = None) -> list[dict[str, Any]]:
        """One answer to a create: a response's events up to its terminal event, or one error."""
        out: list[dict[str, Any]] = []
        started = False
        while True:
            event = self.recv(timeout)
            if event is None:
                return out
            out.append(event)
            kind = event.get("type")
            started = started or kind == "response.created"
            if kind in TERMINAL_TYPES or (kind == "error" and not started):
                return out

    def _record_close(self, code: int, reason: str, by: str) -> None:
        if not self.closed:
            self.closed = True
            self.records.append({"dir": "close", "by": by, "code": code, "reason": reason, "t": self._t()})

    def close(self, code: int = 1000) -> None:
        if not self.closed:
            self._record_close(code, "", "client")
            self._ws.close(code)

    def __enter__(self) -> RecordingSocket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def jsonl(self) -> str:
        return "".join(json.dumps(r) + "\n" for r in self.records)
