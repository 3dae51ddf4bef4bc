"""`conformance check PATH|-`: check recorded streams (`.sse`) or JSON response bodies offline.

Streams are read in chunks and pushed into an `SSEStreamChecker` (bytes in), so a 100 MB
capture never sits in memory. One report case per input; the exit code follows --fail-on.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from conformance.cli import UsageError
from conformance.findings import SEVERITY_ORDER
from conformance.inputs import NotAStream, check_input
from conformance.report import CaseResult, Report

__all__ = ["NotAStream", "check_input", "main", "register"]

STDIN = "-"
PROFILES = ("openai", "openresponses", "lenient")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check",
        help="check recorded streams (.sse) or JSON response bodies",
        description=(
            "Check Responses API streams (SSE bytes) or non-stream JSON bodies against the "
            "protocol. Exit 0: nothing at or above --fail-on; 1: findings at or above it; "
            "2: usage error or unreadable input."
        ),
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="an .sse stream or a JSON response body; '-' reads standard input; a folder, a "
        ".jsonl file of recorded exchanges or a .parquet file checks a corpus (docs/cli-check.md)",
    )
    p.add_argument("--profile", choices=_profile_names(), default="openai")
    add_verdict_arguments(p)
    add_rule_arguments(p)
    p.add_argument(
        "--request",
        metavar="REQUEST.json",
        help="the create-response request body: enables request-aware rules (call.*, request.*)",
    )
    p.add_argument("--format", choices=[*_formats(), "jsonl"], default="text", dest="fmt",
                   help="jsonl: one JSON object per file as it finishes (corpus mode)")
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        metavar="N",
        help="corpus mode: check files in N processes (default: the CPU count; 1 = in process)",
    )
    p.add_argument(
        "--column",
        metavar="NAME",
        help="corpus mode: the Parquet column that holds the SSE bodies (default: body)",
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write the report here, not to stdout")
    p.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        default="error",
        help="lowest severity that makes the exit code 1 (default: error)",
    )
    p.add_argument(
        "--content-type",
        metavar="VALUE",
        help="the stream's Content-Type header, if known (checked by framing.content-type)",
    )
    p.add_argument(
        "--client",
        action="append",
        metavar="NAME",
        help="also feed each stream through a real client and report where it breaks: "
        "openai-python (rule client.openai-python)",
    )
    p.set_defaults(func=main)


def add_rule_arguments(p: Any) -> None:
    """--select / --ignore / --rules-module (conformance check and run)."""
    g = p.add_argument_group("rules")
    g.add_argument("--select", action="append", metavar="RULES",
                   help="report only these rules: ids, families or kinds, comma-separated "
                        "(e.g. framing,item.id-stable); repeatable")
    g.add_argument("--ignore", action="append", metavar="RULES",
                   help="drop these rules' findings: ids, families or kinds (e.g. model); repeatable")
    g.add_argument("--rules-module", action="append", metavar="MODULE",
                   help="import MODULE (e.g. mypkg.rules), which registers rules with "
                        "conformance.registry.rule; repeatable")


def apply_rule_arguments(args: argparse.Namespace) -> None:
    """Load --rules-module modules, then set --select/--ignore (UsageError, one line, if bad)."""
    from conformance import registry

    try:
        for name in getattr(args, "rules_module", None) or ():
            registry.load_rules_module(name)
        registry.select_rules(getattr(args, "select", None), getattr(args, "ignore", None))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def add_verdict_arguments(p: Any, *, target_kind: bool = False) -> None:
    """--tolerate (and, for live targets, --target-kind): options that refine --profile."""
    p.add_argument(
        "--tolerate",
        action="append",
        metavar="NAME",
        help="opt in to a named tolerance, e.g. sequence-number-absent for a recording made "
        "before about April 2025 (repeatable; docs/checker.md lists them)",
    )
    if target_kind:
        p.add_argument(
            "--target-kind",
            choices=("server", "proxy"),
            default="server",
            help="server (default): the target owns its decoding; proxy: it relays an upstream "
            "model, so model-behaviour findings are warnings about the model behind it",
        )


def resolve_profile(args: argparse.Namespace) -> str:
    """The profile spec of --profile, --tolerate and --target-kind (UsageError on a bad name)."""
    from conformance.profiles import profile_spec

    try:
        return profile_spec(args.profile, getattr(args, "tolerate", None) or (), getattr(args, "target_kind", None))
    except ValueError as exc:
        raise UsageError(f"--tolerate: {exc}" if "tolerance" in str(exc) else str(exc)) from None


def _profile_names() -> tuple[str, ...]:
    try:
        from conformance.profiles import PROFILE_NAMES
    except ImportError:  # pragma: no cover - the profiles module ships with the checker
        return PROFILES
    return tuple(PROFILE_NAMES)


def _formats() -> list[str]:
    from conformance.reporters import available_formats

    return available_formats()


# -- input -----------------------------------------------------------------------------------


def _validate_paths(paths: list[str]) -> None:
    if paths.count(STDIN) > 1:
        raise UsageError("standard input ('-') can be read only once")
    for path in paths:
        if path == STDIN:
            continue
        p = Path(path)
        if not p.exists():
            raise UsageError(f"{path}: no such file")
        if p.is_dir():
            raise UsageError(f"{path}: is a directory (pass the .sse/.json files inside it)")
        if not os.access(p, os.R_OK):
            raise UsageError(f"{path}: permission denied")


def _load_request(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"--request {path}: {exc.strerror or exc}") from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"--request {path}: not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise UsageError(f"--request {path}: must be a JSON object (a create-response request)")
    return body


def _check_path(path: str, args: argparse.Namespace, request: dict[str, Any] | None) -> CaseResult:
    options = {
        "profile": args.profile,
        "request": request,
        "content_type": args.content_type,
        "fail_on": args.fail_on,
    }
    name = "<stdin>" if path == STDIN else path
    try:
        if path == STDIN:
            return check_input(name, sys.stdin.buffer, **options)
        with open(path, "rb") as fh:
            return check_input(name, fh, **options)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    except NotAStream as exc:
        raise UsageError(f"{name}: {exc}") from None
    except Exception as exc:
        # A checker bug must not hide the other inputs' results behind a traceback; the case
        # is reported as an error (CONFORMANCE_DEBUG=1 re-raises for the traceback).
        if os.environ.get("CONFORMANCE_DEBUG"):
            raise
        return CaseResult(
            id=name, status="error", error=f"internal error: {type(exc).__name__}: {exc}"
        )


# -- output ----------------------------------------------------------------------------------


def _tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("responses-conformance")
    except PackageNotFoundError:
        return "0+unknown"


def render_report(report: Report, fmt: str, *, color: bool = False) -> str:
    from conformance.reporters import get_reporter

    if fmt == "text":
        from conformance.reporters import text

        return text.render(report, color=color)
    return get_reporter(fmt)(report)


def write_output(rendered: str, output: str | None) -> None:
    """Write to FILE (UTF-8) or stdout; characters stdout cannot encode become '?'."""
    if output is not None:
        try:
            Path(output).write_text(rendered, encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"--output {output}: {exc.strerror or exc}") from None
        return
    try:
        sys.stdout.write(rendered)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "utf-8"
        sys.stdout.write(rendered.encode(encoding, "replace").decode(encoding))
    sys.stdout.flush()


def use_color(output: str | None) -> bool:
    return output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def main(args: argparse.Namespace) -> int:
    if args.fail_on not in SEVERITY_ORDER:  # argparse choices guard this; kept for API callers
        raise UsageError(f"--fail-on {args.fail_on!r}: choose error, warning or info")
    args.profile = resolve_profile(args)
    apply_rule_arguments(args)
    from conformance.cli.corpus import is_corpus, run_corpus

    if getattr(args, "column", None) is not None and not any(p.endswith(".parquet") for p in args.paths):
        raise UsageError(f"--column {args.column}: only a .parquet file has columns")
    if is_corpus(args):
        return run_corpus(args, _load_request(args.request))
    _validate_paths(args.paths)
    request = _load_request(args.request)
    try:
        from conformance.clients import CHECK_CLIENTS, parse_clients, probe_check_cases

        clients = parse_clients(args.client, CHECK_CLIENTS)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    cases = [_check_path(path, args, request) for path in args.paths]
    meta: dict[str, Any] = {"unit": "stream", "command": "check"}
    if clients:
        meta["clients"] = probe_check_cases(cases, args.paths, request=request, profile=args.profile,
                                            fail_on=args.fail_on)
        notes = [c["note"] for c in meta["clients"].values() if c.get("note")]
        if notes:
            meta["notes"] = notes
    report = Report(
        cases=cases,
        profile=args.profile,
        fail_on=args.fail_on,
        # The text and Markdown reports do not name it, and looking it up imports
        # importlib.metadata and the email package: ~8 ms of a one-file check.
        tool_version="" if args.fmt in ("text", "markdown") else _tool_version(),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        meta=meta,
    )
    write_output(render_report(report, args.fmt, color=use_color(args.output)), args.output)
    return 0 if all(c.status == "passed" for c in cases) else 1
