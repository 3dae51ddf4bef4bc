"""`conformance check PATH|-`: check recorded streams (`.sse`) or JSON response bodies offline.

Streams are read in chunks and pushed into an `SSEStreamChecker` (bytes in), so a 100 MB
capture never sits in memory. One report case per input; the exit code follows --fail-on.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from conformance.cli import UsageError
from conformance.findings import SEVERITY_ORDER, at_least
from conformance.report import CaseResult, Report

__all__ = ["NotAStream", "check_input", "main", "register"]

CHUNK_SIZE = 256 * 1024
# A body that starts with "{" is read whole to try it as JSON; beyond this size it cannot be a
# plausible response body and is streamed as SSE instead of being buffered.
JSON_BODY_LIMIT = 64 * 1024 * 1024
_WHITESPACE = b" \t\r\n"
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
        default="body",
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


class NotAStream(ValueError):
    """The input is neither SSE nor a Response body (unreadable input: exit 2, one line)."""


# A line that is an SSE field (`data`, `event`, `id`, `retry`, with or without a value) or a
# comment. An input without one anywhere is not an event stream at all.
_SSE_LINE = re.compile(rb"(?:^|[\r\n])(?:\xef\xbb\xbf)?(?:(?:data|event|id|retry)(?:[:\r\n]|$)|:)")


def _what_it_is(head: bytes) -> str:
    """Names a non-SSE input for the one-line error."""
    text = _json_text(head)
    if not text:
        return "it is empty: nothing to check"
    if text[:1] in (b"{", b"["):
        return "it is JSON, but neither a Response body nor an SSE stream (no `data:` line)"
    if b"\x00" in head[:4096]:
        return "it is binary data, not an SSE stream (no `data:` line)"
    if text[:1] == b"<":
        return "it looks like HTML or XML (an error page?), not an SSE stream (no `data:` line)"
    return "it is not an SSE stream (no `data:` line) nor a Response body"


def _chunks(stream: BinaryIO, prefix: bytes) -> Iterator[bytes]:
    if prefix:
        yield prefix
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


def _json_text(raw: bytes) -> bytes:
    # Editors on some systems save JSON with a UTF-8 BOM; orjson (rightly) refuses it.
    return raw.lstrip(_WHITESPACE).removeprefix(b"\xef\xbb\xbf").lstrip(_WHITESPACE)


def _sniff(stream: BinaryIO) -> tuple[bytes, Any]:
    """Read enough to decide SSE vs JSON body. Returns (bytes read so far, body or None)."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(CHUNK_SIZE)
        parts.append(chunk)
        size += len(chunk)
        if chunk.strip(_WHITESPACE) or not chunk:
            break
    if not _json_text(b"".join(parts)).startswith(b"{"):
        return b"".join(parts), None
    while size <= JSON_BODY_LIMIT and (chunk := stream.read(CHUNK_SIZE)):
        parts.append(chunk)  # joined once below: repeated `+=` would be quadratic
        size += len(chunk)
    head = b"".join(parts)
    if size > JSON_BODY_LIMIT:
        return head, None
    try:
        body = orjson.loads(_json_text(head))
    except orjson.JSONDecodeError:
        return head, None
    # A JSON object that is a Response (or at least not an event) is a non-stream body; a bare
    # event object (it has "type") is checked as a (broken) stream instead.
    if isinstance(body, dict) and (body.get("object") == "response" or "type" not in body):
        return head, body
    return head, None


def check_input(
    name: str,
    stream: BinaryIO,
    *,
    profile: str = "openai",
    request: dict[str, Any] | None = None,
    content_type: str | None = None,
    fail_on: str = "error",
) -> CaseResult:
    """Check one input (SSE or JSON body) read from `stream`; returns its report case."""
    from conformance import check_response
    from conformance.sse_checker import SSEStreamChecker

    start = time.perf_counter()
    head, body = _sniff(stream)
    details: dict[str, Any] = {}
    from conformance.transcript import TranscriptChecker, looks_like_transcript

    if looks_like_transcript(head):
        # A WebSocket transcript (JSON lines with `dir`): several responses on one socket.
        transcript = TranscriptChecker(profile)
        pending = b""
        for chunk in _chunks(stream, head):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                transcript.feed_line(line)
        transcript.feed_line(pending)
        result = transcript.finish()
        details["input"] = "websocket-transcript"
        details["responses"] = len(transcript.responses)
    elif body is not None:
        result = check_response(body, profile=profile, request=request)
        details["input"] = "json"
    else:
        checker = SSEStreamChecker(profile, request, content_type=content_type)
        sse_like = False  # a field or comment line seen (decided while nothing was dispatched)
        tail = b""
        for chunk in _chunks(stream, head):
            if not sse_like and not checker.n_messages:
                sse_like = bool(_SSE_LINE.search(tail + chunk))
                tail = chunk[-16:]
            checker.feed(chunk)
        result = checker.finish()
        messages = checker.n_messages
        details["input"] = "sse"
        details["saw_done"] = result.saw_done
        if messages == 0 and not sse_like:
            # Not a stream at all (empty, an HTML error page, binary, other JSON): unreadable
            # input, not a stream that lacks its terminal event.
            raise NotAStream(_what_it_is(head))
        if messages == 0:
            # A stream of comments or data-less blocks only: nothing to judge is not a pass.
            looks_json = _json_text(head)[:1] in (b"{", b"[")
            kind = "JSON that is not a Response body" if looks_json else "no SSE event"
            return CaseResult(
                id=name,
                status="error",
                findings=list(result.findings),
                duration_s=time.perf_counter() - start,
                error=f"nothing to check: the input holds {kind}",
                details=details,
            )
    if result.response_id:
        details["response_id"] = result.response_id
    findings = list(result.findings)
    failing = any(at_least(f.severity, fail_on) for f in findings)
    return CaseResult(
        id=name,
        status="failed" if failing else "passed",
        findings=findings,
        duration_s=time.perf_counter() - start,
        event_count=result.event_count,
        details=details,
    )


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
        tool_version=_tool_version(),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        meta=meta,
    )
    write_output(render_report(report, args.fmt, color=use_color(args.output)), args.output)
    return 0 if all(c.status == "passed" for c in cases) else 1
