"""The whole catalogue against the embedded reference server: everything passes, three runs in
a row on one server (stored responses and dropped streams of a run must not disturb the next)."""

from __future__ import annotations

import httpx
import pytest

from conformance.runner import RunOptions, embedded_target, run_scenarios
from conformance.runner.embedded import EmbeddedServer
from conformance.scenarios import catalogue

STREAMED = {"streaming-response", "tool-calling-stream", "reasoning", "get-stored-response"}


@pytest.mark.parametrize(
    ("backend", "runs"),
    # The scripted backend three times in a row; the real (tiny, random-weight) transformer once,
    # since its constrained decoding makes every scenario pass whatever the weights.
    [("scripted", 3), ("torch", 1)],
)
def test_catalogue_passes_run_after_run(backend: str, runs: int) -> None:
    every = catalogue()
    with embedded_target(api_key="sk-reference-test-key", backend=backend) as target:
        assert backend in target.label
        for run in range(runs):
            # a hang guard, not a time bound: the torch backend's first requests wait for its
            # grammar tokenizer and compile their grammars, several times slower on a loaded machine
            report = run_scenarios(target, every, RunOptions(timeout=30 if backend == "scripted" else 120,
                                                             concurrency=4))
            not_passed = {
                c.id: c.error or c.skip_reason or sorted({f.rule for f in c.failing()})
                for c in report.cases
                if c.status != "passed"
            }
            assert not_passed == {}, f"run {run + 1}: {not_passed}"
            assert [c.id for c in report.cases] == [s.id for s in every]
            by_id = {c.id: c for c in report.cases}
            # The streams were really read and checked event by event.
            assert all(by_id[i].event_count >= 5 for i in STREAMED)
            assert by_id["reasoning"].events and any(
                e.get("type") == "response.output_item.added" for e in by_id["reasoning"].events
            )
            assert report.meta["model"]


def test_embedded_server_requires_its_key_and_stops() -> None:
    server = EmbeddedServer(api_key="sk-embedded-check", backend="scripted")
    server.start()
    try:
        assert httpx.get(f"{server.base_url}/models").status_code == 401
        ok = httpx.get(f"{server.base_url}/models", headers={"authorization": "Bearer sk-embedded-check"})
        assert ok.status_code == 200 and ok.json()["data"]
    finally:
        server.stop()
    try:
        httpx.get(f"{server.base_url}/models", timeout=2)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the embedded server still answers after stop()")


def test_cli_defaults_to_the_reference_server(run_cli) -> None:
    result = run_cli(
        "--reference-backend", "scripted", "--scenario", "basic-response,streaming-response,error-wrong-api-key"
    )
    assert result.code == 0, result.out + result.err
    assert result.report.target == "embedded reference server (scripted backend)"
    assert {c.status for c in result.report.cases} == {"passed"}
    assert "✓ streaming-response" in result.out
