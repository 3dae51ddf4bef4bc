"""Assertions over a checker result (`CheckResult`): which rule ids it reported, and a readable
listing of its findings for assertion messages."""

from __future__ import annotations

from typing import Any

from conformance.findings import at_least

__all__ = ["assert_only", "describe", "findings_of", "rules_found"]

def rules_found(result: Any, min_severity: str = "info") -> set[str]:
    """Rule ids of a CheckResult's findings at `min_severity` or above."""
    return {f.rule for f in result.findings if at_least(f.severity, min_severity)}


def findings_of(result: Any, rule: str) -> list[Any]:
    """The findings of one rule id, in stream order."""
    return [f for f in result.findings if f.rule == rule]


def describe(result: Any) -> str:
    """One line per finding: severity, rule id, event index, message."""
    return "\n".join(f"  {f.severity} {f.rule} @{f.event_index}: {f.message}" for f in result.findings) or "  (none)"


def assert_only(result: Any, *rule_ids: str) -> list[Any]:
    """Assert the findings carry exactly these rule ids; returns the findings of the first."""
    got = rules_found(result)
    assert got == set(rule_ids), f"expected exactly {sorted(rule_ids)}, got:\n{describe(result)}"
    return [f for f in result.findings if f.rule == rule_ids[0]] if rule_ids else []
