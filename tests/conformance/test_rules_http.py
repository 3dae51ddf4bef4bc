"""http.* rules over recorded exchanges: each single-exchange rule fires from a record in
`conformance check`, old recordings without an expectation are judged where the answer alone
suffices, and a recording written by `conformance record` is judged as the runner judged it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from conformance import registry
from conformance.cli import main
from conformance.corpus import check_record
from conformance.exchange import (
    VALID,
    VALID_JSON,
    Expectation,
    HttpExchange,
    Timeout,
    check_exchange,
    invalid,
)
from conformance.testing import build_stream, message, terminal, to_sse

ERROR_BODY = {"error": {"message": "Missing required parameter: 'model'.", "type": "invalid_request_error",
                        "param": "model", "code": None}}


def record(status: int | None, body: Any, *, expect: Any = ..., stream: bool = False, label: str = "POST /responses",
           path: str = "/responses", ctype: str = "application/json", **meta: Any) -> dict[str, Any]:
    """One line of a `.jsonl` corpus as `conformance record` writes it (the sidecar, body inline)."""
    recording: dict[str, Any] = {"scenario": "s", "exchange": 0, "label": label, "method": "POST", "path": path,
                                 "status": status, "auth": "valid", "stream": stream,
                                 "headers": [["content-type", ctype]], "chunks": [], **meta}
    if expect is not ...:
        recording["expect"] = expect.to_dict() if isinstance(expect, Expectation) else expect
    text = body if isinstance(body, str) else orjson.dumps(body).decode()
    return {"id": "rec", "body": text, "recording": recording}


def rules(result: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in result["findings"]]


def messages(result: dict[str, Any], rule: str) -> list[str]:
    return [f["message"] for f in result["findings"] if f["rule"] == rule]


@pytest.fixture(autouse=True)
def _no_selection() -> Any:
    yield
    registry.select_rules()


def test_a_500_to_a_valid_request_is_a_server_error_in_conformance_check(tmp_path: Path, capsys: Any) -> None:
    corpus = tmp_path / "recording.jsonl"
    corpus.write_text(orjson.dumps(record(500, "Internal Server Error", expect=VALID_JSON, ctype="text/plain")).decode()
                      + "\n")
    code = main(["check", str(corpus), "--format", "jsonl"])
    (result,) = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and result["verdict"] == "failed"
    assert rules(result) == ["http.server-error", "http.status", "http.error-shape"]
    assert messages(result, "http.server-error") == ["POST /responses: answered 500 to a valid request"]
    assert messages(result, "http.status") == ["POST /responses: answered 500 to a valid request (expected 200)"]
    assert result["findings"][0]["excerpt"] == "<not JSON>"


def test_a_refused_stream_shows_its_error_text() -> None:
    result = check_record(record(503, "<html>busy</html>", expect=VALID, stream=True, label="POST /responses (stream)",
                                 ctype="text/html"))
    assert rules(result) == ["http.server-error", "http.status", "http.error-shape"]
    assert {f["excerpt"] for f in result["findings"]} == {"<html>busy</html>"}


@pytest.mark.parametrize(
    ("status", "body", "statuses", "want", "message"),
    [
        (200, {"id": "resp_1", "object": "response"}, (400,), ["http.bad-request"],
         "POST /responses: accepted with 200 (expected 400)"),
        (422, {"detail": []}, (400,), ["http.bad-request", "http.error-shape"],
         "POST /responses: answered 422 (expected 400)"),
        (404, ERROR_BODY, (404, 400), [], None),
        (401, {"error": {"message": "no key", "type": "auth"}}, (401,), ["http.error-shape"], None),
        (502, "Bad Gateway", (400,), ["http.server-error", "http.error-shape"],
         "POST /responses: answered 502 (expected 400)"),
    ],
)
def test_an_answer_to_an_invalid_request(status: int, body: Any, statuses: tuple[int, ...], want: list[str],
                                         message: str | None) -> None:
    result = check_record(record(status, body, expect=invalid(statuses)))
    # (a 200 body is also checked as a Response: the shape rules report what it lacks)
    assert [r for r in rules(result) if r.startswith("http.")] == want
    if message:
        assert messages(result, want[0])[0] == message
    if "http.error-shape" in want and status == 401:
        assert messages(result, "http.error-shape") == ["POST /responses: `error` lacks param, code"]


def test_a_non_json_200_body_is_a_content_type_error() -> None:
    result = check_record(record(200, "hello", expect=VALID_JSON, ctype="text/plain; charset=utf-8"))
    assert messages(result, "http.content-type") == [
        "POST /responses: Content-Type is 'text/plain; charset=utf-8', expected application/json",
        "POST /responses: the body is not JSON",
    ]


def test_a_valid_200_answer_is_checked_as_a_response_body_and_raises_no_http_finding() -> None:
    body = terminal(build_stream(message("hi")))
    result = check_record(record(200, body, expect=VALID_JSON))
    assert result["verdict"] == "passed" and result["findings"] == []


def test_a_stream_cut_by_the_deadline_is_a_timeout_naming_how_far_it_got() -> None:
    body = to_sse(build_stream(message("hi"))[:3]).decode()
    rec = record(200, body, expect=VALID, stream=True, label="POST /responses (stream)", ctype="text/event-stream",
                 timeout={"phase": "body", "seconds": 1}, error="response not finished within 1s")
    result = check_record(rec)
    assert messages(result, "http.timeout") == [
        "POST /responses (stream): 3 events received but no terminal event within 1s (--timeout)"]
    assert "lifecycle.no-terminal" in rules(result)  # the stream itself is still checked


def test_a_deadline_before_any_answer() -> None:
    ex = HttpExchange("POST /responses", "POST", "responses", None, expect=VALID_JSON, timeout=Timeout("first-byte", 2))
    assert [f.message for f in check_exchange(ex)] == ["POST /responses: no response within 2s (--timeout)"]
    stream = HttpExchange("s", "POST", "responses", None, stream=True, timeout=Timeout("first-byte", 0.5))
    assert [f.message for f in check_exchange(stream)] == ["s: no response headers within 0.5s (--timeout)"]


def test_an_old_recording_without_an_expectation_is_judged_where_the_answer_suffices() -> None:
    result = check_record(record(500, {"detail": "boom"}))
    assert rules(result) == ["http.server-error", "http.error-shape"]
    assert messages(result, "http.server-error") == ["POST /responses: answered 500"]
    # Without knowing whether the request was valid, a 4xx is no status finding.
    assert rules(check_record(record(404, ERROR_BODY))) == []
    assert rules(check_record(record(200, "x", ctype="text/plain"))) == ["http.content-type", "http.content-type"]


def test_a_delete_answered_with_something_else_than_the_deleted_object() -> None:
    rec = record(200, {"id": "resp_2", "object": "response", "deleted": True}, expect=VALID, path="/responses/resp_1",
                 label="DELETE /responses/resp_1")
    rec["recording"]["method"] = "DELETE"
    result = check_record(rec)
    assert messages(result, "http.object-shape") == [
        'DELETE answered {"id":"resp_2","object":"response","deleted":true}, expected '
        '{"id": \'resp_1\', "object": "response.deleted", "deleted": true}']
    rec["body"] = '{"id": "resp_1", "object": "response.deleted", "deleted": true}'
    assert "http.object-shape" not in rules(check_record(rec))


def test_an_exchange_its_scenario_did_not_judge_is_not_judged() -> None:
    assert rules(check_record(record(500, "oops", expect=None))) == []


def test_an_answer_meaning_the_feature_is_absent_is_not_judged() -> None:
    compact = Expectation("valid", unless=(404, 405))
    assert rules(check_record(record(404, "Not Found", expect=compact, path="/responses/compact"))) == []
    assert rules(check_record(record(500, "Oops", expect=compact, path="/responses/compact"))) == [
        "http.server-error", "http.status", "http.error-shape"]


@pytest.mark.parametrize(
    "recording",
    [
        {"status": "500"},
        {"status": True, "expect": {"request": "valid"}},
        {"status": 500, "expect": {"request": "sometimes"}, "headers": "x", "timeout": {"phase": 1}},
        {"status": 500, "expect": {"request": "invalid", "statuses": ["400"]}, "label": 7, "path": None},
    ],
)
def test_a_malformed_recording_never_crashes(recording: dict[str, Any]) -> None:
    result = check_record({"id": "bad", "body": "Internal Server Error", "recording": recording})
    assert result["verdict"] in ("passed", "failed", "error")
    assert "internal error" not in result.get("error", "")


def test_select_and_ignore_apply_to_exchange_rules() -> None:
    rec = record(500, "Internal Server Error", expect=VALID_JSON, ctype="text/plain")
    registry.select_rules(ignore="http.status")
    assert rules(check_record(rec)) == ["http.server-error", "http.error-shape"]
    registry.select_rules(select="http.error-shape")
    assert rules(check_record(rec)) == ["http.error-shape"]


def test_expectations_round_trip_through_their_json() -> None:
    for expect in (VALID, VALID_JSON, invalid((404, 400)), Expectation("valid", unless=(404,))):
        assert Expectation.from_dict(orjson.loads(orjson.dumps(expect.to_dict()))) == expect


def test_the_rules_command_no_longer_calls_single_exchange_rules_runner_only(capsys: Any) -> None:
    main(["rules", "--family", "http"])
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  http.")}
    for rule_id in ("http.status", "http.server-error", "http.error-shape", "http.bad-request", "http.content-type",
                    "http.timeout"):
        assert "live runner" not in lines[rule_id]
        assert any("@exchange" in c.on for c in registry.get_rule(rule_id).checks)
    assert "conformance live runner" in lines["http.stored-mismatch"]


def test_a_recording_of_a_broken_target_is_judged_offline_as_the_runner_judged_it(tmp_path: Path, capsys: Any) -> None:
    from tests.conformance.runner.conftest import FAKES

    out = tmp_path / "rec"
    code = main(["record", "--app", f"{FAKES}:server_error_app", "--model", "fake-model-1",
                 "--scenario", "error-missing-model,basic-response", "--out", str(out)])
    capsys.readouterr()
    assert code == 0
    sidecar = orjson.loads((out / "error-missing-model" / "00-post-responses.json").read_bytes())
    assert sidecar["recording"]["expect"] == {"request": "invalid", "statuses": [400]}
    code = main(["check", str(out), "--format", "jsonl", "-j", "1"])
    results = {r["path"]: r for r in map(orjson.loads, capsys.readouterr().out.splitlines())}
    (missing_model,) = [r for p, r in results.items() if "error-missing-model" in p]
    assert rules(missing_model) == ["http.server-error", "http.error-shape"]
    assert messages(missing_model, "http.server-error") == ["POST /responses: answered 500 (expected 400)"]
    assert all(r["verdict"] == "passed" for p, r in results.items() if "basic-response" in p)
