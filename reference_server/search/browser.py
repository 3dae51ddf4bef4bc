"""The browser tool's state for one response: `search`, `open` and `find` over a SearchIndex.

Sans-IO: each call returns the text the model reads back (a tool message) and the Responses
`action` of its `web_search_call` item. Every display gets a new cursor, shown as `[cursor]`;
lines are numbered `L{n}:` from 0 and links are `【{id}†{title}†{host}】`, so the model can
cite `【{cursor}†L{start}-L{end}】` and `resolve_citation` maps that back to a URL and title.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .index import SearchIndex, domain_allowed, host_of

WRAP = 100  # long source lines are wrapped so a citation's line range stays small
DEFAULT_VIEW = 40  # lines shown when `open` gives no `num_lines`
MAX_TOPN = 20
# `search_context_size` of the web_search tool: how many results a search lists at most and how
# many lines `open` shows by default (less context for "low", more for "high").
CONTEXT_SIZES = {"low": (3, 20), "medium": (10, DEFAULT_VIEW), "high": (MAX_TOPN, 80)}
_LINK = re.compile(r"【(\d+)†")


class BrowserError(ValueError):
    """A call the browser cannot serve (bad cursor, link, URL or arguments); the message is
    shown to the model as the tool's output."""


@dataclass(frozen=True)
class Link:
    url: str
    title: str
    loc: int = -1  # line to position the view at when opened (find results)


@dataclass(frozen=True)
class Page:
    cursor: int
    url: str  # "" for a search results page
    title: str
    lines: tuple[str, ...]
    links: Mapping[int, Link] = field(default_factory=dict)


@dataclass(frozen=True)
class Citation:
    url: str
    title: str


@dataclass(frozen=True)
class BrowserResult:
    text: str  # what the model reads back
    action: dict[str, Any]  # the web_search_call item's `action`
    ok: bool = True
    sources: tuple[str, ...] = ()  # URLs the search returned (`include` sources)
    is_search: bool = False


def wrap_lines(text: str, width: int = WRAP) -> tuple[str, ...]:
    out: list[str] = []
    for line in text.splitlines():
        out.extend(textwrap.wrap(line, width) or [""])
    return tuple(out)


def _int(value: Any, name: str, default: int = -1) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise BrowserError(f"`{name}` must be an integer, got {value!r}")
    return int(value)


