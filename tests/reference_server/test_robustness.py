"""Robustness of the running server: client disconnects at every point, backends that hang or
raise, background cancel races, DELETE during a stream, concurrent previous_response_id chains,
and huge inputs that must not block the event loop. Real sockets where a disconnect matters."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from reference_server import create_app
from reference_server.core.settings import Settings
from reference_server.core.store import ResponseStore
from reference_server.sources.backends.scripted import ScriptedBackend

from .faulty_backend import FaultyBackend
from .helpers import assert_conformant, serve, sse_events
from .test_requests import assert_error_shape


def _open_request(port: int, body: dict[str, Any]) -> socket.socket:
    """POST /v1/responses on a raw socket (so the test decides exactly when the client leaves)."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(data) + data)
    return sock


def _read_until(sock: socket.socket, marker: bytes) -> bytes:
    sock.settimeout(30)  # a hang guard, generous for a loaded machine
    got = b""
    while marker not in got:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before {marker!r}: {got[-300:]!r}"
        got += chunk
    return got


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll until `condition`; `timeout` only keeps a broken server from hanging the test."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def _statuses(store: ResponseStore) -> list[str]:
    rows = store._conn.execute("SELECT response FROM responses").fetchall()
    return [json.loads(row[0])["status"] for row in rows]


