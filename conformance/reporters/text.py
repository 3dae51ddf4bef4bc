"""Plain-text reporter: findings grouped by rule per case, then a one-line summary.

`render_case` and `summary_line` are public so other front ends (the live runner's progress
display, markdown/html reporters) can reuse them. Colour is ANSI, on request only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from conformance.cascades import fold, groups, summarize, weight
from conformance.excerpts import clip
from conformance.findings import SEVERITY_ORDER, Finding
from conformance.report import CaseResult, Report

__all__ = [
    "excerpt_text",
    "folded_line",
    "format_location",
    "group_by_rule",
    "headlines",
    "plural",
    "render",
    "render_case",
    "severity_counts",
    "summary_line",
]

# Findings listed per rule before "… and N more": a systematic defect in a 100k-delta stream
# must not print 100k lines (the JSON report keeps every one).
MAX_PER_RULE = 3
EXCERPT_CHARS = 100

_ANSI = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[33m",
    "info": "\x1b[36m",
    "passed": "\x1b[32m",
    "failed": "\x1b[1;31m",
    "skipped": "\x1b[2m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
}
_RESET = "\x1b[0m"
_STATUS_MARK = {"passed": "✓", "failed": "✗", "skipped": "-", "error": "!"}
# Control characters (ESC included) from a hostile stream must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_ANSI[style]}{text}{_RESET}" if color else text


def _safe(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def excerpt_text(excerpt: str, limit: int = EXCERPT_CHARS) -> str:
    """One line, control characters escaped, newlines shown as ⏎, cut at `limit` characters."""
    flat = _safe(
        excerpt.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎").replace("\t", " ")
    )
    return clip(flat, limit)


def format_location(f: Finding) -> str:
    """'event 12, seq 12, output 0, content 1' (only the parts the finding has)."""
    parts = []
    if f.event_index is not None:
        parts.append(f"event {f.event_index}")
    if f.sequence_number is not None:
        parts.append(f"seq {f.sequence_number}")
    if f.output_index is not None:
        parts.append(f"output {f.output_index}")
    if f.content_index is not None:
        parts.append(f"content {f.content_index}")
    return ", ".join(parts) if parts else "stream"


def group_by_rule(findings: Iterable[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings per rule id; most severe rule first, then by first appearance."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.rule, []).append(f)
    order = list(groups)
    return sorted(
        groups.items(),
        key=lambda kv: (-max(SEVERITY_ORDER[f.severity] for f in kv[1]), order.index(kv[0])),
    )


def headlines(findings: Iterable[Finding]) -> tuple[list[Finding], dict[int, list[Finding]]]:
    """One root cause, one headline: the findings no other finding explains (in order), and per
    root (keyed by `id(root)`) the findings that follow from it (`conformance.cascades`)."""
    pairs = groups(fold(list(findings)))
    return [r for r, _ in pairs], {id(r): d for r, d in pairs}


def folded_line(derived: list[Finding]) -> str:
    """'↳ 23 more findings follow from this one: item.unknown-index ×20, sequence.gap' ."""
    n = sum(weight(f) for f in derived)
    worst = max((f.severity for f in derived), key=SEVERITY_ORDER.__getitem__)
    what = "finding follows" if n == 1 else "findings follow"
    n_worst = sum(weight(f) for f in derived if f.severity == worst)
    return f"↳ {n} more {what} from this one ({plural(n_worst, worst)}): {summarize(derived)}"


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        counts[f.severity] += 1
    return counts


def plural(n: int, word: str) -> str:
    """'1 error', '2 errors', '3 info'."""
    if word == "info":
        return f"{n} info"
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def render_case(
    case: CaseResult,
    *,
    color: bool = False,
    max_per_rule: int = MAX_PER_RULE,
) -> str:
    """One case: a status line, then its findings grouped by rule (indented)."""
    mark = _paint(_STATUS_MARK.get(case.status, "?"), case.status, color)
    head = f"{mark} {_safe(case.id)}"
    if case.title and case.title != case.id:
        head += f" — {_safe(case.title)}"
    facts = [case.status.upper() if case.status in ("failed", "error") else case.status]
    if case.event_count:
        facts.append(plural(case.event_count, "event"))
    if case.status != "skipped":
        counts = severity_counts(case.findings)
        facts += [plural(n, sev) for sev, n in counts.items() if n]
    lines = [f"{head}  ({', '.join(facts)})"]
    if case.status == "skipped" and case.skip_reason:
        lines.append(f"    skipped: {_safe(case.skip_reason)}")
    if case.error:
        lines.append(f"    {_paint('could not run:', 'error', color)} {_safe(case.error)}")
    roots, derived_of = headlines(case.findings)
    for rule_id, group in group_by_rule(roots):
        severity = max((f.severity for f in group), key=SEVERITY_ORDER.__getitem__)
        label = _paint(f"{severity:<7}", severity, color)
        line = f"  {label} {_paint(rule_id, 'bold', color)}"
        if len(group) > 1:
            line += f" ×{len(group)}"
        if any(f.kind == "model" for f in group):
            line += "  (model behaviour)"
        breaks = sorted({client for f in group for client in f.breaks})
        if breaks:
            line += f"  breaks: {', '.join(breaks)}"
        spec = next((f.spec for f in group if f.spec), None)
        if spec:
            line += _paint(f"  [{spec}]", "dim", color)
        lines.append(line)
        for f in group[:max_per_rule]:
            where = _paint(format_location(f), "dim", color)
            lines.append(f"      {where}: {_safe(f.message)}")
            if f.excerpt:
                lines.append(f"        | {excerpt_text(f.excerpt)}")
            if derived_of.get(id(f)):
                lines.append(f"        {_paint(folded_line(derived_of[id(f)]), 'dim', color)}")
        if len(group) > max_per_rule:
            rest = [f.event_index for f in group[max_per_rule:] if f.event_index is not None]
            where = f" at {_event_span(rest)}" if rest else ""
            hidden = sum(len(derived_of.get(id(f), ())) for f in group[max_per_rule:])
            folded = f" (and {plural(hidden, 'finding')} they cause)" if hidden else ""
            lines.append(
                f"      … and {len(group) - max_per_rule} more{where}{folded} (--format json lists every finding)"
            )
    return "\n".join(lines)


def _event_span(indexes: list[int]) -> str:
    """`event 7`, `events 6–12` (a run) or `events 6, 9, … 40` (scattered)."""
    if len(indexes) == 1:
        return f"event {indexes[0]}"
    lo, hi = min(indexes), max(indexes)
    if hi - lo + 1 == len(set(indexes)):
        return f"events {lo}–{hi}"
    return f"events {indexes[0]}, {indexes[1]}, … {indexes[-1]}"


def summary_line(report: Report) -> str:
    """'3 errors, 1 warning in 2 streams (1 failed, 1 passed)'."""
    counts = severity_counts(f for case in report.cases for f in case.findings)
    parts = [plural(counts["error"], "error"), plural(counts["warning"], "warning")]
    if counts["info"]:
        parts.append(plural(counts["info"], "info"))
    unit = str(report.meta.get("unit") or "case")
    line = f"{', '.join(parts)} in {plural(len(report.cases), unit)}"
    statuses = [f"{n} {status}" for status, n in report.counts().items() if n]
    if statuses:
        line += f" ({', '.join(statuses)})"
    return line


def render(report: Report, *, color: bool = False, max_per_rule: int = MAX_PER_RULE) -> str:
    """The whole report: a header, every case, the summary line."""
    header = f"profile {report.profile}, failing on {report.fail_on}"
    if report.target:
        header = f"{_safe(report.target)}: {header}"
    blocks = [_paint(header, "dim", color)]
    blocks += [render_case(case, color=color, max_per_rule=max_per_rule) for case in report.cases]
    blocks += [_paint(f"note: {_safe(str(note))}", "dim", color) for note in report.meta.get("notes") or ()]
    summary = summary_line(report)
    blocks.append(_paint(summary, "passed" if report.ok else "failed", color))
    return "\n".join(blocks) + "\n"
