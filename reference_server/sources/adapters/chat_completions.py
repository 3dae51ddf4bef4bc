"""Chat Completions <-> Responses translation of whole requests and non-stream responses.

Pure functions over JSON-shaped dicts. Streams are in `cc_stream` (CC chunks -> Responses events)
and `responses_to_cc_stream` (the reverse); the non-stream CC -> Responses direction replays the
completion through the stream converter so that both paths give the same Response object.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reference_server.sources.adapters.cc_stream import CCToResponsesStream
from reference_server.sources.adapters.common import (
    ConversionError,
    as_int,
    drop_none,
    narrowed_tools,
    new_id,
    stateless_request,
    text_of_parts,
    uncalled_output_text,
)

# Sampling and bookkeeping fields both APIs share under the same name.
_SHARED_FIELDS = ("temperature", "top_p", "parallel_tool_calls", "metadata", "user")
# OpenAI's reasoning models (o1, o3, o4-mini, gpt-5, gpt-6 — astra, sol, terra, luna — their
# point releases, and later majors) by their own ids (a gateway's `openai/gpt-5` normalises
# parameters itself): they refuse `max_tokens` (400: "Use 'max_completion_tokens' instead") and
# a temperature or top_p other than 1; every OpenAI model takes `max_completion_tokens`, but not
# every other provider does, so the rest keep `max_tokens`. `gpt-5-chat-*` is no reasoning
# model: it keeps its sampling values.
_OPENAI_REASONING = re.compile(r"^(o\d+|gpt-([5-9]|[1-9]\d+))([-.]|$)")

# ---------------------------------------------------------------------------------------------
# Request: Responses -> Chat Completions
# ---------------------------------------------------------------------------------------------


def responses_to_cc_request(req: dict[str, Any], *, model: str | None = None) -> dict[str, Any]:
    """Translate a create-response body into a chat-completions body.

    `model` overrides the request's model (the proxy's model map). Raises `ConversionError` for
    what a Chat Completions upstream cannot express (hosted tools, stored-conversation ids).
    """
    req = stateless_request(req)
    out: dict[str, Any] = {"model": model or req.get("model")}
    messages: list[dict[str, Any]] = []
    instructions = req.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    elif isinstance(instructions, list):  # instructions given as input items
        messages.extend(_input_to_messages(instructions, "instructions"))
    messages.extend(_input_to_messages(req.get("input", []), "input"))
    out["messages"] = messages

    tools, tool_choice = narrowed_tools(req)  # CC's own allowed_tools form is not widely supported
    if tools:
        out["tools"] = [_tool_to_cc(t, i) for i, t in enumerate(tools)]
    if tool_choice is not None:
        out["tool_choice"] = _tool_choice_to_cc(tool_choice)

    reasoning_model = _OPENAI_REASONING.match(str(out["model"] or "")) is not None
    fixed_sampling = reasoning_model and "-chat" not in str(out["model"])
    for field in _SHARED_FIELDS:
        if field in req and not (fixed_sampling and field in ("temperature", "top_p")):
            out[field] = req[field]
    if "parallel_tool_calls" in out and not tools:
        del out["parallel_tool_calls"]  # OpenAI rejects it without tools
    if "safety_identifier" in req and "user" not in out:
        out["user"] = req["safety_identifier"]
    if "max_output_tokens" in req:
        out["max_completion_tokens" if reasoning_model else "max_tokens"] = req["max_output_tokens"]
    effort = (req.get("reasoning") or {}).get("effort")
    if effort is not None:
        out["reasoning_effort"] = effort
    fmt = (req.get("text") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object"):
        out["response_format"] = _format_to_cc(fmt)
    if req.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _input_to_messages(items: Any, param: str) -> list[dict[str, Any]]:
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise ConversionError(f"'{param}' must be a string or an array of items.", param=param)
    messages: list[dict[str, Any]] = []
    pending_reasoning: list[str] = []  # reasoning text waiting for the next assistant message

    def assistant_for_calls() -> dict[str, Any]:
        # Calls attach to the assistant message that precedes them, unless tool results or
        # another role came in between: then they start a new assistant turn.
        last = messages[-1] if messages else None
        if last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": None}
            messages.append(last)
        return last

    def take_reasoning(msg: dict[str, Any]) -> None:
        if pending_reasoning:
            prior = msg.get("reasoning_content") or ""
            msg["reasoning_content"] = prior + "".join(pending_reasoning)
            pending_reasoning.clear()

    for n, item in enumerate(items):
        where = f"{param}[{n}]"
        if not isinstance(item, dict):
            raise ConversionError(f"{where} must be an object.", param=where)
        kind = item.get("type", "message")
        if kind == "message":
            msg = _message_to_cc(item, where)
            if msg["role"] == "assistant":
                take_reasoning(msg)
            messages.append(msg)
        elif kind == "function_call":
            msg = assistant_for_calls()
            take_reasoning(msg)
            msg.setdefault("tool_calls", []).append(
                {
                    "id": item.get("call_id") or item.get("id") or new_id("call"),
                    "type": "function",
                    "function": {"name": item.get("name", ""), "arguments": item.get("arguments", "")},
                }
            )
        elif kind == "function_call_output" and (uncalled := uncalled_output_text(item)) is not None:
            messages.append({"role": "user", "content": uncalled})
        elif kind == "function_call_output":
            output = item.get("output", "")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id", ""),
                    "content": output if isinstance(output, str) else text_of_parts(output),
                }
            )
        elif kind == "reasoning":
            text = reasoning_text_of(item)
            if text:
                pending_reasoning.append(text)
        else:
            raise ConversionError(
                f"{where}: input items of type '{kind}' cannot be sent to a Chat Completions "
                "upstream (supported: message, function_call, function_call_output, reasoning).",
                param=where,
            )
    return messages


def _message_to_cc(item: dict[str, Any], where: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise ConversionError(f"{where}.role must be user, assistant, system or developer.", param=f"{where}.role")
    if role == "developer":
        role = "system"  # most CC servers besides OpenAI reject the developer role
    content = item.get("content", "")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise ConversionError(f"{where}.content must be a string or an array.", param=f"{where}.content")
    if role == "assistant":
        text = text_of_parts(content)
        refusal = "".join(
            str(p.get("refusal", "")) for p in content if isinstance(p, dict) and p.get("type") == "refusal"
        )
        msg: dict[str, Any] = {"role": "assistant", "content": text}
        if refusal:
            msg["refusal"] = refusal
        return msg
    if role == "system":
        return {"role": "system", "content": text_of_parts(content)}
    return {"role": role, "content": [_part_to_cc(p, f"{where}.content[{i}]") for i, p in enumerate(content)]}


def _part_to_cc(part: Any, where: str) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise ConversionError(f"{where} must be an object.", param=where)
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text", "")}
    if kind == "input_image":
        if not part.get("image_url"):
            raise ConversionError(f"{where}: only images given by 'image_url' can be forwarded.", param=where)
        image: dict[str, Any] = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        file = drop_none(
            {"file_data": part.get("file_data"), "file_id": part.get("file_id"), "filename": part.get("filename")}
        )
        return {"type": "file", "file": file}
    raise ConversionError(f"{where}: content parts of type '{kind}' are not supported.", param=where)


def _tool_to_cc(tool: Any, n: int) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else type(tool).__name__
        raise ConversionError(
            f"tools[{n}]: only function tools can be forwarded to a Chat Completions upstream, got '{kind}'.",
            param=f"tools[{n}]",
        )
    fn = drop_none(
        {
            "name": tool.get("name"),
            "description": tool.get("description"),
            "parameters": tool.get("parameters"),
            "strict": tool.get("strict"),
        }
    )
    return {"type": "function", "function": fn}


def _tool_choice_to_cc(choice: Any) -> Any:
    if isinstance(choice, str):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    raise ConversionError("tool_choice must be auto, none, required or a function.", param="tool_choice")


def _format_to_cc(fmt: dict[str, Any]) -> dict[str, Any]:
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    schema = drop_none(
        {
            "name": fmt.get("name"),
            "description": fmt.get("description"),
            "schema": fmt.get("schema"),
            "strict": fmt.get("strict"),
        }
    )
    return {"type": "json_schema", "json_schema": schema}


# ---------------------------------------------------------------------------------------------
# Request: Chat Completions -> Responses (serving CC clients from a Responses upstream)
# ---------------------------------------------------------------------------------------------


def cc_to_responses_request(req: dict[str, Any], *, model: str | None = None) -> dict[str, Any]:
    """Translate a chat-completions body into a create-response body.

    Leading system/developer messages become `instructions`; the rest becomes compact input
    items. Raises `ConversionError` for what Responses cannot express (n > 1, stop sequences).
    """
    if not isinstance(req, dict):
        raise ConversionError("The request body must be a JSON object.")
    req = drop_none(req)
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConversionError("'messages' must be a non-empty array.", param="messages")
    if as_int(req.get("n", 1)) > 1:
        raise ConversionError("n > 1 is not supported by a Responses upstream.", param="n")
    if req.get("stop"):
        raise ConversionError("'stop' sequences are not supported by a Responses upstream.", param="stop")

    out: dict[str, Any] = {"model": model or req.get("model")}
    instructions: list[str] = []
    start = 0
    while start < len(messages) and isinstance(messages[start], dict) and messages[start].get("role") in ("system", "developer"):
        instructions.append(text_of_parts(messages[start].get("content")))
        start += 1
    if instructions:
        out["instructions"] = "\n\n".join(instructions)
    items: list[dict[str, Any]] = []
    for n, msg in enumerate(messages[start:], start):
        items.extend(_cc_message_to_items(msg, f"messages[{n}]"))
    out["input"] = items

    tools = req.get("tools")
    if tools:
        out["tools"] = [_cc_tool_to_responses(t, i) for i, t in enumerate(tools)]
    if "tool_choice" in req:
        choice = req["tool_choice"]
        if isinstance(choice, dict) and choice.get("type") == "function":
            choice = {"type": "function", "name": (choice.get("function") or {}).get("name")}
        out["tool_choice"] = choice
    for field in _SHARED_FIELDS:
        if field in req:
            out[field] = req[field]
    limit = req.get("max_completion_tokens", req.get("max_tokens"))
    if limit is not None:
        out["max_output_tokens"] = limit
    if "reasoning_effort" in req:
        out["reasoning"] = {"effort": req["reasoning_effort"]}
    fmt = req.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        out["text"] = {"format": {"type": "json_object"}}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        out["text"] = {"format": {"type": "json_schema", **(fmt.get("json_schema") or {})}}
    if req.get("stream"):
        out["stream"] = True
    out["store"] = False  # a CC client expects a stateless call
    return out


def _cc_message_to_items(msg: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(msg, dict):
        raise ConversionError(f"{where} must be an object.", param=where)
    role = msg.get("role")
    content = msg.get("content")
    if role in ("system", "developer"):
        return [{"role": role, "content": text_of_parts(content)}]
    if role == "user":
        if isinstance(content, str) or content is None:
            return [{"role": "user", "content": content or ""}]
        return [{"role": "user", "content": [_cc_part_to_input(p, f"{where}.content[{i}]") for i, p in enumerate(content)]}]
    if role == "tool":
        return [{"type": "function_call_output", "call_id": msg.get("tool_call_id", ""), "output": text_of_parts(content)}]
    if role == "assistant":
        items: list[dict[str, Any]] = []
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            items.append({"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": reasoning}]})
        text = text_of_parts(content) + (msg.get("refusal") or "")
        if text:
            items.append({"role": "assistant", "content": text})
        for call in msg.get("tool_calls") or []:
            fn = call.get("function") or {}
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.get("id") or new_id("call"),
                    "name": fn.get("name", ""),
                    "arguments": fn.get("arguments", ""),
                }
            )
        return items
    raise ConversionError(f"{where}.role '{role}' is not supported.", param=f"{where}.role")


def _cc_part_to_input(part: Any, where: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return {"type": "input_text", "text": part.get("text", "")}
    if kind == "image_url":
        image = part.get("image_url") or {}
        url = image if isinstance(image, str) else image.get("url")
        detail = "auto" if isinstance(image, str) else image.get("detail", "auto")
        return {"type": "input_image", "image_url": url, "detail": detail}
    if kind == "file":
        return {"type": "input_file", **drop_none(dict(part.get("file") or {}))}
    raise ConversionError(f"{where}: content parts of type '{kind}' are not supported.", param=where)


def _cc_tool_to_responses(tool: Any, n: int) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        raise ConversionError(f"tools[{n}]: only function tools are supported.", param=f"tools[{n}]")
    fn = tool.get("function") or {}
    return {"type": "function", **drop_none({k: fn.get(k) for k in ("name", "description", "parameters", "strict")})}


# ---------------------------------------------------------------------------------------------
# Response (non-stream): Chat Completions -> Responses
# ---------------------------------------------------------------------------------------------


def completion_to_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunk sequence a streaming upstream would have sent for this completion: reasoning,
    content, each tool call, the finish reason, then a usage-only chunk."""
    if not isinstance(completion, dict) or not isinstance(completion.get("choices"), list):
        raise ConversionError("The upstream completion has no 'choices' array.")
    base = {k: completion.get(k) for k in ("id", "created", "model")}
    base["object"] = "chat.completion.chunk"
    for key in ("citations", "search_results"):  # Perplexity's sources ride on every chunk
        if completion.get(key):
            base[key] = completion[key]
    choice = completion["choices"][0] if completion["choices"] else {}
    message = choice.get("message") or {}
    deltas: list[dict[str, Any]] = []
    # Every other message field goes through the stream's dialect table as one delta (content
    # as a string or typed parts, reasoning under any of its names, annotations, unknown keys).
    rest = {k: v for k, v in message.items() if k not in ("role", "tool_calls", "function_call") and v}
    if rest:
        deltas.append(rest)
    for i, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        deltas.append(
            {"tool_calls": [{"index": i, "id": call.get("id"), "type": "function",
                             "function": {"name": fn.get("name", ""), "arguments": fn.get("arguments") or ""}}]}
        )
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason") or "stop"}]})
    if completion.get("usage"):
        chunks.append({**base, "choices": [], "usage": completion["usage"]})
    return chunks


