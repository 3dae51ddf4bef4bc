"""Wire writers: an `Answer` as each provider sends it (sans-IO: lists of SSE frames, or bodies).

Chat Completions: `chat.completion.chunk`s (role, reasoning_content, content, tool_calls with
id and name in their first chunk and arguments split across chunks, the finish chunk, a
usage-only chunk when `stream_options.include_usage`), then `data: [DONE]`.
Anthropic Messages: `message_start`, `ping`, content blocks (thinking with a signature; a web
search as `server_tool_use`, `web_search_tool_result` and text cited by `citations_delta`; text,
tool_use with `input_json_delta`s), `message_delta` with stop reason and usage, `message_stop`.
Responses: the full event sequence with sequence numbers, ending in the terminal snapshot.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.upstream.model import Answer, Search, _split

CC_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter"}
ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    body = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"{head}data: {body}\n\n".encode()


# -- Chat Completions -----------------------------------------------------------------------


def _cc_usage(ans: Answer) -> dict[str, Any]:
    out = ans.output_tokens
    return {"prompt_tokens": ans.input_tokens, "completion_tokens": out,
            "total_tokens": ans.input_tokens + out,
            "completion_tokens_details": {"reasoning_tokens": len(ans.reasoning)}}


def cc_chunks(ans: Answer, model: str, rid: str, *, include_usage: bool) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": rid, "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"reasoning_content": p}) for p in ans.reasoning]
    out += [chunk({"content": p}) for p in ans.text]
    for i, call in enumerate(ans.calls):
        out.append(chunk({"tool_calls": [{"index": i, "id": call.id, "type": "function",
                                          "function": {"name": call.name, "arguments": ""}}]}))
        out += [chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]}) for p in _split(call.arguments, 8)]
    out.append(chunk({}, CC_FINISH[ans.finish]))
    if include_usage:
        out.append({"id": rid, "object": "chat.completion.chunk", "created": 0, "model": model,
                    "choices": [], "usage": _cc_usage(ans)})
    return out


def running_usage(chunks: list[dict[str, Any]], ans: Answer) -> list[dict[str, Any]]:
    """Usage-only chunks after every chunk, counting what was sent so far (as servers with
    continuous usage statistics do); the last one holds the totals."""
    out: list[dict[str, Any]] = []
    sent = 0
    for c in chunks:
        out.append(c)
        if not c.get("choices"):
            continue
        delta = c["choices"][0]["delta"]
        sent += bool(delta.get("content") or delta.get("reasoning_content")
                     or any((t.get("function") or {}).get("arguments") for t in delta.get("tool_calls") or []))
        out.append({**c, "choices": [], "usage": {"prompt_tokens": ans.input_tokens, "completion_tokens": sent,
                                                   "total_tokens": ans.input_tokens + sent}})
    return out


def cc_stream(ans: Answer, model: str, rid: str, *, include_usage: bool, usage_chunks: bool = False) -> list[bytes]:
    chunks = cc_chunks(ans, model, rid, include_usage=include_usage)
    if usage_chunks:
        chunks = running_usage(chunks[:-1], ans) + chunks[-1:] if include_usage else running_usage(chunks, ans)
    return [sse(c) for c in chunks] + [sse("[DONE]")]


def cc_body(ans: Answer, model: str, rid: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(ans.text) or None}
    if ans.reasoning:
        message["reasoning_content"] = "".join(ans.reasoning)
    if ans.calls:
        message["tool_calls"] = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                                 for c in ans.calls]
    return {"id": rid, "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": CC_FINISH[ans.finish]}],
            "usage": _cc_usage(ans)}


# -- Anthropic Messages ---------------------------------------------------------------------


def _signature(text: str) -> str:
    return "sig_" + str(abs(hash(text)) % 10**12)


def _anthropic_usage(ans: Answer) -> dict[str, Any]:
    usage: dict[str, Any] = {"output_tokens": ans.output_tokens}
    if ans.search:
        usage["server_tool_use"] = {"web_search_requests": 1}
    return usage


def _search_blocks(search: Search) -> list[dict[str, Any]]:
    """A search's whole blocks: the call, its results, and the text citing the first result."""
    blocks: list[dict[str, Any]] = [
        {"type": "server_tool_use", "id": search.id, "name": "web_search", "input": {"query": search.query}},
        {"type": "web_search_tool_result", "tool_use_id": search.id, "content": search.results},
    ]
    if search.text:
        blocks.append({"type": "text", "text": "".join(search.text), "citations": [search.citation()]})
    return blocks


