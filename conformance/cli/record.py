"""`conformance record --out DIR`: run scenarios against a target and save every answer's exact
bytes, one fixture-compatible body + sidecar per exchange, for `conformance replay DIR`.

Same target, auth and selection options as `conformance run`. Exit 0 when the recording was
written (the scenarios' verdicts are in DIR/session.json and on stdout), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from conformance.cli import UsageError
from conformance.cli.run import (
    _options,
    add_scenario_arguments,
    add_target_arguments,
    announce_redaction,
    target_from_args,
)

__all__ = ["main", "register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "record",
        help="record a target's answers to the scenarios, for `conformance replay`",
        description=(
            "Run scenarios against a Responses API target (same options as `conformance run`) and "
            "write the exact response bytes of every exchange to DIR/<scenario>/, each with a "
            "sidecar (request without secrets, status, headers without credentials, chunk timing, "
            "the checker's verdict, the openai-python probe). API keys, bearer tokens and cookies "
            "are never written."
        ),
    )
    add_target_arguments(p)
    add_scenario_arguments(p)
    o = p.add_argument_group("recording")
    o.add_argument("--out", required=True, metavar="DIR", help="folder to write (created if missing)")
    o.add_argument(
        "--force",
        action="store_true",
        help="re-record into a folder that already holds recordings of these scenarios "
        "(their old files are removed first; other scenarios are kept)",
    )
    p.set_defaults(func=main, fail_on="error")  # run's _options() reads it; the verdicts are kept as found


def _check_out(out: Path, scenario_ids: list[str], force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    clashing = [s for s in scenario_ids if (out / s).exists()]
    if clashing and not force:
        raise UsageError(
            f"--out {out} already holds recordings of {', '.join(clashing[:3])}"
            f"{' …' if len(clashing) > 3 else ''}; pass --force to replace them, or choose another folder"
        )


def main(args: argparse.Namespace) -> int:
    from conformance import scenarios as catalogue
    from conformance.replay.record import Recorder
    from conformance.reporters.progress import TerminalProgress
    from conformance.reporters.text import plural
    from conformance.runner import TargetError, run_scenarios

    options = _options(args)
    try:
        chosen, skips = catalogue.select(args.scenario, args.skip)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not chosen:
        raise UsageError("no scenario selected")
    out = Path(args.out)
    _check_out(out, [s.id for s in chosen], args.force)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: {exc.strerror or exc}") from None
    # Live progress only on a terminal (stderr): stdout keeps the summary.
    progress = TerminalProgress(stream=sys.stderr) if sys.stderr.isatty() else None
    try:
        with target_from_args(args) as target:
            redactor = announce_redaction(target)
            if progress:
                progress.header(redactor.text(target.label), options.profile)
            recorder = Recorder(
                out,
                secrets=target.secrets(),
                target=target.label,
                auth_header=args.auth_header,
                scenario_tags={s.id: s.tags for s in chosen},
            )
            recorder.clear(s.id for s in chosen)
            options = dataclasses.replace(options, observers=(*options.observers, recorder))
            report = run_scenarios(target, chosen, options, skips=skips, progress=progress)
        session = recorder.write_session(report)
    except TargetError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"--out {out}: {exc.strerror or exc}") from None
    for case in report.cases:
        rules = sorted({f.rule for f in case.findings if f.severity == "error"})
        shown = f"  {', '.join(rules)}" if rules else ""
        reason = f"  ({case.skip_reason})" if case.skip_reason else ""
        count = recorder.exchanges.get(case.id, 0)
        sys.stdout.write(f"{case.status:<8} {case.id:<34} {plural(count, 'exchange'):>12}{shown}{reason}\n")
    total = sum(recorder.exchanges.values())
    sys.stdout.write(
        f"recorded {plural(total, 'exchange')} of {plural(len(report.cases), 'scenario')} in {out} ({session.name})\n"
    )
    return 0
