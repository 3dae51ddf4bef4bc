"""What an upstream stream says, read straight from its payloads (the oracle the converted
Responses streams are compared with). Written from the providers' wire formats, independently of
the converters' dialect table."""

from __future__ import annotations

from typing import Any

KNOWN_CC_KEYS = {"role", "content", "refusal", "reasoning_content", "reasoning", "reasoning_details",
                 "tool_calls", "function_call", "annotations"}


def _part_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_part_text(v) for v in value)
    if isinstance(value, dict):
        return _part_text(value.get("text"))
    return ""


def cc_content(payloads: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"text": "", "refusal": "", "reasoning": "", "arguments": {}}
    ids: dict[Any, str] = {}
    for p in payloads:
        if not isinstance(p, dict):
            continue
        for choice in p.get("choices") or []:
            delta = choice.get("delta") or {}
            r = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(r, str) and r:
                out["reasoning"] += r
            else:  # OpenRouter: reasoning_details alone (it repeats `reasoning` when both come)
                for d in delta.get("reasoning_details") or []:
                    out["reasoning"] += d.get("text") or d.get("summary") or ""
            content = delta.get("content")
            if isinstance(content, str):
                out["text"] += content
            for part in content if isinstance(content, list) else []:  # Mistral's typed parts
                if part.get("type") == "thinking":
                    out["reasoning"] += _part_text(part.get("thinking"))
                elif part.get("type") == "text":
                    out["text"] += part.get("text") or ""
            out["refusal"] += delta.get("refusal") or ""
            for key, value in delta.items():  # keys no dialect maps are kept as reasoning
                if key not in KNOWN_CC_KEYS and isinstance(value, str):
                    out["reasoning"] += value
            for n, call in enumerate(delta.get("tool_calls") or []):
                index = call.get("index", call.get("id") or ("last" if ids else n))
                if call.get("id") and index in ids and ids[index] != call["id"]:
                    index = call["id"]  # a new id under a reused index: another call
                if call.get("id") and index not in ids:
                    ids[index] = call["id"]
                    out["arguments"].setdefault(call["id"], "")
                if index == "last":
                    index = list(ids)[-1]
                out["arguments"][ids[index]] += (call.get("function") or {}).get("arguments") or ""
    return out


def anthropic_content(payloads: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"text": "", "refusal": "", "reasoning": "", "arguments": {}}
    ids: dict[int, str] = {}
    for p in payloads:
        if p.get("type") == "content_block_start" and p["content_block"]["type"] == "tool_use":
            ids[p["index"]] = p["content_block"]["id"]
            out["arguments"][ids[p["index"]]] = ""
        elif p.get("type") == "content_block_delta":
            d = p["delta"]
            if d["type"] == "text_delta":
                out["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                out["reasoning"] += d["thinking"]
            elif d["type"] == "input_json_delta" and p["index"] in ids:
                out["arguments"][ids[p["index"]]] += d["partial_json"]
    for call_id, args in out["arguments"].items():
        out["arguments"][call_id] = args or "{}"  # a tool_use without input deltas has input {}
    return out


def anthropic_fallback_blocks(payloads: list[Any]) -> list[dict[str, Any]]:
    """Blocks with no Responses equivalent (not text/thinking/tool_use, not web search/fetch),
    with what their deltas streamed."""
    mapped = {"text", "thinking", "redacted_thinking", "tool_use", "web_search_tool_result", "web_fetch_tool_result"}
    blocks: dict[int, dict[str, Any]] = {}
    for p in payloads:
        if p.get("type") == "content_block_start":
            block = p["content_block"]
            web = block["type"] == "server_tool_use" and block.get("name") in ("web_search", "web_fetch")
            if block["type"] not in mapped and not web:
                blocks[p["index"]] = {"block": block, "streamed": ""}
        elif p.get("type") == "content_block_delta" and p["index"] in blocks:
            d = p["delta"]
            blocks[p["index"]]["streamed"] += d.get("partial_json") or d.get("content") or ""
    return list(blocks.values())
