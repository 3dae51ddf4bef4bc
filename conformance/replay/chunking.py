"""How recorded bytes are cut into network writes: the hostile part of replay.

A client's SSE parser must give the same events whatever the split; these modes make a replay
exercise that: whole events, single lines, single bytes, or seeded random sizes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

CHUNKING_MODES = ("event", "line", "byte", "random")

# An event ends at a blank line; any of the three SSE line ends may be used.
_EVENT_END = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")
_LINE_END = re.compile(rb"\r\n|\r(?!\n)|\n")


def _split_after(pattern: re.Pattern[bytes], data: bytes) -> list[bytes]:
    pieces, start = [], 0
    for match in pattern.finditer(data):
        pieces.append(data[start : match.end()])
        start = match.end()
    if start < len(data):
        pieces.append(data[start:])
    return pieces


def split_events(data: bytes) -> list[bytes]:
    """The bytes of each SSE event, terminator included (a trailing unterminated event too)."""
    return _split_after(_EVENT_END, data)


def chunk(data: bytes, mode: str = "event", *, seed: int = 0, max_random: int = 64) -> Iterator[bytes]:
    """Yield `data` in pieces according to `mode` (see CHUNKING_MODES)."""
    if mode == "event":
        yield from split_events(data)
    elif mode == "line":
        yield from _split_after(_LINE_END, data)
    elif mode == "byte":
        for i in range(len(data)):
            yield data[i : i + 1]
    elif mode == "random":
        rng = random.Random(seed)
        pos = 0
        while pos < len(data):
            size = rng.randint(1, max_random)
            yield data[pos : pos + size]
            pos += size
    else:
        raise ValueError(f"unknown chunking mode {mode!r}; choose one of {', '.join(CHUNKING_MODES)}")
