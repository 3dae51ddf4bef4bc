"""Each hand-made converter defect fails exactly its upstream.* rule, and nothing else."""

from __future__ import annotations

import pytest

from tests.conformance.upstream.broken import CONSEQUENCES, DEFECTS, broken_proxy
from tests.conformance.upstream.harness import run_proxy


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defect_fails_exactly_its_rule(defect: str) -> None:
    _, scenario, rule = DEFECTS[defect]
    report = run_proxy("chat-completions", broken_proxy(defect), [scenario])
    (case,) = report.cases
    assert case.error is None
    rules = {f.rule for f in case.findings if f.severity == "error"}
    assert rules == {rule}, [f.message for f in case.findings]
    assert case.status == "failed"


@pytest.mark.parametrize("name", sorted(CONSEQUENCES))
def test_model_behaviour_finding_becomes_the_proxy_fault(name: str) -> None:
    kind, options, scenario, rule = CONSEQUENCES[name]
    report = run_proxy(kind, broken_proxy(name, kind, options), [scenario])
    (case,) = report.cases
    rules = {f.rule for f in case.findings if f.severity == "error"}
    assert rules == {rule}, [f.message for f in case.findings]
