"""Citation markers (`【{cursor}†L{start}-L{end}】`) in streamed final text → `url_citation`s.

Sans-IO: `feed` takes each text delta and returns the text to emit plus the annotations whose
cited text it completes. A marker becomes ` ([host](url))`, the form the live API inserts, and
its annotation spans exactly that text. A marker split across deltas is held back until it is
complete, so no part of one ever reaches the client; a marker that cites nothing the browser
displayed is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .browser import Citation
from .index import host_of

MARKER = re.compile(r"【(\d+)†L(\d+)(?:-L(\d+))?】")
# What an unfinished marker can look like at the end of the text received so far.
_PARTIAL = re.compile(r"【(?:\d+(?:†(?:L(?:\d+(?:-(?:L\d*)?)?)?)?)?)?$")
MAX_MARKER = 40  # characters; a longer "marker" is ordinary text

Resolver = Callable[[int, int, int], Citation | None]


def citation_text(citation: Citation) -> str:
    label = host_of(citation.url) or citation.title
    return f"([{label}]({citation.url}))"


@dataclass
class CitationRewriter:
    resolve: Resolver
    emitted: int = 0  # characters of final text emitted so far (offsets are in characters)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    _pending: str = ""
    _last: str = ""  # the last character emitted ("" before any)

    def feed(self, delta: str) -> tuple[str, list[dict[str, Any]]]:
        text = self._pending + delta
        self._pending = ""
        cut = text.rfind("【")
        if cut != -1 and "】" not in text[cut:] and len(text) - cut < MAX_MARKER \
                and _PARTIAL.match(text, cut):
            text, self._pending = text[:cut], text[cut:]
        return self._rewrite(text)

    def finish(self) -> tuple[str, list[dict[str, Any]]]:
        """The held-back tail at the end of the text (an unfinished marker is plain text)."""
        text, self._pending = self._pending, ""
        return self._plain(text), []

    def _plain(self, text: str) -> str:
        self.emitted += len(text)
        if text:
            self._last = text[-1]
        return text

    def _rewrite(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        out: list[str] = []
        new: list[dict[str, Any]] = []
        last = 0
        for m in MARKER.finditer(text):
            out.append(self._plain(text[last:m.start()]))
            last = m.end()
            start = int(m.group(2))
            citation = self.resolve(int(m.group(1)), start, int(m.group(3) or start))
            if citation is None:
                continue
            # A space before the link, except at the start of the text or after whitespace;
            # the annotation spans the link alone (as the live API's do).
            if self._last and not self._last.isspace():
                out.append(self._plain(" "))
            begin = self.emitted
            out.append(self._plain(citation_text(citation)))
            annotation = {"type": "url_citation", "start_index": begin, "end_index": self.emitted,
                          "url": citation.url, "title": citation.title}
            self.annotations.append(annotation)
            new.append(annotation)
        out.append(self._plain(text[last:]))
        return "".join(out), new
