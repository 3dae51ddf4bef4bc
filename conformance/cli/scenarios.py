"""`conformance scenarios [--format json]`: list the live runner's scenario catalogue.

One line per scenario (id, tags, title); JSON for tools. `--tag` filters.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["main", "register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scenarios",
        help="list the scenario catalogue of `conformance run`",
        description="List the scenarios `conformance run` sends (select with --scenario ID or tag:NAME).",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", dest="fmt")
    p.add_argument("--tag", action="append", metavar="NAME", help="only scenarios with this tag (repeatable)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from conformance.scenarios import catalogue

    rows = [s for s in catalogue() if not args.tag or set(args.tag) & set(s.tags)]
    if args.fmt == "json":
        sys.stdout.write(json.dumps([s.to_dict() for s in rows], indent=2) + "\n")
        return 0
    width = max((len(s.id) for s in rows), default=0)
    tag_width = max((len(", ".join(s.tags)) for s in rows), default=0)
    for s in rows:
        sys.stdout.write(f"{s.id:<{width}}  {', '.join(s.tags):<{tag_width}}  {s.title}\n")
    tags = sorted({t for s in rows for t in s.tags})
    sys.stdout.write(f"\n{len(rows)} scenarios; tags: {', '.join(tags)}\n")
    return 0
