"""`conformance run`: send the scenario catalogue to a live target and report what is wrong.

Target: --base-url URL, --app module:attr (in-process ASGI), or the embedded reference server
(the default). Exit 0 all selected scenarios pass, 1 some fail, 2 usage or connection error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from conformance.cli import UsageError

__all__ = ["add_scenario_arguments", "add_target_arguments", "announce_redaction", "main", "parse_outputs", "register", "target_from_args"]

# `--output FILE` without a `FORMAT:` prefix: the format comes from the file's extension.
EXTENSION_FORMATS = {
    ".json": "json",
    ".xml": "junit",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
}
PROFILES = ("openai", "openresponses", "lenient")


def _profile_names() -> tuple[str, ...]:
    try:
        from conformance.profiles import PROFILE_NAMES
    except ImportError:  # pragma: no cover - ships with the checker
        return PROFILES
    return tuple(PROFILE_NAMES)


def _formats() -> list[str]:
    from conformance.reporters import available_formats

    return available_formats()


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run the scenario catalogue against a live endpoint, an ASGI app, or the reference server",
        description=(
            "Send the scenario catalogue (`conformance scenarios`) to a Responses API target and "
            "check every answer: streams event by event, bodies, status codes, error shapes. "
            "Exit 0: every selected scenario passed; 1: some failed; 2: usage or connection error."
        ),
    )
    add_target_arguments(p)
    from conformance.cli.upstream import add_run_arguments

    add_run_arguments(p)
    s = add_scenario_arguments(p)
    from conformance.cli.check import add_rule_arguments

    add_rule_arguments(p)
    s.add_argument(
        "--client",
        action="append",
        metavar="NAME[,NAME...]",
        help="also run real clients over the target: openai-python (every stream through "
        "responses.stream()), codex (one `codex exec` turn per text scenario); repeatable",
    )
    r = p.add_argument_group("report")
    r.add_argument("--format", choices=_formats(), default="text", dest="fmt", help="report printed on stdout (default text)")
    r.add_argument(
        "--output",
        "-o",
        action="append",
        metavar="[FORMAT:]FILE",
        help="also write a report file (repeatable): html:report.html, junit:results.xml; "
        "without FORMAT: the extension decides (.json .xml .md .html .txt)",
    )
    r.add_argument("--fail-on", choices=("error", "warning"), default="error", help="lowest severity that fails a scenario (default error)")
    r.add_argument("--no-progress", action="store_true", help="no live progress display")
    r.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.set_defaults(func=main)


def add_target_arguments(p: argparse.ArgumentParser) -> None:
    """Target and authentication options (shared with `conformance record`)."""
    t = p.add_argument_group("target (default: --reference)")
    t.add_argument("--base-url", metavar="URL", help="OpenAI-style base URL, e.g. http://127.0.0.1:8000/v1")
    t.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help="an ASGI app, run in-process without a socket; paths are under --base-url "
        "(default http://asgi-app/v1)",
    )
    t.add_argument("--reference", action="store_true", help="start the embedded reference server (the default)")
    t.add_argument(
        "--reference-backend",
        choices=("torch", "scripted"),
        default=None,
        help="token backend of the embedded reference server (default: torch, the seeded tiny "
        "gpt-oss model, when torch is installed; otherwise scripted)",
    )
    a = p.add_argument_group("authentication")
    a.add_argument("--api-key", metavar="KEY", help="API key (default: $CONFORMANCE_API_KEY); never written to reports")
    a.add_argument("--auth-header", metavar="NAME", default="Authorization", help="header carrying the key (default Authorization)")
    a.add_argument("--no-bearer", action="store_true", help="send the key as is, without 'Bearer '")


def add_scenario_arguments(p: argparse.ArgumentParser) -> Any:
    """What to run: scenarios, model, profile, timeouts (shared with `conformance record`)."""
    s = p.add_argument_group("what to run")
    s.add_argument("--model", help="model to request (default: the first id of GET {base}/models)")
    s.add_argument(
        "--scenario",
        action="append",
        metavar="ID[,ID...]",
        help="run only these scenarios; `tag:NAME` selects by tag (repeatable)",
    )
    s.add_argument(
        "--skip",
        action="append",
        metavar="ID[,ID...]",
        help="report these scenarios as skipped (e.g. tag:vision for a text-only model; repeatable)",
    )
    s.add_argument("--profile", choices=_profile_names(), default="openai")
    from conformance.cli.check import add_verdict_arguments

    add_verdict_arguments(s, target_kind=True)
    s.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="deadline per request for the first byte and the whole stream (default 120)")
    s.add_argument("--concurrency", type=int, default=4, metavar="N", help="scenarios run at once (default 4)")
    s.add_argument("--retries", type=int, default=1, metavar="N", help="retries on transport errors only (default 1)")
    return s


def target_from_args(args: argparse.Namespace) -> Any:
    """The target (a context manager) chosen by the options of `add_target_arguments`."""
    from conformance.runner import open_target

    return open_target(
        base_url=args.base_url,
        app=args.app,
        reference=args.reference or bool(getattr(args, "reference_backend", None)),
        reference_backend=getattr(args, "reference_backend", None),
        api_key=args.api_key or os.environ.get("CONFORMANCE_API_KEY") or None,
        auth_header=args.auth_header,
        bearer=not args.no_bearer,
    )


def announce_redaction(target: Any) -> Any:
    """The run's Redactor; says once (stderr) when the key is too short to find in free text."""
    from conformance.redaction import Redactor

    redactor = Redactor(target.secrets())
    note = redactor.short_key_note()
    if note:
        print(note, file=sys.stderr)
    return redactor


