"""What a recorded upstream stream says (sans-IO): the same summary the cooperative model's
answers get in the request log (text, refusal, reasoning, calls, finish, usage, or the error),
so a converter's output can be judged against a real recording too."""

from __future__ import annotations

import json
from typing import Any

from conformance.sse import SSEParser

ANTHROPIC_FINISH = {"max_tokens": "length", "model_context_window_exceeded": "length", "refusal": "content_filter"}


def _messages(raw: bytes) -> list[tuple[str | None, Any]]:
    parser = SSEParser()
    out: list[tuple[str | None, Any]] = []
    for msg in [*parser.feed(raw), *parser.close()]:
        if msg.data == "[DONE]":
            out.append((msg.event, "[DONE]"))
            continue
        try:
            out.append((msg.event, json.loads(msg.data)))
        except ValueError:
            out.append((msg.event, None))
    return out


def _text(value: Any) -> str:
    """A delta field's text: a string, or the text parts of a list (anything else: none)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p["text"] for p in value if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _cc_content(content: Any) -> tuple[str, str]:
    """(text, reasoning) of a delta's `content`: a string, or typed parts where `thinking` parts
    carry reasoning (Mistral's magistral streams `[{"type": "thinking", "thinking": [...]}]`)."""
    if not isinstance(content, list):
        return _text(content), ""
    said, thought = [], []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "thinking":
            thought.append(_text(part.get("thinking")))
        elif part.get("type") == "text" and isinstance(part.get("text"), str):
            said.append(part["text"])
    return "".join(said), "".join(thought)


def summarize_cc(raw: bytes) -> dict[str, Any]:
    text, refusal, reasoning = [], [], []
    calls: list[dict[str, Any]] = []
    current: dict[Any, dict[str, Any]] = {}  # CC index -> its call; a new id at an index is a new call
    finish = usage = error = None
    for _, data in _messages(raw):
        if not isinstance(data, dict):
            continue
        if data.get("error"):
            error = "error chunk"
        if isinstance(data.get("usage"), dict):
            u = data["usage"]
            usage = {"input_tokens": u.get("prompt_tokens"), "output_tokens": u.get("completion_tokens"),
                     "reasoning_tokens": (u.get("completion_tokens_details") or {}).get("reasoning_tokens")}
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            said, thought = _cc_content(delta.get("content"))
            text.append(said)
            reasoning.append(thought)
            refusal.append(_text(delta.get("refusal")))
            reasoning.append(_text(delta.get("reasoning_content") or delta.get("reasoning")))
            for tc in delta.get("tool_calls") or []:
                key = tc.get("index", tc.get("id"))
                call = current.get(key)
                if call is None or (tc.get("id") and call["id"] and tc["id"] != call["id"]):
                    call = current[key] = {"id": None, "name": "", "arguments": ""}
                    calls.append(call)
                fn = tc.get("function") or {}
                call["id"] = call["id"] or tc.get("id")
                if fn.get("name") and fn["name"] != call["name"]:  # some repeat the whole name
                    call["name"] += fn["name"]
                call["arguments"] += fn.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    if finish is None and error is None:
        error = "the stream ended before a finish_reason"
    return _summary(text, refusal, reasoning, calls, finish, usage, error)


def summarize_anthropic(raw: bytes) -> dict[str, Any]:
    text, reasoning = [], []
    calls: list[dict[str, Any]] = []
    blocks: dict[Any, dict[str, Any]] = {}
    finish = error = None
    usage: dict[str, Any] = {}
    stopped = False
    for _, data in _messages(raw):
        if not isinstance(data, dict):
            continue
        kind = data.get("type")
        if kind == "error":
            error = "error event"
        elif kind == "message_start":
            u = (data.get("message") or {}).get("usage") or {}
            usage["input_tokens"] = sum(int(u.get(k) or 0) for k in
                                        ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"))
            usage["output_tokens"] = u.get("output_tokens")
        elif kind == "content_block_start":
            block = dict(data.get("content_block") or {})
            blocks[data.get("index")] = block
            if block.get("type") == "tool_use":
                calls.append({"id": block.get("id"), "name": block.get("name"), "arguments": "",
                              "_start": block.get("input") or {}})
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                text.append(delta.get("text") or "")
            elif delta.get("type") == "thinking_delta":
                reasoning.append(delta.get("thinking") or "")
            elif delta.get("type") == "input_json_delta" and calls:
                calls[-1]["arguments"] += delta.get("partial_json") or ""
        elif kind == "message_delta":
            stop = (data.get("delta") or {}).get("stop_reason")
            finish = ANTHROPIC_FINISH.get(stop or "", "stop")
            u = data.get("usage") or {}
            if u.get("input_tokens") is not None:  # cumulative: later counts replace message_start's
                usage["input_tokens"] = sum(int(u.get(k) or 0) for k in
                                            ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"))
            if u.get("output_tokens") is not None:
                usage["output_tokens"] = u["output_tokens"]
            usage["reasoning_tokens"] = (u.get("output_tokens_details") or {}).get("thinking_tokens")
        elif kind == "message_stop":
            stopped = True
    for call in calls:
        start = call.pop("_start")
        if not call["arguments"]:
            call["arguments"] = json.dumps(start)
    if not stopped and error is None:
        error = "the stream ended before message_stop"
    return _summary(text, [], reasoning, calls, finish, usage or None, error)


def _summary(text: list[str], refusal: list[str], reasoning: list[str], calls: list[dict[str, Any]],
             finish: str | None, usage: dict[str, Any] | None, error: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": 200, "stream": True, "recorded": True, "text": "".join(text),
                           "refusal": "".join(refusal), "reasoning": "".join(reasoning), "calls": calls,
                           "finish": {"tool_calls": "stop", "function_call": "stop"}.get(finish or "", finish),
                           "usage": usage}
    if error:
        out["error"] = error
    return out


def summarize(kind: str, raw: bytes, known: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The summary of a recorded stream of `kind`; None for a kind without a reader. `known`:
    what the stream's sidecar documents (`expected`): its `usage` replaces the counts read
    (providers whose counts need their dialect's rule), and a `fallback` (blocks the converter
    renders by its own policy) leaves the text unjudged (None)."""
    reader = {"chat-completions": summarize_cc, "anthropic": summarize_anthropic}.get(kind)
    if reader is None:
        return None
    out = reader(raw)
    known = known or {}
    if isinstance(known.get("usage"), dict):
        out["usage"] = {k: known["usage"].get(k) for k in ("input_tokens", "output_tokens", "reasoning_tokens")}
    if known.get("fallback"):
        out["text"] = None
    return out
