"""`include: ["message.output_text.logprobs"]`: the backend's per-token logprobs put on the
output_text deltas they produced, and on the part and `output_text.done` (via the writer).

Sans-IO: `feed` is called once per completion token, after the harmony decoder, with the events
that token produced. A token that produced no text yet (half of a UTF-8 character) waits for the
delta that completes it; tokens of other channels (reasoning, tool arguments) and harmony's
special tokens are not output text and carry none.
"""

from __future__ import annotations

from typing import Any

from .events import Event, ResponseEventWriter
from .harmony import FIRST_SPECIAL_TOKEN
from .vocab import o200k_tiktoken

Logprob = tuple[float, tuple[tuple[int, float], ...]]


class LogprobAttacher:
    def __init__(self, writer: ResponseEventWriter, top_logprobs: int) -> None:
        self._writer = writer
        self._top = top_logprobs
        self._pending: list[dict[str, Any]] = []
        self._bytes = o200k_tiktoken().decode_single_token_bytes

    def _entry(self, token: int, logprob: float) -> dict[str, Any]:
        raw = self._bytes(token)
        return {"token": raw.decode("utf-8", errors="replace"), "logprob": logprob, "bytes": list(raw)}

    def feed(self, token: int, logprob: Logprob | None, events: list[Event]) -> None:
        if logprob is not None and token < FIRST_SPECIAL_TOKEN:
            chosen, alternatives = logprob
            entry = self._entry(token, float(chosen))
            entry["top_logprobs"] = [self._entry(t, float(lp)) for t, lp in alternatives[: self._top]]
            self._pending.append(entry)
        for event in events:
            if event["type"] == "response.output_text.delta":
                entries, self._pending = self._pending, []
                event["logprobs"] = [_delta_shape(e) for e in entries]
                self._writer.add_logprobs(event["output_index"], entries)
            elif event["type"].endswith((".delta", ".added", ".done")):
                self._pending = []  # the waiting tokens were not output text


def _delta_shape(entry: dict[str, Any]) -> dict[str, Any]:
    """Delta events carry `{token, logprob, top_logprobs: [{token, logprob}]}` (no bytes)."""
    return {"token": entry["token"], "logprob": entry["logprob"],
            "top_logprobs": [{"token": t["token"], "logprob": t["logprob"]} for t in entry["top_logprobs"]]}
