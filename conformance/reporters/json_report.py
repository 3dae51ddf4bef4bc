"""JSON reporter: the whole report, every finding, machine-readable.

The document is `Report.to_dict()`; `Report.from_dict(json.loads(text))` reads it back.
"""

from __future__ import annotations

import json

from conformance.report import Report

__all__ = ["render"]


def render(report: Report) -> str:
    # ensure_ascii=False keeps excerpts readable; json.dumps still escapes control characters.
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
