"""Fixtures and the matrix report of `nox -s clients` (never collected by the default pytest run,
whose testpaths is tests/)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _harness import Exchange, RecordingProxy, ServerProcess
from _matrix import Matrix

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("clients", "real-client matrix")
    group.addoption("--matrix", default=str(ROOT / "reports" / "clients-matrix.md"),
                    help="where to write the Markdown matrix (default reports/clients-matrix.md)")
    group.addoption("--wire-dir", default=str(ROOT / "reports" / "clients-wire"),
                    help="where each cell's recorded requests and answers go, as JSON (default reports/clients-wire)")
    group.addoption("--backends", default="scripted,torch",
                    help="comma-separated reference-server backends (default scripted,torch)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        backends = [b for b in metafunc.config.getoption("--backends").split(",") if b]
        metafunc.parametrize("target", backends, indirect=True, scope="session")


class Target:
    """One backend's server behind the recording proxy. A cell that failed may have left the
    server wedged, so the next cell gets a fresh process (state never leaks into a verdict)."""

    def __init__(self, backend: str, log_dir: Path) -> None:
        self.backend = backend
        self.server = ServerProcess(backend, log_dir / f"server-{backend}.log")
        self.proxy = RecordingProxy()
        self.dirty = True

    @property
    def base_url(self) -> str:
        return self.proxy.base_url

    @property
    def model(self) -> str:
        return self.server.model

    def begin(self) -> None:
        if self.dirty or not self.server.alive():
            self.server.stop()
            self.server.start()
            self.proxy.upstream = ("127.0.0.1", self.server.port)
            self.dirty = False
        self.proxy.take()

    def dump(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([ex.to_json() for ex in self.exchanges()], indent=1))

    def exchanges(self) -> list[Exchange]:
        self.proxy.settle()
        return list(self.proxy.exchanges)

    def close(self) -> None:
        self.server.stop()
        self.proxy.close()


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    # server logs (stderr: tracebacks of a dying model thread) sit next to the wire records
    log_dir = Path(request.config.getoption("--wire-dir"))
    log_dir.mkdir(parents=True, exist_ok=True)
    t = Target(request.param, log_dir)
    try:
        yield t
    finally:
        t.close()


@pytest.fixture(autouse=True)
def _wire_dump(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep every cell's exchanges (what each client sent, what it got) for the failure report."""
    yield
    target = request.node.funcargs.get("target")
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    if isinstance(target, Target) and "client" in params:
        name = f"{target.backend}-{params['client']}-{params['case']}.json"
        target.dump(Path(request.config.getoption("--wire-dir")) / name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    matrix: Matrix | None = item.config.stash.get(MATRIX_KEY, None)
    cell = getattr(item, "callspec", None)
    if matrix is None or cell is None or "client" not in cell.params:
        return
    params = cell.params
    if report.when == "call" or report.outcome != "passed":
        reason = ""
        if report.failed:
            reason = str((getattr(report.longrepr, "reprcrash", None) and report.longrepr.reprcrash.message)
                         or report.longrepr).strip().splitlines()[0]
            target = item.funcargs.get("target")
            if isinstance(target, Target):
                target.dirty = True
        elif report.skipped and isinstance(report.longrepr, tuple):
            reason = report.longrepr[2]
        matrix.record(params["client"], params["case"], params["target"], report.outcome, reason)


MATRIX_KEY = pytest.StashKey[Matrix]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[MATRIX_KEY] = Matrix()


def pytest_sessionfinish(session: pytest.Session) -> None:
    matrix = session.config.stash.get(MATRIX_KEY, None)
    if matrix is None or not matrix.cells:
        return
    path = Path(session.config.getoption("--matrix"))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = matrix.markdown(env=os.environ.get("CLIENTS_MATRIX_NOTE", ""))
    path.write_text(text)
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.write_line("")
        for line in text.splitlines():
            tr.write_line(line)
        tr.write_line(f"(matrix written to {path})")
