"""A WebSocket transcript replayed as a server: byte-faithful, and openai-python's
`responses.connect()` parses it (client.openai-python when it does not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.replay.websocket import _Serve, probe_openai_python, transcript_app

ROOT = Path(__file__).resolve().parents[3]
POSITIVE = sorted((ROOT / "fixtures" / "websocket" / "positive").glob("*.jsonl"))


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_replay_sends_the_recorded_text_exactly() -> None:
    from websockets.sync.client import connect

    records = _records(ROOT / "fixtures/websocket/positive/sequential.jsonl")
    server_texts = [r["text"] for r in records if r["dir"] == "server"]
    got = []
    with _Serve(transcript_app(records)) as served, connect(f"ws://127.0.0.1:{served.port}/v1/responses") as ws:
        for r in records:
            if r["dir"] == "client":
                ws.send(r["text"])
            elif r["dir"] == "server":
                got.append(ws.recv(timeout=10))
    assert got == server_texts


@pytest.mark.parametrize("path", POSITIVE, ids=lambda p: p.stem)
def test_openai_python_reads_every_recorded_socket(path: Path) -> None:
    assert probe_openai_python(_records(path)) == []


def test_openai_python_probe_reports_a_broken_socket() -> None:
    records = _records(ROOT / "fixtures/websocket/positive/sequential.jsonl")
    i = next(i for i, r in enumerate(records) if r["dir"] == "server" and "output_text.delta" in r["text"])
    records[i] = {"dir": "server", "text": records[i]["text"][:20]}  # cut off mid-JSON
    [finding] = probe_openai_python(records)
    assert finding.rule == "client.openai-python" and "raised" in finding.message


def test_check_with_client_probes_a_transcript() -> None:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "conformance", "check", "--client", "openai-python", "--format",
                          "json", str(ROOT / "fixtures/websocket/positive/errors.jsonl")],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["meta"]["clients"]["openai-python"]["streams_probed"] == 1
