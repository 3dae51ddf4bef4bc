"""Full-text index over corpus documents: SQLite FTS5 (standard library), BM25 ranking, snippets.

Queries are free text: each word becomes a quoted FTS5 term joined with OR, so no user input
can form FTS5 syntax; domain filters are applied to each document's URL host.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .documents import Document

_WORD = re.compile(r"\w+", re.UNICODE)
# Title matches count more than body matches (bm25 column weights: title, body).
_TITLE_WEIGHT, _BODY_WEIGHT = 5.0, 1.0


@dataclass(frozen=True)
class Hit:
    url: str
    title: str
    snippet: str
    score: float


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def domain_allowed(url: str, allowed: Sequence[str] | None) -> bool:
    """True when no filter is set, or the URL's host is an allowed domain or a subdomain of one."""
    if not allowed:
        return True
    host = host_of(url)
    for domain in allowed:
        d = domain.lower().strip()
        d = host_of(d) if "://" in d else d.strip("/").split("/")[0]
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


def match_expression(query: str) -> str | None:
    """The FTS5 MATCH expression for a free-text query (None when it has no word)."""
    words = _WORD.findall(query.lower())
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


class SearchIndex:
    """An in-memory FTS5 table of documents; safe to share between threads (one lock)."""

    def __init__(self, documents: Iterable[Document]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(title, body, url UNINDEXED, tokenize='unicode61')")
        self._documents: dict[str, Document] = {}
        for doc in documents:
            if doc.url in self._documents:
                continue
            self._documents[doc.url] = doc
            self._db.execute("INSERT INTO docs(title, body, url) VALUES (?, ?, ?)",
                             (doc.title, doc.text, doc.url))
        self._db.commit()

    def __len__(self) -> int:
        return len(self._documents)

    def document(self, url: str) -> Document | None:
        return self._documents.get(url)

    @property
    def urls(self) -> list[str]:
        return list(self._documents)

    def search(self, query: str, topn: int = 10,
               allowed_domains: Sequence[str] | None = None) -> list[Hit]:
        """Best `topn` documents for the query by BM25 (best first), within the allowed domains."""
        expr = match_expression(query)
        if expr is None or topn <= 0:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT url, title, snippet(docs, 1, '', '', '…', 16), "
                f"bm25(docs, {_TITLE_WEIGHT}, {_BODY_WEIGHT}) AS score "
                "FROM docs WHERE docs MATCH ? ORDER BY score", (expr,)).fetchall()
        hits: list[Hit] = []
        for url, title, snippet, score in rows:
            if domain_allowed(url, allowed_domains):
                # bm25() is lower-is-better and negative; report higher-is-better.
                hits.append(Hit(url, title, " ".join(snippet.split()), -float(score)))
                if len(hits) >= topn:
                    break
        return hits
