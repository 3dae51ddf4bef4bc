"""Scenarios about the hosted web search tool: searches, cited answers, sources, domain filters.

All tagged `web_search`, so a target without the tool is run with `--skip tag:web_search`. The
checker judges the events and annotations (call.web-search-*, part.annotation-*); these add
what a scenario demands on top (a forced search happens, searches include their sources when
asked, filters hold, stored citations equal streamed ones). Whether an unforced model searches
and cites is its choice: noted, not judged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from conformance.runner.context import ScenarioContext
from conformance.scenarios.base import expect_text, items, scenario

WEB = {"type": "web_search"}
ASK = "Search the web: how are url_citation annotations streamed in the Responses API? Cite your sources."
SOURCES = "web_search_call.action.sources"


def citations(response: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    for item in items(response, "message"):
        for part in item.get("content") or []:
            if isinstance(part, dict):
                out += [a for a in part.get("annotations") or []
                        if isinstance(a, dict) and a.get("type") == "url_citation"]
    return out


def expect_search(ctx: ScenarioContext, response: dict[str, Any] | None, label: str = "") -> list[dict[str, Any]]:
    calls = items(response, "web_search_call")
    if not calls:
        types = [i.get("type") for i in (response or {}).get("output") or [] if isinstance(i, dict)]
        ctx.finding("http.output-missing", f"{label + ': ' if label else ''}no web_search_call item "
                                           f"(output item types: {types})")
    return calls


def note_answer(ctx: ScenarioContext, response: dict[str, Any] | None, label: str = "") -> list[dict[str, Any]]:
    """Text is required; whether the model searched and cited is its choice (`tool_choice`
    auto), so it is noted, not judged — the checker judges whatever searches and citations came."""
    expect_text(ctx, response, label)
    found = citations(response)
    prefix = f"{label}: " if label else ""
    ctx.note(f"{prefix}searches", len(items(response, "web_search_call")))
    ctx.note(f"{prefix}citations", len(found))
    return found


def _host_allowed(url: str, domains: list[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


@scenario("web-search-cited-answer", "A question answered after a web search, with url_citations (streamed)",
          "web_search", "stream")
async def web_search_cited_answer(ctx: ScenarioContext) -> None:
    sx = await ctx.stream({"input": ASK, "tools": [WEB]})
    note_answer(ctx, sx.terminal)


@scenario("web-search-cited-answer-json", "A question answered after a web search, with url_citations (not streamed)",
          "web_search")
async def web_search_cited_answer_json(ctx: ScenarioContext) -> None:
    ex = await ctx.create({"input": ASK, "tools": [WEB]})
    note_answer(ctx, ex.response)


@scenario("web-search-forced", "tool_choice web_search_preview forces a web search", "web_search", "stream")
async def web_search_forced(ctx: ScenarioContext) -> None:
    sx = await ctx.stream({"input": "Tell me about streaming events.", "tools": [{"type": "web_search_preview"}],
                           "tool_choice": {"type": "web_search_preview"}})
    expect_search(ctx, sx.terminal)
    expect_text(ctx, sx.terminal)


@scenario("web-search-sources", "include web_search_call.action.sources lists the sources of a search",
          "web_search", "stream")
async def web_search_sources(ctx: ScenarioContext) -> None:
    sx = await ctx.stream({"input": ASK, "tools": [WEB], "include": [SOURCES]})
    searches = [c for c in items(sx.terminal, "web_search_call")
                if isinstance(c.get("action"), dict) and c["action"].get("type") == "search"]
    ctx.note("searches", len(searches))
    if searches and not any(isinstance(c["action"].get("sources"), list) for c in searches):
        ctx.finding("http.output-missing", f"include {SOURCES!r}, but no search action has `sources`")


@scenario("web-search-domain-filter", "filters.allowed_domains keeps sources and citations within those domains",
          "web_search", "stream")
async def web_search_domain_filter(ctx: ScenarioContext) -> None:
    domains = ["harmony.example", "openai.com"]
    tool = {"type": "web_search", "filters": {"allowed_domains": domains}}
    sx = await ctx.stream({"input": ASK, "tools": [tool], "include": [SOURCES]})
    urls = [a.get("url") for a in citations(sx.terminal)]
    for call in items(sx.terminal, "web_search_call"):
        raw = call.get("action")
        action: dict[str, Any] = raw if isinstance(raw, dict) else {}
        urls += [s.get("url") for s in action.get("sources") or [] if isinstance(s, dict)]
        if action.get("type") in ("open_page", "find_in_page") and action.get("url"):
            urls.append(action["url"])
    outside = sorted({str(u) for u in urls if isinstance(u, str) and not _host_allowed(u, domains)})
    if outside:
        ctx.finding("http.output-missing", f"allowed_domains {domains}, but the response used {outside[:3]}")


@scenario("web-search-previous-response", "Citations of a stored answer survive previous_response_id",
          "web_search", "state", "stream")
async def web_search_previous_response(ctx: ScenarioContext) -> None:
    first = await ctx.stream({"input": ASK, "tools": [WEB], "store": True}, label="turn 1")
    cited = note_answer(ctx, first.terminal, "turn 1")
    first_id = (first.terminal or {}).get("id")
    second = await ctx.stream({"input": "Thanks. Now say hello.", "tools": [WEB], "previous_response_id": first_id},
                              label="turn 2")
    expect_text(ctx, second.terminal, "turn 2")
    stored = await ctx.get_json(f"responses/{first_id}", label="GET turn 1", check=True)
    if isinstance(stored.body, dict) and citations(stored.body) != cited:
        ctx.finding("http.previous-response", "the stored turn 1 has other url_citations than it streamed "
                                              f"({len(citations(stored.body))} vs {len(cited)})")
