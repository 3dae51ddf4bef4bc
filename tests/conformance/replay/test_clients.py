"""`--client` wiring: openai-python probes in `check` and `run`; Codex command construction, its
judgement of JSONL output, the skip path without a codex executable, and a stand-in `codex`."""

from __future__ import annotations

import json
import os
import stat
import sys
import tomllib
from pathlib import Path

import pytest

from conformance.cli import main as cli_main
from conformance.clients import parse_clients
from conformance.clients.codex import (
    KEY_ENV,
    build_command,
    build_env,
    codex_config,
    judge_output,
    prompt_of,
    run_codex,
)
from conformance.fixture_corpus import default_root
from tests.conformance.runner.conftest import FAKES, run_cli  # noqa: F401  (fixture)

STREAMS = default_root()


def test_parse_clients() -> None:
    assert parse_clients(["openai-python,codex", "codex"]) == ["openai-python", "codex"]
    with pytest.raises(ValueError, match="choose from openai-python, codex"):
        parse_clients(["curl"])


def test_check_client_openai_python(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    paths = [str(STREAMS / "negative/part/not-added.sse"), str(STREAMS / "positive/built/text.sse")]
    code = cli_main(["check", "--client", "openai-python", "--format", "json", "--output", str(report), *paths])
    data = json.loads(report.read_text())
    bad, good = data["cases"]
    assert code == 1
    assert "client.openai-python" in {f["rule"] for f in bad["findings"]}
    assert "IndexError" in next(f["message"] for f in bad["findings"] if f["rule"] == "client.openai-python")
    assert good["status"] == "passed" and good["details"]["clients"]["openai-python"]["ok"] is True
    assert data["meta"]["clients"]["openai-python"]["version"].startswith("3.")
    assert cli_main(["check", "--client", "codex", paths[1]]) == 2
    assert "choose from openai-python" in capsys.readouterr().err


def test_run_client_openai_python(run_cli) -> None:  # noqa: F811
    result = run_cli("--app", f"{FAKES}:no_content_part_app", "--scenario", "streaming-response,basic-response",
                     "--client", "openai-python")
    assert "client.openai-python" in result.rules("streaming-response")
    assert "client.openai-python" not in result.rules("basic-response")  # not streamed: nothing to probe
    clients = result.report.meta["clients"]["openai-python"]
    assert clients["streams_probed"] == 1 and clients["failed"] == ["streaming-response: POST /responses (stream)"]
    good = run_cli("--app", f"{FAKES}:good_app", "--scenario", "streaming-response", "--client", "openai-python")
    assert good.code == 0 and good.report.meta["clients"]["openai-python"]["failed"] == []


def test_codex_command_config_and_env(tmp_path: Path) -> None:
    argv = build_command("/usr/bin/codex", "Say hi", model="gpt-x")
    assert argv[:2] == ["/usr/bin/codex", "exec"] and "--json" in argv and "--skip-git-repo-check" in argv
    assert argv[argv.index("-m") + 1] == "gpt-x" and argv[-1] == "Say hi"
    config = tomllib.loads(codex_config("http://127.0.0.1:9/v1", "gpt-x", timeout_s=30))
    provider = config["model_providers"][config["model_provider"]]
    assert config["model"] == "gpt-x"
    assert provider["base_url"] == "http://127.0.0.1:9/v1" and provider["wire_api"] == "responses"
    assert provider["env_key"] == KEY_ENV and provider["stream_max_retries"] == 0
    env = build_env(tmp_path, "sk-secret", base={"PATH": "/bin"})
    assert env == {"PATH": "/bin", "CODEX_HOME": str(tmp_path), KEY_ENV: "sk-secret"}
    assert "sk-secret" not in " ".join(argv)  # the key never goes on the command line
    assert build_env(tmp_path, None, base={})[KEY_ENV]  # codex wants the variable even when keyless


def test_codex_output_is_judged() -> None:
    ok = "\n".join(json.dumps(e) for e in [
        {"type": "thread.started", "thread_id": "t"}, {"type": "turn.started"},
        {"type": "item.completed", "item": {"type": "agent_message", "text": "Hello!"}},
        {"type": "turn.completed", "usage": {"input_tokens": 1, "output_tokens": 1}},
    ])
    turn = judge_output("basic-response", 0, ok, "")
    assert turn.accepted and turn.message == "Hello!"
    failed = json.dumps({"type": "turn.failed", "error": {"message": "stream closed before response.completed"}})
    turn = judge_output("basic-response", 1, failed, "")
    assert not turn.accepted and "stream closed before response.completed" in turn.message
    turn = judge_output("basic-response", 2, "not json", "error: unknown flag\n")
    assert not turn.accepted and "unknown flag" in turn.message


def test_prompt_of_requests() -> None:
    assert prompt_of({"input": "hi"}) == "hi"
    assert prompt_of({"input": [{"role": "system", "content": "x"}, {"role": "user", "content": "q1"},
                                {"role": "user", "content": [{"type": "input_text", "text": "q2"}]}]}) == "q2"
    assert prompt_of({"input": 42}) is None and prompt_of(None) is None


def test_codex_is_skipped_without_an_executable(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("PATH", "/nonexistent")
    turns, reason = run_codex([("basic-response", ("text",))], {"basic-response": "hi"}, base_url="http://x/v1",
                              model="m", api_key=None, timeout_s=5)
    assert turns == {} and "not installed" in reason
    result = run_cli("--app", f"{FAKES}:good_app", "--scenario", "basic-response", "--client", "codex")
    assert result.code == 0
    assert "not installed" in result.report.meta["clients"]["codex"]["skipped"]
    assert "client codex: skipped" in result.err


def test_codex_turns_run_against_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli) -> None:  # noqa: F811
    """A stand-in `codex` on PATH: checks what it was given, accepts one prompt, rejects another."""
    fake = tmp_path / "bin" / "codex"
    fake.parent.mkdir()
    fake.write_text(f"""#!{sys.executable}
import json, os, pathlib, sys
config = (pathlib.Path(os.environ["CODEX_HOME"]) / "config.toml").read_text()
assert 'wire_api = "responses"' in config and os.environ["{KEY_ENV}"], config
prompt = sys.argv[-1]
if "name" in prompt:  # multi-turn's last user message: this stand-in rejects it
    print(json.dumps({{"type": "turn.failed", "error": {{"message": "stream closed before response.completed"}}}}))
    sys.exit(1)
print(json.dumps({{"type": "item.completed", "item": {{"type": "agent_message", "text": "ok: " + prompt}}}}))
print(json.dumps({{"type": "turn.completed"}}))
""")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    # --app targets cannot be reached by a subprocess: skipped with that reason.
    result = run_cli("--app", f"{FAKES}:good_app", "--scenario", "basic-response", "--client", "codex")
    assert "reachable over HTTP" in result.report.meta["clients"]["codex"]["skipped"]
    from tests.conformance.runner.conftest import ServedApp
    from tests.conformance.runner.fakes import good_app

    with ServedApp(good_app) as served:
        result = run_cli("--base-url", served.base_url, "--scenario", "basic-response,multi-turn,tool-calling",
                         "--client", "codex")
    codex = result.report.meta["clients"]["codex"]
    assert codex == {"turns": 2, "rejected": ["multi-turn"]}  # tool-calling is not a text scenario
    assert result.case("basic-response").details["clients"]["codex"]["accepted"] is True
    assert result.case("basic-response").status == "passed" and "client.codex" not in result.rules("basic-response")
    rejected = result.case("multi-turn")
    assert rejected.status == "failed" and result.code == 1
    finding = next(f for f in rejected.findings if f.rule == "client.codex")
    assert "stream closed before response.completed" in finding.message and "codex" in finding.breaks
