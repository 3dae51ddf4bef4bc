"""JUnit XML reporter: one testsuite, one testcase per case, for CI test-result views.

Findings at or above the report's fail level go in the <failure> text; the others go to
<system-out> so they are visible without failing the build. Skipped cases get <skipped/>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from conformance.findings import Finding, at_least
from conformance.report import CaseResult, Report
from conformance.reporters.text import (
    folded_line,
    format_location,
    group_by_rule,
    headlines,
    plural,
    severity_counts,
)

__all__ = ["render"]

# XML 1.0 forbids most control characters and lone surrogates even as character references;
# a stream under test can contain them, so they are written as visible escapes instead.
_XML_INVALID = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: str) -> str:
    return _XML_INVALID.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _finding_line(f: Finding) -> str:
    kind = " (model behaviour)" if f.kind == "model" else ""
    line = f"[{f.severity}] {f.rule}{kind} at {format_location(f)}: {f.message}"
    if f.breaks:
        line += f" (breaks: {', '.join(f.breaks)})"
    if f.excerpt:
        line += f"\n    | {f.excerpt}"
    return line


def _findings_text(findings: list[Finding]) -> str:
    """Root causes first, each followed by one line summing up the findings that follow from it."""
    roots, derived_of = headlines(findings)
    lines = []
    for _, group in group_by_rule(roots):
        for f in group:
            lines.append(_finding_line(f))
            if derived_of.get(id(f)):
                lines.append(f"    {folded_line(derived_of[id(f)])}")
    return "\n".join(lines)


def _case_element(suite: ET.Element, case: CaseResult, classname: str, fail_on: str) -> None:
    tc = ET.SubElement(
        suite,
        "testcase",
        name=_x(case.id),
        classname=classname,
        time=f"{max(case.duration_s, 0.0):.3f}",
    )
    failing = [f for f in case.findings if at_least(f.severity, fail_on)]
    others = [f for f in case.findings if not at_least(f.severity, fail_on)]
    if case.status == "skipped":
        ET.SubElement(tc, "skipped", message=_x(case.skip_reason or "skipped"))
    elif case.status == "error":
        err = ET.SubElement(tc, "error", message=_x(case.error or "could not run"), type="error")
        err.text = _x(case.error or "")
    elif case.status == "failed":
        roots, _ = headlines(failing)
        rules = list(dict.fromkeys(f.rule for f in roots))
        counts = severity_counts(failing)
        summary = ", ".join(plural(n, sev) for sev, n in counts.items() if n)
        message = f"{summary}: {', '.join(rules)}" if rules else "failed"
        failure = ET.SubElement(
            tc, "failure", message=_x(message), type=rules[0] if rules else "failed"
        )
        failure.text = _x(_findings_text(failing) or case.error or "failed")
    if case.status != "skipped" and others:
        out = ET.SubElement(tc, "system-out")
        out.text = _x(_findings_text(others))


def _timestamp(started_at: str) -> str | None:
    # JUnit's timestamp is an xs:dateTime; anything else is left out rather than invalid.
    try:
        return datetime.fromisoformat(started_at).isoformat(timespec="seconds")
    except ValueError:
        return None


def render(report: Report) -> str:
    counts = report.counts()
    failures = counts["failed"]
    errors = counts["error"]
    skipped = counts["skipped"]
    total_time = f"{sum(max(c.duration_s, 0.0) for c in report.cases):.3f}"
    name = str(report.meta.get("suite") or "conformance")
    root = ET.Element(
        "testsuites",
        name=name,
        tests=str(len(report.cases)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=total_time,
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=f"{name} ({report.profile})",
        tests=str(len(report.cases)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=total_time,
    )
    stamp = _timestamp(report.started_at)
    if stamp:
        suite.set("timestamp", stamp)
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("profile", report.profile),
        ("fail_on", report.fail_on),
        ("target", report.target),
        ("tool_version", report.tool_version),
    ):
        if value:
            ET.SubElement(props, "property", name=key, value=_x(value))
    classname = f"{name}.{report.profile}"
    for case in report.cases:
        _case_element(suite, case, classname, report.fail_on)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
