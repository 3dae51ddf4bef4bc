"""Anthropic Messages stream events -> a correct Responses event stream (sans-IO).

Feed decoded Messages events (`message_start`, `content_block_*`, `message_delta`,
`message_stop`, `ping`, `error`) one at a time; get Responses events back.

Mapping: a `thinking` block -> a reasoning item (one reasoning_text part, empty when the text was
omitted), consecutive `text` blocks -> output_text parts of one message, a `tool_use` block -> a
function_call item (call_id = the tool_use id, arguments = the concatenated `input_json_delta`s,
or the start block's `input`);
a call of the synthetic structured-output tool (see `anthropic.json_tool_name`) is the answer
itself: its input JSON streams as output text.
An item stays open until the next block of another kind starts, so `stop_reason` `max_tokens`
can mark the last item incomplete. Nothing is dropped silently: thinking signatures and
`redacted_thinking` data -> the reasoning item's `encrypted_content` (byte for byte: the request
converter, `anthropic.thinking_block`, sends them back as the same blocks); citations ->
`url_citation` annotations over the cited text block; server-side web search / web fetch (`server_tool_use` +
`web_search_tool_result` / `web_fetch_tool_result`) -> a `web_search_call` item with its query and
sources; any other block (code execution results, MCP tool use and results, compaction, future
types) -> its content rendered as a message text part, and a log line naming the block type.

A non-stream Message is replayed as the equivalent event sequence (`message_to_response`), so both
paths give the same Response.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Unpack

from reference_server.protocol.events import Event
from reference_server.sources.adapters.anthropic import json_tool_name
from reference_server.sources.adapters.common import ConversionError, as_int, responses_usage
from reference_server.sources.adapters.output import (
    ConverterOptions,
    StreamConverter,
    UpstreamProtocolError,
)

log = logging.getLogger("reference_server.proxy")

# Server-side tools whose result block becomes a web_search_call (result type -> action type).
WEB_RESULT_BLOCKS = {"web_search_tool_result": "search", "web_fetch_tool_result": "open_page"}

# stop_reason -> incomplete_details.reason (anything else ends `completed`).
INCOMPLETE_STOP_REASONS = {
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "refusal": "content_filter",
}


def render_fields(value: Any, prefix: str = "") -> list[str]:
    """`path: value` lines for every leaf of a block, strings verbatim (so a client reading the
    message sees the exact output, newlines included)."""
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in render_fields(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [line for i, v in enumerate(value) for line in render_fields(v, f"{prefix}{i}.")]
    return [f"{prefix[:-1]}: {value if isinstance(value, str) else json.dumps(value)}"]


class AnthropicToResponsesStream(StreamConverter):
    """Converts one Messages event stream: `start()`, `feed(event)` per event, `finish()` at EOF,
    `fail()` when the upstream broke."""

    eof_message = "The upstream stream ended before message_stop."

    def __init__(self, request: dict[str, Any], *, json_tool: str | None = None,
                 **options: Unpack[ConverterOptions]) -> None:
        super().__init__(request, **options)
        # The synthetic structured-output tool (anthropic.json_tool_name): its call is the answer.
        self.json_tool = json_tool if json_tool is not None else json_tool_name(request)
        self._blocks: dict[int, dict[str, Any]] = {}  # index -> {"type", "args_seen", "input", "new_part"}
        self._usage: dict[str, Any] = {}
        self._stop_reason: str | None = None
        self._server_calls: dict[str, dict[str, Any]] = {}  # server_tool_use id -> block state

    def _feed(self, event: Any) -> list[Event]:
        if not isinstance(event, dict):
            raise UpstreamProtocolError("The upstream sent an event that is not a JSON object.")
        handler = getattr(self, "_on_" + str(event.get("type")), None)
        return handler(event) if handler else []  # unknown event types are skipped

    def _saw_end(self) -> bool:
        return self._stop_reason is not None

    def _usage_so_far(self) -> dict[str, Any] | None:
        return self._usage_obj() if self._usage else None

    # ------------------------------------------------------------------ event handlers
    def _on_message_start(self, event: dict[str, Any]) -> list[Event]:
        message = event.get("message") or {}
        if isinstance(message.get("usage"), dict):
            self._usage.update(message["usage"])
        return []

    def _on_content_block_start(self, event: dict[str, Any]) -> list[Event]:
        index = as_int(event.get("index"))
        block = event.get("content_block") or {}
        kind = block.get("type")
        state: dict[str, Any] = {"type": kind, "args_seen": False, "input": block.get("input"), "extra": ""}
        self._blocks[index] = state
        if kind == "text":
            state["new_part"] = True  # a second text block is a second output_text part
            state["citations"] = []  # annotations waiting for this block's part to open
            for citation in block.get("citations") or []:
                self._cite(state, citation)
            return self._text(state, block.get("text") or "")
        if kind in ("thinking", "redacted_thinking"):
            # Each signed block is its own reasoning item (its signature covers its text only).
            events = self.out.close() if self.out.kind == "reasoning" else []
            if kind == "redacted_thinking":
                return events + self.out.encrypted(str(block.get("data") or ""))
            # The part opens even for no text: the item's reasoning_text part is what tells a
            # signed thinking block from a redacted one when the request converter replays it.
            events += self.out.reasoning(str(block.get("thinking") or ""))
            if block.get("signature"):
                events += self.out.encrypted(str(block["signature"]))
            return events
        if kind == "tool_use" and self.json_tool is not None and block.get("name") == self.json_tool:
            state["type"] = "json_answer"  # its input JSON streams as the message's text
            return []
        if kind == "tool_use":
            return self.out.open_call(index, str(block.get("name") or "tool"), block.get("id"))
        if kind == "server_tool_use" and block.get("name") in ("web_search", "web_fetch"):
            self._server_calls[str(block.get("id"))] = state  # its input comes with the result
            return []
        if kind in WEB_RESULT_BLOCKS:
            return self._web_result(kind, block)
        state["fallback"] = block  # rendered whole at content_block_stop
        return []

    def _on_content_block_delta(self, event: dict[str, Any]) -> list[Event]:
        state = self._blocks.get(as_int(event.get("index")))
        delta = event.get("delta") or {}
        if state is None:
            return []
        kind = delta.get("type")
        if kind == "text_delta" and state["type"] == "text":
            return self._text(state, str(delta.get("text") or ""))
        if kind == "citations_delta" and state["type"] == "text":
            self._cite(state, delta.get("citation") or {})
            return []
        if kind == "thinking_delta" and state["type"] == "thinking":
            text = str(delta.get("thinking") or "")
            return self.out.reasoning(text) if text else []
        if kind == "signature_delta" and state["type"] == "thinking":
            return self.out.encrypted(str(delta.get("signature") or ""))
        if kind == "input_json_delta" and state["type"] == "json_answer":
            text = str(delta.get("partial_json") or "")
            state["args_seen"] = state["args_seen"] or bool(text)
            return self.out.text(text) if text else []
        if kind == "input_json_delta" and state["type"] == "tool_use":
            text = str(delta.get("partial_json") or "")
            if not text or not self.out.is_open_call(as_int(event.get("index"))):
                return []
            state["args_seen"] = True
            return self.out.arguments(text)
        # Deltas of server tool and fallback blocks: kept for the block's rendering.
        state["extra"] += str(delta.get("partial_json") or delta.get("text") or delta.get("content") or "")
        return []

    def _on_content_block_stop(self, event: dict[str, Any]) -> list[Event]:
        index = as_int(event.get("index"))
        state = self._blocks.get(index)
        if state and state["type"] == "json_answer" and not state["args_seen"]:
            state["args_seen"] = True
            return self.out.text(json.dumps(state["input"] or {}, separators=(",", ":"), ensure_ascii=False))
        if state and state["type"] == "tool_use" and not state["args_seen"] and self.out.is_open_call(index):
            # No input_json_delta: the whole input came with the start block (or it is empty).
            state["args_seen"] = True
            return self.out.arguments(json.dumps(state["input"] or {}, separators=(",", ":")))
        if state and state["type"] == "text" and state.get("citations"):
            events = self.out.empty_text_part()  # cited, but no text came: the citations still show
            for ann in state.pop("citations"):
                self.out.annotate(ann)
            return events
        if state and "fallback" in state:
            block = {k: v for k, v in state.pop("fallback").items() if k != "type" and v not in (None, {}, [], "")}
            text = "\n".join(render_fields(block))
            if state["extra"]:  # what its deltas streamed (a tool input, a compaction summary)
                text += ("\n" if text else "") + f"streamed: {state['extra']}"
            return self.out.fallback(f"Anthropic {state['type']} block", text)
        return []

    def _on_message_delta(self, event: dict[str, Any]) -> list[Event]:
        delta = event.get("delta") or {}
        if delta.get("stop_reason"):
            self._stop_reason = str(delta["stop_reason"])
        if isinstance(event.get("usage"), dict):
            # message_delta counts are cumulative: they replace message_start's.
            self._usage.update({k: v for k, v in event["usage"].items() if v is not None})
        return []

    def _on_message_stop(self, event: dict[str, Any]) -> list[Event]:
        return self._finalize()

    def _on_error(self, event: dict[str, Any]) -> list[Event]:
        err = event.get("error") or {}
        message = err.get("message") if isinstance(err, dict) else str(err)
        code = err.get("type") if isinstance(err, dict) else None
        return self.out.fail(f"Upstream error: {message or 'unknown error'}", str(code or "upstream_error"),
                             self._usage_so_far())

    # ------------------------------------------------------------------ helpers
    def _cite(self, state: dict[str, Any], citation: dict[str, Any]) -> None:
        """A citation of a text block -> a url_citation over that block's text (its own part)."""
        url = citation.get("url") or citation.get("source")
        if isinstance(url, str) and url:
            ann = {"type": "url_citation", "url": url, "title": str(citation.get("title") or url),
                   "start_index": None, "end_index": None}
            if state.get("new_part"):  # the block's part is not open yet
                state["citations"].append(ann)
            else:
                self.out.annotate(ann)
        else:  # document citations (char/page/content-block locations) name no URL
            log.warning("upstream sent a %s citation, which has no url_citation equivalent: cited text kept only "
                        "in the message", citation.get("type"))

    def _web_result(self, kind: str, block: dict[str, Any]) -> list[Event]:
        call = self._server_calls.pop(str(block.get("tool_use_id")), None) or {}
        try:
            args = json.loads(call.get("extra") or "null") or call.get("input") or {}
        except ValueError:
            args = call.get("input") or {}
        content = block.get("content")
        if WEB_RESULT_BLOCKS[kind] == "open_page":
            url = (content or {}).get("url") if isinstance(content, dict) else None
            return self.out.web_search({"type": "open_page", "url": url or args.get("url")})
        results = content if isinstance(content, list) else []
        if isinstance(content, dict):  # web_search_tool_result_error
            log.warning("upstream web search failed: %s", content.get("error_code"))
        sources = [{"type": "url", "url": r["url"]} for r in results if isinstance(r, dict) and r.get("url")]
        return self.out.web_search({"type": "search", "query": args.get("query"), "sources": sources})

    def _text(self, state: dict[str, Any], text: str) -> list[Event]:
        if not text:
            return []
        new_part = state.pop("new_part", False)
        events = self.out.text(text, new_part=new_part)
        for ann in state.pop("citations", []):
            self.out.annotate(ann)  # now that the block's own part is open
        return events

    def _usage_obj(self) -> dict[str, Any]:
        u = self._usage
        cache_read = as_int(u.get("cache_read_input_tokens"))
        cache_write = as_int(u.get("cache_creation_input_tokens"))
        # Anthropic's input_tokens excludes cache reads and writes; Responses counts them.
        total_in = as_int(u.get("input_tokens")) + cache_read + cache_write
        thinking = (u.get("output_tokens_details") or {}).get("thinking_tokens")
        usage = responses_usage(total_in, u.get("output_tokens"), cached_tokens=cache_read, reasoning_tokens=thinking)
        usage["input_tokens_details"]["cache_write_tokens"] = cache_write
        return usage

    def _finalize(self) -> list[Event]:
        if self._stop_reason is None:
            return self.out.fail("The upstream sent message_stop without a stop_reason.", "upstream_protocol_error",
                                 self._usage_obj())
        reason = INCOMPLETE_STOP_REASONS.get(self._stop_reason)
        if reason is not None:
            return self.out.incomplete(reason, self._usage_obj())
        return self.out.complete(self._usage_obj())


