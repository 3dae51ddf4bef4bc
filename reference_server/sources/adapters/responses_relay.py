"""The state of a relayed Responses stream (sans-IO): upstream events go through unchanged, and
when the upstream breaks off, stalls or ends without a terminal event, `fail()` writes the
closing events the client is owed: the open parts and items done (items `incomplete`: what was
cut must not look finished), then `error` + `response.failed`, with sequence numbers continuing
the upstream's.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reference_server.protocol.events import Event, ResponseEventWriter
from reference_server.sources.adapters.output import RATE_LIMIT_CODES, RESPONSE_ERROR_CODES

TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete"})
LIFECYCLE = frozenset({"response.created", "response.queued", "response.in_progress"})
# Delta event -> (the part's text field, the matching done event).
_TEXT_DELTAS = {
    "response.output_text.delta": ("text", "response.output_text.done"),
    "response.refusal.delta": ("refusal", "response.refusal.done"),
    "response.reasoning_text.delta": ("text", "response.reasoning_text.done"),
    "response.reasoning_summary_text.delta": ("text", "response.reasoning_summary_text.done"),
}
_TEXT_DONES = {done for _, done in _TEXT_DELTAS.values()}
_PART_DONE_OF = {"output_text": "response.output_text.done", "refusal": "response.refusal.done",
                 "reasoning_text": "response.reasoning_text.done", "summary_text": "response.reasoning_summary_text.done"}


@dataclass
class _Part:
    summary: bool  # a reasoning summary part (summary_index), else a content part (content_index)
    index: int
    part: dict[str, Any]
    text_done: bool = False


@dataclass
class _Item:
    item: dict[str, Any]
    open: bool = True
    parts: dict[tuple[bool, int], _Part] = field(default_factory=dict)
    args_done: bool = False


class ResponsesRelayState:
    """Feed every upstream event with `feed(event)`; `fail(message, code)` at a break;
    `eof_message` when the upstream ended early. `done` once a terminal event went out."""

    eof_message = "The upstream stream ended without a terminal event."

    def __init__(self, fields: Mapping[str, Any] | None = None, clock: Callable[[], float] = time.time) -> None:
        """`fields`: the request fields a response echoes (`model` first of all), for a response
        the upstream never announced."""
        self._fields = {"model": "unknown", **dict(fields or {})}
        self._clock = clock
        self._response: dict[str, Any] | None = None
        self._in_progress = False
        self._seq = 0
        self._items: dict[int, _Item] = {}
        self._error: dict[str, Any] | None = None  # an upstream `error` event not yet followed by a terminal
        self.done = False

    def feed(self, event: Any) -> None:
        """Track one upstream event (the caller relays it as it came)."""
        if not isinstance(event, dict):
            return
        seq = event.get("sequence_number")
        self._seq = seq + 1 if isinstance(seq, int) and not isinstance(seq, bool) and seq >= self._seq else self._seq + 1
        type_ = event.get("type")
        if type_ in LIFECYCLE or type_ in TERMINAL:
            if isinstance(event.get("response"), dict):
                self._response = copy.deepcopy(event["response"])
            self._in_progress = self._in_progress or type_ == "response.in_progress"
            self.done = self.done or type_ in TERMINAL
        elif type_ == "error":
            self._error = event
        elif type_ in ("response.output_item.added", "response.output_item.done"):
            self._item_event(type_, event)
        elif type_ in ("response.content_part.added", "response.reasoning_summary_part.added"):
            it = self._item_of(event)
            summary = type_ == "response.reasoning_summary_part.added"
            index = event.get("summary_index" if summary else "content_index")
            part = event.get("part")
            if it is not None and isinstance(index, int) and isinstance(part, dict):
                it.parts[(summary, index)] = _Part(summary, index, copy.deepcopy(part))
        elif type_ in ("response.content_part.done", "response.reasoning_summary_part.done"):
            it = self._item_of(event)
            summary = type_ == "response.reasoning_summary_part.done"
            index = event.get("summary_index" if summary else "content_index")
            if it is not None and isinstance(index, int):
                it.parts.pop((summary, index), None)
                if isinstance(event.get("part"), dict):
                    _put(it.item, summary, index, event["part"])
        elif type_ in _TEXT_DELTAS:
            part = self._part_of(event, type_ == "response.reasoning_summary_text.delta")
            key = _TEXT_DELTAS[type_][0]
            if part is not None and isinstance(event.get("delta"), str):
                part.part[key] = str(part.part.get(key) or "") + event["delta"]
        elif type_ in _TEXT_DONES:
            part = self._part_of(event, type_ == "response.reasoning_summary_text.done")
            if part is not None:
                part.text_done = True
        elif type_ in ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta"):
            it = self._item_of(event)
            key = "arguments" if "arguments" in type_ else "input"
            if it is not None and isinstance(event.get("delta"), str):
                it.item[key] = str(it.item.get(key) or "") + event["delta"]
        elif type_ in ("response.function_call_arguments.done", "response.custom_tool_call_input.done"):
            it = self._item_of(event)
            if it is not None:
                it.args_done = True

    def fail(self, message: str, code: str) -> list[Event]:
        """The events that end the stream here (none once it has ended)."""
        if self.done:
            return []
        self.done = True
        events: list[Event] = []
        if self._response is None:
            # No response announced yet: the client still gets one to fail.
            writer = ResponseEventWriter(self._fields, clock=self._clock)
            for event in writer.start():
                events.append(self._ev(event["type"], response=event["response"]))
            self._response = writer.snapshot()
        elif not self._in_progress:
            self._response["status"] = "in_progress"
            events.append(self._ev("response.in_progress", response=copy.deepcopy(self._response)))
        if code not in RESPONSE_ERROR_CODES:
            # As the converters do: response.error.code has a closed enum, the proxy's own code
            # (upstream_timeout, …) stays in the message.
            message = f"{message} (upstream code: {code})"
            code = "rate_limit_exceeded" if code in RATE_LIMIT_CODES else "server_error"
        if self._error is None:
            events.append(self._ev("error", code=code, message=message, param=None))
        else:  # the upstream's own error event went out already: its words, a valid code
            message = str(self._error.get("message") or message)
            upstream_code = str(self._error.get("code") or "")
            code = upstream_code if upstream_code in RESPONSE_ERROR_CODES else code
        for index in sorted(self._items):
            it = self._items[index]
            if it.open:
                events += self._close(index, it)
        response = self._response
        response["status"] = "failed"
        response["error"] = {"code": code, "message": message}
        response["output"] = [copy.deepcopy(self._items[i].item) for i in sorted(self._items)]
        events.append(self._ev("response.failed", response=copy.deepcopy(response)))
        return events

    # ------------------------------------------------------------------ internals
    def _ev(self, type_: str, **fields: Any) -> Event:
        event: Event = {"type": type_, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def _item_event(self, type_: str, event: dict[str, Any]) -> None:
        index, item = event.get("output_index"), event.get("item")
        if not isinstance(index, int) or not isinstance(item, dict):
            return
        if type_ == "response.output_item.added":
            self._items[index] = _Item(copy.deepcopy(item))
        else:
            self._items[index] = _Item(copy.deepcopy(item), open=False)

    def _item_of(self, event: dict[str, Any]) -> _Item | None:
        it = self._items.get(event.get("output_index"))  # type: ignore[arg-type]
        return it if it is not None and it.open else None

    def _part_of(self, event: dict[str, Any], summary: bool) -> _Part | None:
        it = self._item_of(event)
        if it is None:
            return None
        return it.parts.get((summary, event.get("summary_index" if summary else "content_index")))  # type: ignore[arg-type]

    def _close(self, index: int, it: _Item) -> list[Event]:
        events: list[Event] = []
        item_id = it.item.get("id")
        common = {"item_id": item_id, "output_index": index}
        for key in sorted(it.parts):
            p = it.parts[key]
            kind = str(p.part.get("type"))
            at = {"summary_index": p.index} if p.summary else {"content_index": p.index}
            if not p.text_done and kind in _PART_DONE_OF:
                if kind == "refusal":
                    events.append(self._ev(_PART_DONE_OF[kind], **common, **at, refusal=p.part.get("refusal") or ""))
                elif kind == "output_text":
                    events.append(self._ev(_PART_DONE_OF[kind], **common, **at, text=p.part.get("text") or "",
                                           logprobs=p.part.get("logprobs") or []))
                else:
                    events.append(self._ev(_PART_DONE_OF[kind], **common, **at, text=p.part.get("text") or ""))
            done = "response.reasoning_summary_part.done" if p.summary else "response.content_part.done"
            events.append(self._ev(done, **common, **at, part=copy.deepcopy(p.part)))
            _put(it.item, p.summary, p.index, p.part)
        it.parts.clear()
        type_ = it.item.get("type")
        if type_ == "function_call" and not it.args_done:
            events.append(self._ev("response.function_call_arguments.done", **common,
                                   name=it.item.get("name"), arguments=it.item.get("arguments") or ""))
        elif type_ == "custom_tool_call" and not it.args_done:
            events.append(self._ev("response.custom_tool_call_input.done", **common, input=it.item.get("input") or ""))
        it.item["status"] = "incomplete"
        it.open = False
        events.append(self._ev("response.output_item.done", output_index=index, item=copy.deepcopy(it.item)))
        return events


def _put(item: dict[str, Any], summary: bool, index: int, part: dict[str, Any]) -> None:
    """A part's final state into its item (the item as added has no parts yet)."""
    container = item.setdefault("summary" if summary else "content", [])
    if isinstance(container, list) and 0 <= index < 1024:
        while len(container) <= index:
            container.append({})
        container[index] = copy.deepcopy(part)
