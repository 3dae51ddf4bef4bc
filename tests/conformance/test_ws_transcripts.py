"""WebSocket transcripts: the fixtures under fixtures/websocket/ give the verdict their sidecar
names, the ws.* rules are in the one registry, and `conformance check` detects the format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import registry
from conformance.transcript import TranscriptChecker, check_transcript, looks_like_transcript

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "fixtures" / "websocket").rglob("*.jsonl"))
WS_RULES = {"ws.record", "ws.one-at-a-time", "ws.create-answered", "ws.steer-answered",
            "ws.steer-while-running", "ws.after-close", "ws.sequence", "ws.event-schema"}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures" / "websocket")))
def test_fixture_verdict(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())["expected"]["errors"]
    result = check_transcript(path.read_text().splitlines())
    errors = {f.rule for f in result.findings if f.severity == "error"}
    assert errors == set(expected), [str(f) for f in result.findings]


def test_every_ws_rule_has_a_negative_and_the_corpus_positives() -> None:
    ids = {r.id for r in registry.all_rules() if r.family == "ws"}
    assert ids == WS_RULES
    negatives = {rule for p in FIXTURES if "negative" in p.parts
                 for rule in json.loads(p.with_suffix(".json").read_text())["expected"]["errors"]}
    assert negatives >= WS_RULES
    assert any("positive" in p.parts for p in FIXTURES)


def test_unreadable_records_are_findings_not_crashes() -> None:
    checker = TranscriptChecker()
    checker.feed_line(b"not json")
    checker.feed({"dir": "server", "text": "{broken"})
    checker.feed({"dir": "sideways", "data": {}})
    checker.feed({"dir": "server", "data": [1, 2]})
    result = checker.finish()
    assert [f.rule for f in result.findings] == ["ws.record"] * 4


def test_a_response_on_a_socket_gets_the_per_response_rules() -> None:
    lines = (ROOT / "fixtures/websocket/positive/sequential.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for r in records:  # break the first response's text accumulation
        data = json.loads(r["text"]) if "text" in r else None
        if data and data.get("type") == "response.output_text.done":
            data["text"] += " (changed)"
            r["text"] = json.dumps(data)
            break
    result = check_transcript(json.dumps(r) for r in records)
    assert "accumulation.delta-vs-done" in {f.rule for f in result.findings}


def _with_error_mid_response(error: dict) -> list[str]:
    """The sequential fixture with a bad client message and the server's `error` right after the
    first response's `response.in_progress`."""
    lines = (ROOT / "fixtures/websocket/positive/sequential.jsonl").read_text().splitlines()
    out: list[str] = []
    for line in lines:
        out.append(line)
        record = json.loads(line)
        if len(out) < 4 and record["dir"] == "server" and '"response.in_progress"' in record["text"]:
            out.append(json.dumps({"dir": "client", "text": json.dumps({"type": "response.dance"})}))
            out.append(json.dumps({"dir": "server", "text": json.dumps(error)}))
    assert len(out) == len(lines) + 2
    return out


def test_an_error_about_the_socket_is_not_an_event_of_the_running_response() -> None:
    # openai-python's ResponseWsError: `status` for an error about the socket or a client
    # message, `sequence_number` only for one the response's stream emitted.
    about_the_message = {"type": "error", "status": 400, "error": {
        "type": "invalid_request_error", "code": "unknown_event_type", "param": "type",
        "message": "Unsupported client event 'response.dance'."}}
    result = check_transcript(_with_error_mid_response(about_the_message))
    assert [str(f) for f in result.findings] == []
    # without `status` it is the response's own error event, judged as one (and numbered wrong)
    unnumbered = {k: v for k, v in about_the_message.items() if k != "status"}
    result = check_transcript(_with_error_mid_response(unnumbered))
    assert "sequence.missing" in {f.rule for f in result.findings if f.severity == "error"}


def test_detection() -> None:
    assert looks_like_transcript(b'{"dir": "client", "text": "{}"}\n')
    assert not looks_like_transcript(b'{"object": "response"}')
    assert not looks_like_transcript(b"event: response.created\ndata: {}\n\n")


def test_cli_checks_a_transcript() -> None:
    ok = subprocess.run([sys.executable, "-m", "conformance", "check", str(FIXTURES[0].parent.parent
                         / "positive" / "steered.jsonl")], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([sys.executable, "-m", "conformance", "check", "--format", "json",
                          str(ROOT / "fixtures/websocket/negative/one-at-a-time.jsonl")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1
    assert "ws.one-at-a-time" in bad.stdout
