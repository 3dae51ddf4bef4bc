"""The live runner's whole catalogue against proxy mode, in front of each scripted fake upstream
(in process: runner -> proxy over httpx's ASGI transport -> fake upstream over another one).

Every scenario must pass. A scenario may be skipped only when the upstream kind truly lacks the
capability, and then it must be listed in SKIPS with the reason (and in docs/converters.md).
Web search is the one, for Chat Completions only: that API has no web search tool to forward it
to (an Anthropic upstream runs its server-side web search tool).
"""

from __future__ import annotations

import pytest

from conformance.runner import RunOptions, app_target, run_scenarios_async
from conformance.scenarios import catalogue
from reference_server.testing.proxy_targets import DEMO_API_KEY, FAKE_UPSTREAM_KEY, proxy_over_fake

# upstream kind -> {scenario id: why the upstream kind cannot do it}; keep in sync with the docs.
_NO_WEB_SEARCH = "Chat Completions has no web search tool (the proxy drops it)"
_WEB_SEARCH_IDS = ("web-search-cited-answer", "web-search-cited-answer-json", "web-search-forced",
                   "web-search-sources", "web-search-domain-filter", "web-search-previous-response")
SKIPS: dict[str, dict[str, str]] = {"chat-completions": dict.fromkeys(_WEB_SEARCH_IDS, _NO_WEB_SEARCH),
                                    "anthropic": {}}


@pytest.mark.parametrize("kind", ["chat-completions", "anthropic"])
async def test_whole_catalogue_passes_through_the_proxy(kind: str) -> None:
    app = proxy_over_fake(kind)
    scenarios = catalogue()
    report = await run_scenarios_async(
        app_target(app, api_key=DEMO_API_KEY), scenarios, RunOptions(concurrency=4, timeout=30),
        skips={sid: f"{kind} upstream: {why}" for sid, why in SKIPS[kind].items()},
    )
    assert len(report.cases) == len(scenarios) >= 39
    failed = {c.id: c.error or [(f.rule, f.message) for f in c.findings] for c in report.cases
              if c.status not in ("passed", "skipped")}
    assert not failed, failed
    skipped = {c.id for c in report.cases if c.status == "skipped"}
    # An in-process app has no WebSocket transport, and proxy mode serves no /responses/compact:
    # the runner itself skips those (tags websocket, compact), with the reason.
    transportless = {s.id for s in scenarios if {"websocket", "compact"} & set(s.tags)}
    assert skipped - transportless == set(SKIPS[kind]), "only documented capability skips are allowed"
    # The auth scenarios really ran (the proxy requires its key) ...
    assert {"error-missing-api-key", "error-wrong-api-key"}.isdisjoint(skipped)
    # ... no scenario drew even a warning ...
    assert [(c.id, f.rule) for c in report.cases for f in c.findings] == []
    # ... and the traffic really went through the fake upstream, with the proxy's upstream key.
    fake = app.state.fake_upstream
    assert len(fake.state.requests) >= 30
    assert report.meta["model"] == ("fake-chat-model" if kind == "chat-completions" else "fake-claude")
    assert FAKE_UPSTREAM_KEY not in str(report.to_dict())
