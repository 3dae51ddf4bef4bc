"""HTML reporter: one self-contained page (inline CSS, no script, no external asset) with a
summary table and, per case, its findings and an event timeline with the offending events marked.

A case with findings shows every event, each row carrying the full event as its tooltip. A case
without findings shows a compact timeline: a run of deltas to one part is one row with the
joined text, and no tooltips (they were half the page: a 39-scenario run was 530 KB).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

from conformance.findings import SEVERITY_ORDER, Finding
from conformance.report import CaseResult, Report
from conformance.reporters.text import (
    folded_line,
    format_location,
    group_by_rule,
    headlines,
    plural,
    severity_counts,
    summary_line,
)

__all__ = ["render"]

MAX_TIMELINE = 2000
TOOLTIP_CHARS = 1500
MAX_TYPE_CHARS = 60

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0}
.meta{color:#5b6475;margin:0 0 16px}
.pill{display:inline-block;border-radius:10px;padding:1px 9px;margin-right:6px;font-weight:600;font-size:13px}
.pill.passed{background:#e3f5e8;color:#1a7f37}.pill.failed,.pill.error{background:#fde7e9;color:#b3261e}
.pill.skipped{background:#eceef2;color:#5b6475}
h1,h2,.meta,td,summary{overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0 16px}
th,td{border-bottom:1px solid #e4e7ec;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600;font-size:13px}
td.num{text-align:right;font-variant-numeric:tabular-nums}
section.case{background:#fff;border:1px solid #e4e7ec;border-radius:8px;padding:12px 16px;margin:12px 0}
section.case.failed,section.case.error{border-left:4px solid #b3261e}
section.case.passed{border-left:4px solid #1a7f37}
.sev-error{color:#b3261e;font-weight:600}.sev-warning{color:#9a6700;font-weight:600}.sev-info{color:#0969da}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.excerpt{display:block;white-space:pre-wrap;word-break:break-all;background:#f6f8fa;padding:2px 6px;margin-top:2px}
table.timeline td{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;padding:2px 6px}
table.timeline td:nth-child(-n+2),table.timeline td:nth-child(4){text-align:right;white-space:nowrap}
table.timeline td:nth-child(3){white-space:nowrap}
tr.bad td{background:#fde7e9}tr.bad.warn td{background:#fff4d6}
tr.stream td{background:#eef3fb;font-weight:600;font-family:system-ui,sans-serif}
.rules{color:#b3261e;font-weight:600}
details>summary{cursor:pointer;color:#0969da;margin:6px 0}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _anchor(case_no: int, event_index: int) -> str:
    return f"c{case_no}-e{event_index}"


def _event_summary(event: dict[str, Any]) -> str:
    """A one-line gist of an event for the timeline."""
    if "_raw" in event and "type" not in event:
        return f"raw data: {str(event['_raw'])[:120]}"
    bits = []
    for key in ("delta", "text", "arguments", "part", "item", "response", "error", "code", "message"):
        if key not in event:
            continue
        value = event[key]
        if key == "item" and isinstance(value, dict):
            bits.append(f"item {value.get('type')} {value.get('id', '')} {value.get('status', '')}".strip())
        elif key == "part" and isinstance(value, dict):
            bits.append(f"part {value.get('type')}")
        elif key == "response" and isinstance(value, dict):
            bits.append(f"response {value.get('id', '')} status={value.get('status')}")
        else:
            text = json.dumps(value, ensure_ascii=False)
            bits.append(f"{key}={text[:120]}{'…' if len(text) > 120 else ''}")
        if len(bits) == 2:
            break
    return "; ".join(bits)


def _tooltip(event: dict[str, Any]) -> str:
    text = json.dumps(event, ensure_ascii=False)
    return text if len(text) <= TOOLTIP_CHARS else text[: TOOLTIP_CHARS - 1] + "…"


def _findings_by_event(findings: Iterable[Finding]) -> dict[int, list[Finding]]:
    out: dict[int, list[Finding]] = {}
    for f in findings:
        if f.event_index is not None:
            out.setdefault(f.event_index, []).append(f)
    return out


def _type_cell(kind: Any) -> str:
    """An event type on one line (cut short: a type is no place for 3000 bytes of junk)."""
    text = str(kind)
    if len(text) > MAX_TYPE_CHARS:
        text = text[: MAX_TYPE_CHARS - 1] + "…"
    return _e(text)


def _row(cells: tuple[Any, ...], attrs: str = "") -> str:
    """A timeline row: #, seq, type, out/content, gist, rules (numbers aligned by CSS)."""
    index, seq, kind, where, gist, rules = cells
    return (f"<tr{attrs}><td>{_e(index)}</td><td>{_e(seq)}</td><td>{_type_cell(kind)}</td><td>{_e(where)}</td>"
            f'<td>{_e(gist)}</td><td class="rules">{_e(rules)}</td></tr>')


