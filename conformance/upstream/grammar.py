"""The Anthropic Messages streaming grammar, from the API's streaming documentation (sans-IO).

    stream   := message_start block* message_delta+ message_stop      (ping anywhere after start)
    block    := content_block_start(index=i) content_block_delta(index=i)* content_block_stop(index=i)
    deltas   : text block <- text_delta, citations_delta; thinking <- thinking_delta, signature_delta;
               tool_use, server_tool_use <- input_json_delta (the partial_json pieces join to one
               JSON object); web_search_tool_result comes whole in its start event, no delta
    an `error` event may come at any point and ends the stream.

Indexes count from 0 in order; one block is open at a time; the SSE `event:` name equals the
data's `type`. `AnthropicGrammar.feed(name, data)` returns the violations of one event.
"""

from __future__ import annotations

import json
from typing import Any

DELTAS = {"text": {"text_delta", "citations_delta"}, "thinking": {"thinking_delta", "signature_delta"},
          "redacted_thinking": set(), "tool_use": {"input_json_delta"}, "server_tool_use": {"input_json_delta"},
          "web_search_tool_result": set()}


class AnthropicGrammar:
    def __init__(self) -> None:
        self.started = self.stopped = self.failed = False
        self.next_index = 0
        self.open: tuple[int, str] | None = None
        self.saw_delta = False
        self.json_parts: list[str] = []

    def feed(self, name: str | None, data: Any) -> list[str]:
        kind = data.get("type") if isinstance(data, dict) else None
        errors = []
        if name is not None and name != kind:
            errors.append(f"event name {name!r} != data type {kind!r}")
        if self.stopped or self.failed:
            return [*errors, f"{kind} after the stream ended"]
        if kind == "error":
            self.failed = True
            return errors
        if not self.started:
            if kind != "message_start":
                return [*errors, f"first event is {kind!r}, not message_start"]
            self.started = True
            return errors
        if kind == "ping":
            return errors
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            if self.open is not None or self.saw_delta:
                errors.append("content_block_start while a block is open or after message_delta")
            if data.get("index") != self.next_index:
                errors.append(f"block index {data.get('index')} != {self.next_index}")
            if block.get("type") not in DELTAS:
                errors.append(f"unknown block type {block.get('type')!r}")
            self.open, self.json_parts = (int(data.get("index") or 0), str(block.get("type"))), []
            self.next_index += 1
        elif kind == "content_block_delta":
            delta = (data.get("delta") or {}).get("type")
            if self.open is None or data.get("index") != self.open[0]:
                errors.append(f"delta for block {data.get('index')} which is not open")
            elif delta not in DELTAS.get(self.open[1], set()):
                errors.append(f"{delta} in a {self.open[1]} block")
            elif delta == "input_json_delta":
                self.json_parts.append(str((data.get("delta") or {}).get("partial_json", "")))
        elif kind == "content_block_stop":
            if self.open is None or data.get("index") != self.open[0]:
                errors.append(f"stop for block {data.get('index')} which is not open")
            elif self.open[1] in ("tool_use", "server_tool_use") and self.json_parts:
                try:
                    if not isinstance(json.loads("".join(self.json_parts)), dict):
                        errors.append("tool_use input is not a JSON object")
                except ValueError:
                    errors.append("tool_use input_json_delta pieces do not join to JSON")
            self.open = None
        elif kind == "message_delta":
            if self.open is not None:
                errors.append("message_delta while a block is open")
            if "stop_reason" not in (data.get("delta") or {}):
                errors.append("message_delta without delta.stop_reason")
            self.saw_delta = True
        elif kind == "message_stop":
            if not self.saw_delta:
                errors.append("message_stop without message_delta")
            self.stopped = True
        else:
            errors.append(f"unknown event type {kind!r}")
        return errors

    def finish(self) -> list[str]:
        if self.failed or self.stopped:
            return []
        return ["the stream ended without message_stop"]