class Browser:
    """One response's browsing session: the pages it displayed, by cursor."""

    def __init__(self, index: SearchIndex, allowed_domains: Sequence[str] | None = None,
                 view_lines: int | None = None, context_size: str | None = None) -> None:
        self.index = index
        self.allowed_domains = tuple(allowed_domains or ())
        # An unknown size is taken as the default ("medium"): unknown input is not an error.
        self.max_results, size_view = CONTEXT_SIZES.get(context_size or "medium",
                                                        CONTEXT_SIZES["medium"])
        self.view_lines = view_lines if view_lines is not None else size_view
        self.pages: list[Page] = []
        # cursor -> the lines of it the model was shown, as range(first, end)
        self.views: dict[int, tuple[int, int]] = {}
        self.searches = 0  # real searches run (usage: tool_usage.web_search.num_requests)
        self.last_result = ""  # what the model read back from the latest call
        self.calls = 0  # calls run, failed ones included

    # -- calls ------------------------------------------------------------------------------

    def call(self, name: str, args: Mapping[str, Any]) -> BrowserResult:
        """Run `browser.<name>` with JSON arguments; a bad call becomes a failed result whose text
        says what was wrong (the model reads it and may try again)."""
        self.calls += 1
        action: dict[str, Any] = {"type": {"search": "search", "open": "open_page",
                                           "find": "find_in_page"}.get(name, "search")}
        try:
            if not isinstance(args, Mapping):
                raise BrowserError("arguments must be a JSON object")
            if name == "search":
                return self.search(args.get("query"), args.get("topn"))
            if name == "open":
                return self.open(args.get("id"), args.get("cursor"), args.get("loc"),
                                 args.get("num_lines"))
            if name == "find":
                return self.find(args.get("pattern"), args.get("cursor"))
            raise BrowserError(f"unknown browser function {name!r} (search, open, find)")
        except BrowserError as exc:
            if name == "find":
                action.update(url="", pattern=str(args.get("pattern", "")) if isinstance(args, Mapping) else "")
            elif name == "search":
                action["query"] = str(args.get("query", "")) if isinstance(args, Mapping) else ""
            return BrowserResult(f"Error: {exc}", action, ok=False)

    def search(self, query: Any, topn: Any = None) -> BrowserResult:
        if not isinstance(query, str) or not query.strip():
            raise BrowserError("`query` must be a non-empty string")
        n = min(max(_int(topn, "topn", 10), 1), MAX_TOPN) if topn not in (None, -1) else 10
        n = min(n, self.max_results)
        hits = self.index.search(query, n, self.allowed_domains)
        self.searches += 1
        lines: list[str] = []
        links: dict[int, Link] = {}
        for i, hit in enumerate(hits):
            links[i] = Link(hit.url, hit.title)
            lines.append(f"【{i}†{hit.title}†{host_of(hit.url) or 'file'}】")
            lines.extend(wrap_lines(hit.snippet) or ("",))
        if not hits:
            lines.append("No results.")
        page = self._add(url="", title=f"Search results for “{query.strip()}”", lines=lines, links=links)
        sources = tuple(h.url for h in hits)
        action = {"type": "search", "query": query.strip(),
                  "sources": [{"type": "url", "url": u} for u in sources]}
        return BrowserResult(self._show(page, 0, len(page.lines)), action, sources=sources,
                             is_search=True)

    def open(self, id: Any = None, cursor: Any = None, loc: Any = None,
             num_lines: Any = None) -> BrowserResult:
        c = _int(cursor, "cursor")
        start = _int(loc, "loc")
        count = _int(num_lines, "num_lines")
        if id is None or id == -1:  # scroll an opened page
            base = self._page(c)
            if not base.url:
                raise BrowserError("give a link `id` to open from a search results page")
            page = self._add(base.url, base.title, base.lines, base.links)
        elif isinstance(id, str):
            page = self._open_url(id)
        else:
            link_id = _int(id, "id")
            base = self._page(c)
            link = base.links.get(link_id)
            if link is None:
                raise BrowserError(f"page [{base.cursor}] has no link {link_id}")
            page = self._open_url(link.url)
            if start < 0 and link.loc >= 0:
                start = max(link.loc - 2, 0)
        start = max(start, 0)
        if page.lines and start >= len(page.lines):
            raise BrowserError(f"`loc` {start} is past the end of the page ({len(page.lines)} lines)")
        end = len(page.lines) if count <= 0 and self.view_lines <= 0 else \
            min(len(page.lines), start + (count if count > 0 else self.view_lines))
        return BrowserResult(self._show(page, start, end), {"type": "open_page", "url": page.url})

    def find(self, pattern: Any, cursor: Any = None) -> BrowserResult:
        if not isinstance(pattern, str) or not pattern.strip():
            raise BrowserError("`pattern` must be a non-empty string")
        base = self._page(_int(cursor, "cursor"))
        if not base.url:
            raise BrowserError("find works on an opened page, not on search results")
        needle = pattern.lower()
        lines: list[str] = []
        links: dict[int, Link] = {}
        for n, line in enumerate(base.lines):
            if needle in line.lower():
                i = len(links)
                links[i] = Link(base.url, base.title, loc=n)
                lines.append(f"【{i}†match at L{n}】")
                lines.append(line)
        if not lines:
            lines.append(f"No matches for “{pattern}”.")
        page = self._add(base.url, f"Find results for “{pattern}” in {base.title}", lines, links)
        action = {"type": "find_in_page", "url": base.url, "pattern": pattern}
        return BrowserResult(self._show(page, 0, len(page.lines)), action)

    # -- citations --------------------------------------------------------------------------

    def resolve_citation(self, cursor: int, start: int, end: int | None = None) -> Citation | None:
        """The URL and title a `【cursor†Lstart-Lend】` marker cites, or None when the cursor does
        not exist or the line range is not one the model was shown. On a search results page the
        cited lines' link is the source."""
        end = start if end is None else end
        if not 0 <= cursor < len(self.pages) or start < 0 or end < start:
            return None
        page = self.pages[cursor]
        first, stop = self.views.get(cursor, (0, len(page.lines)))
        if start < first or end >= min(stop, len(page.lines)):
            return None
        if page.url:
            return Citation(page.url, page.title)
        for line in reversed(page.lines[: end + 1]):
            m = _LINK.match(line)
            if m and int(m.group(1)) in page.links:
                link = page.links[int(m.group(1))]
                return Citation(link.url, link.title)
        return None

    # -- helpers ----------------------------------------------------------------------------

    def _page(self, cursor: int) -> Page:
        if not self.pages:
            raise BrowserError("no page is open yet; search first")
        if cursor == -1:
            return self.pages[-1]
        if not 0 <= cursor < len(self.pages):
            raise BrowserError(f"no page with cursor {cursor} (cursors 0–{len(self.pages) - 1})")
        return self.pages[cursor]

    def _open_url(self, url: str) -> Page:
        doc = self.index.document(url)
        if doc is None or not domain_allowed(url, self.allowed_domains):
            raise BrowserError(f"cannot open {url!r}: not in the search corpus")
        return self._add(doc.url, doc.title, wrap_lines(doc.text), {})

    def _add(self, url: str, title: str, lines: Sequence[str], links: Mapping[int, Link]) -> Page:
        page = Page(len(self.pages), url, title, tuple(lines), dict(links))
        self.pages.append(page)
        return page

    def _show(self, page: Page, start: int, end: int) -> str:
        self.views[page.cursor] = (start, end)
        return self._render(page, start, end)

    @staticmethod
    def _render(page: Page, start: int, end: int) -> str:
        where = f" ({page.url})" if page.url else ""
        last = max(len(page.lines) - 1, 0)
        head = f"[{page.cursor}] {page.title}{where}\n**viewing lines [{start} - {max(end - 1, start)}] of {last}**\n"
        body = "\n".join(f"L{n}: {page.lines[n]}" for n in range(start, end))
        return f"{head}\n{body}"
