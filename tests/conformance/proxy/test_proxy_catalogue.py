"""The whole scenario catalogue, sent by the live runner through the proxy to the reference
server: the runner receives exactly what the server sent, and the proxy judges no defect."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import reference_server
from conformance.cli import main as cli_main
from tests.conformance.proxy.helpers import Tap, proxied


def test_catalogue_through_the_proxy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec"
    tap = Tap(reference_server.create_app())
    with proxied(tap) as (proxy, front):
        code = cli_main(["record", "--base-url", front.url + "/v1", "--out", str(out)])
        captured = capsys.readouterr()
    session = json.loads((out / "session.json").read_text())
    assert code == 0, captured.err
    statuses = Counter(s["status"] for s in session["scenarios"].values())
    assert statuses["failed"] == 0 and statuses["error"] == 0 and statuses["passed"] >= 30, statuses
    # What the runner received (its recording) is what the server sent, answer for answer; an
    # answer the runner hung up on on purpose is a prefix of what was sent. (The runner's own
    # GET /models is not recorded.)
    sent = Counter(tap.sent)
    recorded = 0
    for sidecar in out.rglob("*.json"):
        meta = json.loads(sidecar.read_text()).get("recording")
        if sidecar.name == "session.json" or meta is None:
            continue
        stem = sidecar.name[: -len(".json")]
        (body_path,) = [p for p in sidecar.parent.iterdir() if p != sidecar and p.name.split(".")[0] == stem]
        body = body_path.read_bytes()
        recorded += 1
        if meta.get("dropped"):
            assert any(s.startswith(body) for s in sent), body_path
        else:
            assert sent[body] > 0, f"{body_path}: the runner got bytes the server did not send"
            sent[body] -= 1
    assert recorded >= 50
    http_cases = [c for c in proxy.cases if c.details["judged"] != "websocket"]
    assert len(http_cases) == len(tap.sent)
    # the websocket scenarios' sockets went through too, each judged as a transcript
    sockets = [c for c in proxy.cases if c.details["judged"] == "websocket"]
    assert len(sockets) >= 10 and sum(c.details["responses"] for c in sockets) >= 20
    ws_scenarios = {n: s["status"] for n, s in session["scenarios"].items() if n.startswith("websocket")}
    assert len(ws_scenarios) >= 9 and set(ws_scenarios.values()) == {"passed"}, ws_scenarios
    findings = [(c.id, f.rule, f.severity) for c in proxy.cases for f in c.findings]
    assert not findings, findings
    assert not [(c.id, c.error) for c in proxy.cases if c.status == "error"]
    assert sum(1 for c in proxy.cases if c.details["judged"] == "sse") >= 20
