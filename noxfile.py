"""Developer sessions: tests, lint, conformance, replay, bench, mutation.

torch is installed first and pinned to the CPU wheel that lies on these machines
(`torch==2.13.0`); any other spec would pull a multi-GB CUDA build.

Each session keeps its virtualenv (.nox/<session>) and installs into it only when the torch pin,
the session's extras or pyproject.toml changed; the project itself is installed editable, so
code changes need no reinstall. `nox --reuse-venv=no -s <session>` rebuilds one from scratch.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"  # the first with --reuse-venv / nox.options.reuse_venv
nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"

TORCH = "torch==2.13.0"
PYTHON = "3.11"
ROOT = Path(__file__).resolve().parent


def _install(session: nox.Session, extras: str = "dev") -> None:
    """torch, then the project (editable) with `extras`; skipped when this virtualenv already
    got exactly that (a stamp in it records the pin, the extras and pyproject.toml's hash)."""
    location = getattr(session.virtualenv, "location", None)
    stamp = Path(location) / ".responses-conformance-install" if location else None
    wanted = hashlib.sha256(f"{TORCH}|{extras}|".encode() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp is not None and stamp.is_file() and stamp.read_text() == wanted:
        session.log("dependencies up to date (pyproject.toml unchanged): install skipped")
        return
    session.install(TORCH)
    session.install("-e", f".[{extras}]")
    if stamp is not None:
        stamp.write_text(wanted)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (pytest). Extra args go to pytest."""
    _install(session)
    # pytest exits 5 when it collected nothing; nox treats any non-zero exit as failure.
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check (lint rules, on every Python file of the repository) and mypy on the packages.
    Formatting is not enforced: there is no `ruff format --check` here."""
    _install(session)
    session.run("ruff", "check", ".")
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
def mutation(session: nox.Session) -> None:
    """Sampled mutation testing of the core modules: kill rate per module and the survivors.
    A report, not a gate. nox -s mutation -- --sample 60 --module events (docs/mutation.md)."""
    _install(session, "dev,mutation")
    session.run("python", "scripts/mutation.py", *session.posargs)


@nox.session(python=PYTHON)
def proxy_conformance(session: nox.Session) -> None:
    """Run the scenario catalogue against proxy mode in front of each scripted fake upstream
    (Chat Completions, Anthropic), in process; the web search scenarios only through Anthropic,
    whose server-side web search tool the proxy forwards to (Chat Completions has none:
    docs/converters.md). Extra args go to `conformance run`."""
    _install(session)
    for target, skips in (("chat_completions_proxy", ["--skip", "tag:web_search"]), ("anthropic_proxy", [])):
        session.run("conformance", "run", "--app", f"reference_server.testing.proxy_targets:{target}",
                    "--api-key", "sk-proxy-demo", *skips, *session.posargs)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@nox.session(python=PYTHON)
def converter_conformance(session: nox.Session) -> None:
    """The reference server's proxy mode, launched in front of each `conformance upstream`
    (Chat Completions, Anthropic, Responses): every scenario, the scripted upstream-* ones and
    the upstream.* rules. Extra args go to `conformance run`."""
    _install(session)
    key = "sk-converter-conformance"
    for kind in ("chat-completions", "anthropic", "responses"):
        port = _free_port()
        launch = (f"python -m reference_server --upstream {kind} --upstream-url {{upstream_url}} --port {{port}} "
                  f"--api-key {key} --db :memory: --log-level error")
        session.run("conformance", "run", "--base-url", f"http://127.0.0.1:{port}/v1", "--api-key", key,
                    "--upstream", kind, "--launch", launch, *session.posargs)


@nox.session(python=PYTHON)
def clients(session: nox.Session) -> None:
    """The real-client matrix: pinned Python and JS clients against the reference server, both
    backends, and Codex CLI through `conformance proxy`. Writes the matrix (Markdown) to
    reports/clients-matrix.md and prints it; any failing cell fails the session. Extra args go
    to pytest (e.g. -k openai_node)."""
    _install(session)
    location = getattr(session.virtualenv, "location", None)
    requirements = ROOT / "clients" / "python" / "requirements.txt"
    # Installs are skipped when a stamp says this exact pin list / lock file is already installed
    # (a reused run then costs only the cells; `npm ci` alone wipes and rebuilds node_modules).
    if not _stamped(Path(location) / ".clients-requirements" if location else None, requirements):
        session.install("-r", str(requirements))
        _stamp(Path(location) / ".clients-requirements" if location else None, requirements)
    if shutil.which("node") and shutil.which("npm"):
        modules_stamp = ROOT / "clients" / "js" / "node_modules" / ".clients-lock"
        lock = ROOT / "clients" / "js" / "package-lock.json"
        if _stamped(modules_stamp, lock):
            session.log("clients/js/node_modules matches package-lock.json: npm ci skipped")
        else:
            with session.chdir("clients/js"):
                session.run_install("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", external=True)
            _stamp(modules_stamp, lock)
    else:
        session.warn("node/npm not found: every JS client cell will be reported SKIPPED")
    # Codex through the checking proxy needs the same node_modules: it runs here, not in `tests`
    # (where it skips, saying why, when node_modules is absent).
    session.run("pytest", "clients", "tests/conformance/proxy/test_proxy_codex.py", "-p", "no:cacheprovider",
                *session.posargs)


def _stamped(stamp: Path | None, source: Path) -> bool:
    return stamp is not None and stamp.is_file() and stamp.read_text() == hashlib.sha256(source.read_bytes()).hexdigest()


def _stamp(stamp: Path | None, source: Path) -> None:
    if stamp is not None and stamp.parent.is_dir():
        stamp.write_text(hashlib.sha256(source.read_bytes()).hexdigest())
