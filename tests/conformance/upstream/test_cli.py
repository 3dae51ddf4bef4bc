"""`conformance upstream` and `conformance run --upstream` from the command line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from tests.conformance.upstream.env_proxy import ENV

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_upstream_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["upstream", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "chat-completions" in out and "/_conformance/exchanges" in out


def test_upstream_serves_and_prints_its_url() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "upstream", "anthropic", "--port", "0"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        import httpx

        res = httpx.post(f"{url}/messages", json={"model": "m", "max_tokens": 200, "messages": [
            {"role": "user", "content": "hi"}]}, headers={"x-api-key": "sk-secret-value"})
        assert res.json()["content"][0]["text"] == "Hello! You said: hi"
        log = httpx.get(url.removesuffix("/v1") + "/_conformance/exchanges").json()["exchanges"]
        assert log[0]["body"]["messages"][0]["content"] == "hi"
        assert "sk-secret-value" not in json.dumps(log)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("args, message", [
    (["--upstream-url", "http://x/v1"], "needs --upstream"),
    (["--upstream", "anthropic"], "--upstream needs the proxy under test"),
    (["--upstream", "anthropic", "--app", "x:y", "--launch", "true"], "--launch needs --base-url"),
    (["--upstream", "anthropic", "--base-url", "http://x/v1", "--upstream-url", "http://x/v1", "--upstream-port", "1"],
     "pass one of them"),
])
def test_run_upstream_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", *args]) == 2
    assert message in capsys.readouterr().err


def test_run_launches_the_proxy_against_the_upstream(capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    launch = (f"{sys.executable} -m reference_server --upstream chat-completions --upstream-url {{upstream_url}} "
              "--port {port} --api-key sk-proxy-client-1234 --db :memory: --log-level warning")
    code = main(["run", "--base-url", f"http://127.0.0.1:{port}/v1", "--api-key", "sk-proxy-client-1234",
                 "--upstream", "chat-completions", "--launch", launch, "--no-progress", "--format", "json",
                 "--scenario", "tool-choice-function,upstream-error-event"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert [c["id"] for c in report["cases"]] == ["tool-choice-function", "upstream-error-event"]


def test_run_app_with_upstream_env(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(ENV, raising=False)
    code = main(["run", "--app", "tests.conformance.upstream.env_proxy:create_app", "--api-key",
                 "sk-proxy-client-key-123", "--upstream", "anthropic", "--upstream-env", ENV, "--no-progress",
                 "--format", "json", "--scenario", "reasoning,upstream-content-filter"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert {c["id"]: c["status"] for c in report["cases"]} == {"reasoning": "passed", "upstream-content-filter": "passed"}


def test_run_with_a_running_upstream(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.runner.upstream import serve_upstream

    with serve_upstream("anthropic") as url:
        monkeypatch.setenv(ENV, url)
        code = main(["run", "--app", "tests.conformance.upstream.env_proxy:create_app", "--api-key",
                     "sk-proxy-client-key-123", "--upstream", "anthropic", "--upstream-url", url, "--no-progress",
                     "--format", "json", "--scenario", "function-call-output,upstream-http-error"])
        report = json.loads(capsys.readouterr().out)
        assert code == 0, report
        import httpx

        log = httpx.get(url.removesuffix("/v1") + "/_conformance/exchanges").json()["exchanges"]
        assert [e["answer"]["status"] for e in log] == [200, 200, 500]


def test_run_refuses_an_upstream_url_that_is_not_one(capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    assert main(["run", "--base-url", "http://127.0.0.1:1/v1", "--upstream", "anthropic",
                 "--upstream-url", f"http://127.0.0.1:{port}/v1"]) == 2
    assert "no `conformance upstream` answers there" in capsys.readouterr().err


def test_cli_knows_every_upstream_scenario_id() -> None:
    from conformance.cli.upstream import RECORDED_PREFIX, UPSTREAM_IDS
    from conformance.resources import fixtures_dir
    from conformance.runner.upstream import UpstreamLink, upstream_scenarios

    ids = {s.id for kind in ("chat-completions", "anthropic", "responses")
           for s in upstream_scenarios(UpstreamLink("http://x/v1"), kind)}
    recorded = {RECORDED_PREFIX + p.stem for p in (fixtures_dir() / "upstream").glob("*/*.sse")}
    assert len(recorded) >= 15
    assert ids == set(UPSTREAM_IDS) | recorded


def test_upstream_without_its_extra_names_it(tmp_path: Path) -> None:
    from tests.test_extras import NOT_CORE, _run

    done = _run(tmp_path, NOT_CORE, "conformance", "upstream", "anthropic")
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert "needs the [run] extra" in done.stderr
