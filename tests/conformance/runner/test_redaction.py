"""Secrets are removed where they sit; a short key never corrupts a recording or a report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import scenarios as catalogue
from conformance.recording import ExchangeRecord
from conformance.redaction import MIN_FREE_TEXT, Redactor
from conformance.replay.record import Recorder
from conformance.reporters import get_reporter
from conformance.runner import RunOptions, app_target, run_scenarios
from conformance.runner.engine import redact
from tests.conformance.runner import fakes

LONG = "sk-long-key-0123456789"


def test_a_long_key_goes_everywhere_but_keys_stay() -> None:
    value = {"a": ["x sk-long-key-0123456789 y", (LONG,)], LONG: {"n": 1, "s": f"Bearer {LONG}"}}
    assert redact(value, [f"Bearer {LONG}", LONG]) == {"a": ["x *** y", ("***",)], LONG: {"n": 1, "s": "***"}}


@pytest.mark.parametrize("key", ["x", "e", "t", "sk-1"])
def test_a_short_key_is_removed_only_where_it_sits(key: str) -> None:
    r = Redactor([key, f"Bearer {key}"])
    assert len(key) < MIN_FREE_TEXT and r.short_key_note() is not None
    data = {"type": "response.output_text.delta", "delta": "the text", "excerpt": key, "sk-1 items": [key]}
    assert r.value(data) == data  # free text, keys and even whole values equal to the key stay
    # Where it sits: credential fields and headers, URL userinfo and query strings.
    assert r.value({"authorization": f"Bearer {key}", "api_key": key}) == {"authorization": "***", "api_key": "***"}
    assert r.header("Authorization", f"Bearer {key}") == "***"
    assert r.header("x-request-id", f"req_{key}") == f"req_{key}"
    assert r.text(f"GET http://h/v1?api_key={key}&n=2 failed") == "GET http://h/v1?api_key=***&n=2 failed"
    assert r.text(f"http://u:{key}@h/v1") == "http://***@h/v1"
    assert r.bytes(f'data: {{"excerpt": "{key}"}}'.encode()) == (f'data: {{"excerpt": "{key}"}}'.encode(), False)


def test_long_key_note_is_silent() -> None:
    assert Redactor([LONG, f"Bearer {LONG}"]).short_key_note() is None
    assert Redactor([]).short_key_note() is None


class _Capture:
    def __init__(self) -> None:
        self.records: list[ExchangeRecord] = []

    def observe(self, record: ExchangeRecord) -> list[Any]:
        self.records.append(record)
        return []


@pytest.mark.parametrize("key", ["x", "e", "t"])
def test_a_short_key_never_corrupts_a_recording_or_a_report(tmp_path: Path, key: str) -> None:
    # A failing target, so the report carries findings (excerpts, events) that must round-trip.
    chosen = [catalogue.get(s) for s in ("streaming-response", "basic-response", "error-invalid-json")]
    capture = _Capture()
    recorder = Recorder(tmp_path, secrets=[key, f"Bearer {key}"], target="fake",
                        scenario_tags={s.id: s.tags for s in chosen})
    target = app_target(fakes.no_content_part_app, api_key=key)
    report = run_scenarios(target, chosen, RunOptions(observers=(capture, recorder)))
    recorder.write_session(report)
    assert not any(c.status == "error" for c in report.cases), [c.error for c in report.cases]
    assert report.cases[0].status == "failed" and report.cases[0].findings
    # Every recorded body is the bytes received, unchanged.
    assert capture.records
    for record in capture.records:
        stem = f"{record.index:02d}-"
        (body,) = [p for p in (tmp_path / str(record.scenario)).glob(stem + "*")
                   if not (p.suffix == ".json" and not p.name.endswith(".body.json"))]
        assert body.read_bytes() == record.body, body
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"***" not in path.read_bytes(), path
    # Findings survive the redaction intact: every report format renders, none shows ***.
    for fmt in ("json", "text", "markdown", "html", "junit"):
        assert "***" not in get_reporter(fmt)(report), fmt
    assert {f.rule for f in report.cases[0].findings} >= {"part.not-added"}
    assert json.loads(get_reporter("json")(report))["cases"][0]["findings"][0]["excerpt"]
