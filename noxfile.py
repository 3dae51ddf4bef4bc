"""Developer sessions: tests, lint, conformance, replay, bench.

torch is installed first and pinned to the CPU wheel that lies on these machines
(`torch==2.13.0`); any other spec would pull a multi-GB CUDA build.
"""

from __future__ import annotations

import shutil

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"

TORCH = "torch==2.13.0"
PYTHON = "3.11"


def _install(session: nox.Session, extras: str = "dev") -> None:
    session.install(TORCH)
    session.install(f".[{extras}]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (pytest). Extra args go to pytest."""
    _install(session)
    # pytest exits 5 when it collected nothing; nox treats any non-zero exit as failure.
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy on the packages."""
    _install(session)
    session.run("ruff", "check", "conformance", "reference_server", "tests", "noxfile.py")
    session.run("mypy", "conformance", "reference_server")


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Run the scenario catalogue. Default target: the embedded reference server.

    nox -s conformance -- --base-url http://127.0.0.1:8000/v1 --api-key ...
    """
    _install(session, "dev")
    session.run("conformance", "run", *session.posargs)


@nox.session(python=PYTHON)
def replay(session: nox.Session) -> None:
    """Re-check every fixture in fixtures/ and compare with the verdict its sidecar expects."""
    _install(session)
    session.run("conformance", "fixtures", "verify", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: print numbers, assert nothing about time."""
    _install(session)
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python=PYTHON)
def proxy_conformance(session: nox.Session) -> None:
    """Run the scenario catalogue against proxy mode in front of each scripted fake upstream
    (Chat Completions, Anthropic), in process. Extra args go to `conformance run`."""
    _install(session)
    for target in ("chat_completions_proxy", "anthropic_proxy"):
        session.run("conformance", "run", "--app", f"reference_server.testing.proxy_targets:{target}",
                    "--api-key", "sk-proxy-demo", *session.posargs)


@nox.session(python=PYTHON)
def clients(session: nox.Session) -> None:
    """The real-client matrix: pinned Python and JS clients against the reference server, both
    backends. Writes the matrix (Markdown) to reports/clients-matrix.md and prints it; any failing
    cell fails the session. Extra args go to pytest (e.g. -k openai_node)."""
    _install(session)
    session.install("-r", "clients/python/requirements.txt")
    if shutil.which("node") and shutil.which("npm"):
        with session.chdir("clients/js"):
            session.run_install("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", external=True)
    else:
        session.warn("node/npm not found: every JS client cell will be reported SKIPPED")
    session.run("pytest", "clients", "-p", "no:cacheprovider", *session.posargs)
