"""Values shown inside one line of text (finding messages, excerpts, report lines): rendered,
then cut with an ellipsis. The one home of that convention: at most `limit` characters, the
ellipsis included.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["clip", "one_line", "render"]

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """`text` when it fits in `limit` characters, else its start and an ellipsis (`limit` in all)."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


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
