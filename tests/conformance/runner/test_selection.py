"""Scenario selection (ids, tags, skips) and `conformance scenarios`."""

from __future__ import annotations

import json

import pytest

from conformance.cli import main as cli_main
from conformance.scenarios import catalogue, select
from tests.conformance.runner.conftest import FAKES

OPEN_RESPONSES_IDS = {
    "basic-response",
    "streaming-response",
    "system-prompt",
    "tool-calling",
    "image-input",
    "multi-turn",
    "assistant-phase",
    "compact-response",
    "compact-missing-model",
    "websocket-response",
    "websocket-sequential-responses",
    "websocket-continuation",
    "websocket-reconnect-store-false-recovery",
    "websocket-previous-response-not-found",
    "websocket-failed-continuation-evicts-cache",
    "websocket-compact-new-chain",
}


def test_catalogue_ids_unique_and_cover_open_responses() -> None:
    ids = [s.id for s in catalogue()]
    assert len(ids) == len(set(ids))
    assert set(ids) >= OPEN_RESPONSES_IDS
    assert {s.id for s in catalogue() if "open-responses" in s.tags} == OPEN_RESPONSES_IDS
    assert all(s.title and s.tags for s in catalogue())


def test_select_by_id_tag_and_skip() -> None:
    chosen, skips = select(["basic-response,tag:tools"], ["tool-choice-none"])
    ids = [s.id for s in chosen]
    assert ids[0] == "basic-response" and "tool-calling" in ids
    assert all(i == "basic-response" or "tools" in next(s for s in chosen if s.id == i).tags for i in ids)
    assert skips == {"tool-choice-none": "skipped by --skip tool-choice-none"}
    with pytest.raises(ValueError, match="unknown scenario"):
        select(["nope"], None)


def test_skipped_scenarios_are_reported_as_skipped(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:good_app", "--scenario", "basic-response,tag:vision", "--skip", "tag:vision")
    assert result.code == 0
    assert result.case("image-input").status == "skipped"
    assert result.case("image-input").skip_reason == "skipped by --skip tag:vision"
    assert result.report.counts()["skipped"] == 1


def test_scenarios_command(capsys) -> None:
    assert cli_main(["scenarios", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed] == [s.id for s in catalogue()]
    assert {"id", "title", "tags"} <= set(listed[0])
    assert cli_main(["scenarios", "--tag", "errors"]) == 0
    out = capsys.readouterr().out
    assert "error-missing-model" in out and "basic-response" not in out


def test_docs_list_every_scenario() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "runner.md").read_text()
    missing = [s.id for s in catalogue() if f"| `{s.id}` |" not in doc]
    assert not missing, f"docs/runner.md lacks {missing}"


def test_run_select_and_ignore_rules(run_cli) -> None:
    from conformance import registry

    app, sc = f"{FAKES}:no_content_part_app", "streaming-response"
    try:
        base = run_cli("--app", app, "--scenario", sc)
        rules = {f.rule for f in base.case(sc).findings}
        assert base.code == 1 and "part.not-added" in rules, rules
        ignored = run_cli("--app", app, "--scenario", sc, "--ignore", "part")
        assert not any(f.rule.startswith("part.") for f in ignored.case(sc).findings)
        picked = run_cli("--app", app, "--scenario", sc, "--select", "part.not-added")
        assert {f.rule for f in picked.case(sc).findings} == {"part.not-added"}
        bad = run_cli("--app", app, "--scenario", sc, "--ignore", "parts")
        assert bad.code == 2 and "--ignore 'parts'" in bad.err and len(bad.err.strip().splitlines()) == 1
    finally:
        registry.select_rules()
