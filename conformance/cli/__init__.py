"""`conformance` command line: one sub-command module per verb.

Each module in this package exposes `register(subparsers)` (adds its parser and sets
`func=main`) and `main(args) -> int`. Exit codes: 0 ok, 1 findings at/above --fail-on,
2 usage error or unreadable input / unreachable target (one-line reason, never a traceback).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

# Sub-command modules, in help order. A module that is missing is skipped, so the CLI works
# while verbs are being added.
SUBCOMMANDS = ("check", "rules", "run", "scenarios", "record", "replay", "fixtures", "upstream", "proxy")


class UsageError(Exception):
    """Bad arguments or unreadable input: printed as one line, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Check OpenAI Responses API streams and servers against the protocol.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"conformance.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"conformance.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


# What a process killed by SIGPIPE reports (128 + 13): `conformance rules | head` is not an error
# of ours, but a pipeline with `set -o pipefail` must still see that the output was cut short.
EXIT_BROKEN_PIPE = 141


def _silence_stdout() -> None:
    """The reader went away: point stdout at /dev/null so the interpreter's final flush of what
    is still buffered does not raise (and print a traceback) at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        try:
            code = int(args.func(args))
        except UsageError as exc:
            print(f"conformance {args.command}: error: {exc}", file=sys.stderr)
            return 2
        except ModuleNotFoundError as exc:
            from conformance.extras import missing_extra

            needs = missing_extra(exc)
            if needs is None:
                raise
            print(f"conformance {args.command}: error: this command {needs}", file=sys.stderr)
            return 2
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run() -> NoReturn:
    """The `conformance` command's process: `main`, then exit without the interpreter's last
    garbage collection. That pass walks every object the compiled contracts and the rules built,
    to free memory the ending process gives back anyway: 40-70 ms of a ~290 ms check of one
    file. Nothing is left to finalise: every command closes what it writes (`with`, or
    `finally` for `--output`), and `main` has flushed stdout."""
    code = main()
    gc.freeze()  # the collector skips frozen objects, so the final pass has nothing to walk
    sys.exit(code)


if __name__ == "__main__":
    run()
