"""Tests of conformance.reporters: text, json (round trip) and JUnit XML (schema-valid)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from conformance.findings import Finding
from conformance.report import CaseResult, Report
from conformance.reporters import available_formats, get_reporter, json_report, junit, text

XSD = Path(__file__).resolve().parents[1] / "data" / "junit.xsd"


def _report(fail_on: str = "error") -> Report:
    broken = CaseResult(
        id="streams/broken.sse",
        status="failed",
        event_count=42,
        duration_s=0.0125,
        findings=[
            Finding(
                rule="lifecycle.no-terminal",
                severity="error",
                message="the stream ends without a terminal event",
                event_index=41,
                sequence_number=41,
                breaks=("codex", "openai-agents"),
                spec="RULES.md#lifecycle",
            ),
            Finding(
                rule="part.not-added",
                severity="error",
                message="delta for content_index 1 before content_part.added",
                event_index=7,
                sequence_number=7,
                output_index=0,
                content_index=1,
                excerpt='{"type":"response.output_text.delta",\n"delta":"\x1b[31mred"}',
                breaks=("openai-python",),
            ),
            Finding(
                rule="part.not-added",
                severity="error",
                message="again",
                event_index=9,
                sequence_number=9,
                output_index=0,
                content_index=1,
            ),
            Finding(
                rule="sequence.gap",
                severity="warning",
                message="sequence_number jumps from 3 to 5",
                event_index=4,
                sequence_number=5,
            ),
            Finding(rule="framing.id-field", severity="info", message="id: used", event_index=0),
        ],
    )
    good = CaseResult(id="good.sse", status="passed", event_count=10, duration_s=0.5)
    skipped = CaseResult(id="tools.sse", status="skipped", skip_reason="no tools on target")
    crashed = CaseResult(id="down.sse", status="error", error="connection refused\x00")
    return Report(
        cases=[broken, good, skipped, crashed],
        target="files",
        profile="openai",
        fail_on=fail_on,
        tool_version="0.1.0",
        started_at="2026-11-21T10:00:00+00:00",
        meta={"unit": "stream"},
    )


# -- registry of formats --------------------------------------------------------------------


def test_get_reporter_known_and_unknown() -> None:
    assert {"text", "json", "junit"} <= set(available_formats())
    assert get_reporter("json") is json_report.render
    with pytest.raises(ValueError, match="unknown report format 'yaml'"):
        get_reporter("yaml")


# -- text -----------------------------------------------------------------------------------


def test_text_groups_by_rule_with_locations_and_breaks() -> None:
    out = text.render(_report())
    lines = out.splitlines()
    # Each rule appears once as a group header; the repeated rule shows its count.
    headers = [ln for ln in lines if ln.startswith("  ") and not ln.startswith("    ")]
    assert [h.split()[1] for h in headers] == [
        "lifecycle.no-terminal",
        "part.not-added",
        "sequence.gap",
        "framing.id-field",
    ]
    assert "part.not-added ×2" in out
    assert "breaks: codex, openai-agents" in out
    assert "breaks: openai-python" in out
    assert "event 7, seq 7, output 0, content 1: delta for content_index 1" in out
    assert "event 4, seq 5: sequence_number jumps" in out
    assert (
        lines[-1]
        == "3 errors, 1 warning, 1 info in 4 streams (1 passed, 1 failed, 1 skipped, 1 error)"
    )


def test_text_escapes_control_characters_and_has_no_colour_by_default() -> None:
    out = text.render(_report())
    assert "\x1b" not in out
    assert "\x00" not in out
    assert "\\x1b[31mred" in out  # the stream's ESC is shown, not executed
    assert '"type":"response.output_text.delta",⏎"delta"' in out
    assert "could not run: connection refused\\x00" in out
    assert "skipped: no tools on target" in out


def test_text_colour_on_request() -> None:
    out = text.render(_report(), color=True)
    assert "\x1b[1;31m" in out and "\x1b[0m" in out


def test_text_truncates_long_groups() -> None:
    many = [
        Finding(rule="sequence.gap", severity="warning", message=f"gap {i}", event_index=i)
        for i in range(25)
    ]
    case = CaseResult(id="x", status="passed", findings=many)
    out = text.render_case(case, max_per_rule=10)
    assert "gap 9" in out and "gap 10" not in out
    assert "… and 15 more" in out


def test_text_summary_default_unit_and_clean_case() -> None:
    report = Report(cases=[CaseResult(id="a", status="passed")])
    assert text.summary_line(report) == "0 errors, 0 warnings in 1 case (1 passed)"
    assert text.render_case(report.cases[0]).startswith("✓ a  (passed)")


def test_excerpt_text_is_cut() -> None:
    assert text.excerpt_text("x" * 500, limit=20) == "x" * 19 + "…"


# -- json -----------------------------------------------------------------------------------


def test_json_round_trips() -> None:
    report = _report()
    doc = json.loads(json_report.render(report))
    assert doc["counts"] == {"passed": 1, "failed": 1, "skipped": 1, "error": 1}
    assert len(doc["cases"][0]["findings"]) == 5
    assert doc["cases"][0]["findings"][0]["breaks"] == ["codex", "openai-agents"]
    assert Report.from_dict(doc) == report


# -- junit ----------------------------------------------------------------------------------


def test_junit_validates_against_schema() -> None:
    xml = junit.render(_report())
    xmlschema.XMLSchema(str(XSD)).validate(xml)


def test_junit_structure() -> None:
    root = ET.fromstring(junit.render(_report()))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == (
        "4",
        "1",
        "1",
        "1",
    )
    assert suite.get("timestamp") == "2026-11-21T10:00:00+00:00"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["profile"] == "openai"
    cases = {tc.get("name"): tc for tc in suite.findall("testcase")}
    failure = cases["streams/broken.sse"].find("failure")
    assert failure is not None
    assert failure.get("message") == "3 errors: lifecycle.no-terminal, part.not-added"
    assert "breaks: codex, openai-agents" in (failure.text or "")
    # Findings below the fail level are shown but do not fail the case.
    out = cases["streams/broken.sse"].find("system-out")
    assert out is not None and "sequence.gap" in (out.text or "")
    assert "sequence.gap" not in (failure.text or "")
    assert cases["good.sse"].find("failure") is None
    skipped = cases["tools.sse"].find("skipped")
    assert skipped is not None and skipped.get("message") == "no tools on target"
    error = cases["down.sse"].find("error")
    assert error is not None and error.get("message") == "connection refused\\u0000"


def test_junit_fail_on_warning_moves_warnings_into_failure() -> None:
    root = ET.fromstring(junit.render(_report(fail_on="warning")))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "sequence.gap" in (failure.text or "")


def test_junit_sanitises_characters_xml_cannot_hold() -> None:
    case = CaseResult(
        id="bad\x01name",
        status="failed",
        findings=[
            Finding(
                rule="framing.invalid-json", severity="error", message="x", excerpt="\x0b\ud800"
            )
        ],
    )
    xml = junit.render(Report(cases=[case], started_at="not a date"))
    root = ET.fromstring(xml)  # would raise on an invalid character
    assert root.find("testsuite/testcase").get("name") == "bad\\u0001name"  # type: ignore[union-attr]
    assert root.find("testsuite").get("timestamp") is None  # type: ignore[union-attr]
    xmlschema.XMLSchema(str(XSD)).validate(xml)
