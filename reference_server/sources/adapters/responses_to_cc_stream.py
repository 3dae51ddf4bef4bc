"""Responses stream events -> Chat Completions chunks (sans-IO): serve CC clients from a
Responses upstream.

Text deltas become `content`, refusal deltas `refusal`, reasoning text and summary deltas
`reasoning_content`, function_call items `tool_calls` entries numbered 0, 1, … in output order.
The terminal event gives `finish_reason` (`tool_calls` / `stop` / `length` / `content_filter`)
and, when asked for, a usage-only chunk. `response.failed` (or an `error` event) sets `error`:
the caller then sends `{"error": …}` instead of `[DONE]`, as the official CC API does.
"""

from __future__ import annotations

from typing import Any

from reference_server.sources.adapters.chat_completions import cc_finish_reason, cc_usage
from reference_server.sources.adapters.common import as_int


class ResponsesToCCStream:
    """Feed decoded Responses events; get `chat.completion.chunk` dicts back."""

    def __init__(self, *, model: str | None = None, include_usage: bool = False) -> None:
        self._model = model
        self._include_usage = include_usage
        self._base: dict[str, Any] | None = None
        self._calls: dict[int, int] = {}  # output_index -> CC tool_calls index
        self._sent: dict[tuple[int, int, str], str] = {}  # streamed text per (item, part, kind)
        self._args: dict[int, str] = {}  # streamed arguments per output_index
        self._reasoning_parts: dict[int, int] = {}  # output_index -> reasoning parts with text so far
        self._part_started: set[tuple[int, int, str]] = set()
        self.done = False
        self.error: dict[str, Any] | None = None  # {"message", "type", "code"} once failed

    # ------------------------------------------------------------------ public API
    def feed(self, event: Any) -> list[dict[str, Any]]:
        if self.done or not isinstance(event, dict):
            return []
        kind = str(event.get("type"))
        if kind in ("response.created", "response.in_progress", "response.queued"):
            return self._begin(event.get("response") or {})
        chunks = self._begin({}) if self._base is None else []  # content before created: start anyway
        handler = _HANDLERS.get(kind)
        if handler is not None:
            chunks += handler(self, event)
        return chunks

    def finish(self) -> list[dict[str, Any]]:
        """The upstream stream ended; without a terminal event that is an error."""
        if not self.done:
            self.done = True
            self.error = self.error or {"message": "The upstream stream ended before the response finished.",
                                        "type": "server_error", "code": "upstream_disconnected"}
        return []

    # ------------------------------------------------------------------ helpers
    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        assert self._base is not None
        return {**self._base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                           "finish_reason": finish_reason}]}

    def _begin(self, response: dict[str, Any]) -> list[dict[str, Any]]:
        if self._base is not None:
            return []
        rid = str(response.get("id") or "")
        self._base = {
            "id": "chatcmpl-" + (rid.removeprefix("resp_") or "proxy"),
            "object": "chat.completion.chunk",
            "created": as_int(response.get("created_at")),
            "model": self._model or response.get("model") or "unknown",
            "system_fingerprint": None,
        }
        return [self._chunk({"role": "assistant", "content": ""})]

    def _text(self, event: dict[str, Any], field: str, kind: str, full: str | None = None) -> list[dict[str, Any]]:
        """A delta (or the rest of a `.done` value that the deltas did not carry)."""
        # Summary parts and content parts of one reasoning item must not share a key.
        slot = -1 - as_int(event.get("summary_index")) if "summary_index" in event else as_int(event.get("content_index"))
        key = (as_int(event.get("output_index")), slot, kind)
        sent = self._sent.get(key, "")
        if full is None:
            piece = str(event.get("delta") or "")
        elif full.startswith(sent):
            piece = full[len(sent):]
        else:
            return []  # a done value that contradicts the deltas cannot be retracted
        if not piece:
            return []
        self._sent[key] = sent + piece
        if kind == "reasoning" and key not in self._part_started:
            # Reasoning parts of one item are separated like `reasoning_text_of` joins them.
            self._part_started.add(key)
            count = self._reasoning_parts.get(key[0], 0)
            self._reasoning_parts[key[0]] = count + 1
            if count:
                piece = "\n\n" + piece
        return [self._chunk({field: piece})]

    def _call_index(self, output_index: int) -> int:
        if output_index not in self._calls:
            self._calls[output_index] = len(self._calls)
        return self._calls[output_index]

    def _arguments(self, output_index: int, piece: str) -> list[dict[str, Any]]:
        if not piece or output_index not in self._calls:
            return []
        self._args[output_index] = self._args.get(output_index, "") + piece
        return [self._chunk({"tool_calls": [{"index": self._calls[output_index], "function": {"arguments": piece}}]})]

    def _rest_of_arguments(self, output_index: int, full: Any) -> list[dict[str, Any]]:
        sent = self._args.get(output_index, "")
        if isinstance(full, str) and full.startswith(sent):
            return self._arguments(output_index, full[len(sent):])
        return []

    # ------------------------------------------------------------------ event handlers
    def _on_item_added(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        item = event.get("item") or {}
        if item.get("type") != "function_call":
            return []
        index = as_int(event.get("output_index"))
        call = {"index": self._call_index(index), "id": item.get("call_id"), "type": "function",
                "function": {"name": item.get("name", ""), "arguments": ""}}
        chunks = [self._chunk({"tool_calls": [call]})]
        return chunks + self._arguments(index, str(item.get("arguments") or ""))

    def _on_item_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        item = event.get("item") or {}
        if item.get("type") == "function_call":
            return self._rest_of_arguments(as_int(event.get("output_index")), item.get("arguments"))
        return []

    def _on_terminal(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        response = event.get("response") or {}
        self.done = True
        if event.get("type") == "response.failed" or response.get("status") == "failed":
            err = response.get("error") or {}
            self.error = self.error or {"message": err.get("message") or "The upstream response failed.",
                                        "type": "server_error", "code": err.get("code")}
            return []
        chunks = [self._chunk({}, cc_finish_reason(response, bool(self._calls)))]
        usage = cc_usage(response.get("usage"))
        if self._include_usage and usage is not None:
            assert self._base is not None
            chunks.append({**self._base, "choices": [], "usage": usage})
        return chunks

    def _on_error(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        nested: dict[str, Any] = event["error"] if isinstance(event.get("error"), dict) else {}
        message = event.get("message") or nested.get("message") or "The upstream reported an error."
        self.error = {"message": message, "type": "server_error", "code": event.get("code") or nested.get("code")}
        return []


_HANDLERS: dict[str, Any] = {
    "response.output_item.added": ResponsesToCCStream._on_item_added,
    "response.output_item.done": ResponsesToCCStream._on_item_done,
    "response.output_text.delta": lambda s, e: s._text(e, "content", "text"),
    "response.output_text.done": lambda s, e: s._text(e, "content", "text", str(e.get("text") or "")),
    "response.refusal.delta": lambda s, e: s._text(e, "refusal", "refusal"),
    "response.refusal.done": lambda s, e: s._text(e, "refusal", "refusal", str(e.get("refusal") or "")),
    "response.reasoning_text.delta": lambda s, e: s._text(e, "reasoning_content", "reasoning"),
    "response.reasoning.delta": lambda s, e: s._text(e, "reasoning_content", "reasoning"),  # Open Responses
    "response.reasoning_summary_text.delta": lambda s, e: s._text(e, "reasoning_content", "reasoning"),
    "response.reasoning_text.done": lambda s, e: s._text(e, "reasoning_content", "reasoning", str(e.get("text") or "")),
    "response.reasoning_summary_text.done": lambda s, e: s._text(
        e, "reasoning_content", "reasoning", str(e.get("text") or "")),
    "response.function_call_arguments.delta": lambda s, e: s._arguments(
        as_int(e.get("output_index")), str(e.get("delta") or "")),
    "response.function_call_arguments.done": lambda s, e: s._rest_of_arguments(
        as_int(e.get("output_index")), e.get("arguments")),
    "response.completed": ResponsesToCCStream._on_terminal,
    "response.incomplete": ResponsesToCCStream._on_terminal,
    "response.failed": ResponsesToCCStream._on_terminal,
    "error": ResponsesToCCStream._on_error,
}
