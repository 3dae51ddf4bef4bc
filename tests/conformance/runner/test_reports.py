"""Report files of a live run: JSON round-trips, JUnit is well-formed JUnit, Markdown has its
table, HTML is self-contained and marks the offending events; no format ever holds the key."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.report import Report
from tests.conformance.runner import fakes
from tests.conformance.runner.conftest import FAKES

FORMATS = {"json": "r.json", "junit": "r.xml", "markdown": "r.md", "html": "r.html", "text": "r.txt"}


def _run_all_formats(run_cli, tmp_path: Path, *args: str):
    outs = [x for fmt, name in FORMATS.items() for x in ("--output", f"{fmt}:{tmp_path / name}")]
    result = run_cli(*args, *outs)
    texts = {fmt: (tmp_path / name).read_text(encoding="utf-8") for fmt, name in FORMATS.items()}
    return result, texts


def test_every_format_of_a_failing_run(run_cli, tmp_path: Path) -> None:
    result, texts = _run_all_formats(
        run_cli,
        tmp_path,
        "--app",
        f"{FAKES}:no_content_part_app",
        "--scenario",
        "basic-response,streaming-response,error-missing-model",
        "--skip",
        "error-missing-model",
    )
    assert result.code == 1
    report = result.report
    assert [c.status for c in report.cases] == ["passed", "failed", "skipped"]

    # JSON: every finding, and it reads back to the same document.
    raw = json.loads(texts["json"])
    assert Report.from_dict(raw).to_dict() == raw
    assert sum(len(c["findings"]) for c in raw["cases"]) == sum(len(c.findings) for c in report.cases)

    # JUnit: testsuite(s) > testcase per scenario; failure / skipped where due.
    root = ET.fromstring(texts["junit"])
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    assert root.tag in ("testsuites", "testsuite") and suites
    cases = [tc for s in suites for tc in s.findall("testcase")]
    assert [tc.get("name") for tc in cases] == ["basic-response", "streaming-response", "error-missing-model"]
    assert all(tc.get("classname") and float(tc.get("time", "x")) >= 0 for tc in cases)
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None
    failure = cases[1].find("failure")
    assert failure is not None and "part.not-added" in (failure.get("message") or "")
    assert cases[2].find("skipped") is not None
    assert int(suites[0].get("tests", "0")) == 3 and int(suites[0].get("failures", "0")) == 1

    # Markdown: a table row per scenario, then the findings.
    md = texts["markdown"]
    rows = [line for line in md.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 3 and "`part.not-added`" in rows[1]
    assert "### Findings" in md

    # HTML: self-contained, the offending event rows are marked and linked.
    page = texts["html"]
    assert "<style>" in page and "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)=["'](?!#)""", page)
    bad_event = next(f.event_index for f in report.cases[1].findings if f.rule == "part.not-added")
    assert re.search(rf'<tr id="c1-e{bad_event}" class="bad"', page)
    assert f'href="#c1-e{bad_event}"' in page

    # Text (the file) lists every case.
    assert "streaming-response" in texts["text"] and "part.not-added" in texts["text"]


def test_no_report_contains_the_api_key(run_cli, tmp_path: Path, capsys) -> None:
    # The leaky fake echoes the Authorization header into error bodies and into its streamed
    # text, so excerpts and events do carry the key until the runner redacts them.
    result, texts = _run_all_formats(
        run_cli,
        tmp_path,
        "--app",
        f"{FAKES}:leaky_app",
        "--api-key",
        fakes.LEAK_KEY,
        "--scenario",
        "streaming-response,error-wrong-input-type,error-missing-api-key,error-wrong-api-key",
    )
    assert result.code == 1  # the 422 shape fails error-wrong-input-type
    assert result.case("error-missing-api-key").status == "passed"
    everything = [*texts.values(), result.out, result.err]
    assert all(fakes.LEAK_KEY not in text for text in everything)
    assert "***" in texts["json"]  # the leak was there and was redacted


def test_json_on_stdout(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:good_app", "--scenario", "basic-response", "--format", "json")
    assert result.code == 0
    assert json.loads(result.out)["cases"][0]["id"] == "basic-response"
    assert "basic-response" in result.err  # progress lines go to stderr then


def test_hostile_content_is_escaped() -> None:
    from conformance.findings import Finding
    from conformance.report import CaseResult
    from conformance.reporters import html, markdown

    evil = "<script>alert(1)</script> | `tick` | "
    case = CaseResult(
        id="x|y",
        status="failed",
        title=evil,
        findings=[Finding("item.unknown-index", "error", evil, event_index=0, excerpt=evil)],
        events=[{"type": "response.output_text.delta", "delta": evil, "sequence_number": 0}],
        event_count=1,
    )
    report = Report(cases=[case], target=evil)
    page = html.render(report)
    assert "<script>" not in page and "&lt;script&gt;" in page
    md = markdown.render(report)
    row = next(line for line in md.splitlines() if line.startswith("| ❌"))
    # Every pipe inside a cell is escaped: the row still has exactly 5 cells.
    assert len([c for c in re.split(r"(?<!\\)\|", row)[1:-1]]) == 5
    # Raw HTML only inside code spans, where Markdown shows it literally.
    assert "<script>" not in re.sub(r"(`+).*?\1", "", md)
