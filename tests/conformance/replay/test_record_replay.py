"""Record -> replay -> run: the replay answers every exchange of every scenario, so a run against it
gives the verdicts the original target got; nothing secret is ever written; hostile replays."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from conformance import check_sse
from conformance import scenarios as catalogue
from conformance.cli import main as cli_main
from conformance.clients import ClientRun
from conformance.fixture_corpus import validate_sidecar
from conformance.redaction import Redactor
from conformance.replay import Replayer, ReplayOptions, create_replay_app
from conformance.replay.matching import SESSION_FILE, load_recordings, load_session
from conformance.replay.record import Recorder, safe_headers
from conformance.runner import RunOptions, app_target, run_scenarios
from conformance.runner.targets import base_url_target
from tests.conformance.runner import fakes
from tests.conformance.runner.conftest import ServedApp, run_cli  # noqa: F401  (fixture)

KEY = "sk-record-test-4f9a2c7e1b8d"
REPLAY_KEY = "sk-replay-key-0000"
RECORDING_SCHEMA = json.loads(
    (Path(__file__).parents[3] / "conformance/replay/recording.schema.json").read_text(encoding="utf-8")
)


def _verdicts(cases: list[Any]) -> dict[str, tuple[str, dict[str, set[str]]]]:
    out = {}
    for c in cases:
        rules: dict[str, set[str]] = {"error": set(), "warning": set(), "info": set()}
        for f in c.findings:
            rules[f.severity].add(f.rule)
        out[c.id] = (c.status, rules)
    return out


def _session_verdicts(folder: Path) -> dict[str, tuple[str, dict[str, set[str]]]]:
    return {
        sid: (s["status"], {"error": set(s["errors"]), "warning": set(s["warnings"]), "info": set(s["infos"])})
        for sid, s in load_session(folder)["scenarios"].items()
    }


def _assert_no_secret(folder: Path, key: str) -> list[Path]:
    needles = [key.encode(), f"Bearer {key}".encode(), base64.b64encode(key.encode()),
               base64.b64encode(f"Bearer {key}".encode()), base64.urlsafe_b64encode(key.encode()).rstrip(b"=")]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"{path} holds {needle!r}"
        assert b"set-cookie" not in data.lower()
    return files


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole catalogue recorded over a socket from the reference server (its default,
    scripted backend), started with KEY."""
    from reference_server import create_app
    from reference_server.core.settings import Settings

    out = tmp_path_factory.mktemp("recorded") / "reference"
    with ServedApp(create_app(settings=Settings(api_key=KEY))) as served:
        assert cli_main(["record", "--base-url", served.base_url, "--api-key", KEY, "--out", str(out)]) == 0
    return out


def test_record_replay_run_gives_the_same_verdicts(recorded: Path) -> None:
    original = _session_verdicts(recorded)
    assert len(original) == len(catalogue.catalogue())
    assert {status for status, _ in original.values()} <= {"passed", "failed", "skipped"}
    # The auth scenarios ran (a key was configured and the server checks it).
    assert original["error-wrong-api-key"][0] == "passed" and original["error-missing-api-key"][0] == "passed"

    replayer = Replayer.from_folder(recorded, ReplayOptions(api_key=REPLAY_KEY))
    # Over a socket: the websocket scenarios replay their recorded WebSockets too.
    with ServedApp(create_replay_app(replayer)) as served:
        target = base_url_target(served.base_url, api_key=REPLAY_KEY)
        report = run_scenarios(target, catalogue.catalogue(), RunOptions(concurrency=4))
    assert _verdicts(report.cases) == original
    assert original["websocket-continuation"][0] == "passed"
    assert not any(replayer.transcripts.values()), "a recorded WebSocket was not replayed"
    assert report.meta["model"] == load_session(recorded)["model"]
    # Every exchange was answered from a recording, every recording was used.
    assert replayer.unmatched == []
    assert set(replayer.served) == {r.name for r in replayer.recordings}


def test_recordings_are_fixture_compatible_and_hold_no_secret(recorded: Path) -> None:
    files = _assert_no_secret(recorded, KEY)
    sidecars = [p for p in files if p.suffix == ".json" and not p.name.endswith(".body.json") and p.name != SESSION_FILE]
    assert len(sidecars) >= len(catalogue.catalogue())
    kinds = set()
    for path in sidecars:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
        meta = sidecar.pop("recording")
        assert validate_sidecar(sidecar) == [], path
        jsonschema.validate(meta, RECORDING_SCHEMA)
        kinds.add((meta["method"], meta["stream"], meta["auth"]))
        if meta["stream"] and meta["status"] == 200 and not meta.get("dropped"):
            assert meta["clients"]["openai-python"]["ok"] is True, path
    assert {("POST", True, "valid"), ("POST", False, "none"), ("POST", False, "invalid"),
            ("GET", False, "valid"), ("DELETE", False, "valid")} <= kinds
    # The deliberately broken JSON body is kept (base64) so the replay can match it.
    (invalid,) = [p for p in (recorded / "error-invalid-json").glob("*.json") if not p.name.endswith(".body.json")]
    raw = base64.b64decode(json.loads(invalid.read_text())["recording"]["request_raw_base64"])
    assert raw == b'{"model": "x", "input": '


