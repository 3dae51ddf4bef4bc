"""`conformance fixtures verify|list [DIR]`: re-check the fixture corpus against its sidecars.

`verify` exits 1 when any fixture's verdict differs from what its sidecar expects (a checker
change altered behaviour), 2 when the corpus itself is malformed; the default DIR is the shipped one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from conformance.cli import UsageError

__all__ = ["main", "register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "fixtures",
        help="verify or list the fixture corpus (streams with an expected verdict)",
        description=(
            "The fixture corpus: recorded and built streams, each with a sidecar naming the rule "
            "ids the checker must report. `verify` re-checks them (exit 1 on any changed verdict)."
        ),
    )
    sub = p.add_subparsers(dest="fixtures_command", metavar="ACTION")
    for action, help_ in (
        ("verify", "re-check every fixture and compare with its sidecar's expected verdict"),
        ("list", "list the fixtures with their expected rule ids"),
    ):
        q = sub.add_parser(action, help=help_, description=help_)
        q.add_argument(
            "dir",
            nargs="?",
            metavar="DIR",
            help="a corpus folder (or one fixture body); default: the shipped fixtures/streams",
        )
        q.add_argument("--format", choices=("text", "json"), default="text", dest="fmt")
        if action == "verify":
            q.add_argument(
                "-v",
                "--verbose",
                action="store_true",
                help="print every fixture, not only changed ones",
            )
        q.set_defaults(func=main, fixtures_action=action)
    p.set_defaults(func=_missing_action, fixtures_parser=p)


def _missing_action(args: argparse.Namespace) -> int:
    args.fixtures_parser.print_help(sys.stderr)
    raise UsageError("choose an action: verify or list")


def _load(args: argparse.Namespace) -> tuple[Path, list[Any]]:
    from conformance.fixture_corpus import FixtureError, default_root, load_fixtures

    root = Path(args.dir) if args.dir else default_root()
    try:
        fixtures = load_fixtures(root)
    except FixtureError as exc:
        raise UsageError(str(exc)) from None
    if not fixtures:
        raise UsageError(
            f"{root}: no fixture found (a fixture is X.sse or X.body.json plus X.json)"
        )
    return root, fixtures


def _expected_text(fx: Any) -> str:
    parts = [f"errors={','.join(sorted(fx.expected_errors)) or '-'}"]
    if fx.expected_warnings:
        parts.append(f"warnings={','.join(sorted(fx.expected_warnings))}")
    if fx.expected_infos:
        parts.append(f"infos={','.join(sorted(fx.expected_infos))}")
    if fx.profile != "openai":
        parts.append(f"profile={fx.profile}")
    return " ".join(parts)


def _list(args: argparse.Namespace) -> int:
    root, fixtures = _load(args)
    if args.fmt == "json":
        rows = [
            {
                "name": fx.name,
                "kind": fx.kind,
                "profile": fx.profile,
                "description": fx.description,
                "source": fx.sidecar.get("provenance", {}).get("source"),
                "expected": fx.sidecar.get("expected", {}),
            }
            for fx in fixtures
        ]
        sys.stdout.write(json.dumps({"root": str(root), "fixtures": rows}, indent=2) + "\n")
        return 0
    width = max(len(fx.name) for fx in fixtures)
    for fx in fixtures:
        sys.stdout.write(f"{fx.name:<{width}}  {fx.kind:<4} {_expected_text(fx)}\n")
    sys.stdout.write(f"{len(fixtures)} fixtures in {root}\n")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from conformance.fixture_corpus import FixtureError, verify

    root, fixtures = _load(args)
    started = time.perf_counter()
    verdicts = []
    for fx in fixtures:
        try:
            verdicts.append(verify(fx))
        except FixtureError as exc:
            raise UsageError(str(exc)) from None
    elapsed = time.perf_counter() - started
    changed = [v for v in verdicts if not v.ok]
    if args.fmt == "json":
        out = {
            "root": str(root),
            "total": len(verdicts),
            "as_expected": len(verdicts) - len(changed),
            "changed": [v.fixture.name for v in changed],
            "duration_s": round(elapsed, 3),
            "fixtures": [v.to_dict() for v in verdicts],
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        for v in verdicts:
            if not v.ok:
                sys.stdout.write("CHANGED " + v.explain() + "\n")
            elif args.verbose:
                sys.stdout.write(f"ok      {v.fixture.name}  {_expected_text(v.fixture)}\n")
        sys.stdout.write(
            f"{len(verdicts)} fixtures checked in {elapsed:.2f}s: "
            f"{len(verdicts) - len(changed)} as expected, {len(changed)} changed\n"
        )
    return 1 if changed else 0


def main(args: argparse.Namespace) -> int:
    if args.fixtures_action == "list":
        return _list(args)
    return _verify(args)
