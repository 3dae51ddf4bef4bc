"""Small helpers shared by the rule modules: short renderings of values, text divergence."""

from __future__ import annotations

from typing import Any

import orjson


def short(value: Any, limit: int = 60) -> str:
    """A one-line rendering of a value for a finding message."""
    if isinstance(value, str):
        s = repr(value) if len(value) <= limit else repr(value[:limit]) + "…"
        return s
    try:
        s = orjson.dumps(value, default=repr).decode()
    except (TypeError, orjson.JSONEncodeError):
        s = repr(value)
    return s if len(s) <= limit else s[:limit] + "…"


def divergence(a: str, b: str, around: int = 20) -> tuple[int, str, str]:
    """First offset where two texts differ and a short excerpt of each from a bit before it."""
    n = min(len(a), len(b))
    i = 0
    # Compare in blocks first: long equal prefixes are the common case.
    step = 1024
    while i + step <= n and a[i : i + step] == b[i : i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    start = max(0, i - 10)
    return i, a[start : i + around], b[start : i + around]


def describe_divergence(label_a: str, a: Any, label_b: str, b: Any) -> str:
    if isinstance(a, str) and isinstance(b, str):
        off, ea, eb = divergence(a, b)
        return (
            f"{label_a} and {label_b} differ at offset {off} "
            f"(lengths {len(a)} vs {len(b)}): {label_a} …{ea!r}… vs {label_b} …{eb!r}…"
        )
    return f"{label_a} {short(a)} differs from {label_b} {short(b)}"
