"""Hypothesis strategy: Chat Completions streams in any dialect of reference_server's dialect
table (reasoning under any of its names or as Mistral thinking parts, content as a string or
typed parts, tool calls with or without `index`, a reused index, repeated ids and names, usage in
any place, keys no dialect knows), with the text each target must end up holding."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.reference_server.adapters.strategies import ARGS, TEXT, TOOL_NAMES, interleave, split

REASONING_SHAPES = ("reasoning_content", "reasoning", "reasoning_details", "reasoning+details", "thinking_parts")
CALL_SHAPES = ("indexed", "no_index", "reused_index", "repeated_id_name")
USAGE_PLACES = ("finish_chunk", "usage_only_chunk", "every_chunk", "x_groq", "none")


def reasoning_delta(shape: str, text: str) -> dict[str, Any]:
    if shape == "reasoning+details":  # OpenRouter: the same text twice, counted once
        return {"reasoning": text, "reasoning_details": [{"type": "reasoning.text", "text": text}]}
    if shape == "reasoning_details":
        return {"reasoning_details": [{"type": "reasoning.text", "text": text}]}
    if shape == "thinking_parts":  # Mistral
        return {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": text}]}]}
    return {shape: text}


def call_deltas(shape: str, n: int, name: str, args: str, pieces: list[str]) -> list[dict[str, Any]]:
    call_id = f"call_{n}"
    if shape == "reused_index":  # whole calls, all under index 0
        return [{"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]
    first: dict[str, Any] = {"id": call_id, "type": "function", "function": {"name": name, "arguments": pieces[0] if pieces else ""}}
    rest: list[dict[str, Any]] = []
    for p in pieces[1:]:
        if shape == "repeated_id_name":
            rest.append({"index": n, "id": call_id, "function": {"name": name, "arguments": p}})
        else:
            rest.append({"function": {"arguments": p}} | ({"index": n} if shape == "indexed" else {}))
    if shape != "no_index":
        first["index"] = n
    return [first, *rest]


@st.composite
def dialect_streams(draw: st.DrawFn) -> dict[str, Any]:
    """{"chunks", "reasoning", "text", "arguments" (by call id), "usage" (upstream's or None)}."""
    r_shape = draw(st.sampled_from(REASONING_SHAPES))
    typed_content = draw(st.booleans())
    call_shape = draw(st.sampled_from(CALL_SHAPES))
    place = draw(st.sampled_from(USAGE_PLACES))
    unknown = draw(st.sampled_from([None, "thoughts_v2", "analysis"]))

    reasoning_pieces = draw(split(draw(TEXT)))
    text_pieces = draw(split(draw(TEXT)))
    unknown_pieces = draw(split(draw(TEXT))) if unknown else []
    streams: list[list[tuple[str, Any]]] = [[("reasoning", p) for p in reasoning_pieces],
                                            [("text", p) for p in text_pieces],
                                            [("unknown", p) for p in unknown_pieces]]
    calls: list[list[tuple[str, Any]]] = []
    arguments: dict[str, str] = {}
    for n in range(draw(st.integers(0, 3))):
        args = json.dumps(draw(ARGS))
        arguments[f"call_{n}"] = args
        deltas = call_deltas(call_shape, n, draw(st.sampled_from(TOOL_NAMES)), args, draw(split(args)))
        calls.append([("call", d) for d in deltas])
    if call_shape == "no_index":
        # Without an index a continuation belongs to the last call: calls cannot interleave.
        streams.append([piece for call in calls for piece in call])
    else:
        streams += calls
    merged = draw(interleave(streams))

    chunks: list[dict[str, Any]] = []
    reasoning_seen = text_seen = ""
    for kind, value in merged:
        if kind == "reasoning":
            delta = reasoning_delta(r_shape, value)
            reasoning_seen += value
        elif kind == "text":
            delta = {"content": [{"type": "text", "text": value}] if typed_content else value}
            text_seen += value
        elif kind == "unknown":
            delta = {str(unknown): value}
            reasoning_seen += value  # no dialect maps it: kept as reasoning
        else:
            delta = {"tool_calls": [value]}
        chunks.append({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta,
                                                                        "finish_reason": None}]})
    prompt, completion = draw(st.integers(0, 500)), draw(st.integers(0, 500))
    reasoning_tokens = draw(st.integers(0, 300))
    excludes = draw(st.booleans())  # xAI-style: completion leaves reasoning out
    total = prompt + completion + (reasoning_tokens if excludes else 0)
    if not excludes:
        reasoning_tokens = min(reasoning_tokens, completion)
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total,
             "completion_tokens_details": {"reasoning_tokens": reasoning_tokens}}
    finish: dict[str, Any] = {"object": "chat.completion.chunk",
              "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if arguments else "stop"}]}
    if place == "every_chunk":  # cumulative counts on every chunk: the last (largest) holds
        for i, c in enumerate(chunks):
            c["usage"] = {**usage, "completion_tokens": completion * i // max(1, len(chunks)),
                          "total_tokens": prompt + completion * i // max(1, len(chunks))}
        finish["usage"] = usage
    elif place == "finish_chunk":
        finish["usage"] = usage
    elif place == "x_groq":
        finish["x_groq"] = {"usage": usage}
    chunks.append(finish)
    if place == "usage_only_chunk":
        chunks.append({"object": "chat.completion.chunk", "choices": [], "usage": usage})
    output = completion + reasoning_tokens if excludes else completion
    return {"chunks": [*chunks, "[DONE]"], "reasoning": reasoning_seen, "text": text_seen,
            "arguments": arguments, "usage": None if place == "none" else (prompt, output, reasoning_tokens),
            "excludes": excludes}
