"""Findings: what the checker reports. Plain data, rendered by every reporter the same way.

A finding names one rule id from the registry (RULES.md ids are a public interface).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


def at_least(severity: str, threshold: str) -> bool:
    """True when `severity` is as severe as `threshold` or more."""
    return SEVERITY_ORDER[severity] >= SEVERITY_ORDER[threshold]


def cap(severity: str, ceiling: str) -> str:
    """The lower of two severities."""
    return severity if SEVERITY_ORDER[severity] <= SEVERITY_ORDER[ceiling] else ceiling


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    event_index: int | None = None
    sequence_number: int | None = None
    output_index: int | None = None
    content_index: int | None = None
    excerpt: str | None = None
    breaks: tuple[str, ...] = field(default=())
    spec: str | None = None
    # "protocol" (the server's job) or "model" (whatever generates the tokens); None: not known.
    kind: str | None = None
    # Set on a finding that follows from another (a cascade): `ref()` of its root finding.
    caused_by: str | None = None
    # On a root: how many findings follow from it (folded under it in every report).
    derived: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; absent optional fields are left out (RULES.md finding shape)."""
        raw = asdict(self)
        raw["breaks"] = list(self.breaks)
        return {k: v for k, v in raw.items() if v not in (None, []) and not (k == "derived" and v == 0)}

    def ref(self) -> str:
        """A short handle naming this finding in its stream: `rule@event` (`rule@end` at the end)."""
        return f"{self.rule}@{self.event_index if self.event_index is not None else 'end'}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        kwargs = dict(data)
        kwargs["breaks"] = tuple(kwargs.get("breaks") or ())
        return cls(**kwargs)
