"""The server as a process would run it: client disconnects, restarts on the same database, the
command line, auth and body limits — over real loopback sockets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_server import create_app
from reference_server.__main__ import main
from reference_server.core.settings import Settings
from reference_server.core.store import ResponseStore
from reference_server.sources.backends.scripted import ScriptedBackend

from .helpers import assert_conformant, serve


def test_disconnect_stops_generation(encoding: Any) -> None:
    """A client leaving mid-stream releases the backend stream and the response is stored as
    cancelled, cut short. How many tokens were produced between the close and the release is
    printed: it depends on how soon a loaded machine lets the server notice the disconnect."""
    backend = ScriptedBackend(delay=0.02, encoding=encoding)
    app = create_app(backend=backend, encoding=encoding)
    body = {"model": "m", "input": "a long question " * 10, "reasoning": {"effort": "high"}, "stream": True}
    with serve(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        with http.stream("POST", "/v1/responses", json=body) as r:
            first = b""
            for chunk in r.iter_bytes():
                first += chunk
                if b"response.reasoning_text.delta" in first:
                    break
            response_id = first.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()
            # Leaving the block closes the connection mid-stream.
        produced_at_close = backend.tokens_produced
        deadline = time.monotonic() + 30  # a hang guard
        while backend.active and time.monotonic() < deadline:
            time.sleep(0.01)
        assert backend.active == 0, "the backend stream was not released"
        produced_at_release = backend.tokens_produced
        time.sleep(0.1)  # several token intervals: nothing more may be produced
        assert backend.tokens_produced == produced_at_release
        print(f"{produced_at_release - produced_at_close} token(s) produced after the client left")
        stored = http.get(f"/v1/responses/{response_id}").json()
        assert stored["status"] == "cancelled"
    # The same request answered in full: the cancelled one was cut short.
    full = ScriptedBackend(encoding=encoding)
    with serve(create_app(backend=full, encoding=encoding)) as server:
        done = httpx.post(f"{server.url}/v1/responses", json={**body, "stream": False}, timeout=30).json()
    assert done["status"] == "completed"
    assert produced_at_release < full.tokens_produced


def test_restart_keeps_stored_responses(tmp_path: Path, encoding: Any) -> None:
    db = tmp_path / "responses.sqlite3"
    store = ResponseStore(db)
    with serve(create_app(encoding=encoding, store=store)) as server:
        created = httpx.post(f"{server.url}/v1/responses", json={"model": "m", "input": "remember this"}).json()
    store.close()
    store = ResponseStore(db)
    with serve(create_app(encoding=encoding, store=store)) as server:
        got = httpx.get(f"{server.url}/v1/responses/{created['id']}")
        assert got.status_code == 200 and got.json() == created
        follow = httpx.post(f"{server.url}/v1/responses", json={
            "model": "m", "input": "what did I say?", "previous_response_id": created["id"]}).json()
        assert 'You said earlier: "remember this"' in follow["output"][0]["content"][0]["text"]
    store.close()


def test_api_key_and_body_limit(encoding: Any) -> None:
    app = create_app(encoding=encoding, settings=Settings(api_key="k1", max_body_bytes=2000))
    with serve(app) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/health").status_code == 200  # liveness needs no key
        for headers in ({}, {"Authorization": "Bearer k2"}, {"Authorization": "Basic k1"}):
            r = http.get("/v1/models", headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        ok = {"Authorization": "Bearer k1"}
        assert http.get("/v1/models", headers=ok).status_code == 200
        r = http.post("/v1/responses", headers=ok, json={"model": "m", "input": "x" * 5000})
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

        def chunks() -> Any:  # no Content-Length: the limit still holds for a chunked body
            for _ in range(10):
                yield b" " * 500

        r = http.post("/v1/responses", headers={**ok, "Content-Type": "application/json"}, content=chunks())
        assert r.status_code == 413


def test_cli_rejects_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--port", "70000"], ["--backend", "nope"], ["--max-body-bytes", "0"], ["--bogus"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("reference-server: error:") and "\n" not in err


def test_cli_help_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for flag in ("--host", "--port", "--backend", "--db", "--api-key", "--max-body-bytes", "--log-level"):
        assert flag in out


def test_concurrent_streams_progress_together(encoding: Any) -> None:
    import asyncio

    backend = ScriptedBackend(delay=0.01, encoding=encoding)
    app = create_app(backend=backend, encoding=encoding)
    log: list[tuple[int, str]] = []

    async def one(http: httpx.AsyncClient, n: int) -> bytes:
        body = {"model": "m", "input": f"request number {n} " * 4, "stream": True}
        data = b""
        async with http.stream("POST", "/v1/responses", json=body) as r:
            async for chunk in r.aiter_bytes():
                if b"output_text.delta" in chunk and not any(k == n and e == "delta" for k, e in log):
                    log.append((n, "delta"))
                data += chunk
        log.append((n, "done"))
        return data

    async def run(url: str) -> list[bytes]:
        async with httpx.AsyncClient(base_url=url, timeout=20) as http:
            return await asyncio.gather(*(one(http, n) for n in range(4)))

    with serve(app) as server:
        bodies = asyncio.run(run(server.url))
    # Generation never blocks the loop: every stream produced text before any stream finished.
    first_done = next(i for i, (_n, e) in enumerate(log) if e == "done")
    assert sorted(n for n, e in log[:first_done] if e == "delta") == [0, 1, 2, 3]
    for n, data in enumerate(bodies):
        assert f"request number {n}".encode() in data
        assert_conformant(data)
