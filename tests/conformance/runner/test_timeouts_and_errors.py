"""Hanging targets are cut off (http.timeout); unusable targets and bad options exit 2 with one
clear line and no traceback."""

from __future__ import annotations

import socket
import time

import pytest

from tests.conformance.runner import fakes
from tests.conformance.runner.conftest import FAKES, ServedApp


def test_hanging_in_process_app_times_out(run_cli) -> None:
    started = time.monotonic()
    result = run_cli("--app", f"{FAKES}:hanging_app", "--scenario", "streaming-response,basic-response", "--timeout", "0.5")
    print(f"cut off after {time.monotonic() - started:.2f} s")
    assert result.code == 1
    assert result.case("basic-response").status == "passed"
    timeout = [f for f in result.case("streaming-response").findings if f.rule == "http.timeout"]
    assert timeout and "no response headers within 0.5s" in timeout[0].message


def test_hanging_stream_over_a_socket_times_out_after_some_events(run_cli) -> None:
    with ServedApp(fakes.hanging_app) as served:
        started = time.monotonic()
        result = run_cli("--base-url", served.base_url, "--scenario", "streaming-response", "--timeout", "1")
        print(f"cut off after {time.monotonic() - started:.2f} s")
    assert result.code == 1
    case = result.case("streaming-response")
    messages = [f.message for f in case.findings if f.rule == "http.timeout"]
    assert messages and "3 events received but no terminal event" in messages[0]
    assert case.event_count == 3
    assert "lifecycle.no-terminal" in result.rules("streaming-response")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refused_connection_exits_2_with_one_line(run_cli) -> None:
    port = _free_port()
    result = run_cli("--base-url", f"http://127.0.0.1:{port}/v1", "--retries", "0")
    assert result.code == 2
    assert result.report is None
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "cannot connect" in lines[0] and f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--base-url", "localhost:8000"], "--base-url must be an http(s) URL"),
        (["--app", "no_such_module_xyz:app"], "cannot import"),
        (["--app", "nocolon"], "module:attr"),
        (["--app", f"{FAKES}:good_app", "--scenario", "no-such-scenario"], "unknown scenario"),
        (["--app", f"{FAKES}:good_app", "--skip", "tag:nope"], "no scenario has tag"),
        (["--app", f"{FAKES}:good_app", "--output", "report.weird"], "say which format"),
        (["--app", f"{FAKES}:good_app", "--timeout", "0"], "--timeout"),
        (["--app", f"{FAKES}:no_models_app"], "lists no model"),
        (["--base-url", "http://127.0.0.1:1/v1", "--app", f"{FAKES}:good_app", "--reference"], "--reference cannot"),
    ],
)
def test_usage_errors_exit_2(run_cli, args, needle) -> None:
    result = run_cli(*args)
    assert result.code == 2, result.out
    assert needle in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_key_required_but_missing_is_a_clear_exit_2(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:leaky_app")
    assert result.code == 2
    assert "401" in result.err and "--api-key" in result.err


def test_rejected_key_is_a_clear_exit_2(run_cli) -> None:
    result = run_cli("--app", f"{FAKES}:leaky_app", "--api-key", "sk-wrong")
    assert result.code == 2
    assert "rejected the API key" in result.err and "sk-wrong" not in result.err


def test_connection_dropped_mid_stream_is_judged_not_crashed() -> None:
    from conformance.runner import RunOptions, base_url_target, run_scenarios
    from conformance.scenarios import get

    with ServedApp(fakes.crashing_app) as served:
        report = run_scenarios(base_url_target(served.base_url), [get("streaming-response")], RunOptions(timeout=10))
    case = report.cases[0]
    assert case.status == "failed" and case.error is None
    assert "lifecycle.no-terminal" in {f.rule for f in case.findings}
    assert case.event_count == 4
    assert "transport_error" in case.details["streams"][0]
