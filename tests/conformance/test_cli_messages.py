"""Messages that point the right way: a closed pipe, a base URL without /v1, an app factory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
NEGATIVE = "fixtures/streams/negative/wild/content-part-added-never-sent.sse"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize(
    "argv",
    [["rules"], ["rules", "--format", "json"], ["scenarios"], ["check", NEGATIVE], ["fixtures", "list"]],
)
def test_a_closed_pipe_is_no_traceback(argv: list[str]) -> None:
    # `conformance rules | head`: the reader is gone before the command writes.
    proc = subprocess.Popen([sys.executable, "-m", "conformance", *argv], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141, (code, err)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from conformance.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_base_url_without_v1_is_told_to_add_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "run", "--no-progress", "--app", "reference_server:create_app",
                        "--base-url", "http://asgi-app", "--scenario", "basic-response")
    assert code == 2
    assert err.strip().endswith("try --base-url http://asgi-app/v1") and "--model" not in err
    assert err.count("\n") == 1  # one line
    # With --model as well: the same hint, not 39 scenarios of 404s.
    code, _, err = _cli(capsys, "run", "--no-progress", "--app", "reference_server:create_app",
                        "--base-url", "http://asgi-app", "--model", "m", "--scenario", "basic-response")
    assert code == 2 and "try --base-url http://asgi-app/v1" in err


def test_a_missing_models_route_alone_still_asks_for_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "run", "--no-progress", "--app", f"{__name__}:responses_only_app",
                        "--scenario", "basic-response")
    assert code == 2 and "pass --model" in err and "try --base-url" not in err


def _responses_only() -> object:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def create(request: object) -> JSONResponse:
        return JSONResponse({"error": {"message": "no", "type": "x", "param": None, "code": None}}, 400)

    return Starlette(routes=[Route("/v1/responses", create, methods=["POST"])])


responses_only_app = _responses_only()


def broken_factory() -> object:
    raise RuntimeError("no database configured")


def not_an_app_factory() -> object:
    return 42


def test_an_app_factory_is_called(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.runner.targets import is_app_factory
    from reference_server import create_app

    assert is_app_factory(create_app) and is_app_factory(broken_factory)
    assert not is_app_factory(create_app()) and not is_app_factory(responses_only_app)

    async def asgi(scope: object, receive: object, send: object) -> None: ...

    assert not is_app_factory(asgi)
    code, out, _ = _cli(capsys, "run", "--no-progress", "--app", "reference_server:create_app",
                        "--scenario", "basic-response,streaming-response")
    assert code == 0, out
    assert "2 passed" in out
    code, _, err = _cli(capsys, "run", "--no-progress", "--app", f"{__name__}:broken_factory")
    assert code == 2 and "calling broken_factory() failed: RuntimeError: no database configured" in err
    code, _, err = _cli(capsys, "run", "--no-progress", "--app", f"{__name__}:not_an_app_factory")
    assert code == 2 and "not an ASGI application (int)" in err


def test_the_command_keeps_mains_exit_code_and_every_written_line(tmp_path: Path) -> None:
    # `run` (the installed command and `python -m conformance`) ends the process without the
    # interpreter's last garbage collection: the exit code and what was written must survive it.
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["conformance"] == "conformance.cli:run"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    positive = next((ROOT / "fixtures/streams/positive/openai-api").glob("*.sse")).read_bytes()
    for i in range(40):
        (corpus / f"{i:02d}.sse").write_bytes((ROOT / NEGATIVE).read_bytes() if i % 4 == 0 else positive)
    report = tmp_path / "report.jsonl"
    proc = subprocess.run([sys.executable, "-m", "conformance", "check", str(corpus), "-j", "2", "--format", "jsonl",
                           "--output", str(report)], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    verdicts = [json.loads(line)["verdict"] for line in report.read_text().splitlines()]
    assert len(verdicts) == 40 and verdicts.count("failed") == 10
    assert subprocess.run([sys.executable, "-m", "conformance", "check", str(corpus / "01.sse")], cwd=ROOT, env=_env(),
                          capture_output=True, timeout=300).returncode == 0
