"""`conformance proxy` as a process: prints its URL, one line per exchange, and on SIGTERM
finishes the exchange in flight before it writes the report and the recording."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.fixture_corpus import default_root
from tests.conformance.proxy.helpers import serve

HANG_GUARD_S = 60
STREAM = (default_root() / "positive" / "openai-api" / "basic-text-with-reasoning.sse").read_bytes()


class HeldStream:
    """Sends the first event, then holds the rest until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        import anyio

        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        head, _, rest = STREAM.partition(b"\n\n")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": head + b"\n\n", "more_body": True})
        await anyio.to_thread.run_sync(self.release.wait, HANG_GUARD_S)
        await send({"type": "http.response.body", "body": rest, "more_body": False})


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_sigterm_finishes_the_exchange_in_flight_then_writes_report_and_recording(tmp_path: Path) -> None:
    upstream = HeldStream()
    report, rec = tmp_path / "report.json", tmp_path / "rec"
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "NO_COLOR": "1"}
    with serve(upstream) as up:
        proc = subprocess.Popen(
            [sys.executable, "-m", "conformance", "proxy", "--upstream-url", up.url, "--port", "0",
             "--report", f"json:{report}", "--record", str(rec), "--no-probe"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            assert banner.startswith("checking proxy at http://127.0.0.1:"), banner + proc.stderr.read()
            base = banner.split()[3]
            port = int(base.rsplit(":", 1)[1])
            with httpx.Client(timeout=HANG_GUARD_S) as http, http.stream(
                "POST", base + "/v1/responses", json={"model": "gpt-4o", "input": "hi", "stream": True}
            ) as answer:
                chunks = answer.iter_raw()
                first = next(chunks)
                proc.send_signal(signal.SIGTERM)
                deadline_ok = _wait_refused(port)
                upstream.release.set()
                body = first + b"".join(chunks)
            out, err = proc.communicate(timeout=HANG_GUARD_S)
        finally:
            upstream.release.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert deadline_ok, "the proxy kept accepting connections after SIGTERM"
    assert body == STREAM  # the exchange in flight was finished, unchanged
    assert proc.returncode == 0, err
    lines = [line for line in out.splitlines() if "POST /v1/responses 200" in line]
    assert len(lines) == 1 and "PASSED" in lines[0] and "events" in lines[0]
    cases = json.loads(report.read_text())["cases"]
    assert len(cases) == 1 and cases[0]["status"] == "passed"
    (sse,) = rec.rglob("*.sse")
    assert sse.read_bytes() == STREAM


def _wait_refused(port: int) -> bool:
    import time

    deadline = time.monotonic() + HANG_GUARD_S
    while not _refused(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_bad_upstream_url_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import main

    assert main(["proxy", "--upstream-url", "localhost:8000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--upstream-url" in err


def test_without_the_run_extra_it_names_it(tmp_path: Path) -> None:
    from tests.test_extras import NOT_CORE, _run

    done = _run(tmp_path, NOT_CORE, "conformance", "proxy", "--upstream-url", "http://127.0.0.1:9")
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.count("\n") == 1 and "needs the [run] extra" in done.stderr
