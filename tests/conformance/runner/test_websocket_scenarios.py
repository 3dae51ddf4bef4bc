"""The websocket / compact scenarios: they pass against the embedded reference server, and are
reported skipped (not failed) by a target that lacks the transport."""

from __future__ import annotations

from conformance.runner import RunOptions, embedded_target, run_scenarios
from conformance.scenarios import select
from tests.conformance.runner.conftest import FAKES


def test_websocket_and_compact_scenarios_pass_on_the_reference_server() -> None:
    chosen, _ = select(["tag:websocket,tag:compact"], None)
    assert len(chosen) >= 13
    with embedded_target(api_key="sk-ws-scenarios", backend="scripted") as target:
        report = run_scenarios(target, chosen, RunOptions(timeout=30, concurrency=2))
    not_passed = {c.id: c.error or c.skip_reason or [str(f) for f in c.failing()]
                  for c in report.cases if c.status != "passed"}
    assert not_passed == {}


def test_skipped_cleanly_without_the_transport(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:good_app", "--scenario", "tag:websocket,tag:compact")
    assert result.code == 0
    statuses = {c.id: c.status for c in result.report.cases}
    assert set(statuses.values()) == {"skipped"}, statuses
    assert "WebSocket" in result.case("websocket-response").skip_reason
    assert "compact" in result.case("compact-response").skip_reason
