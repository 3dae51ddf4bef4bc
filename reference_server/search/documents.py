"""Documents of the offline search corpus: Markdown, HTML and text files read into plain lines.

A document's URL comes from a front-matter `url:` (Markdown/text) or `<link rel="canonical">` /
`<meta name="url">` (HTML); otherwise it is the file's `file://` URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
            ".html": "html", ".htm": "html"}


@dataclass(frozen=True)
class Document:
    url: str
    title: str
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split a leading `---` block of `key: value` lines off the text."""
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines()
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            meta: dict[str, str] = {}
            for line in lines[1:end]:
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("'\"")
            return meta, "\n".join(lines[end + 1:]).lstrip("\n")
    return {}, text


class _HtmlText(HTMLParser):
    """Collects visible text (one line per block element), the title and a declared URL."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "section", "article", "pre", "table", "ul", "ol", "blockquote"})
    _HIDDEN = frozenset({"script", "style", "head", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.url = ""
        self._hidden = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "link" and a.get("rel", "").lower() == "canonical" and a.get("href"):
            self.url = a["href"]
        elif tag == "meta" and a.get("name", "").lower() == "url" and a.get("content"):
            self.url = a["content"]
        if tag == "title":
            self._in_title = True
        elif tag in self._HIDDEN:
            self._hidden += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._HIDDEN and self._hidden:
            self._hidden -= 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._hidden:
            self.parts.append(data)


def _tidy(text: str) -> str:
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def _first_heading(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.lstrip("#").strip()
    return ""


def parse_document(raw: str, kind: str, fallback_url: str, fallback_title: str) -> Document:
    """One document from its raw text; `kind` is "markdown", "text" or "html"."""
    if kind == "html":
        parser = _HtmlText()
        parser.feed(raw)
        parser.close()
        text = _tidy("".join(parser.parts))
        title = parser.title.strip() or _first_heading(text) or fallback_title
        return Document(parser.url or fallback_url, title, text)
    meta, body = _front_matter(raw)
    text = _tidy(body)
    title = meta.get("title") or _first_heading(text) or fallback_title
    return Document(meta.get("url") or fallback_url, title, text)


def load_folder(folder: Path) -> Iterator[Document]:
    """Every Markdown, HTML and text file under `folder`, in path order; unreadable files skipped."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        kind = SUFFIXES.get(path.suffix.lower())
        if kind is None:
            continue
        try:
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        doc = parse_document(raw, kind, path.resolve().as_uri(), path.stem)
        if doc.text:
            yield doc
