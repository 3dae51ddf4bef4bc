"""JSON reporter: the whole report, every finding, machine-readable.

The document is `Report.to_dict()`; `Report.from_dict(json.loads(text))` reads it back.
"""

from __future__ import annotations

import json

from conformance.cascades import fold
from conformance.report import Report

__all__ = ["render"]


def render(report: Report) -> str:
    data = report.to_dict()
    # One root cause, one headline: a finding that follows from another names it in
    # `caused_by` (its `rule@event`), and the root counts them in `derived`.
    for case, raw in zip(report.cases, data["cases"], strict=True):
        raw["findings"] = [f.to_dict() for f in fold(case.findings)]
    # ensure_ascii=False keeps excerpts readable; json.dumps still escapes control characters.
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