def _where(ev: dict[str, Any]) -> str:
    return f"{ev.get('output_index', '')}{'/' + str(ev['content_index']) if 'content_index' in ev else ''}"


def _delta_key(ev: dict[str, Any]) -> tuple[Any, ...] | None:
    """Events that merge into one compact row: deltas of one type to one item and part."""
    kind = ev.get("type")
    if not isinstance(kind, str) or not kind.endswith(".delta") or not isinstance(ev.get("delta"), str):
        return None
    return (kind, ev.get("item_id"), ev.get("output_index"), ev.get("content_index"), ev.get("summary_index"))


def _compact_rows(events: list[dict[str, Any]], stream_starts: dict[int, str]) -> list[str]:
    rows: list[str] = []
    i = 0
    while i < len(events):
        if i in stream_starts:
            rows.append(f'<tr class="stream"><td colspan="6">{_e(stream_starts[i])}</td></tr>')
        ev = events[i]
        key = _delta_key(ev)
        j = i + 1
        while key is not None and j < len(events) and j not in stream_starts and _delta_key(events[j]) == key:
            j += 1
        if j - i == 1:
            rows.append(_row((i, ev.get("sequence_number", ""), ev.get("type", "(not an event)"), _where(ev),
                              _event_summary(ev), "")))
        else:
            text = json.dumps("".join(e["delta"] for e in events[i:j]), ensure_ascii=False)
            gist = f"{j - i} deltas: {text[:160]}{'…' if len(text) > 160 else ''}"
            last = events[j - 1].get("sequence_number", "")
            rows.append(_row((f"{i}–{j - 1}", f"{ev.get('sequence_number', '')}–{last}", ev["type"], _where(ev),
                              gist, "")))
        i = j
    return rows


def _full_rows(events: list[dict[str, Any]], stream_starts: dict[int, str], marks: dict[int, list[Finding]],
               case_no: int) -> list[str]:
    rows = []
    for i, ev in enumerate(events):
        if i in stream_starts:
            rows.append(f'<tr class="stream"><td colspan="6">{_e(stream_starts[i])}</td></tr>')
        bad = marks.get(i, [])
        cls = ""
        if bad:
            worst = max((f.severity for f in bad), key=SEVERITY_ORDER.__getitem__)
            cls = ' class="bad"' if worst == "error" else ' class="bad warn"'
        rules = " ".join(sorted({f.rule for f in bad}))
        rows.append(_row((i, ev.get("sequence_number", ""), ev.get("type", "(not an event)"), _where(ev),
                          _event_summary(ev), rules),
                         f' id="{_anchor(case_no, i)}"{cls} title="{_e(_tooltip(ev))}"'))
    return rows


def _timeline(case: CaseResult, case_no: int) -> str:
    events = [e if isinstance(e, dict) else {"_raw": e} for e in (case.events or [])[:MAX_TIMELINE]]
    if not events:
        return ""
    marks = _findings_by_event(case.findings)
    starts: dict[int, str] = {s["first_event"]: str(s.get("label", "")) for s in case.details.get("streams", [])
                              if isinstance(s, dict) and isinstance(s.get("first_event"), int)}
    if len(starts) < 2:
        starts = {}
    kept = f" (first {len(events)} of {case.event_count})" if case.event_count > len(events) else ""
    if case.findings:
        rows = _full_rows(events, starts, marks, case_no)
        hint = " — hover a row for the full event"
    else:
        rows = _compact_rows(events, starts)
        hint = " — runs of deltas merged" if len(rows) < len(events) else ""
    open_attr = " open" if marks else ""
    return (
        f'<details class="timeline"{open_attr}><summary>Event timeline: {plural(case.event_count, "event")}{kept}'
        f"{hint}</summary>"
        '<table class="timeline"><tr><th>#</th><th>seq</th><th>type</th><th>out/content</th><th>gist</th>'
        f"<th>rules</th></tr>{''.join(rows)}</table></details>"
    )


