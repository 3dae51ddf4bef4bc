"""The matrix's moving parts: a reference-server process and a recording HTTP proxy.

Every client talks to the proxy, which forwards to the server and keeps each exchange (request
body, status, JSON or SSE answer). Cells assert on what the client itself returned and on what
actually went over the wire (e.g. that a tool's output reached the model in the next request).
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection"}
_FINAL = ("response.completed", "response.incomplete", "response.failed")
# A server that sends nothing for this long has hung (a torch turn takes seconds): the proxy gives
# up, so a hung request costs a minute, not the cell's whole timeout.
STALL_SECONDS = 60.0


@dataclass
class Exchange:
    method: str
    path: str
    request: Any = None  # the parsed JSON body (None when absent or not decodable)
    status: int = 0
    response: Any = None  # a JSON answer, or the final Response object of an SSE stream
    events: list[str] = field(default_factory=list)  # SSE event types, in order
    error: str | None = None  # the proxy's own failure to reach the server
    # Set once the proxy has recorded the whole answer. A client may exit as soon as it has read
    # the terminal event, before the proxy has parsed the stream: cells wait for this first.
    finished: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def is_create(self) -> bool:
        return self.method == "POST" and self.path.split("?")[0].rstrip("/").endswith("/responses")

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "status": self.status, "error": self.error,
                "request": self.request, "events": self.events, "response": self.response}

    def describe(self) -> str:
        what = f"{self.method} {self.path} -> {self.status}" + (f" ({self.error})" if self.error else "")
        if self.status >= 400 and isinstance(self.response, dict):
            err = self.response.get("error", self.response)
            what += f": {json.dumps(err)[:400]}"
        return what


def _decode_body(raw: bytes, encoding: str | None) -> Any:
    try:
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding:
            return None
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _final_response(sse: str) -> Any:
    for block in sse.split("\n\n"):
        data = "".join(line[5:].lstrip(" ") for line in block.splitlines() if line.startswith("data:"))
        if not data:
            continue
        with contextlib.suppress(ValueError):
            event = json.loads(data)
            if isinstance(event, dict) and event.get("type") in _FINAL:
                return event.get("response")
    return None


class RecordingProxy:
    """A plain HTTP/1.1 forwarder; answers are streamed through chunk by chunk (SSE stays live)."""

    def __init__(self, stall_seconds: float = STALL_SECONDS) -> None:
        self.stall_seconds = stall_seconds
        self.upstream: tuple[str, int] = ("127.0.0.1", 0)
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: the matrix reports what matters
                pass

            def do_GET(self) -> None:
                proxy._forward(self)

            do_POST = do_DELETE = do_PUT = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def settle(self, timeout: float = 10.0) -> None:
        """Wait (a bounded time) until every exchange so far is fully recorded."""
        deadline = time.monotonic() + timeout
        with self._lock:
            pending = list(self.exchanges)
        for ex in pending:
            ex.finished.wait(max(0.0, deadline - time.monotonic()))

    def take(self) -> list[Exchange]:
        """Every exchange so far, once recorded: the client can see its last byte before the proxy
        has parsed the stream, so taking without settling races the recording."""
        self.settle()
        with self._lock:
            taken, self.exchanges = self.exchanges, []
        return taken

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _read_body(self, h: BaseHTTPRequestHandler) -> bytes:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    h.rfile.readline()
                    return bytes(out)
                out += h.rfile.read(size)
                h.rfile.readline()
        return h.rfile.read(int(h.headers.get("Content-Length") or 0))

    def _forward(self, h: BaseHTTPRequestHandler) -> None:
        body = self._read_body(h)
        ex = Exchange(h.command, h.path, _decode_body(body, h.headers.get("Content-Encoding")))
        with self._lock:
            self.exchanges.append(ex)
        try:
            self._relay(h, body, ex)
        finally:
            ex.finished.set()

    def _relay(self, h: BaseHTTPRequestHandler, body: bytes, ex: Exchange) -> None:
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP}
        conn = http.client.HTTPConnection(*self.upstream, timeout=self.stall_seconds)
        try:
            conn.request(h.command, h.path, body=body or None, headers=headers)
            resp = conn.getresponse()
        except TimeoutError:
            ex.error = f"proxy: the server sent no answer in {self.stall_seconds:g} s (hung)"
            h.send_error(504, ex.error)
            return
        except OSError as exc:
            ex.error = f"proxy: server unreachable ({exc})"
            h.send_error(502, ex.error)
            return
        ex.status = resp.status
        h.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in _HOP:
                h.send_header(k, v)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        captured = bytearray()
        try:
            while chunk := resp.read1(65536):
                captured += chunk
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                h.wfile.flush()
            h.wfile.write(b"0\r\n\r\n")
        except TimeoutError:  # the stream stopped mid-way: cut it, the client sees a broken stream
            ex.error = f"proxy: the stream stalled for {self.stall_seconds:g} s (hung) after {len(captured)} bytes"
            h.close_connection = True
        except OSError:  # the client went away: keep what was seen
            pass
        finally:
            conn.close()
        text = captured.decode("utf-8", "replace")
        if "text/event-stream" in (resp.getheader("Content-Type") or ""):
            ex.events = [line[6:].strip() for line in text.splitlines() if line.startswith("event:")]
            ex.response = _final_response(text)
        else:
            with contextlib.suppress(ValueError):
                ex.response = json.loads(text)


class ServerProcess:
    """`python -m reference_server --backend B --port 0 --db :memory:`, its URL read from stdout."""

    def __init__(self, backend: str, log_path: Path) -> None:
        self.backend = backend
        self.log_path = log_path
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.model = ""

    def start(self, timeout: float = 300) -> None:
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reference_server", "--backend", self.backend, "--port", "0",
             "--db", ":memory:", "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=log, text=True)
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.proc.stdout
        assert stdout is not None
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"reference server ({self.backend}) printed no URL in {timeout:.0f} s") from None
        if "serving" not in line:
            self.stop()
            raise RuntimeError(f"reference server ({self.backend}) did not start: {line.strip()}; see {self.log_path}")
        self.port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        self.model = line.split("model ")[1].split(",")[0]
        self._wait_listening(deadline=time.monotonic() + timeout)

    def _wait_listening(self, deadline: float) -> None:
        # The URL is printed before uvicorn binds the port (the torch backend takes seconds more).
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"reference server ({self.backend}) exited: {self.log_tail(3)}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                try:
                    conn.request("GET", "/health")
                    if conn.getresponse().status == 200:
                        return
                finally:
                    conn.close()
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"reference server ({self.backend}) never answered /health")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
