"""Traffic through the proxy: a client hang-up reaches the upstream, 50 concurrent streams are
all judged and recorded, and the API key is in no file the proxy writes."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx

import reference_server
from conformance.cli.proxy import exchange_line
from conformance.replay.matching import load_recordings
from tests.conformance.proxy.helpers import Tap, proxied

HANG_GUARD_S = 60  # only so a broken build fails instead of hanging; nothing is timed
API_KEY = "sk-proj-proxytest-7f3a9c2e1b8d4f6a0e5c9b7d3a1f8e2c"


def _wait_for(predicate: Any) -> bool:
    deadline = time.monotonic() + HANG_GUARD_S
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class EndlessStream:
    """An upstream that streams an event every few ms until its client leaves, and notes it."""

    def __init__(self) -> None:
        self.client_left = threading.Event()
        self.sent = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                self.client_left.set()
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            while True:
                event = b'event: response.in_progress\ndata: {"type":"response.in_progress"}\n\n'
                await send({"type": "http.response.body", "body": event, "more_body": True})
                self.sent += 1
                await anyio.sleep(0.01)


def _hang_up(upstream: EndlessStream, patience_s: float = 0.0) -> Any:
    """A streaming client that reads the first chunk through the proxy, waits `patience_s`,
    and leaves; checks that the upstream saw it go. Returns the exchange's report case."""
    with proxied(upstream) as (proxy, front):
        with httpx.Client(timeout=HANG_GUARD_S) as http, http.stream(
            "POST", front.url + "/v1/responses", json={"model": "m", "input": "x", "stream": True}
        ) as answer:
            chunks = answer.iter_raw()  # kept: a dropped iterator closes the stream at once
            assert next(chunks).startswith(b"event: response.in_progress")
            time.sleep(patience_s)
            chunks.close()
        assert upstream.client_left.wait(HANG_GUARD_S), "the upstream stream was left open"
        assert _wait_for(lambda: proxy.cases)
    (case,) = proxy.cases
    return case


def test_a_client_hang_up_closes_the_upstream_stream() -> None:
    case = _hang_up(EndlessStream())
    assert case.details.get("dropped") is True and case.status == "passed"


class StalledStream(EndlessStream):
    """An upstream that sends one event, then nothing, until its client leaves."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        event = b'event: response.in_progress\ndata: {"type":"response.in_progress"}\n\n'
        await send({"type": "http.response.body", "body": event, "more_body": True})
        self.sent = 1
        while (await receive())["type"] != "http.disconnect":
            pass
        self.client_left.set()
        return None


def test_a_client_giving_up_on_a_stalled_upstream_says_how_long_it_was_silent() -> None:
    case = _hang_up(StalledStream(), patience_s=1.5)  # the upstream sends nothing meanwhile
    assert case.details.get("dropped") is True and case.status == "passed"  # silence is not judged
    assert case.details["silent_s"] >= 1.5
    line, _ = exchange_line(case)
    assert "client hung up after" in line and "s without a byte from the upstream" in line


def test_fifty_concurrent_streams_are_all_judged_and_recorded(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    report_file = tmp_path / "report.json"
    tap = Tap(reference_server.create_app())
    with proxied(tap, record_dir=out, probe=False) as (proxy, front):

        def one(i: int) -> bytes:
            body = {"model": "gpt-oss-20b", "input": f"stream {i}", "stream": True}
            with httpx.Client(timeout=HANG_GUARD_S) as http:
                got = http.post(front.url + "/v1/responses", json=body,
                                headers={"Authorization": f"Bearer {API_KEY}"})
            assert got.status_code == 200
            return got.content

        with ThreadPoolExecutor(max_workers=50) as pool:
            received = list(pool.map(one, range(50)))
        assert _wait_for(lambda: len(proxy.cases) == 50)
        report = proxy.report(tool_version="test")
        proxy.write_session(report)
    from conformance.reporters import get_reporter

    report_file.write_text(get_reporter("json")(report), encoding="utf-8")
    assert sorted(received) == sorted(tap.sent)  # each client got one upstream answer, unchanged
    assert all(c.status == "passed" and c.details["judged"] == "sse" and c.event_count > 3 for c in proxy.cases)
    recordings = load_recordings(out)
    assert len(recordings) == 50
    sidecars = [p for p in (out / "proxy").glob("*.json")]
    assert len(sidecars) == 50
    import json

    for path in sidecars:
        verdict = json.loads(path.read_text())["recording"]["verdict"]
        assert verdict == {"errors": [], "warnings": [], "infos": []}
    assert (out / "session.json").exists()
    secret_forms = [API_KEY.encode(), API_KEY[8:].encode()]
    for path in [*out.rglob("*"), report_file]:
        if path.is_file():
            data = path.read_bytes()
            assert not any(s in data for s in secret_forms), f"the API key is in {path}"


def _echo_key_app() -> Any:
    """An upstream that answers 401 quoting the key it got, as api.openai.com does."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def answer(request: Request) -> JSONResponse:
        key = request.headers.get("authorization", "")[7:]
        error = {"message": f"Incorrect API key provided: {key}.", "type": "invalid_request_error",
                 "param": None, "code": "invalid_api_key"}
        return JSONResponse({"error": error}, status_code=401, headers={"x-seen-key": key})

    return Starlette(routes=[Route("/v1/responses", answer, methods=["POST"])])


def test_a_key_the_upstream_echoes_reaches_the_client_but_no_file(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with proxied(_echo_key_app(), record_dir=out) as (proxy, front):
        got = httpx.post(front.url + "/v1/responses", json={"model": "m", "input": "x"},
                         headers={"Authorization": f"Bearer {API_KEY}"})
        assert _wait_for(lambda: proxy.cases)
        proxy.write_session(proxy.report(tool_version="test"))
    assert got.status_code == 401 and API_KEY in got.json()["error"]["message"]  # relayed unchanged
    assert got.headers["x-seen-key"] == API_KEY
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 3  # body, sidecar, session.json
    for path in written:
        assert API_KEY[8:].encode() not in path.read_bytes(), f"the API key is in {path}"
    # the verdict line names the upstream's error, with the key it quoted scrubbed
    (case,) = proxy.cases
    line, _style = exchange_line(case)
    assert "invalid_api_key: Incorrect API key provided: ***." in line and API_KEY[8:] not in line
    assert API_KEY[8:] not in json.dumps(proxy.report(tool_version="test").to_dict())


def test_a_recorded_exchange_replays_and_rechecks(tmp_path: Path) -> None:
    import json

    from conformance.cli import main as cli_main
    from conformance.replay.app import create_replay_app

    out = tmp_path / "rec"
    body = {"model": "gpt-oss-20b", "input": "Say hello", "stream": True}
    with proxied(reference_server.create_app(), record_dir=out) as (proxy, front):
        original = httpx.post(front.url + "/v1/responses", json=body).content
        assert _wait_for(lambda: proxy.cases)
        proxy.write_session(proxy.report(tool_version="test"))
    with proxied(create_replay_app(load_recordings(out))) as (_, replay):
        again = httpx.post(replay.url + "/v1/responses", json=body).content
    assert again == original  # `conformance replay` serves the recorded exchange back
    (sse,) = out.rglob("*.sse")
    sidecar = json.loads(sse.with_suffix(".json").read_text())
    assert sidecar["recording"]["clients"]["openai-python"]  # the probe ran, as `conformance record` does
    request = tmp_path / "request.json"
    request.write_text(json.dumps(sidecar["request"]))
    assert cli_main(["check", str(sse), "--request", str(request), "--output", str(tmp_path / "r.txt")]) == 0
