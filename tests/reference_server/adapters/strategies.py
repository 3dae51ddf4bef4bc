"""Hypothesis strategies for valid upstream streams: Chat Completions chunk sequences (reasoning,
text, refusal and tool-call deltas interleaved, arguments split anywhere, any finish reason, any
usage placement) and Anthropic Messages event sequences."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import strategies as st

TOOL_NAMES = ("get_weather", "lookup", "add")
TOOLS_REQUEST = {
    "model": "proxy-model",
    "input": "Hello",
    "tools": [{"type": "function", "name": n, "parameters": {"type": "object"}} for n in TOOL_NAMES],
}
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=24)
ARGS = st.dictionaries(st.sampled_from(["a", "city", "q", "n"]),
                       st.one_of(st.integers(-5, 500), TEXT, st.booleans()), max_size=3)


@st.composite
def split(draw: st.DrawFn, s: str) -> list[str]:
    """`s` cut at arbitrary points into non-empty pieces ([] for the empty string)."""
    if not s:
        return []
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(s) - 1)), max_size=4)))) if len(s) > 1 else []
    bounds = [0, *cuts, len(s)]
    return [s[a:b] for a, b in itertools.pairwise(bounds) if s[a:b]]


@st.composite
def interleave(draw: st.DrawFn, streams: list[list[Any]]) -> list[Any]:
    """A random merge that keeps each stream's own order."""
    streams = [list(s) for s in streams if s]
    out: list[Any] = []
    while streams:
        i = draw(st.integers(0, len(streams) - 1))
        out.append(streams[i].pop(0))
        if not streams[i]:
            streams.pop(i)
    return out


def usage(prompt: int, completion: int, cached: int, reasoning: int) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}


@st.composite
def cc_streams(draw: st.DrawFn) -> dict[str, Any]:
    """{"chunks": [...], "finish_reason": str, "usage": dict | None} (chunks end with "[DONE]")."""
    reasoning_field = draw(st.sampled_from(["reasoning_content", "reasoning"]))
    streams: list[list[tuple[str, Any]]] = [
        [(reasoning_field, p) for p in draw(split(draw(TEXT)))],
        [("content", p) for p in draw(split(draw(TEXT)))],
        [("refusal", p) for p in draw(split(draw(st.sampled_from(["", "I can't help with that."]))))],
    ]
    for i in range(draw(st.integers(0, 3))):
        args = json.dumps(draw(ARGS), ensure_ascii=draw(st.booleans()))
        pieces: list[str] = draw(split(args))
        take_first: bool = draw(st.booleans())
        first_args = pieces.pop(0) if pieces and take_first else ""
        head = {"index": i, "id": f"call_{i}_{draw(st.integers(0, 999))}", "type": "function",
                "function": {"name": draw(st.sampled_from(TOOL_NAMES)), "arguments": first_args}}
        streams.append([("tool_calls", head)] + [("tool_calls", {"index": i, "function": {"arguments": p}})
                                                 for p in pieces])
    merged: list[tuple[str, Any]] = draw(interleave(streams))
    deltas: list[dict[str, Any]] = []
    for key, value in merged:
        last = deltas[-1] if deltas else None
        # Sometimes several pieces share one chunk, as real servers do.
        if last is not None and draw(st.booleans()) and (key == "tool_calls" or key not in last):
            if key == "tool_calls":
                last.setdefault("tool_calls", []).append(value)
            else:
                last[key] = value
            continue
        deltas.append({"tool_calls": [value]} if key == "tool_calls" else {key: value})
    base = {"id": "chatcmpl-hyp", "object": "chat.completion.chunk", "created": 1767225600, "model": "up"}
    chunks: list[Any] = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                               "finish_reason": None}]}]
    chunks += [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    finish = draw(st.sampled_from(["stop", "tool_calls", "length", "content_filter", "function_call"]))
    prompt = draw(st.integers(0, 500))
    completion = draw(st.integers(0, 500))
    use = usage(prompt, completion, draw(st.integers(0, prompt)), draw(st.integers(0, completion)))
    placement = draw(st.sampled_from(["none", "finish-chunk", "usage-chunk"]))
    last_chunk: dict[str, Any] = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    if placement == "finish-chunk":
        last_chunk["usage"] = use
    chunks.append(last_chunk)
    if placement == "usage-chunk":
        chunks.append({**base, "choices": [], "usage": use})
    chunks.append("[DONE]")
    return {"chunks": chunks, "finish_reason": finish, "usage": None if placement == "none" else use}


@st.composite
def anthropic_streams(draw: st.DrawFn) -> dict[str, Any]:
    """{"events": [...], "stop_reason": str, "usage": {...}}: a valid Messages event sequence."""
    usage_start = {"input_tokens": draw(st.integers(0, 300)), "cache_read_input_tokens": draw(st.integers(0, 50)),
                   "cache_creation_input_tokens": draw(st.integers(0, 50)), "output_tokens": 1}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        "id": "msg_hyp", "type": "message", "role": "assistant", "model": "claude-x", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": usage_start}}]
    kinds = draw(st.lists(st.sampled_from(["thinking", "text", "tool_use"]), max_size=4))
    for i, kind in enumerate(kinds):
        start: dict[str, Any]
        if kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in draw(split(draw(TEXT)))]
            if draw(st.booleans()):
                deltas.append({"type": "signature_delta", "signature": "c2lnbmF0dXJl"})
        elif kind == "text":
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in draw(split(draw(TEXT)))]
        else:
            start = {"type": "tool_use", "id": f"toolu_{i}", "name": draw(st.sampled_from(TOOL_NAMES)), "input": {}}
            tool_args: dict[str, Any] = draw(ARGS)
            empty_delta: bool = draw(st.booleans())
            pieces = draw(split(json.dumps(tool_args))) if tool_args or empty_delta else []
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in ([""] if draw(st.booleans()) else []) + pieces]
        events.append({"type": "content_block_start", "index": i, "content_block": start})
        for d in deltas:
            if draw(st.integers(0, 5)) == 0:
                events.append({"type": "ping"})
            events.append({"type": "content_block_delta", "index": i, "delta": d})
        events.append({"type": "content_block_stop", "index": i})
    stop = draw(st.sampled_from(["end_turn", "tool_use", "max_tokens", "stop_sequence", "refusal", "pause_turn"]))
    out_tokens = draw(st.integers(1, 400))
    events.append({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                   "usage": {"output_tokens": out_tokens}})
    events.append({"type": "message_stop"})
    return {"events": events, "stop_reason": stop, "usage": {**usage_start, "output_tokens": out_tokens}}