def _findings_table(case: CaseResult, case_no: int) -> str:
    if not case.findings:
        return ""
    kept = len(case.events or [])

    def row(f: Finding) -> str:
        where = _e(format_location(f))
        if f.event_index is not None and f.event_index < min(kept, MAX_TIMELINE):
            where = f'<a href="#{_anchor(case_no, f.event_index)}">{where}</a>'
        excerpt = f'<code class="excerpt">{_e(f.excerpt)}</code>' if f.excerpt else ""
        breaks = f"<br><small>breaks: {_e(', '.join(f.breaks))}</small>" if f.breaks else ""
        kind = " <small>(model behaviour)</small>" if f.kind == "model" else ""
        return (
            f'<tr><td class="sev-{_e(f.severity)}">{_e(f.severity)}</td><td><code>{_e(f.rule)}</code>{kind}</td>'
            f"<td>{where}</td><td>{_e(f.message)}{excerpt}{breaks}</td></tr>"
        )

    # One root cause, one headline: what follows from a root is folded under it.
    roots, derived_of = headlines(case.findings)
    rows = []
    for _rule_id, group in group_by_rule(roots):
        for f in group:
            rows.append(row(f))
            derived = derived_of.get(id(f))
            if derived:
                rows.append(
                    f'<tr><td></td><td colspan="3"><details><summary>{_e(folded_line(derived))}</summary>'
                    f"<table>{''.join(row(d) for d in derived)}</table></details></td></tr>"
                )
    return (
        '<table><tr><th>severity</th><th>rule</th><th>where</th><th>message</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _requests(case: CaseResult) -> str:
    reqs = case.details.get("requests") or []
    if not reqs:
        return ""
    rows = "".join(
        f"<tr><td>{_e(r.get('label', ''))}</td><td class=\"mono\">{_e(r.get('method', ''))} /{_e(r.get('path', ''))}</td>"
        f'<td class="num">{_e(r.get("status", "—"))}</td><td class="num">{_e(r.get("elapsed_s", ""))}s</td></tr>'
        for r in reqs
        if isinstance(r, dict)
    )
    return (
        f"<details><summary>Requests ({len(reqs)})</summary><table><tr><th>step</th><th>request</th>"
        f"<th>status</th><th>time</th></tr>{rows}</table></details>"
    )


def _case_section(case: CaseResult, case_no: int) -> str:
    counts = ", ".join(plural(n, s) for s, n in severity_counts(case.findings).items() if n)
    head = f'<span class="pill {_e(case.status)}">{_e(case.status)}</span><code>{_e(case.id)}</code>'
    if case.title and case.title != case.id:
        head += f" — {_e(case.title)}"
    facts = [f"{case.duration_s:.2f}s"] if case.status != "skipped" else []
    if case.event_count:
        facts.append(plural(case.event_count, "event"))
    if counts:
        facts.append(counts)
    if case.tags:
        facts.append("tags: " + ", ".join(case.tags))
    body = [f'<section class="case {_e(case.status)}" id="case-{case_no}"><h2>{head}</h2>']
    body.append(f'<p class="meta">{_e(" · ".join(facts))}</p>')
    if case.skip_reason:
        body.append(f"<p>Skipped: {_e(case.skip_reason)}</p>")
    if case.error:
        body.append(f'<p class="sev-error">Could not run: {_e(case.error)}</p>')
    body += [_findings_table(case, case_no), _timeline(case, case_no), _requests(case), "</section>"]
    return "".join(body)


def render(report: Report) -> str:
    counts = report.counts()
    pills = "".join(f'<span class="pill {s}">{n} {s}</span>' for s, n in counts.items() if n)
    facts = [report.target, f"profile {report.profile}", f"failing on {report.fail_on}"]
    if report.meta.get("model"):
        facts.append(f"model {report.meta['model']}")
    if report.started_at:
        facts.append(f"started {report.started_at}")
    if report.tool_version:
        facts.append(f"responses-conformance {report.tool_version}")
    summary_rows = []
    for no, case in enumerate(report.cases):
        rules = ", ".join(r for r, _ in group_by_rule(f for f in headlines(case.findings)[0] if f.severity != "info"))
        time = "" if case.status == "skipped" else f"{case.duration_s:.2f}s"
        summary_rows.append(
            f'<tr><td><span class="pill {_e(case.status)}">{_e(case.status)}</span></td>'
            f'<td><a href="#case-{no}"><code>{_e(case.id)}</code></a> {_e(case.title if case.title != case.id else "")}</td>'
            f'<td class="num">{time}</td><td class="num">{case.event_count or ""}</td>'
            f"<td><code>{_e(rules)}</code>{_e(case.skip_reason or '')}</td></tr>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Responses conformance report</title><style>{_CSS}</style></head><body><main>"
        f"<h1>Responses conformance report</h1><p class=\"meta\">{_e(' · '.join(f for f in facts if f))}</p>"
        f"<p>{pills} <strong>{_e(summary_line(report))}</strong></p>"
        '<table><tr><th>status</th><th>case</th><th>time</th><th>events</th><th>findings</th></tr>'
        + "".join(summary_rows)
        + "</table>"
        + "".join(_case_section(case, no) for no, case in enumerate(report.cases))
        + "</main></body></html>\n"
    )
