"""What an upstream stream says, read straight from its payloads (the oracle the converted
Responses streams are compared with)."""

from __future__ import annotations

from typing import Any


def cc_content(payloads: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"text": "", "refusal": "", "reasoning": "", "arguments": {}}
    ids: dict[Any, str] = {}
    for p in payloads:
        if not isinstance(p, dict):
            continue
        for choice in p.get("choices") or []:
            delta = choice.get("delta") or {}
            r = delta.get("reasoning_content") or delta.get("reasoning")
            out["reasoning"] += r if isinstance(r, str) else ""
            out["text"] += delta.get("content") or ""
            out["refusal"] += delta.get("refusal") or ""
            for call in delta.get("tool_calls") or []:
                if call.get("id"):
                    ids[call["index"]] = call["id"]
                    out["arguments"].setdefault(call["id"], "")
                out["arguments"][ids[call["index"]]] += (call.get("function") or {}).get("arguments") or ""
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
            elif d["type"] == "input_json_delta":
                out["arguments"][ids[p["index"]]] += d["partial_json"]
    for call_id, args in out["arguments"].items():
        out["arguments"][call_id] = args or "{}"  # a tool_use without input deltas has input {}
    return out
