"""Helpers for the runner tests: run the CLI in-process and read its JSON report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main as cli_main
from conformance.report import Report

FAKES = "tests.conformance.runner.fakes"


class CliRun:
    def __init__(self, code: int, out: str, err: str, report: Report | None, raw: dict[str, Any] | None) -> None:
        self.code, self.out, self.err, self.report, self.raw = code, out, err, report, raw

    def case(self, scenario_id: str) -> Any:
        assert self.report is not None
        return next(c for c in self.report.cases if c.id == scenario_id)

    def rules(self, scenario_id: str) -> set[str]:
        return {f.rule for f in self.case(scenario_id).findings}


@pytest.fixture
def run_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """`run_cli("--app", ..., "--scenario", ...)` -> CliRun with the parsed JSON report."""

    def go(*args: str) -> CliRun:
        out_json = tmp_path / "report.json"
        out_json.unlink(missing_ok=True)
        code = cli_main(["run", "--no-progress", "--output", f"json:{out_json}", *args])
        captured = capsys.readouterr()
        raw = json.loads(out_json.read_text()) if out_json.exists() else None
        return CliRun(code, captured.out, captured.err, Report.from_dict(raw) if raw else None, raw)

    return go


class ServedApp:
    """An ASGI app under uvicorn on 127.0.0.1 (random port) in a thread, for socket-level tests."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ServedApp:
        import time

        self.thread.start()
        deadline = time.monotonic() + 60  # a hang guard: a loaded machine starts slowly
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.server.started, "test server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.server.force_exit = True  # streams that hang on purpose must not hold the shutdown
        self.thread.join(timeout=10)
        self.sock.close()
