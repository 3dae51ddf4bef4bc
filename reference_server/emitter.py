"""Sans-IO translation of harmony messages into Responses output items.

`HarmonyToEvents` is told where harmony messages begin (channel, recipient), what text they
add, and where they end; it drives a `ResponseEventWriter` and returns the events. Mapping:

| harmony message                          | Responses output item                          |
|------------------------------------------|------------------------------------------------|
| channel `analysis`                       | `reasoning`, one `reasoning_text` content part |
| recipient `functions.NAME` (any channel) | `function_call` named NAME, arguments streamed |
| any other recipient (`browser.search`…)  | `function_call` named after the full recipient |
| channel `commentary`, no recipient       | `message`, `phase: "commentary"`               |
| channel `final` (or none)                | `message`, `phase: "final_answer"`             |

It knows nothing of tokens or of the openai_harmony package (harmony.py feeds it), nor of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .events import Event, ResponseEventWriter

ItemKind = Literal["reasoning", "function_call", "message"]


@dataclass(frozen=True)
class _Open:
    index: int
    kind: ItemKind


def classify(channel: str | None, recipient: str | None) -> tuple[ItemKind, str | None]:
    """(item kind, function name or message phase) for a harmony message header."""
    if recipient:
        name = recipient[len("functions."):] if recipient.startswith("functions.") else recipient
        return "function_call", name
    if channel == "analysis":
        return "reasoning", None
    if channel == "commentary":
        return "message", "commentary"
    return "message", "final_answer"


class HarmonyToEvents:
    """Harmony message boundaries in, Responses events out (see the module docstring)."""

    def __init__(self, writer: ResponseEventWriter) -> None:
        self.writer = writer
        self._open: _Open | None = None
        self.function_calls = 0
        self.messages = 0

    @property
    def in_message(self) -> bool:
        return self._open is not None

    def begin_message(self, channel: str | None, recipient: str | None) -> list[Event]:
        if self._open is not None:
            raise ValueError("begin_message: the previous harmony message was not ended")
        kind, detail = classify(channel, recipient)
        w = self.writer
        if kind == "reasoning":
            index, events = w.add_reasoning()
            events += w.add_reasoning_text_part(index)
        elif kind == "function_call":
            assert detail is not None
            index, events = w.add_function_call(detail)
            self.function_calls += 1
        else:
            index, events = w.add_message(phase="commentary" if detail == "commentary" else "final_answer")
            events += w.add_output_text_part(index)
            self.messages += 1
        self._open = _Open(index, kind)
        return events

    def content(self, delta: str) -> list[Event]:
        if self._open is None:
            raise ValueError("content: no harmony message is open")
        if not delta:
            return []
        index, kind = self._open.index, self._open.kind
        if kind == "reasoning":
            return self.writer.reasoning_text_delta(index, delta)
        if kind == "function_call":
            return self.writer.arguments_delta(index, delta)
        return self.writer.text_delta(index, delta)

    def end_message(self) -> list[Event]:
        if self._open is None:
            raise ValueError("end_message: no harmony message is open")
        index, self._open = self._open.index, None
        return self.writer.close_item(index, "completed")

    # Terminal transitions: the writer closes whatever is still open.
    def complete(self, usage: Mapping[str, Any]) -> list[Event]:
        self._open = None
        return self.writer.complete(usage)

    def incomplete(self, reason: str, usage: Mapping[str, Any]) -> list[Event]:
        self._open = None
        return self.writer.incomplete(reason, usage)

    def fail(self, message: str, *, code: str = "server_error", usage: Mapping[str, Any] | None = None) -> list[Event]:
        self._open = None
        return self.writer.fail(message, code=code, usage=usage)

    def cancel(self) -> list[Event]:
        self._open = None
        return self.writer.cancel()