# --------------------------------------------------------------------------- disconnects
class _HeldFirstSave(ResponseStore):
    """Holds the first save (before any event is sent) until the test has closed the client."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.entered, self.release = threading.Event(), threading.Event()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.entered.set()
        self.release.wait(30)  # a hang guard only
        super().save(*args, **kwargs)


def test_disconnect_before_the_first_event_stores_cancelled(encoding: Any) -> None:
    store = _HeldFirstSave(":memory:")
    with serve(create_app(encoding=encoding, store=store)) as server:
        sock = _open_request(server.port, {"model": "m", "input": "x", "stream": True})
        assert store.entered.wait(30), "the request never reached the store"
        sock.close()  # the client is gone before the first event can be sent
        time.sleep(0.1)
        store.release.set()
        _wait_for(lambda: _statuses(store) == ["cancelled"])


@pytest.mark.parametrize("stream", [True, False])
def test_disconnect_releases_a_hanging_backend(encoding: Any, stream: bool) -> None:
    """A backend that never yields again: the client giving up (stream or not) is what ends it."""
    backend = FaultyBackend(encoding, hang_at=5)
    store = ResponseStore(":memory:")
    with serve(create_app(backend=backend, encoding=encoding, store=store)) as server:
        sock = _open_request(server.port, {"model": "m", "input": "x", "stream": stream})
        if stream:
            _read_until(sock, b"response.output_text.delta")
        # Hanging, not merely started: a client that leaves earlier cancels a working backend,
        # which is another test (and a non-stream request gives no event to wait for).
        _wait_for(lambda: backend.active == 1 and backend.produced == 5)
        sock.close()
        _wait_for(lambda: backend.active == 0)
        _wait_for(lambda: _statuses(store) == ["cancelled"])
        assert backend.produced == 5  # nothing after the hang


def test_disconnect_after_the_terminal_event_keeps_completed(encoding: Any) -> None:
    store = ResponseStore(":memory:")
    with serve(create_app(encoding=encoding, store=store)) as server:
        sock = _open_request(server.port, {"model": "m", "input": "x", "stream": True})
        _read_until(sock, b"event: response.completed")
        sock.close()
        time.sleep(0.1)
        assert _statuses(store) == ["completed"]


# --------------------------------------------------------------------------- failing backends
@pytest.mark.parametrize("fault", [{"raise_at": 0}, {"raise_at": 7}, {"raise_instead_of_stop": True}])
def test_backend_failure_anywhere_ends_failed(encoding: Any, fault: dict[str, Any]) -> None:
    app = create_app(backend=FaultyBackend(encoding, **fault), encoding=encoding)
    with TestClient(app, raise_server_exceptions=False) as client:
        body = {"model": "m", "input": "x", "stream": True}
        with client.stream("POST", "/v1/responses", json=body) as r:
            data = b"".join(r.iter_bytes())
        result = assert_conformant(data, request=body)
        terminal = result.terminal_response
        assert terminal["status"] == "failed" and terminal["error"]["code"] == "server_error"
        assert client.get(f"/v1/responses/{terminal['id']}").json()["status"] == "failed"
        r = client.post("/v1/responses", json={"model": "m", "input": "x"})
        assert r.status_code == 500 and assert_error_shape(r.json())["type"] == "server_error"


def test_backend_failing_to_close_after_its_stop_token_still_completes(encoding: Any) -> None:
    backend = FaultyBackend(encoding, raise_on_close=True)
    with TestClient(create_app(backend=backend, encoding=encoding)) as client:
        resp = client.post("/v1/responses", json={"model": "m", "input": "x"}).json()
        assert resp["status"] == "completed"
        assert backend.active == 0


# --------------------------------------------------------------------------- background and DELETE
async def _drain(events: Any) -> list[str]:
    return [event["type"] async for event in events]


def test_delete_before_a_background_job_starts_ends_its_followers(encoding: Any) -> None:
    """The job's task is cancelled before its first step (its `finally` never runs): followers
    must still finish instead of waiting forever."""
    app = create_app(encoding=encoding)
    service = app.state.service

    async def scenario() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            prep = await service.prepare({"model": "m", "input": "x", "background": True, "stream": True})
            job = await service.start_background(prep)
            assert (await http.delete(f"/v1/responses/{prep.writer.response_id}")).status_code == 200
            return await asyncio.wait_for(_drain(job.follow()), 30)  # a hang guard

    assert asyncio.run(scenario()) == ["response.created", "response.queued"]


def test_cancel_races(encoding: Any) -> None:
    app = create_app(backend=ScriptedBackend(delay=0.01, encoding=encoding), encoding=encoding)
    with TestClient(app) as client:
        body = {"model": "m", "input": "x " * 40, "background": True, "reasoning": {"effort": "high"}}
        # Cancelled right away (queued), and while generating: both end cancelled, idempotently.
        for wait in (0.0, 0.15):
            rid = client.post("/v1/responses", json=body).json()["id"]
            time.sleep(wait)
            answers = [client.post(f"/v1/responses/{rid}/cancel") for _ in range(3)]
            assert [a.json()["status"] for a in answers] == ["cancelled"] * 3
            stored = client.get(f"/v1/responses/{rid}").json()
            assert stored["status"] == "cancelled"
            assert all(item["status"] in ("completed", "incomplete") for item in stored["output"])
            # Its replay is a clean prefix: every item opened is closed, no terminal event.
            with client.stream("GET", f"/v1/responses/{rid}", params={"stream": "true"}) as s:
                events = sse_events(b"".join(s.iter_bytes()))
            added = sum(e["type"] == "response.output_item.added" for e in events)
            assert added == sum(e["type"] == "response.output_item.done" for e in events)
        # Finished on its own: cancelling is refused.
        rid = client.post("/v1/responses", json={"model": "m", "input": "y", "background": True}).json()["id"]
        _wait_for(lambda: client.get(f"/v1/responses/{rid}").json()["status"] == "completed")
        r = client.post(f"/v1/responses/{rid}/cancel")
        assert r.status_code == 400 and assert_error_shape(r.json())["param"] == "response_id"


def test_delete_during_a_stream(encoding: Any) -> None:
    app = create_app(backend=ScriptedBackend(delay=0.005, encoding=encoding), encoding=encoding)
    with TestClient(app) as client:
        body = {"model": "m", "input": "delete me", "stream": True}
        with client.stream("POST", "/v1/responses", json=body) as s:
            data = b""
            for chunk in s.iter_bytes():
                data += chunk
                if b"response.output_text.delta" in data and b"deleted" not in data:
                    rid = sse_events(data.rsplit(b"\n\n", 2)[0] + b"\n\n")[0]["response"]["id"]
                    assert client.delete(f"/v1/responses/{rid}").json()["deleted"] is True
                    data += b"deleted"
        # The stream still finishes properly; the response stays deleted (not written back).
        assert_conformant(data.replace(b"deleted", b""), request=body)
        assert client.get(f"/v1/responses/{rid}").status_code == 404
        assert client.get(f"/v1/responses/{rid}/input_items").status_code == 404


# --------------------------------------------------------------------------- concurrency
def test_concurrent_previous_response_id_chains_do_not_mix(encoding: Any) -> None:
    """Eight conversations of four turns each, all interleaved, plus five branches from one
    response at once: every turn sees exactly its own history."""
    app = create_app(backend=ScriptedBackend(delay=0.001, encoding=encoding), encoding=encoding)

    async def chain(http: httpx.AsyncClient, n: int) -> list[str]:
        previous = None
        ids = []
        for turn in range(4):
            body: dict[str, Any] = {"model": "m", "input": f"chain {n} turn {turn}", "stream": turn % 2 == 1}
            if previous:
                body["previous_response_id"] = previous
            if body["stream"]:
                async with http.stream("POST", "/v1/responses", json=body) as r:
                    resp = sse_events(await r.aread())[-1]["response"]
            else:
                resp = (await http.post("/v1/responses", json=body)).json()
            text = resp["output"][-1]["content"][0]["text"]
            assert f'You said: "chain {n} turn {turn}"' in text
            if turn:
                assert f'You said earlier: "chain {n} turn 0"' in text
            previous = resp["id"]
            ids.append(resp["id"])
        return ids

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t",
                                                                          timeout=30) as http:
            chains = await asyncio.gather(*(chain(http, n) for n in range(8)))
            for n, ids in enumerate(chains):
                items = (await http.get(f"/v1/responses/{ids[-1]}/input_items")).json()["data"]
                assert [i["content"][0]["text"] for i in items] == [f"chain {n} turn 3"]
            root = chains[0][0]
            branches = await asyncio.gather(*(http.post("/v1/responses", json={
                "model": "m", "input": f"branch {b}", "previous_response_id": root}) for b in range(5)))
            for b, r in enumerate(branches):
                text = r.json()["output"][-1]["content"][0]["text"]
                assert f'You said: "branch {b}"' in text and 'You said earlier: "chain 0 turn 0"' in text

    asyncio.run(scenario())


# --------------------------------------------------------------------------- huge inputs
@pytest.mark.parametrize("body", [
    {"model": "m", "input": "many words " * 1_100_000},  # 12 MB of text, ~2.2M tokens
    {"model": "m", "input": [{"role": "user", "content": "hi"}] * 40_000},  # more messages than can fit
])
def test_an_input_far_over_the_window_is_refused_without_blocking(
        encoding: Any, body: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal is decided off the event loop and without harmony's renderer (which holds the
    GIL for seconds on such a prompt): while the prompt step is held open, /health is answered.
    The slowest /health answer during the request is printed, not asserted (it depends on load)."""
    from reference_server.sources import backend_source
    from reference_server.sources.backend_source import BackendSource

    in_prompt, health_answered = threading.Event(), threading.Event()
    rendered: list[int] = []
    original_prompt, original_render = BackendSource._prompt, backend_source.render_prompt

    def held_prompt(self: BackendSource, req: Any, context: list[dict[str, Any]]) -> list[int]:
        in_prompt.set()
        health_answered.wait(60)  # a hang guard only: the test fails below if this times out
        return original_prompt(self, req, context)

    def counted_render(*args: Any) -> list[int]:
        rendered.append(1)
        return original_render(*args)

    monkeypatch.setattr(BackendSource, "_prompt", held_prompt)
    monkeypatch.setattr(backend_source, "render_prompt", counted_render)
    result: list[httpx.Response] = []
    with serve(create_app(encoding=encoding, settings=Settings(max_body_bytes=32 << 20))) as server, \
            httpx.Client(base_url=server.url, timeout=60) as http:
        worker = threading.Thread(target=lambda: result.append(http.post("/v1/responses", json=body)))
        started = time.perf_counter()
        worker.start()
        slowest, polls, answered_while_held = 0.0, 0, False
        while worker.is_alive():
            held = in_prompt.is_set() and not health_answered.is_set()
            sent = time.perf_counter()
            assert http.get("/health").status_code == 200
            slowest, polls = max(slowest, time.perf_counter() - sent), polls + 1
            if held:
                answered_while_held = True
                health_answered.set()
        worker.join()
        took = time.perf_counter() - started
    print(f"refused in {took:.2f} s; {polls} /health answers meanwhile, slowest {slowest * 1000:.0f} ms")
    assert answered_while_held, "no /health answer while the oversized prompt was being examined"
    answer = result[0]
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "context_length_exceeded"
    assert rendered == [], "the oversized prompt was rendered with harmony before being refused"