def anthropic_events(ans: Answer, model: str, rid: str) -> list[tuple[str, dict[str, Any]]]:
    ev: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {
            "id": rid, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": ans.input_tokens, "output_tokens": 1}}}),
        ("ping", {"type": "ping"}),
    ]
    index = 0

    def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        nonlocal index
        ev.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
        ev.extend(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas)
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1

    if ans.reasoning:
        thinking = "".join(ans.reasoning)
        block({"type": "thinking", "thinking": "", "signature": ""},
              [{"type": "thinking_delta", "thinking": p} for p in ans.reasoning]
              + [{"type": "signature_delta", "signature": _signature(thinking)}])
    if ans.search:
        # As the API streams a search: the query in input_json_delta pieces, the results whole
        # in their start event, the citation (citations_delta) before the text it covers.
        search, results, *cited = _search_blocks(ans.search)
        block({**search, "input": {}}, [{"type": "input_json_delta", "partial_json": p}
                                        for p in _split(json.dumps(search["input"]), 12)])
        block(results, [])
        if cited:
            block({"type": "text", "text": "", "citations": []},
                  [{"type": "citations_delta", "citation": c} for c in cited[0]["citations"]]
                  + [{"type": "text_delta", "text": p} for p in ans.search.text])
    if ans.text:
        block({"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in ans.text])
    for call in ans.calls:
        block({"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
              [{"type": "input_json_delta", "partial_json": p} for p in _split(call.arguments, 8)])
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": ANTHROPIC_STOP[ans.finish], "stop_sequence": None},
                                 "usage": _anthropic_usage(ans)}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return ev


def anthropic_stream(ans: Answer, model: str, rid: str) -> list[bytes]:
    return [sse(data, name) for name, data in anthropic_events(ans, model, rid)]


def anthropic_body(ans: Answer, model: str, rid: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if ans.reasoning:
        thinking = "".join(ans.reasoning)
        content.append({"type": "thinking", "thinking": thinking, "signature": _signature(thinking)})
    if ans.search:
        content += _search_blocks(ans.search)
    if ans.text:
        content.append({"type": "text", "text": "".join(ans.text)})
    content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": json.loads(c.arguments)} for c in ans.calls]
    return {"id": rid, "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": ANTHROPIC_STOP[ans.finish], "stop_sequence": None,
            "usage": {"input_tokens": ans.input_tokens, **_anthropic_usage(ans)}}


# -- Responses ------------------------------------------------------------------------------


# Request fields a Responses server echoes in its Response object.
ECHOED = ("instructions", "metadata", "parallel_tool_calls", "temperature", "top_p", "tool_choice", "tools",
          "previous_response_id", "max_output_tokens", "store", "text", "reasoning")


def _response(ans: Answer, model: str, rid: str, status: str, output: list[dict[str, Any]],
              request: dict[str, Any] | None = None) -> dict[str, Any]:
    done = status != "in_progress"
    echoed = {k: v for k, v in (request or {}).items() if k in ECHOED and v is not None}
    return {
        "id": rid, "object": "response", "created_at": 0, "status": status, "model": model,
        "output": output, "error": None,
        "incomplete_details": ({"reason": "max_output_tokens" if ans.finish == "length" else "content_filter"}
                               if status == "incomplete" else None),
        "instructions": None, "metadata": {}, "parallel_tool_calls": True, "temperature": None,
        "top_p": None, "tool_choice": "auto", "tools": [],
        "usage": ({"input_tokens": ans.input_tokens, "input_tokens_details": {"cached_tokens": 0},
                   "output_tokens": ans.output_tokens,
                   "output_tokens_details": {"reasoning_tokens": len(ans.reasoning)},
                   "total_tokens": ans.input_tokens + ans.output_tokens} if done else None),
        **echoed,
    }


def responses_events(ans: Answer, model: str, rid: str, request: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    status = "incomplete" if ans.finish in ("length", "content_filter") else "completed"
    ev: list[dict[str, Any]] = []
    output: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        ev.append({"type": kind, "sequence_number": len(ev), **fields})

    emit("response.created", response=_response(ans, model, rid, "in_progress", [], request))
    emit("response.in_progress", response=_response(ans, model, rid, "in_progress", [], request))
    items: list[tuple[str, Any]] = []
    if ans.reasoning:
        items.append(("reasoning", ans.reasoning))
    if ans.text:
        items.append(("message", ans.text))
    items += [("function_call", c) for c in ans.calls]
    for n, (kind, payload) in enumerate(items):
        iid = f"{kind[:3]}_{rid}_{n}"
        last = n == len(items) - 1
        item_status = "incomplete" if last and status == "incomplete" else "completed"
        if kind == "function_call":
            item = {"type": "function_call", "id": iid, "call_id": payload.id, "name": payload.name, "arguments": ""}
            emit("response.output_item.added", output_index=n, item={**item, "status": "in_progress"})
            for p in _split(payload.arguments, 8):
                emit("response.function_call_arguments.delta", item_id=iid, output_index=n, delta=p)
            emit("response.function_call_arguments.done", item_id=iid, output_index=n,
                 name=payload.name, arguments=payload.arguments)
            done = {**item, "arguments": payload.arguments, "status": item_status}
        else:
            text = "".join(payload)
            part_type, delta_type = (("reasoning_text", "response.reasoning_text")
                                     if kind == "reasoning" else ("output_text", "response.output_text"))
            base = ({"type": "reasoning", "id": iid, "summary": [], "content": []} if kind == "reasoning"
                    else {"type": "message", "id": iid, "role": "assistant", "content": []})
            emit("response.output_item.added", output_index=n, item={**base, "status": "in_progress"})
            empty: dict[str, Any] = {"type": part_type, "text": ""}
            if kind == "message":
                empty["annotations"], empty["logprobs"] = [], []
            emit("response.content_part.added", item_id=iid, output_index=n, content_index=0, part=empty)
            for p in payload:
                extra: dict[str, Any] = {"logprobs": []} if kind == "message" else {}
                emit(f"{delta_type}.delta", item_id=iid, output_index=n, content_index=0, delta=p, **extra)
            extra = {"logprobs": []} if kind == "message" else {}
            emit(f"{delta_type}.done", item_id=iid, output_index=n, content_index=0, text=text, **extra)
            part = {**empty, "text": text}
            emit("response.content_part.done", item_id=iid, output_index=n, content_index=0, part=part)
            done = {**base, "content": [part], "status": item_status}
        if kind == "reasoning":
            done.pop("status", None)
        emit("response.output_item.done", output_index=n, item=done)
        output.append(done)
    emit(f"response.{status}", response=_response(ans, model, rid, status, output, request))
    return ev


def responses_stream(ans: Answer, model: str, rid: str, request: dict[str, Any] | None = None) -> list[bytes]:
    return [sse(e, e["type"]) for e in responses_events(ans, model, rid, request)]


def responses_body(ans: Answer, model: str, rid: str, request: dict[str, Any] | None = None) -> dict[str, Any]:
    return responses_events(ans, model, rid, request)[-1]["response"]


def responses_failure(ans: Answer, model: str, rid: str, sequence_number: int, message: str,
                      request: dict[str, Any] | None = None) -> list[bytes]:
    """An `error` event and `response.failed` (sent where no item is open)."""
    failed = {**_response(ans, model, rid, "failed", [], request), "usage": None,
              "error": {"code": "server_error", "message": message}}
    return [sse({"type": "error", "sequence_number": sequence_number, "code": "server_error", "message": message,
                 "param": None}, "error"),
            sse({"type": "response.failed", "sequence_number": sequence_number + 1, "response": failed},
                "response.failed")]
