"""Markdown reporter: a summary table for CI job summaries (e.g. $GITHUB_STEP_SUMMARY), then
the findings of every case that has any, grouped by rule.
"""

from __future__ import annotations

from conformance.findings import Finding
from conformance.report import CaseResult, Report
from conformance.reporters.text import (
    excerpt_text,
    folded_line,
    format_location,
    group_by_rule,
    headlines,
    plural,
    severity_counts,
    summary_line,
)

__all__ = ["render"]

_ICON = {"passed": "✅", "failed": "❌", "skipped": "⏭️", "error": "💥"}
MAX_FINDINGS_PER_CASE = 25
MAX_PER_RULE = 3  # a systematic defect repeats: a few occurrences say enough in a summary


def _cell(text: str) -> str:
    """Table-cell safe: one line, pipes escaped, no HTML."""
    flat = excerpt_text(text, 200)
    return flat.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    flat = excerpt_text(text, 200).replace("|", "\\|")
    fence = "``" if "`" in flat else "`"
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _rules_cell(case: CaseResult) -> str:
    if case.status == "skipped":
        return _cell(case.skip_reason or "skipped")
    if case.error:
        return _cell(f"could not run: {case.error}")
    parts = []
    roots, derived_of = headlines(case.findings)
    for rule_id, group in group_by_rule(f for f in roots if f.severity != "info"):
        folded = sum(len(derived_of.get(id(f), ())) for f in group)
        parts.append(
            f"`{rule_id}`" + (f" ×{len(group)}" if len(group) > 1 else "") + (f" (+{folded} folded)" if folded else "")
        )
    return ", ".join(parts)


def _finding_line(f: Finding) -> str:
    kind = " (model behaviour)" if f.kind == "model" else ""
    line = f"- **{f.severity}** `{f.rule}`{kind} ({format_location(f)}): {_cell(f.message)}"
    if f.breaks:
        line += f" — breaks {', '.join(f.breaks)}"
    if f.excerpt:
        line += f"<br>{_code(f.excerpt)}"
    return line


def render(report: Report) -> str:
    counts = report.counts()
    head = " · ".join(f"{_ICON[s]} {n} {s}" for s, n in counts.items() if n) or "nothing ran"
    lines = [f"## Responses conformance: {head}", ""]
    facts = [f"target `{_cell(report.target)}`" if report.target else "", f"profile `{report.profile}`"]
    if report.meta.get("model"):
        facts.append(f"model `{_cell(str(report.meta['model']))}`")
    facts.append(f"failing on {report.fail_on}")
    lines += [" · ".join(f for f in facts if f), ""]
    lines += ["| | Case | Time | Events | Findings |", "|---|---|---:|---:|---|"]
    for case in report.cases:
        title = f" — {_cell(case.title)}" if case.title and case.title != case.id else ""
        time = "" if case.status == "skipped" else f"{case.duration_s:.2f}s"
        events = str(case.event_count) if case.event_count else ""
        lines.append(f"| {_ICON.get(case.status, '?')} | `{_cell(case.id)}`{title} | {time} | {events} | {_rules_cell(case)} |")
    lines += ["", f"**{summary_line(report)}**", ""]
    detailed = [c for c in report.cases if c.status != "skipped" and any(f.severity != "info" for f in c.findings)]
    if detailed:
        lines += ["### Findings", ""]
    for case in detailed:
        counts_line = ", ".join(plural(n, s) for s, n in severity_counts(case.findings).items() if n)
        lines += [f"#### {_ICON.get(case.status, '?')} `{_cell(case.id)}` ({counts_line})", ""]
        listed = 0
        roots, derived_of = headlines(case.findings)
        for rule_id, group in group_by_rule(roots):
            room = min(MAX_PER_RULE, MAX_FINDINGS_PER_CASE - listed)
            for f in group[: max(room, 0)]:
                lines.append(_finding_line(f))
                if derived_of.get(id(f)):
                    lines.append(f"  - {_cell(folded_line(derived_of[id(f)]))}")
            listed += max(room, 0)
            if len(group) > room:
                lines.append(f"- … and {len(group) - max(room, 0)} more `{rule_id}` (see the JSON report)")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
