"""Deliberately broken apps (hand-written fakes): the right scenarios fail with the right rules,
the others pass, and the CLI exits 1. The correct fake passes the same selection."""

from __future__ import annotations

import pytest

from conformance.runner import RunOptions, app_target, run_scenarios
from conformance.scenarios import get
from tests.conformance.runner import fakes
from tests.conformance.runner.conftest import FAKES

SELECTION = "basic-response,streaming-response,get-stored-response,tag:errors"
STREAMED = {"streaming-response", "get-stored-response"}
BAD_REQUESTS = {
    "error-missing-model",
    "error-wrong-input-type",
    "error-invalid-json",
    "error-unknown-tool-choice",
    "error-metadata-limits",
    "error-max-output-tokens-minimum",
}


def test_correct_fake_passes(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:good_app", "--scenario", SELECTION)
    assert result.code == 0, result.out
    statuses = {c.id: c.status for c in result.report.cases}
    assert statuses["error-missing-api-key"] == "skipped"  # no key given: cannot be tested
    # The fake has no WebSocket transport and no /responses/compact: those are skipped, not failed.
    lacking = {i for i in statuses if i.startswith(("websocket-", "compact-"))}
    assert lacking and {statuses[i] for i in lacking} == {"skipped"}
    assert {s for i, s in statuses.items() if not i.endswith("api-key") and i not in lacking} == {"passed"}


@pytest.mark.parametrize(
    ("app", "failing", "rules", "absent"),
    [
        ("no_content_part_app", STREAMED, {"part.not-added"}, set()),
        ("index_off_by_one_app", STREAMED, {"item.index-not-contiguous"}, set()),
        ("no_terminal_app", STREAMED | {"basic-response"}, {"lifecycle.no-terminal"}, set()),
        ("server_error_app", BAD_REQUESTS, {"http.server-error", "http.error-shape"}, set()),
        ("fastapi_422_app", BAD_REQUESTS, {"http.bad-request", "http.error-shape"}, {"http.server-error"}),
    ],
)
def test_broken_app_fails_the_right_scenarios(run_cli, app, failing, rules, absent) -> None:
    result = run_cli("--app", f"{FAKES}:{app}", "--scenario", SELECTION)
    assert result.code == 1
    failed = {c.id for c in result.report.cases if c.status == "failed"}
    assert failed == failing
    for scenario_id in failing - {"basic-response"}:
        got = result.rules(scenario_id)
        assert rules <= got, (scenario_id, got)
        assert not absent & got
    # Failures are printed with rule id, event index and excerpt.
    first_rule = sorted(rules)[0]
    assert first_rule in result.out


def test_stream_finding_points_at_the_event(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:index_off_by_one_app", "--scenario", "streaming-response")
    finding = next(f for f in result.case("streaming-response").findings if f.rule == "item.index-not-contiguous")
    assert finding.event_index == 2 and '"output_index":1' in (finding.excerpt or "")
    assert "event 2" in result.out
    # The case keeps the events (for the HTML timeline), indexed like the findings.
    report = run_scenarios(app_target(fakes.index_off_by_one_app), [get("streaming-response")], RunOptions())
    case = report.cases[0]
    assert case.events is not None and case.events[2]["type"] == "response.output_item.added"
    assert case.details["streams"][0]["first_event"] == 0


def test_non_stream_body_that_is_not_an_object_fails(run_cli) -> None:
    # no_terminal_app answers non-stream requests with `null`.
    result = run_cli("--app", f"{FAKES}:no_terminal_app", "--scenario", "basic-response")
    assert result.code == 1
    assert "schema.response" in result.rules("basic-response")
