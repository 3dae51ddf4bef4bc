"""`conformance proxy --upstream-url URL`: sit between a real client and a Responses server,
relay every exchange unchanged and judge what passes (docs/proxy.md)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.cli import UsageError
from conformance.cli.check import add_verdict_arguments, resolve_profile
from conformance.excerpts import clip

__all__ = ["exchange_line", "main", "register"]


def register(subparsers: Any) -> None:
    from conformance.cli.check import _formats, _profile_names

    p = subparsers.add_parser(
        "proxy",
        help="a transparent checking proxy: relay a real client's traffic and judge it live",
        description=(
            "Listen on 127.0.0.1, forward every request to the upstream unchanged (Authorization "
            "passes through and is never written), stream each answer back byte for byte, and "
            "judge it alongside: one line per exchange, a report on exit (Ctrl-C/SIGTERM finish "
            "in-flight exchanges first)."
        ),
    )
    p.add_argument("--upstream-url", required=True, metavar="URL",
                   help="the server to relay to, e.g. http://127.0.0.1:8000 (a /v1 prefix is not doubled)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free one, printed)")
    p.add_argument("--record", metavar="DIR", help="write each exchange in `conformance record`'s format")
    p.add_argument("--profile", choices=_profile_names(), default="openai")
    add_verdict_arguments(p, target_kind=True)
    p.add_argument("--report", metavar="FILE", action="append",
                   help="write the report here on exit (FORMAT:FILE or .json/.xml/.md/.html/.txt; repeatable)")
    p.add_argument("--fail-on", choices=("error", "warning", "info"), default="error")
    p.add_argument("--no-probe", action="store_true",
                   help="record without running each stream through openai-python (faster)")
    formats = _formats()
    p.set_defaults(func=main, _formats=formats)


# A client that leaves mid-flow does so between chunks; a silence this long before it left says
# it probably gave up on a stalled upstream (not judged: reasoning can be silent that long too).
SILENCE_WORTH_SAYING_S = 1.0


def exchange_line(case: Any) -> tuple[str, str]:
    """One line for a finished exchange, and its style (green/yellow/red)."""
    from conformance.reporters.text import plural

    d = case.details
    head = f"{d.get('method', '?')} {d.get('path', '?')} {d.get('status') or '-'}"
    if case.error:
        return f"! {head}  {case.event_count} events  ERROR  {case.error}", "red"
    judged = d.get("judged")
    if judged == "none":
        note = d.get("note") or "not judged"
        line = f"· {head}  {note if 'note' in d else 'relayed (not a Response answer)'}"
        if d.get("upstream_error"):
            line += f"  {clip(d['upstream_error'], 160)}"
        return line, "dim"
    if judged == "websocket":
        what = f"{plural(d.get('messages', 0), 'message')}, {plural(d.get('responses', 0), 'response')}"
        what += f", closed by {d['close']}" if d.get("close") else ""
        if d.get("error_events"):
            what += f", {plural(len(d['error_events']), 'error event')}: {clip(', '.join(d['error_events']), 80)}"
    else:
        what = f"{case.event_count} events" if judged == "sse" else "json body"
    if d.get("dropped"):
        what += ", client hung up"
        silent = d.get("silent_s")
        if isinstance(silent, int | float) and silent >= SILENCE_WORTH_SAYING_S:
            what += f" after {silent:.1f} s without a byte from the upstream"
    errors = [f for f in case.findings if f.severity == "error"]
    warnings = [f for f in case.findings if f.severity == "warning"]
    mark, style = ("✗", "red") if case.status == "failed" else ("✓", "yellow" if warnings else "green")
    line = f"{mark} {head}  {what}  {case.status.upper()}"
    if case.findings:
        top = (errors or warnings or case.findings)[0]
        same = sum(1 for f in case.findings if f.rule == top.rule)
        line += f"  {plural(len(errors), 'error')}, {plural(len(warnings), 'warning')}; top: {top.rule}"
        line += f" ×{same}" if same > 1 else ""
        if top.breaks:
            line += f"  breaks: {', '.join(top.breaks)}"
    if d.get("recorder_error"):
        line += f"  [recorder failed: {d['recorder_error']}]"
    return line, style


def _emitter() -> Any:
    use_rich = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    console = None
    if use_rich:
        try:
            from rich.console import Console

            console = Console(highlight=False)
        except ImportError:
            console = None

    def emit(case: Any) -> None:
        line, style = exchange_line(case)
        if console is not None:
            console.print(line, style=style, markup=False)
        else:
            print(line, flush=True)

    return emit


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises a captured SIGINT/SIGTERM once it has shut down, which would end the
        process before the report is written; here the signal only asks for the graceful stop."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


def main(args: argparse.Namespace) -> int:
    from conformance.cli.check import _tool_version
    from conformance.cli.run import parse_outputs
    from conformance.proxy import ProxyApp, ProxyOptions
    from conformance.reporters import get_reporter

    profile = resolve_profile(args)
    outputs = parse_outputs(args.report, args._formats)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a port number")
    try:
        app = ProxyApp(ProxyOptions(upstream_url=args.upstream_url, profile=profile, fail_on=args.fail_on,
                                    record_dir=Path(args.record) if args.record else None,
                                    probe=not args.no_probe), emit=_emitter())
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    import uvicorn

    _Server = _server_class()
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    port = sock.getsockname()[1]
    print(f"checking proxy at http://{args.host}:{port} -> {app.upstream_target('', '')} "
          f"(clients: base_url http://{args.host}:{port}/v1; Ctrl-C stops)", flush=True)
    # No Server/Date headers of our own: the client sees the upstream's headers.
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, date_header=False)
    try:
        _Server(config).run(sockets=[sock])  # SIGINT/SIGTERM: waits for in-flight exchanges
    finally:
        sock.close()
    report = app.report(tool_version=_tool_version())
    try:
        app.write_session(report)
    except Exception as exc:  # the exchanges are already on disk; say so and go on
        print(f"conformance proxy: session.json not written: {exc}", file=sys.stderr)
    for fmt, path in outputs:
        try:
            path.write_text(get_reporter(fmt)(report), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--report {path}: {exc.strerror or exc}") from None
    errors = sum(1 for c in report.cases for f in c.findings if f.severity == "error")
    failed = sum(1 for c in report.cases if c.status != "passed")
    print(f"{len(report.cases)} exchanges, {failed} not passed, {errors} errors", flush=True)
    return 0 if report.ok else 1
