"""harmony's browser functions (`browser.search` / `.open` / `.find`) as tool specs whose
argument schemas admit only the calls the browser can serve in the current browsing state.

A constrained backend decodes a browser call's arguments under these schemas, so even random
weights open only cursors that exist (and only links those pages have), scroll to lines a page
has and search only pages that are documents. Built per generation step from `OutputSpec.pages`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from .token_backend import BrowserPage, ToolSpec

BROWSER_FUNCTIONS = ("search", "open", "find")
# Longest search query / find pattern a constrained backend writes (characters).
MAX_QUERY = 48
# `\S` (unanchored): at least one non-space character, as the browser demands of both.
_WORDS: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_QUERY, "pattern": r"\S"}

# Words of a query drawn from given words (see `search_schema`): at most this many.
MAX_QUERY_WORDS = 6
_QUERY_WORD = re.compile(r"[A-Za-z0-9]{2,}")


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def search_schema(words: Iterable[str] = ()) -> dict[str, Any]:
    """`browser.search` arguments: a query of words. With `words` (e.g. the user's question), the
    query is made of those words only, space-separated, as a cooperative model searches for what
    it was asked; otherwise any non-blank text."""
    vocabulary = list(dict.fromkeys(w for w in words if _QUERY_WORD.fullmatch(w)))
    if not vocabulary:
        return _object({"query": _WORDS})
    word = "(?:" + "|".join(re.escape(w) for w in vocabulary) + ")"
    pattern = f"^{word}(?: {word}){{0,{MAX_QUERY_WORDS - 1}}}$"
    return _object({"query": {"type": "string", "maxLength": MAX_QUERY, "pattern": pattern}})


def query_words(text: str) -> list[str]:
    """The words of `text` a search query may be made of (letters and digits, two or more)."""
    return list(dict.fromkeys(_QUERY_WORD.findall(text)))


BROWSER_SEARCH = ToolSpec("search", "Searches for information related to `query`.", search_schema(),
                          strict=True, namespace="browser")


def open_schema(pages: Sequence[BrowserPage]) -> dict[str, Any] | None:
    """`browser.open` arguments: follow a link of a page that has links (`id`, `cursor`), or
    scroll a document (`cursor`, `loc`, `num_lines` within its lines). None: nothing to open."""
    choices = [_object({"id": {"enum": list(p.links)}, "cursor": {"const": p.cursor}})
               for p in pages if p.links]
    choices += [_object({"cursor": {"const": p.cursor},
                         "loc": {"type": "integer", "minimum": 0, "maximum": p.size - 1},
                         "num_lines": {"type": "integer", "minimum": 1, "maximum": p.size}})
                for p in pages if p.document and p.size > 0]
    if not choices:
        return None
    return choices[0] if len(choices) == 1 else {"anyOf": choices}


def find_schema(pages: Sequence[BrowserPage]) -> dict[str, Any] | None:
    """`browser.find` arguments: a pattern and a document's cursor. None: no document shown."""
    cursors = [p.cursor for p in pages if p.document and p.size > 0]
    if not cursors:
        return None
    return _object({"pattern": _WORDS, "cursor": {"enum": cursors}})


def browser_tools(pages: Sequence[BrowserPage], functions: Iterable[str] = BROWSER_FUNCTIONS,
                  words: Sequence[str] = ()) -> tuple[ToolSpec, ...]:
    """The browser functions among `functions` that have a valid call now, as tool specs (a
    search's query made of `words` when there are any, see `search_schema`)."""
    wanted = set(functions)
    out: list[ToolSpec] = []
    if "search" in wanted:
        out.append(BROWSER_SEARCH if not words else
                   ToolSpec("search", BROWSER_SEARCH.description, search_schema(words), strict=True,
                            namespace="browser"))
    if "open" in wanted and (schema := open_schema(pages)) is not None:
        out.append(ToolSpec("open", "Opens a link of a page by its id, or scrolls a page.", schema,
                            strict=True, namespace="browser"))
    if "find" in wanted and (schema := find_schema(pages)) is not None:
        out.append(ToolSpec("find", "Finds `pattern` in a page.", schema, strict=True, namespace="browser"))
    return tuple(out)