def test_a_long_input_within_the_window_is_counted_exactly(client: TestClient, encoding: Any) -> None:
    from reference_server.protocol.harmony import (
        build_conversation,
        estimate_prompt_tokens,
        render_prompt,
    )
    from reference_server.protocol.request import parse_create_request
    from reference_server.protocol.vocab import o200k_tiktoken

    body = {"model": "m", "input": "Ünïcødé 😀 words and more words. " * 9000, "instructions": "be brief " * 500}
    r = client.post("/v1/responses", json=body)
    assert r.status_code == 200
    conversation = build_conversation(parse_create_request(body), [])
    exact = len(render_prompt(encoding, conversation))
    assert r.json()["usage"]["input_tokens"] == exact
    # The early-refusal estimate stays close to (and here below) the exact count.
    estimate = estimate_prompt_tokens(conversation, o200k_tiktoken().encode_ordinary, 10**9)
    assert exact * 0.98 < estimate <= exact


def test_a_failed_send_closes_generation_before_the_request_returns(encoding: Any) -> None:
    """ASGI 2.4 servers report a gone client by failing `send`; the event generators are then
    suspended, and closing them must not wait for the garbage collector: by the time the app
    call returns, the backend is released and the response stored `cancelled`."""
    backend = ScriptedBackend(delay=0.01, encoding=encoding)
    store = ResponseStore(":memory:")
    app = create_app(backend=backend, encoding=encoding, store=store)
    body = json.dumps({"model": "m", "input": "a longer question " * 5, "stream": True}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/v1/responses", "raw_path": b"/v1/responses",
             "query_string": b"", "root_path": "", "server": ("t", 80), "client": ("c", 1),
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    chunks = 0

    async def receive() -> dict[str, Any]:
        nonlocal body
        if body:
            message, body = {"type": "http.request", "body": body, "more_body": False}, b""
            return message
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal chunks
        if message["type"] == "http.response.body":
            chunks += 1
            if chunks == 6:  # mid-item: the client is gone
                raise OSError("connection reset")

    async def scenario() -> tuple[int, list[str]]:
        async with app.router.lifespan_context(app):
            with contextlib.suppress(Exception):  # Starlette reports the disconnect as ClientDisconnect
                await app(scope, receive, send)
            return backend.active, _statuses(store)  # no await in between: nothing else ran

    assert asyncio.run(scenario()) == (0, ["cancelled"])