def test_a_recording_folder_is_a_fixture_corpus(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Each sidecar's `expected` is the checker's verdict on its body: the folder verifies as is.
    assert cli_main(["fixtures", "verify", str(recorded)]) == 0
    assert "0 changed" in capsys.readouterr().out


def test_a_leaking_server_is_scrubbed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The leaky fake echoes the Authorization header into error bodies and the answer text.
    out = tmp_path / "leaky"
    code = cli_main(["record", "--app", "tests.conformance.runner.fakes:leaky_app", "--api-key", fakes.LEAK_KEY,
                     "--scenario", "streaming-response,basic-response,error-missing-model", "--out", str(out)])
    assert code == 0, capsys.readouterr()
    _assert_no_secret(out, fakes.LEAK_KEY)
    assert fakes.LEAK_KEY not in capsys.readouterr().out
    redacted = [load for load in load_recordings(out) if load.sidecar["recording"].get("redacted")]
    assert {r.scenario for r in redacted} == {"streaming-response", "basic-response", "error-missing-model"}
    stream = next(r for r in redacted if r.kind == "sse")
    assert b"Your key: ***" in stream.body and check_sse(stream.body).terminal_response is not None


def test_credential_headers_are_never_written() -> None:
    key = "abcdefgh-long-enough"
    headers = [("Authorization", f"Bearer {key}"), ("Set-Cookie", "s=1"), ("x-api-key", key), ("X-Custom-Auth", "t"),
               ("api-key", key), ("content-type", "text/event-stream"), ("x-request-id", f"req_{key}")]
    kept = safe_headers(headers, Redactor([key]), extra=["X-Custom-Auth"])
    assert kept == [["content-type", "text/event-stream"], ["x-request-id", "req_***"]]
    # A short key is too short to look for in a free-form value: by name only.
    short = [("x-api-key", "abc"), ("x-request-id", "req_abc")]
    assert safe_headers(short, Redactor(["abc"])) == [["x-request-id", "req_abc"]]


def test_secret_forms_cover_the_encoded_forms() -> None:
    redactor = Redactor(["abcdefgh-long-enough", "Bearer abcdefgh-long-enough"])
    forms = redactor.long_bytes
    for form in (b"abcdefgh-long-enough", base64.b64encode(b"abcdefgh-long-enough"), base64.b64encode(b":abcdefgh-long-enough")):
        assert form in forms
    assert forms.index(b"Bearer abcdefgh-long-enough") < forms.index(b"abcdefgh-long-enough")  # longer first


def test_failures_and_client_probes_replay_identically(tmp_path: Path) -> None:
    """A broken target (no content_part.added): part.not-added and client.openai-python both ways."""
    chosen = [catalogue.get(s) for s in ("streaming-response", "get-stored-response", "basic-response")]
    recorder = Recorder(tmp_path, target="fake", scenario_tags={s.id: s.tags for s in chosen})
    probe = ClientRun(["openai-python"])
    options = probe.apply(RunOptions(observers=(recorder,)))
    original = run_scenarios(app_target(fakes.no_content_part_app), chosen, options)
    recorder.write_session(original)
    replay_probe = ClientRun(["openai-python"])
    replayer = Replayer.from_folder(tmp_path)
    again = run_scenarios(app_target(create_replay_app(replayer)), chosen, replay_probe.apply(RunOptions()))
    assert _verdicts(again.cases) == _verdicts(original.cases)
    failing = _verdicts(original.cases)["streaming-response"]
    assert failing[0] == "failed" and {"part.not-added", "client.openai-python"} <= failing[1]["error"]
    probe_finding = next(f for c in again.cases for f in c.findings if f.rule == "client.openai-python")
    assert "IndexError" in probe_finding.message
    sidecar = json.loads((tmp_path / "streaming-response" / "00-post-responses-stream.json").read_text())
    assert sidecar["recording"]["clients"]["openai-python"]["ok"] is False
    assert "part.not-added" in sidecar["expected"]["errors"]


def test_disconnect_after_over_a_socket_gives_lifecycle_no_terminal(recorded: Path, run_cli) -> None:  # noqa: F811
    replayer = Replayer.from_folder(recorded, ReplayOptions(disconnect_after=4, chunking="line", delay_ms=1))
    with ServedApp(create_replay_app(replayer)) as served:
        with httpx.stream("POST", f"{served.base_url}/responses", json={"x": 1},
                          headers={"X-Conformance-Scenario": "streaming-response"}) as response:
            # The scenario header alone does not find it (other body): the 404 names the closest.
            assert response.status_code == 404
            assert "streaming-response/00-post-responses-stream" in response.read().decode()
        result = run_cli("--base-url", served.base_url, "--scenario", "streaming-response,tool-calling-stream")
    assert result.code == 1
    for scenario in ("streaming-response", "tool-calling-stream"):
        assert "lifecycle.no-terminal" in result.rules(scenario)
        (stream,) = result.case(scenario).details["streams"]
        assert stream["events"] == 4


def test_replay_cli_serves_a_folder(recorded: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "replay", str(recorded), "--port", "0", "--chunking", "byte"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    watchdog = threading.Timer(30, proc.kill)  # a replay that never starts must not hang the suite
    watchdog.start()
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("replaying ") and "scenarios" in line, line + (proc.stderr.read() if proc.stderr else "")
        base_url = line.split(" at ")[1].split()[0]
        models = httpx.get(f"{base_url}/models").json()
        assert models["data"][0]["id"] == load_session(recorded)["model"]
        streamed = httpx.post(f"{base_url}/responses", content=b'{"model": "x", "input": ',
                              headers={"X-Conformance-Scenario": "error-invalid-json", "authorization": "Bearer k"})
        assert streamed.status_code == 400 and streamed.json()["error"]["message"]
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(timeout=60)


def test_record_usage_errors(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["record", "--out", str(recorded), "--scenario", "basic-response"]) == 2
    assert "--force" in capsys.readouterr().err
    assert cli_main(["record", "--out", str(recorded), "--scenario", "no-such-scenario"]) == 2
    assert cli_main(["replay", str(recorded / "nothing-here")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert cli_main(["replay", str(recorded), "--status", "42"]) == 2


def test_scenarios_skipped_when_recorded_replay_as_skipped(tmp_path: Path) -> None:
    """Recorded without a key (the auth scenarios skip), replayed with one: still skipped, not 404s."""
    from reference_server import create_app

    chosen = [catalogue.get(s) for s in ("basic-response", "error-missing-api-key", "error-wrong-api-key")]
    recorder = Recorder(tmp_path, target="no-auth", scenario_tags={s.id: s.tags for s in chosen})
    original = run_scenarios(app_target(create_app()), chosen, RunOptions(observers=(recorder,)))
    recorder.write_session(original)
    assert _verdicts(original.cases)["error-wrong-api-key"][0] == "skipped"
    # The README's flow (a replay without a key, a run with one); and a replay that checks a key
    # (it answers the keyless recordings of basic-response 401, so only the auth scenarios here).
    for options, scenarios in ((ReplayOptions(), chosen), (ReplayOptions(api_key=REPLAY_KEY), chosen[1:])):
        replayer = Replayer.from_folder(tmp_path, options)
        again = run_scenarios(app_target(create_replay_app(replayer), api_key=REPLAY_KEY), scenarios, RunOptions())
        assert _verdicts(again.cases) == {k: v for k, v in _verdicts(original.cases).items()
                                          if k in {s.id for s in scenarios}}
        skipped = {c.id: c.skip_reason for c in again.cases if c.status == "skipped"}
        assert set(skipped) == {"error-missing-api-key", "error-wrong-api-key"}
        assert all(r and r.startswith("skipped when recorded: no API key") for r in skipped.values()), skipped


def test_http_findings_of_a_recording_are_the_same_live_replayed_and_checked(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A target answering bad requests with a text 500: the http.* exchange rules give the same
    findings in the run that recorded it, in a run against its replay, and in `conformance check`."""
    chosen = [catalogue.get(s) for s in ("error-missing-model", "error-invalid-json")]
    recorder = Recorder(tmp_path, target="fake", scenario_tags={s.id: s.tags for s in chosen})
    original = run_scenarios(app_target(fakes.server_error_app), chosen,
                             RunOptions(observers=(recorder,), model=fakes.MODEL))
    recorder.write_session(original)
    again = run_scenarios(app_target(create_replay_app(Replayer.from_folder(tmp_path))), chosen,
                          RunOptions(model=fakes.MODEL))

    def http(cases: Any) -> list[tuple[str, str, str]]:
        return [(c.id, f.rule, f.message) for c in cases for f in c.findings if f.rule.startswith("http.")]

    assert http(original.cases) == http(again.cases)
    assert {rule for _, rule, _ in http(original.cases)} == {"http.server-error", "http.error-shape"}
    assert cli_main(["check", str(tmp_path), "--format", "jsonl", "-j", "1"]) == 1
    checked = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    offline = sorted((r["path"].split("/")[-2], f["rule"], f["message"]) for r in checked for f in r["findings"])
    assert offline == sorted(http(original.cases))
