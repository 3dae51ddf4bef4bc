"""The protocol facts behind verdicts on unseen traffic, the protocol/model split, and one root
cause one headline (cascade folding in every report; exit codes unchanged)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from conformance import check_events, check_response, check_sse
from conformance.cascades import fold
from conformance.cli import main as cli_main
from conformance.findings import Finding
from conformance.registry import all_rules
from conformance.report import CaseResult, Report
from conformance.reporters import get_reporter
from conformance.testing import (
    assert_only,
    build_stream,
    function_call,
    index_of,
    message,
    renumber,
    response_object,
    to_sse,
    usage,
    web_search_call,
)

STRICT_TOOL = {"type": "function", "name": "get_weather", "strict": True,
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


# -- 1. partial items at output_item.added ----------------------------------------------------------
def test_web_search_added_without_action_is_fine() -> None:
    evs = build_stream(web_search_call())
    del evs[index_of(evs, "response.output_item.added")]["item"]["action"]
    assert_only(check_events(evs))


def test_a_field_missing_at_done_is_still_an_error() -> None:
    evs = build_stream(web_search_call())
    del evs[index_of(evs, "response.output_item.done")]["item"]["action"]
    assert "schema.item" in {f.rule for f in check_events(evs).errors()}


def test_call_id_missing_at_added_stays_an_error() -> None:
    # openai-python >=3.54 identifies call items by call_id from the added event on.
    evs = build_stream(function_call())
    del evs[index_of(evs, "response.output_item.added")]["item"]["call_id"]
    assert {"schema.item", "item.identity-changed"} <= {f.rule for f in check_events(evs).errors()}


# -- 2. forward compatibility -----------------------------------------------------------------------
def _program_call(events: list[Any]) -> list[Any]:
    for ev in events:
        if isinstance(ev.get("item"), dict):
            ev["item"]["caller"] = {"type": "program", "caller_id": "prg_1"}
    events[index_of(events, "response.output_item.done")]["item"]["status"] = "in_progress"
    events[-1]["response"]["output"][0].update(status="in_progress", caller={"type": "program", "caller_id": "prg_1"})
    return events


def test_program_calls_stay_in_progress() -> None:
    assert_only(check_events(_program_call(build_stream(function_call()))))


def test_a_direct_call_still_must_finish() -> None:
    evs = _program_call(build_stream(function_call()))
    for ev in evs:
        if isinstance(ev.get("item"), dict):
            ev["item"]["caller"] = {"type": "direct"}
    evs[-1]["response"]["output"][0]["caller"] = {"type": "direct"}
    assert "item.status" in {f.rule for f in check_events(evs).errors()}


def test_a_new_event_type_is_one_warning_naming_the_contract_version() -> None:
    evs = build_stream(message("a b c d"))
    at = index_of(evs, "response.output_text.done")
    for k in range(3):
        evs.insert(at, {"type": "response.apply_patch_call_operation_diff.delta", "output_index": 0, "delta": str(k)})
    (f,) = assert_only(check_events(renumber(evs)), "schema.unknown-event")
    assert f.severity == "warning" and "openai-python 3.60" in f.message


# -- 3. the "… and N more" line keeps the severity it summarises ------------------------------------
def test_truncated_summary_of_tolerated_warnings_is_a_warning() -> None:
    evs = build_stream(message(" ".join(f"w{i}" for i in range(30))))
    for ev in evs:
        if ev["type"] == "response.output_text.delta":
            del ev["logprobs"]
    result = check_events(evs)
    assert result.ok and not result.errors()
    more = [f for f in result.findings if f.message.startswith("… and")]
    assert len(more) == 1 and more[0].severity == "warning"
    assert result.summary["warning"] == 30


def test_truncated_summary_takes_the_worst_severity_it_hides() -> None:
    evs = build_stream(message(" ".join(f"w{i}" for i in range(30))))
    deltas = [i for i, ev in enumerate(evs) if ev["type"] == "response.output_text.delta"]
    for i in deltas:
        del evs[i]["logprobs"]  # tolerated: warnings
    evs[deltas[-1]]["delta"] = 7  # not a string: an error, beyond the cap
    more = [f for f in check_events(evs).findings if f.message.startswith("… and") and f.rule == "schema.event"]
    assert [f.severity for f in more] == ["error"]


# -- 4. request.max-output-tokens judges what happened ----------------------------------------------
def test_an_answer_shorter_than_the_limit_may_complete() -> None:
    req = {"model": "gpt-test", "input": "hi", "max_output_tokens": 64}
    evs = build_stream(message("Hello!"), usage_obj=usage(5, 3), response={"max_output_tokens": 64})
    assert_only(check_events(evs, request=req))


def test_reaching_the_limit_and_completing_is_an_error() -> None:
    req = {"model": "gpt-test", "input": "hi", "max_output_tokens": 16}
    evs = build_stream(message("Hello!"), usage_obj=usage(5, 16), response={"max_output_tokens": 16})
    assert "request.max-output-tokens" in {f.rule for f in check_events(evs, request=req).errors()}


# -- 5. a call cut by max_output_tokens ---------------------------------------------------------------
def _cut_call(terminal: str = "incomplete") -> list[Any]:
    evs = build_stream(function_call(arguments='{"city":"Par'), terminal=terminal)
    evs[index_of(evs, "response.output_item.done")]["item"]["status"] = "incomplete"
    evs[-1]["response"]["output"][0]["status"] = "incomplete"
    return evs


@pytest.mark.parametrize("terminal", ["incomplete", "failed"])
def test_truncated_arguments_of_a_cut_call_are_a_warning(terminal: str) -> None:
    req = {"model": "gpt-test", "input": "x", "tools": [STRICT_TOOL]}
    result = check_events(_cut_call(terminal), request=req)
    assert not result.errors(), result.findings
    (f,) = [f for f in result.findings if f.rule == "call.truncated-arguments"]
    assert f.severity == "warning" and "must not run" in f.message


def test_unparsable_arguments_of_a_completed_call_stay_an_error_for_a_strict_tool() -> None:
    req = {"model": "gpt-test", "input": "x", "tools": [STRICT_TOOL]}
    evs = build_stream(function_call(arguments='{"city":"Par'))
    assert {f.rule for f in check_events(evs, request=req).errors()} == {"call.arguments-not-json"}


# -- 6. keep judging after a fault ------------------------------------------------------------------
def test_deltas_of_an_unannounced_item_are_compared_with_the_snapshot() -> None:
    evs = build_stream(message("Hello from the upstream."))
    keep = ("response.output_item.added", "response.content_part.added", "response.output_text.done",
            "response.content_part.done", "response.output_item.done")
    evs = [e for e in evs if e["type"] not in keep]
    evs[-1]["response"]["output"][0]["content"][0]["text"] = "(No update)"
    result = check_events(renumber(evs))
    (f,) = [f for f in result.findings if f.rule == "accumulation.delta-vs-done"]
    assert "Hello from the upstr" in f.message and "(No update)" in f.message and f.output_index == 0


def test_the_item_a_max_output_tokens_cut_ends_must_be_incomplete() -> None:
    evs = build_stream(message("cut here"), terminal="incomplete")
    (f,) = assert_only(check_events(evs), "item.truncated-completed")
    assert f.severity == "error" and f.output_index == 0
    evs = build_stream(message("cut here", status="incomplete"), terminal="incomplete")
    assert_only(check_events(evs))


# -- 7. sequence numbers: see test_rules_sequence.py; the fixture sidecar opt-in -----------------
def test_sidecar_tolerance_reaches_the_checker() -> None:
    from conformance.fixture_corpus import load_fixtures, verify

    (fx,) = [f for f in load_fixtures() if f.name == "positive/built/pre-2025-no-sequence-numbers"]
    assert fx.profile == "openai[tolerate=sequence-number-absent]"
    verdict = verify(fx)
    assert verdict.ok and "sequence.missing" in verdict.warnings


# -- 8. completed_at ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "completed_at", "bad"),
    [("completed", 1767225700, False), ("completed", None, True), ("completed", 5, True),
     ("incomplete", None, False), ("failed", 1767225700, True)],
)
def test_completed_at_matches_the_status(status: str, completed_at: Any, bad: bool) -> None:
    body = response_object(status, [], completed_at=completed_at, usage=usage())
    if status == "incomplete":
        body["incomplete_details"] = {"reason": "max_output_tokens"}
    if status == "failed":
        body["error"] = {"code": "server_error", "message": "x"}
    rules = {f.rule for f in check_response(body).errors()}
    assert ("lifecycle.completed-at" in rules) is bad


def test_completed_at_absent_is_not_judged_under_openai() -> None:
    body = response_object("completed", [], usage=usage())
    del body["completed_at"]
    assert "lifecycle.completed-at" not in {f.rule for f in check_response(body).findings}


# -- 9. Open Responses: 31 required Response fields -----------------------------------------------
def test_openresponses_requires_the_penalties() -> None:
    evs = build_stream(message("hi"))
    for ev in evs:
        if "response" in ev:
            del ev["response"]["presence_penalty"], ev["response"]["frequency_penalty"]
    assert check_sse(to_sse(evs, done=True)).ok  # the openai profile does not require them
    result = check_sse(to_sse(evs, done=True), profile="openresponses")
    bad = [f for f in result.findings if f.rule == "schema.response" and f.severity == "error"]
    assert bad and all("'presence_penalty', 'frequency_penalty'" in f.message for f in bad)
    # One root cause: the same missing fields in every snapshot fold under the first.
    assert [f.caused_by is None for f in bad] == [True] + [False] * (len(bad) - 1)


# -- protocol versus model ----------------------------------------------------------------------------
MODEL_RULES = {"call.arguments-not-json", "call.unknown-tool", "call.tool-choice", "call.parallel",
               "call.arguments-schema", "http.output-missing", "http.structured-output"}


def test_every_rule_declares_its_kind() -> None:
    kinds = {r.id: r.kind for r in all_rules()}
    assert set(kinds.values()) == {"protocol", "model"}
    assert {k for k, v in kinds.items() if v == "model"} == MODEL_RULES


def test_rules_command_shows_the_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["rules", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rules"]
    assert {r["id"]: r["kind"] for r in rows if r["kind"] == "model"}.keys() == MODEL_RULES
    assert cli_main(["rules", "--family", "call"]) == 0
    text = capsys.readouterr().out
    assert "call.tool-choice" in text and " model " in text and " protocol " in text


def test_proxy_target_kind_demotes_only_model_findings() -> None:
    req = {"model": "gpt-test", "input": "x", "tool_choice": "required", "tools": [STRICT_TOOL]}
    evs = build_stream(message("no call"))
    evs[2]["output_index"] = 3  # a protocol defect too
    server = check_events(evs, request=req)
    proxy = check_events(evs, request=req, profile="openai[target-kind=proxy]")
    sev = {f.rule: f.severity for f in server.findings}
    psev = {f.rule: f.severity for f in proxy.findings}
    assert sev["call.tool-choice"] == "error" and psev["call.tool-choice"] == "warning"
    assert psev["item.index-not-contiguous"] == "error"
    (f,) = [f for f in proxy.findings if f.rule == "call.tool-choice"]
    assert f.kind == "model" and f.message.startswith("the model behind this server")


# -- one root cause, one headline -------------------------------------------------------------------
def _cut_added() -> bytes:
    """A stream whose output_item.added is not JSON: every later event of the item cascades."""
    raw = to_sse(build_stream(message("one two three four five six")))
    lines = raw.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b'data: {"type":"response.output_item.added"'):
            lines[i] = line[:50]
    return b"\n".join(lines)


def test_a_framing_break_folds_what_follows() -> None:
    result = check_sse(_cut_added())
    roots = [f for f in result.findings if f.caused_by is None]
    assert [f.rule for f in roots] == ["framing.invalid-json"]
    assert roots[0].derived == len(result.findings) - 1 > 5
    assert all(f.caused_by == roots[0].ref() for f in result.findings[1:])
    assert not result.ok  # exit codes do not change: the derived errors still count


def test_a_duplicate_index_folds_the_findings_at_that_index() -> None:
    # A server announces a function call at output_index 0 while its message 0 is still open.
    evs = build_stream(message("a b"), function_call())
    text_done = evs[index_of(evs, "response.output_text.done")]
    call = [ev for ev in evs if ev.get("output_index") == 1]
    rest = [ev for ev in evs if ev.get("output_index") != 1]
    for ev in call:
        ev["output_index"] = 0
    at = rest.index(text_done)
    findings = check_events(renumber(rest[:at] + call + rest[at:])).findings
    roots = [f for f in findings if f.caused_by is None]
    assert [f.rule for f in roots] == ["item.duplicate-index"]
    derived = [f for f in findings if f.caused_by == roots[0].ref()]
    assert len(derived) == roots[0].derived == len(findings) - 1 >= 5
    assert {f.output_index for f in derived} == {0}


def test_fold_is_idempotent_and_keeps_every_finding() -> None:
    findings = check_sse(_cut_added()).findings
    again = fold(findings)
    assert again == findings
    plain = [Finding(f.rule, f.severity, f.message, f.event_index, output_index=f.output_index) for f in findings]
    assert [(f.rule, f.caused_by) for f in fold(plain)] == [(f.rule, f.caused_by) for f in findings]


@pytest.fixture
def cascade_report() -> Report:
    result = check_sse(_cut_added())
    case = CaseResult(id="cut.sse", status="failed", findings=list(result.findings), event_count=result.event_count)
    return Report(cases=[case], profile="openai")


def test_every_report_shows_the_root_first(cascade_report: Report) -> None:
    text = get_reporter("text")(cascade_report)
    assert text.index("framing.invalid-json") < text.index("↳")
    assert "item.unknown-index" not in text.split("↳")[0]
    assert "more findings follow from this one" in text
    doc = json.loads(get_reporter("json")(cascade_report))
    rows = doc["cases"][0]["findings"]
    assert rows[0]["rule"] == "framing.invalid-json" and rows[0]["derived"] == len(rows) - 1
    assert all(r["caused_by"] == "framing.invalid-json@2" for r in rows[1:])
    junit = ET.fromstring(get_reporter("junit")(cascade_report))
    failure = junit.find(".//failure")
    assert failure is not None and failure.get("type") == "framing.invalid-json"
    assert failure.get("message", "").endswith(": framing.invalid-json") and "↳" in (failure.text or "")
    md = get_reporter("markdown")(cascade_report)
    assert "`framing.invalid-json` (+" in md and "↳" in md
    html = get_reporter("html")(cascade_report)
    assert html.index("framing.invalid-json") < html.index("more findings follow from this one") < html.index("item.unknown-index")


def test_check_exit_code_unchanged_by_folding(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cut.sse"
    path.write_bytes(_cut_added())
    assert cli_main(["check", str(path)]) == 1
    assert "↳" in capsys.readouterr().out


def test_check_tolerate_option(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    evs = build_stream(message("old recording"))
    for ev in evs:
        del ev["sequence_number"]
    path = tmp_path / "old.sse"
    path.write_bytes(to_sse(evs))
    assert cli_main(["check", str(path)]) == 1
    assert "--tolerate sequence-number-absent" in capsys.readouterr().out
    assert cli_main(["check", str(path), "--tolerate", "sequence-number-absent"]) == 0
    out = capsys.readouterr().out
    assert "profile openai[tolerate=sequence-number-absent]" in out and "[tolerated: sequence-number-absent]" in out
    assert cli_main(["check", str(path), "--tolerate", "sequence-numbers-absent"]) == 2
    assert "unknown tolerance" in capsys.readouterr().err


def test_reports_mark_model_behaviour() -> None:
    req = {"model": "gpt-test", "input": "x", "tool_choice": "required", "tools": [STRICT_TOOL]}
    result = check_events(build_stream(message("no call")), request=req)
    case = CaseResult(id="s", status="failed", findings=list(result.findings))
    report = Report(cases=[case])
    assert "call.tool-choice  (model behaviour)" in get_reporter("text")(report)
    assert "`call.tool-choice` (model behaviour)" in get_reporter("markdown")(report)
    assert "(model behaviour)" in get_reporter("html")(report)
    rows = json.loads(get_reporter("json")(report))["cases"][0]["findings"]
    assert {r["rule"]: r["kind"] for r in rows}["call.tool-choice"] == "model"


def test_an_unknown_field_filled_late_is_a_warning_a_known_one_an_error() -> None:
    evs = build_stream(message("hi"))
    evs[-1]["response"]["output"][0]["zz_summary"] = "late"
    result = check_events(evs)
    assert result.ok
    (f,) = [f for f in result.findings if f.rule == "output.mismatch"]
    assert f.severity == "warning" and "filled late" in f.message
    evs[-1]["response"]["output"][0]["role"] = "user"  # a known field differs as well
    (f,) = [f for f in check_events(evs).findings if f.rule == "output.mismatch"]
    assert f.severity == "error" and "/role" in f.message
