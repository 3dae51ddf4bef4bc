"""Values shown inside one line of text (finding messages, excerpts, report lines): rendered,
then cut with an ellipsis. The one home of that convention: at most `limit` characters, the
ellipsis included (the checker's event excerpts alone put it after `limit` characters).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["clip", "json_text", "one_line", "render", "short"]

ELLIPSIS = "…"


def clip(text: str, limit: int, *, beyond: bool = False) -> str:
    """`text` when it fits in `limit` characters, else its start and an ellipsis (`limit` in all;
    with `beyond`, `limit` characters and then the ellipsis: the checker's event excerpts)."""
    if len(text) <= limit:
        return text
    return text[:limit] + ELLIPSIS if beyond else text[: limit - 1] + ELLIPSIS


def render(value: Any, *, quote: bool = False) -> str:
    """A value as text: a string as it is (JSON-quoted with `quote`), bytes decoded (invalid
    UTF-8 replaced), anything else as compact JSON (repr() for what JSON cannot hold)."""
    if isinstance(value, str) and not quote:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    try:
        return orjson.dumps(value, default=repr).decode()
    except TypeError:  # orjson.JSONEncodeError: a huge int, a non-string key, a cycle
        return repr(value)


def one_line(value: Any, limit: int, *, quote: bool = False) -> str:
    """`render(value)` cut to `limit` characters."""
    return clip(render(value, quote=quote), limit)


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """A value as readable JSON inside a sentence (`", "` and `": "` separators, non-ASCII kept,
    repr() for what JSON cannot hold) — how schema and client messages quote a value."""
    try:
        return json.dumps(value, ensure_ascii=False, default=repr, sort_keys=sort_keys)
    except (TypeError, ValueError):  # a non-string key, a cycle, keys that cannot be sorted
        return repr(value)


def short(value: Any, limit: int = 80, *, sort_keys: bool = False) -> str:
    """`json_text(value)` cut to `limit` characters."""
    return clip(json_text(value, sort_keys=sort_keys), limit)
