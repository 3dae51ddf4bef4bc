"""`conformance record` with --tolerate / --target-kind: the recorded sidecars carry them as
`tolerate` / `target_kind` (valid sidecars), and the folder verifies with the same verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main as cli_main
from conformance.fixture_corpus import load_fixtures, validate_sidecar
from tests.conformance.runner.conftest import ServedApp


def test_recorded_sidecars_carry_the_profile_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reference_server import create_app

    out = tmp_path / "rec"
    with ServedApp(create_app()) as served:
        code = cli_main([
            "record", "--base-url", served.base_url, "--out", str(out), "--scenario", "streaming-response",
            "--tolerate", "sequence-number-absent", "--target-kind", "proxy",
        ])
    assert code == 0, capsys.readouterr()
    sidecars = [p for p in out.rglob("*.json") if not p.name.endswith(".body.json") and p.name != "session.json"]
    assert sidecars
    for path in sidecars:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
        sidecar.pop("recording")
        assert validate_sidecar(sidecar) == [], path
        assert sidecar["profile"] == "openai"
        assert sidecar["tolerate"] == ["sequence-number-absent"] and sidecar["target_kind"] == "proxy"
    assert {fx.profile for fx in load_fixtures(out)} == {"openai[tolerate=sequence-number-absent,target-kind=proxy]"}
    capsys.readouterr()
    assert cli_main(["fixtures", "verify", str(out)]) == 0
    assert "0 changed" in capsys.readouterr().out
