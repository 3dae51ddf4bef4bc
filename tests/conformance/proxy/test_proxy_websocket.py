"""WebSocket mode through the proxy: openai-python's `responses.connect()` to the reference
server gets the very messages the server sent, the socket is judged as a transcript with zero
findings and recorded in the transcript format; a replayed negative transcript is relayed
unchanged and reported under its expected ws.* rules."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import openai
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

import reference_server
from conformance.cli.proxy import exchange_line
from conformance.replay.websocket import transcript_app
from conformance.transcript import check_transcript, parse_record
from reference_server.core.settings import Settings
from tests.conformance.proxy.helpers import proxied

KEY = "sk-proxy-ws-secret-4242"
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
NEGATIVE = Path(__file__).parents[3] / "fixtures" / "websocket" / "negative"


class WsTap:
    """ASGI wrapper: `sent` holds every WebSocket message text the wrapped app sent, in order."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: list[str] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def tapped(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.send":
                with self.lock:
                    self.sent.append(message.get("text") or message.get("bytes", b"").decode())
            await send(message)

        await self.app(scope, receive, tapped if scope["type"] == "websocket" else send)


def _one_response(conn: Any, received: list[str]) -> list[str]:
    types = []
    while True:
        raw = conn.recv_bytes()
        received.append(raw.decode())
        event = conn.parse_event(raw)
        types.append(event.type)
        if event.type in TERMINAL or event.type == "error":
            return types


def test_openai_python_connect_through_the_proxy(tmp_path: Path) -> None:
    tap = WsTap(reference_server.create_app(settings=Settings(api_key=KEY)))
    received: list[str] = []
    with proxied(tap, record_dir=tmp_path / "rec", probe=False) as (proxy, front):
        client = openai.OpenAI(base_url=front.url + "/v1", api_key=KEY, max_retries=0, timeout=30)
        with client.responses.connect() as conn:
            conn.response.create(model="m", input="Remember the word kumquat.")
            first = _one_response(conn, received)
            rid = json.loads(received[-1])["response"]["id"]
            conn.response.create(model="m", input="Which word?", previous_response_id=rid)
            second = _one_response(conn, received)
            conn.send_raw('{"type": "response.nonsense"}')  # answered with an error; the socket stays
            bad = _one_response(conn, received)
        assert first[-1] == second[-1] == "response.completed" and bad == ["error"]
        for _ in range(1200):  # the case is appended once the relay has seen both closes (a hang guard)
            if proxy.cases:
                break
            threading.Event().wait(0.05)
    assert received == tap.sent  # message for message, byte for byte
    (case,) = proxy.cases
    assert case.error is None, case.error
    assert case.details["judged"] == "websocket" and case.details["responses"] == 2
    assert case.details["close"].startswith("client ")
    assert not case.findings, [(f.rule, f.message) for f in case.findings]
    assert case.status == "passed"
    line, _style = exchange_line(case)
    assert line.startswith("✓ WS /v1/responses 101") and "2 responses, closed by client 1000" in line
    assert case.details["error_events"] == ["unknown_event_type (type)"]
    assert "1 error event: unknown_event_type (type)" in line
    # --record: the socket as a transcript, the server's texts exact, the key nowhere
    (path,) = (tmp_path / "rec").rglob("ws-*.jsonl")
    text = path.read_text()
    assert KEY not in text and all(KEY not in p.read_text() for p in (tmp_path / "rec").rglob("*") if p.is_file())
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["text"] for r in records if r["dir"] == "server"] == tap.sent
    assert records[-1]["dir"] == "close" and records[-1]["by"] == "client"
    assert not check_transcript(text.splitlines()).findings


def test_refused_upgrade_is_passed_back() -> None:
    app = reference_server.create_app(settings=Settings(api_key=KEY))
    with proxied(app) as (proxy, front):
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(front.url.replace("http", "ws") + "/v1/responses",
                       additional_headers={"Authorization": "Bearer wrong"})
        assert refused.value.response.status_code == 401
        assert b'"error"' in (refused.value.response.body or b"")  # the server's OpenAI error body
    (case,) = proxy.cases
    assert case.status == "error" and "401" in (case.error or "")


def _replay_as_client(url: str, records: list[dict[str, Any]]) -> list[str]:
    """Drive a recorded socket as its client did; returns the server texts received."""
    parsed = [parse_record(r, i) for i, r in enumerate(records)]
    got: list[str] = []
    with ws_connect(url, max_size=None) as ws:
        for record, raw in zip(parsed, records, strict=True):
            try:
                if record.dir == "client":
                    ws.send(raw["text"] if isinstance(raw.get("text"), str) else json.dumps(raw["data"]))
                elif record.dir == "server":
                    text = ws.recv(timeout=20)
                    got.append(text if isinstance(text, str) else text.decode())
                elif record.dir == "close":
                    if record.raw.get("by") == "client":
                        ws.close(int(record.raw.get("code") or 1000))
                    break
            except ConnectionClosed:
                break
    return got


# after-close: a message after the close cannot travel on a real socket, so it cannot be replayed.
REPLAYABLE = sorted(p for p in NEGATIVE.glob("*.jsonl") if p.stem != "after-close")


@pytest.mark.parametrize("path", REPLAYABLE, ids=lambda p: p.stem)
def test_negative_transcript_behind_the_proxy(path: Path) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    expected = set(json.loads(path.with_suffix(".json").read_text())["expected"]["errors"])
    with proxied(transcript_app(records)) as (proxy, front):
        got = _replay_as_client(front.url.replace("http", "ws") + "/v1/responses", records)
        for _ in range(1200):  # a hang guard, not a time bound
            if proxy.cases:
                break
            threading.Event().wait(0.05)
    sent = [r["text"] if isinstance(r.get("text"), str) else json.dumps(r["data"])
            for r in records if r.get("dir") == "server"]
    assert got == sent[: len(got)] and len(got) == len(sent)
    (case,) = proxy.cases
    assert case.error is None, case.error
    found = {f.rule for f in case.findings}
    assert expected <= found, (sorted(expected), sorted(found))
    assert case.status == "failed"