def parse_outputs(values: list[str] | None, formats: list[str]) -> list[tuple[str, Path]]:
    """`["html:r.html", "r.json"]` -> `[("html", r.html), ("json", r.json)]`; UsageError when unclear."""
    out: list[tuple[str, Path]] = []
    for value in values or ():
        fmt, sep, path = value.partition(":")
        if sep and fmt in formats and path:
            out.append((fmt, Path(path)))
            continue
        guessed = EXTENSION_FORMATS.get(Path(value).suffix.lower())
        if guessed is None or guessed not in formats:
            raise UsageError(
                f"--output {value}: say which format, e.g. --output html:{value} "
                f"(formats: {', '.join(formats)}; or use a .json/.xml/.md/.html/.txt name)"
            )
        out.append((guessed, Path(value)))
    return out


def _options(args: argparse.Namespace) -> Any:
    from conformance.cli.check import apply_rule_arguments, resolve_profile
    from conformance.runner import RunOptions

    args.profile = resolve_profile(args)
    apply_rule_arguments(args)
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.retries < 0:
        raise UsageError("--retries must be 0 or more")
    return RunOptions(
        profile=args.profile,
        model=args.model,
        timeout=args.timeout,
        concurrency=args.concurrency,
        retries=args.retries,
        fail_on=args.fail_on,
    )


def main(args: argparse.Namespace) -> int:
    from conformance import scenarios as catalogue
    from conformance.clients import ClientRun, parse_clients
    from conformance.reporters import get_reporter
    from conformance.reporters.progress import TerminalProgress, render_final
    from conformance.runner import TargetError, run_scenarios

    options = _options(args)
    try:
        clients = ClientRun(parse_clients(args.client))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    options = clients.apply(options)
    outputs = parse_outputs(args.output, _formats())
    from conformance.cli.upstream import split_selection, split_skips

    upstream_only, args.scenario = split_selection(args.scenario) if args.upstream else (False, args.scenario)
    upstream_skips, args.skip = split_skips(args.skip) if args.upstream else ([], args.skip)
    try:
        chosen, skips = catalogue.select(args.scenario, args.skip)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if upstream_only:
        chosen = []
    if not chosen and not upstream_only:
        raise UsageError("no scenario selected")
    text_on_stdout = args.fmt == "text"
    progress = TerminalProgress(
        stream=sys.stdout if text_on_stdout else sys.stderr,
        live=not args.no_progress,
        color={"always": True, "never": False}.get(args.color),
    )
    from conformance.cli.upstream import run_upstream

    try:
        with run_upstream(args) as upstream, target_from_args(args) as target:
            if upstream is not None:  # scenarios one at a time: the upstream's log is per scenario
                options.upstream, options.concurrency = upstream.check, 1
                upstream.check.judge.client_secrets = target.secrets()
                chosen = [*chosen, *(s for s in upstream.scenarios if upstream.selected(s))]
                skips = {**upstream.skips, **skips}
                skips.update({s.id: why for s in upstream.scenarios if (why := upstream.skipped(s, upstream_skips))})
            redactor = announce_redaction(target)
            progress.header(redactor.text(target.label), options.profile)
            report = run_scenarios(target, chosen, options, skips=skips, progress=progress)
            if clients.clients:
                tags = {sc.id: sc.tags for sc in chosen}
                for note in clients.finish(report, target, timeout_s=options.timeout, scenario_tags=tags):
                    print(note, file=sys.stderr)
    except TargetError as exc:
        raise UsageError(str(exc)) from None
    for fmt, path in outputs:
        try:
            path.write_text(get_reporter(fmt)(report), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output {path}: {exc.strerror or exc}") from None
    if text_on_stdout:
        render_final(report, progress)
    else:
        sys.stdout.write(get_reporter(args.fmt)(report))
        render_final(report, progress, summary_only=True)
    return 0 if report.ok else 1
