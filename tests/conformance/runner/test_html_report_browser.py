"""The HTML report as a web page: its size for a real 39-scenario run, and in a real browser
(Debian's chromium driven by playwright) no horizontal overflow at 1280 px, timelines that open
and close, finding links that land on their event, nothing loaded from anywhere.

The browser tests skip, naming what is missing, where chromium or playwright is absent; they
never download a browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.findings import Finding
from conformance.report import CaseResult, Report
from conformance.reporters import html
from conformance.runner import RunOptions, run_scenarios
from conformance.runner.targets import app_target
from conformance.scenarios import catalogue
from tests.conformance.runner import fakes

WIDTH = 1280
# A passing 39-scenario run was 530 KB when every event was embedded with its full JSON.
PASSING_RUN_BOUND = 200_000
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def passing_report() -> Report:
    from reference_server import create_app
    from reference_server.core.settings import Settings

    app = create_app(settings=Settings(api_key="sk-html-report"))
    target = app_target(app, api_key="sk-html-report", label="reference server (scripted backend)")
    # In process there is no WebSocket transport: those scenarios are left out (they would be skipped).
    scenarios = [s for s in catalogue() if "websocket" not in s.tags]
    report = run_scenarios(target, scenarios, RunOptions(timeout=30, concurrency=4))
    assert report.counts()["passed"] == len(report.cases) >= 39, report.counts()
    return report


@pytest.fixture(scope="module")
def failing_report() -> Report:
    """A run with a defective server, plus a case full of long unbreakable text."""
    report = run_scenarios(app_target(fakes.no_content_part_app), [
        s for s in catalogue() if s.id in ("basic-response", "streaming-response", "tool-calling-stream")])
    long = "x" * 3000
    report.cases.append(CaseResult(
        id="a-very-long-case-id-" + "y" * 300, status="failed", title=long, event_count=3,
        findings=[Finding("part.not-added", "error", "message " + long, event_index=1, excerpt=long)],
        events=[{"type": "response.created", "sequence_number": 0, "response": {"id": "resp_" + long}},
                {"type": "response.output_text.delta", "sequence_number": 1, "delta": long, "item_id": long},
                {"type": "response.completed", "sequence_number": 2}],
    ))
    report.target = "http://" + "z" * 500
    return report


def test_a_passing_run_report_stays_small(passing_report: Report, capsys: pytest.CaptureFixture[str]) -> None:
    page = html.render(passing_report)
    size = len(page.encode())
    events = sum(c.event_count for c in passing_report.cases)
    with capsys.disabled():
        print(f"\nHTML report of {len(passing_report.cases)} passing scenarios ({events} events): {size / 1000:.0f} KB")
    assert size < PASSING_RUN_BOUND
    # Still a timeline per streamed scenario, every event accounted for.
    streamed = [c for c in passing_report.cases if c.events]
    assert page.count('<details class="timeline"') == len(streamed) > 10
    assert "deltas:" in page  # runs of deltas are merged into one row
    assert ' title="{' not in page  # no full-event tooltips when nothing is wrong


def test_a_failing_case_keeps_every_event_in_full(failing_report: Report) -> None:
    page = html.render(failing_report)
    failed = next(no for no, c in enumerate(failing_report.cases) if c.id == "streaming-response")
    case = failing_report.cases[failed]
    assert case.status == "failed" and case.events
    for i in range(len(case.events)):
        assert f'<tr id="c{failed}-e{i}"' in page
    assert page.count(' title="{') >= len(case.events)


# ---------------------------------------------------------------------------- in a browser
@pytest.fixture(scope="module")
def browser(passing_report: Report, failing_report: Report) -> Iterator[Any]:
    # The reports are made first: playwright's sync API keeps an event loop running in this
    # thread while the browser is open, and the runner needs one of its own.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("BROWSER TEST SKIPPED: playwright is not installed (pip install '.[dev]')")
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("BROWSER TEST SKIPPED: no chromium on PATH (Debian: apt-get install -y chromium; "
                    "or set CHROMIUM to the browser's path)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _open(browser: Any, report: Report, path: Path) -> tuple[Any, list[str]]:
    path.write_text(html.render(report), encoding="utf-8")
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(path.as_uri())
    return page, [url for url in fetched if url != path.as_uri()]


def _scroll_width(page: Any) -> int:
    return int(page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"))


@pytest.mark.parametrize("which", ["passing_report", "failing_report"])
def test_no_horizontal_overflow_at_1280px(browser: Any, which: str, request: pytest.FixtureRequest,
                                          tmp_path: Path) -> None:
    page, fetched = _open(browser, request.getfixturevalue(which), tmp_path / "report.html")
    try:
        assert fetched == []  # self-contained: nothing else is loaded
        assert _scroll_width(page) <= WIDTH
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert _scroll_width(page) <= WIDTH, "an opened timeline or request list is wider than the window"
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
    finally:
        page.close()


def test_timelines_open_and_close(browser: Any, passing_report: Report, tmp_path: Path) -> None:
    page, _ = _open(browser, passing_report, tmp_path / "report.html")
    try:
        timelines = page.locator("details.timeline")
        assert timelines.count() > 10
        for index in (0, timelines.count() - 1):
            timeline = timelines.nth(index)
            first_row = timeline.locator("table.timeline tr").nth(1)
            assert timeline.get_attribute("open") is None and not first_row.is_visible()
            timeline.locator("summary").click()
            assert timeline.get_attribute("open") is not None and first_row.is_visible()
            timeline.locator("summary").click()
            assert timeline.get_attribute("open") is None and not first_row.is_visible()
    finally:
        page.close()


def test_a_finding_link_lands_on_its_event(browser: Any, failing_report: Report, tmp_path: Path) -> None:
    page, _ = _open(browser, failing_report, tmp_path / "report.html")
    try:
        failed = next(no for no, c in enumerate(failing_report.cases) if c.id == "streaming-response")
        link = page.locator(f'section#case-{failed} a[href^="#c{failed}-e"]').first
        target = page.locator(link.get_attribute("href") or "")
        assert target.is_visible()  # the timeline of a failing case is open from the start
        link.click()
        assert target.evaluate("row => row.getBoundingClientRect().top") < 900 - 10
        assert "bad" in (target.get_attribute("class") or "")
    finally:
        page.close()
