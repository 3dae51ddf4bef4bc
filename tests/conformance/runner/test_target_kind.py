"""`conformance run --target-kind proxy`: model-behaviour findings become warnings about the
model behind the server; protocol findings stay errors; exit codes follow."""

from __future__ import annotations

from tests.conformance.runner.conftest import FAKES

MODEL_SCENARIOS = "tool-choice-required,tool-choice-function"


def test_model_findings_are_errors_against_a_server(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:good_app", "--scenario", MODEL_SCENARIOS)
    assert result.code == 1, result.out
    findings = [f for c in result.report.cases for f in c.findings]
    assert {(f.rule, f.severity, f.kind) for f in findings} == {("call.tool-choice", "error", "model")}
    assert result.raw["profile"] == "openai"


def test_model_findings_are_warnings_against_a_proxy(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:good_app", "--scenario", MODEL_SCENARIOS, "--target-kind", "proxy")
    assert result.code == 0, result.out
    findings = [f for c in result.report.cases for f in c.findings]
    assert findings and all(f.severity == "warning" for f in findings)
    assert all(f.message.startswith("the model behind this server") for f in findings)
    assert result.raw["profile"] == "openai[target-kind=proxy]"
    assert all(row["kind"] == "model" for c in result.raw["cases"] for row in c["findings"])


def test_protocol_findings_stay_errors_against_a_proxy(run_cli) -> None:
    result = run_cli(
        "--app", f"{FAKES}:index_off_by_one_app", "--scenario", "streaming-response", "--target-kind", "proxy"
    )
    assert result.code == 1, result.out
    rules = {(f.rule, f.severity) for c in result.report.cases for f in c.findings}
    assert ("item.index-not-contiguous", "error") in rules


def test_bad_tolerance_is_a_usage_error(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:good_app", "--tolerate", "no-such-tolerance")
    assert result.code == 2
    assert "unknown tolerance" in result.err and "Traceback" not in result.err


def test_max_output_tokens_scenario_judges_what_happened(run_cli) -> None:
    # The fake answers in fewer tokens than the limit and says `completed`: nothing wrong.
    result = run_cli("--app", f"{FAKES}:good_app", "--scenario", "max-output-tokens")
    assert result.code == 0, result.out
    assert [c.status for c in result.report.cases] == ["passed"]