def completion_to_response(completion: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """A non-stream Response object for a chat completion, identical (ids aside) to the terminal
    snapshot the stream converter builds for the same content."""
    conv = CCToResponsesStream(request)
    conv.start()
    for chunk in completion_to_chunks(completion):
        conv.feed(chunk)
    conv.finish()
    response = conv.final_response()
    assert response is not None  # finish() always reaches a terminal state
    return response


# ---------------------------------------------------------------------------------------------
# Response (non-stream): Responses -> Chat Completions
# ---------------------------------------------------------------------------------------------


def cc_finish_reason(response: dict[str, Any], has_calls: bool) -> str:
    """CC's finish_reason for a finished Response."""
    if response.get("status") == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return "content_filter" if reason == "content_filter" else "length"
    return "tool_calls" if has_calls else "stop"


def cc_usage(usage: Any) -> dict[str, Any] | None:
    """CC usage for a Responses usage object (None stays None)."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = as_int(usage.get("input_tokens")), as_int(usage.get("output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": as_int((usage.get("input_tokens_details") or {}).get("cached_tokens"))},
        "completion_tokens_details": {
            "reasoning_tokens": as_int((usage.get("output_tokens_details") or {}).get("reasoning_tokens"))
        },
    }


def response_to_completion(response: dict[str, Any]) -> dict[str, Any]:
    """A chat.completion object for a finished Response (reasoning as `reasoning_content`)."""
    if not isinstance(response, dict) or not isinstance(response.get("output"), list):
        raise ConversionError("The upstream response has no 'output' array.")
    text: list[str] = []
    refusal: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in response["output"]:
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or []:
                if part.get("type") == "output_text":
                    text.append(part.get("text", ""))
                elif part.get("type") == "refusal":
                    refusal.append(part.get("refusal", ""))
        elif kind == "reasoning":
            reasoning.append(reasoning_text_of(item))
        elif kind == "function_call":
            calls.append(
                {"id": item.get("call_id"), "type": "function",
                 "function": {"name": item.get("name", ""), "arguments": item.get("arguments", "")}}
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    message["refusal"] = "".join(refusal) or None
    if calls:
        message["tool_calls"] = calls
    if any(reasoning):
        message["reasoning_content"] = "".join(reasoning)
    out: dict[str, Any] = {
        "id": "chatcmpl-" + str(response.get("id", new_id("x"))).removeprefix("resp_"),
        "object": "chat.completion",
        "created": as_int(response.get("created_at")),
        "model": response.get("model"),
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": cc_finish_reason(response, bool(calls))}],
    }
    usage = cc_usage(response.get("usage"))
    if usage is not None:
        out["usage"] = usage
    return out


def reasoning_text_of(item: dict[str, Any]) -> str:
    """The readable text of a reasoning item: its summaries, then its raw reasoning text, each
    non-empty part separated by a blank line (the stream converter joins parts the same way)."""
    texts = [str(s.get("text") or "") for s in item.get("summary") or [] if isinstance(s, dict)]
    texts += [str(c.get("text") or "") for c in item.get("content") or []
              if isinstance(c, dict) and c.get("type") == "reasoning_text"]
    return "\n\n".join(t for t in texts if t)


def dumps(obj: Any) -> str:
    """Compact JSON the way the official APIs send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