# ---------------------------------------------------------------------------------------------
# Response (non-stream): Anthropic Message -> Responses
# ---------------------------------------------------------------------------------------------


def message_to_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream events an Anthropic upstream would have sent for this Message."""
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise ConversionError("The upstream message has no 'content' array.")
    start = {k: v for k, v in message.items() if k not in ("content", "stop_reason", "stop_sequence")}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {**start, "content": []}}]
    for i, block in enumerate(message["content"]):
        kind = block.get("type")
        if kind == "text":
            start_block = {"type": "text", "text": "", "citations": block.get("citations") or []}
            events += [{"type": "content_block_start", "index": i, "content_block": start_block},
                       {"type": "content_block_delta", "index": i,
                        "delta": {"type": "text_delta", "text": block.get("text", "")}}]
        elif kind == "thinking":
            events += [{"type": "content_block_start", "index": i,
                        "content_block": {"type": "thinking", "thinking": "",
                                          "signature": block.get("signature") or ""}},
                       {"type": "content_block_delta", "index": i,
                        "delta": {"type": "thinking_delta", "thinking": block.get("thinking", "")}}]
        elif kind == "tool_use":
            events += [{"type": "content_block_start", "index": i,
                        "content_block": {"type": "tool_use", "id": block.get("id"), "name": block.get("name"),
                                          "input": {}}},
                       {"type": "content_block_delta", "index": i,
                        "delta": {"type": "input_json_delta",
                                  "partial_json": json.dumps(block.get("input") or {}, separators=(",", ":"))}}]
        else:
            events.append({"type": "content_block_start", "index": i, "content_block": block})
        events.append({"type": "content_block_stop", "index": i})
    events.append({"type": "message_delta", "delta": {"stop_reason": message.get("stop_reason") or "end_turn"},
                   "usage": message.get("usage") or {}})
    events.append({"type": "message_stop"})
    return events


def message_to_response(message: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """A non-stream Response object for an Anthropic Message (same as the streamed snapshot)."""
    conv = AnthropicToResponsesStream(request)
    for event in message_to_events(message):
        conv.feed(event)
    conv.finish()
    response = conv.final_response()
    assert response is not None
    return response
