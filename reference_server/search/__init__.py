"""Offline web search for the browser tool: a SQLite FTS5 index over a local document folder.

`load_index(folder)` builds (once per folder, in memory) the index the browser searches; with no
folder it indexes the small corpus bundled with the package. Nothing is ever downloaded.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .browser import Browser, BrowserError, BrowserResult, Citation
from .documents import Document, load_folder, parse_document
from .index import Hit, SearchIndex, domain_allowed

BUNDLED_CORPUS = Path(__file__).with_name("corpus")

_cache: dict[Path, SearchIndex] = {}
_cache_lock = threading.Lock()


def load_index(folder: str | Path | None = None) -> SearchIndex:
    """The index of `folder` (default: the bundled corpus), built at first use and kept."""
    path = Path(folder).expanduser().resolve() if folder is not None else BUNDLED_CORPUS
    with _cache_lock:
        index = _cache.get(path)
        if index is None:
            if not path.is_dir():
                raise ValueError(f"search corpus {str(path)!r} is not a folder")
            index = SearchIndex(load_folder(path))
            _cache[path] = index
        return index


__all__ = ["BUNDLED_CORPUS", "Browser", "BrowserError", "BrowserResult", "Citation", "Document",
           "Hit", "SearchIndex", "domain_allowed", "load_folder", "load_index", "parse_document"]
