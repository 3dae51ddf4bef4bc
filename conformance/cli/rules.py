"""`conformance rules`: list the rule registry (id, family, severity under a profile, ...).

The ids are a public interface (CI pipelines filter and waive by them); this is where users
find them, with the clients each defect is known to break.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from conformance.cli import UsageError

__all__ = ["main", "register", "rule_rows"]


def register(subparsers: Any) -> None:
    from conformance.cli.check import _profile_names

    p = subparsers.add_parser(
        "rules",
        help="list every rule id with its severity, the clients it breaks and its spec",
        description="List the rule registry. Severities are those of --profile.",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", dest="fmt")
    p.add_argument("--profile", choices=_profile_names(), default="openai")
    p.add_argument("--family", metavar="FAMILY", help="only this family (framing, schema, ...)")
    p.set_defaults(func=main)


def rule_rows(profile: str = "openai", family: str | None = None) -> list[dict[str, Any]]:
    """One dict per rule, registry order, with the severity `profile` gives it."""
    from conformance.profiles import get_profile
    from conformance.registry import all_rules

    prof = get_profile(profile)
    rows = []
    for rule in all_rules():
        if family and rule.family != family:
            continue
        row = rule.to_dict()
        row["default_severity"] = rule.severity
        row["severity"] = prof.severity_for(rule)
        rows.append(row)
    return rows


def _render_text(rows: list[dict[str, Any]], profile: str) -> str:
    width = max((len(r["id"]) for r in rows), default=10)
    n_model = sum(1 for r in rows if r.get("kind") == "model")
    lines = [
        f"{len(rows)} rules, severities of profile {profile}; kind: protocol (the server's job, "
        f"{len(rows) - n_model}) or model (what the model generates, {n_model})"
    ]
    family = None
    for r in rows:
        if r["family"] != family:
            family = r["family"]
            lines.append(f"\n{family}")
        sev = r["severity"]
        if sev != r["default_severity"]:
            sev = f"{sev}*"  # changed by the profile
        line = f"  {r['id']:<{width}}  {sev:<8} {r.get('kind', 'protocol'):<8} {r['title']}"
        if r.get("breaks"):
            line += f"  [breaks: {', '.join(r['breaks'])}]"
        if r.get("external"):
            line += f"  ({r['external']})"
        lines.append(line)
        if r.get("spec"):
            lines.append(f"  {'':<{width}}  {'':<8} {'':<8} spec: {r['spec']}")
    lines.append("\n* severity changed by the profile")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    from conformance.cli.check import write_output

    rows = rule_rows(args.profile, args.family)
    if args.family and not rows:
        raise UsageError(f"--family {args.family}: no rule in that family")
    if args.fmt == "json":
        out = json.dumps({"profile": args.profile, "rules": rows}, indent=2, ensure_ascii=False)
        write_output(out + "\n", None)
    else:
        write_output(_render_text(rows, args.profile), None)
    return 0
