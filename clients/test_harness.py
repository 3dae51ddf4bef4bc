"""The matrix's own machinery: the recording proxy passes bytes through unchanged and keeps what
the cells assert on; the matrix reports failures and skips."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from _harness import RecordingProxy
from _matrix import Matrix

SSE = (b"event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
       b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\"}}\n\n")


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("hang"):
            time.sleep(2)
            return
        if body.get("linger"):  # the whole stream, then the connection stays open a while
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(SSE)
            self.wfile.flush()
            time.sleep(0.3)
            self.close_connection = True
            return
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(SSE)))
            self.end_headers()
            self.wfile.write(SSE)
            return
        answer = json.dumps({"error": {"message": "Unknown parameter: 'x'.", "param": "x"}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    p = RecordingProxy(stall_seconds=0.5)
    p.upstream = ("127.0.0.1", upstream.server_address[1])
    try:
        yield p
    finally:
        p.close()
        upstream.shutdown()
        upstream.server_close()


def test_proxy_passes_sse_through_and_records_the_final_response(proxy: RecordingProxy) -> None:
    got = httpx.post(f"{proxy.base_url}/responses", json={"stream": True, "input": "hi"})
    assert got.status_code == 200 and got.content == SSE
    (ex,) = proxy.take()
    assert ex.is_create and ex.request == {"stream": True, "input": "hi"}
    assert ex.events == ["response.created", "response.completed"]
    assert ex.response == {"id": "resp_1"}


def test_settle_waits_until_a_stream_the_client_left_early_is_recorded(proxy: RecordingProxy) -> None:
    # A client stops reading at the terminal event and exits; the proxy records the stream only
    # when the server ends it. Cells read the exchanges after settle(), never before.
    with httpx.stream("POST", f"{proxy.base_url}/responses", json={"linger": True}) as got:
        for line in got.iter_lines():
            if line.startswith("event: response.completed"):
                break
    proxy.settle()
    (ex,) = proxy.take()
    assert ex.finished.is_set() and ex.response == {"id": "resp_1"}


def test_proxy_records_an_error_answer(proxy: RecordingProxy) -> None:
    got = httpx.post(f"{proxy.base_url}/responses", json={"x": 1})
    assert got.status_code == 400
    (ex,) = proxy.take()
    assert ex.status == 400 and "Unknown parameter: 'x'." in ex.describe()


def test_proxy_cuts_a_hung_request(proxy: RecordingProxy) -> None:
    got = httpx.post(f"{proxy.base_url}/responses", json={"hang": True})
    assert got.status_code == 504
    (ex,) = proxy.take()
    assert ex.error is not None and "hung" in ex.describe()


def test_matrix_marks_failures_and_warns_about_skips() -> None:
    m = Matrix()
    m.record("c", "text", "scripted", "passed", "")
    m.record("c", "text", "torch", "failed", "AssertionError: boom")
    m.record("js", "text", "scripted", "skipped", "node is not installed")
    text = m.markdown()
    assert text.startswith("**WARNING: 1 cells SKIPPED")
    assert "| c | pass / **FAIL** |" in text
    assert "| c | text | torch | **FAIL** | AssertionError: boom |" in text
