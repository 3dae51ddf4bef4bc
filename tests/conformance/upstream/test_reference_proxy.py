"""The reference server's proxy mode passes every scenario, the scripted upstream ones and every
upstream.* rule in front of each `conformance upstream`."""

from __future__ import annotations

import pytest

from tests.conformance.upstream.harness import failing, reference_proxy, run_proxy


@pytest.mark.parametrize("kind", ["chat-completions", "anthropic", "responses"])
def test_reference_proxy_passes_everything(kind: str) -> None:
    report = run_proxy(kind, reference_proxy(kind))
    ran = [c for c in report.cases if c.status != "skipped"]
    assert len(ran) >= 30
    assert {c.id for c in ran} >= {"upstream-http-error", "upstream-disconnect", "upstream-error-event",
                                   "upstream-content-filter", "parallel-tool-calls", "previous-response-id"}
    searched = {c.id for c in ran if c.id.startswith("web-search-")}
    assert len(searched) == (6 if kind == "anthropic" else 0)  # only Anthropic runs a server-side search
    assert failing(report) == {}
