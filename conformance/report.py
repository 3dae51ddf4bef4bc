"""The report model every reporter renders: a run of one or more cases, each with findings.

`conformance check` makes a report with one case per input; `conformance run` one case per
scenario. Reporters (`conformance.reporters.*`) only read these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from conformance.findings import Finding, at_least

CaseStatus = Literal["passed", "failed", "skipped", "error"]


@dataclass
class CaseResult:
    """One checked stream/body or one scenario."""

    id: str
    status: CaseStatus
    findings: list[Finding] = field(default_factory=list)
    duration_s: float = 0.0
    event_count: int = 0
    title: str = ""
    tags: tuple[str, ...] = ()
    skip_reason: str | None = None
    # Set when the case could not run at all (transport error, crash): shown instead of findings.
    error: str | None = None
    # Events as received (dicts), kept only when a reporter needs a timeline (HTML).
    events: list[dict[str, Any]] | None = None
    # Free-form details (request sent, status codes, ...). Secrets must never be put here.
    details: dict[str, Any] = field(default_factory=dict)

    def failing(self, fail_on: str = "error") -> list[Finding]:
        return [f for f in self.findings if at_least(f.severity, fail_on)]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "duration_s": round(self.duration_s, 4),
            "event_count": self.event_count,
            "tags": list(self.tags),
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.skip_reason:
            out["skip_reason"] = self.skip_reason
        if self.error:
            out["error"] = self.error
        if self.details:
            out["details"] = self.details
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        return cls(
            id=data["id"],
            status=data["status"],
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            duration_s=data.get("duration_s", 0.0),
            event_count=data.get("event_count", 0),
            title=data.get("title", ""),
            tags=tuple(data.get("tags", ())),
            skip_reason=data.get("skip_reason"),
            error=data.get("error"),
            details=data.get("details", {}),
        )


@dataclass
class Report:
    """A whole run: what was checked, against what, with which profile, and every case."""

    cases: list[CaseResult]
    target: str = ""
    profile: str = "openai"
    fail_on: str = "error"
    tool_version: str = ""
    started_at: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.status in ("passed", "skipped") for c in self.cases)

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
        for c in self.cases:
            out[c.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "profile": self.profile,
            "fail_on": self.fail_on,
            "tool_version": self.tool_version,
            "started_at": self.started_at,
            "meta": self.meta,
            "counts": self.counts(),
            "cases": [c.to_dict() for c in self.cases],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            cases=[CaseResult.from_dict(c) for c in data.get("cases", [])],
            target=data.get("target", ""),
            profile=data.get("profile", "openai"),
            fail_on=data.get("fail_on", "error"),
            tool_version=data.get("tool_version", ""),
            started_at=data.get("started_at", ""),
            meta=data.get("meta", {}),
        )
