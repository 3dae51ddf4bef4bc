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


FALLBACK_TYPES = ("mcp_tool_use", "compaction", "bash_code_execution_tool_result", "some_future_block")


@st.composite
def anthropic_dialect_streams(draw: st.DrawFn) -> dict[str, Any]:
    """Messages streams mixing every block kind the Anthropic converter maps or keeps visible:
    {"events", "signatures" (in order), "searches" (count), "fallback_strings"}."""
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        "id": "msg_p", "type": "message", "role": "assistant", "content": [], "model": "claude-p",
        "usage": {"input_tokens": 5, "output_tokens": 1}}}]
    signatures: list[str] = []
    cited: list[tuple[str, str]] = []  # (url, the text of the block it cites)
    fallback_strings: list[str] = []
    searches = 0
    kinds = draw(st.lists(st.sampled_from(("text", "cited_text", "thinking", "redacted", "tool_use", "web_search",
                                           "fallback")), min_size=1, max_size=6))
    index = 0

    def block(content_block: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        nonlocal index
        events.append({"type": "content_block_start", "index": index, "content_block": content_block})
        events.extend({"type": "content_block_delta", "index": index, "delta": d} for d in deltas)
        events.append({"type": "content_block_stop", "index": index})
        index += 1

    for n, kind in enumerate(kinds):
        if kind in ("text", "cited_text"):
            text = draw(TEXT)
            deltas = [{"type": "text_delta", "text": p} for p in draw(split(text))]
            if kind == "cited_text":
                cited.append((f"https://s{n}.example/", text))
                deltas.insert(0, {"type": "citations_delta", "citation": {
                    "type": "web_search_result_location", "url": f"https://s{n}.example/", "title": "S",
                    "cited_text": "x", "encrypted_index": "E"}})
            block({"type": "text", "text": ""}, deltas)
        elif kind == "thinking":
            signature = f"sig{n}=="
            signatures.append(signature)
            block({"type": "thinking", "thinking": "", "signature": ""},
                  [{"type": "thinking_delta", "thinking": p} for p in draw(split(draw(TEXT)))]
                  + [{"type": "signature_delta", "signature": signature}])
        elif kind == "redacted":
            signatures.append(f"redacted{n}")
            block({"type": "redacted_thinking", "data": f"redacted{n}"}, [])
        elif kind == "tool_use":
            args = json.dumps(draw(ARGS))
            block({"type": "tool_use", "id": f"toolu_{n}", "name": draw(st.sampled_from(TOOL_NAMES)), "input": {}},
                  [{"type": "input_json_delta", "partial_json": p} for p in draw(split(args))])
        elif kind == "web_search":
            searches += 1
            query = json.dumps({"query": f"q{n}"})
            block({"type": "server_tool_use", "id": f"srvtoolu_{n}", "name": "web_search", "input": {}},
                  [{"type": "input_json_delta", "partial_json": p} for p in draw(split(query))])
            block({"type": "web_search_tool_result", "tool_use_id": f"srvtoolu_{n}", "content": [
                {"type": "web_search_result", "url": f"https://r{n}.example/", "title": "R",
                 "encrypted_content": "X"}]}, [])
        else:
            kind_name = draw(st.sampled_from(FALLBACK_TYPES))
            payload = draw(TEXT.filter(lambda t: t.strip() != ""))
            fallback_strings.append(payload)
            streamed = draw(split(draw(TEXT)))
            fallback_strings.append("".join(streamed))
            block({"type": kind_name, "payload": {"note": payload}},
                  [{"type": "input_json_delta", "partial_json": p} for p in streamed])
    events += [{"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}},
               {"type": "message_stop"}]
    return {"events": events, "signatures": signatures, "searches": searches, "fallback_strings": fallback_strings,
            "cited": cited}
