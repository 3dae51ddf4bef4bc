"""A proxy under test in front of a `conformance upstream`, all in process: the upstream app is
reached over httpx's ASGI transport, optionally through a defect layer (a broken converter)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from conformance import scenarios as catalogue
from conformance.report import Report
from conformance.runner import RunOptions, app_target, run_scenarios_async
from conformance.runner.upstream import UpstreamCheck, UpstreamLink, skips_for, upstream_scenarios
from conformance.upstream.app import create_upstream_app

PROXY_KEY = "sk-proxy-client-key-123"
UPSTREAM_URL = "http://conformance-upstream/v1"


def run_proxy(kind: str, make_proxy: Callable[[str, httpx.AsyncBaseTransport], Any],
              scenario_ids: list[str] | None = None) -> Report:
    """Run scenarios (all, plus the scripted upstream ones, by default) against
    `make_proxy(upstream_url, transport)` with upstream.* judging."""
    upstream = create_upstream_app(kind)
    transport = httpx.ASGITransport(app=upstream)
    link = UpstreamLink(UPSTREAM_URL, transport=transport)
    proxy = make_proxy(UPSTREAM_URL, transport)
    check = UpstreamCheck(link, kind, [PROXY_KEY, f"Bearer {PROXY_KEY}"])
    chosen = catalogue.defined() + upstream_scenarios(link, kind)
    if scenario_ids is not None:
        chosen = [s for s in chosen if s.id in scenario_ids]
        assert len(chosen) == len(scenario_ids), scenario_ids
    options = RunOptions(concurrency=1, timeout=30, upstream=check)
    target = app_target(proxy, api_key=PROXY_KEY, label=f"proxy over {kind}")
    return asyncio.run(run_scenarios_async(target, chosen, options, skips=skips_for(kind)))


def reference_proxy(kind: str, upstream_model: str | None = None) -> Callable[[str, httpx.AsyncBaseTransport], Any]:
    """The reference server's proxy mode; with `upstream_model`, the one model it lists (which the
    runner then asks for) is sent upstream as that."""
    from reference_server.web.proxy import create_proxy_app

    def make(url: str, transport: httpx.AsyncBaseTransport) -> Any:
        model_map = {"suite-client": upstream_model} if upstream_model else None
        return create_proxy_app(kind, url, upstream_api_key="sk-upstream-key-456", api_key=PROXY_KEY,
                                transport=transport, timeout=5, model_map=model_map)

    return make


def failing(report: Report) -> dict[str, set[str]]:
    return {c.id: {f.rule for f in c.findings if f.severity == "error"} | ({f"ERROR {c.error}"} if c.error else set())
            for c in report.cases if c.status != "passed" and c.status != "skipped"}
