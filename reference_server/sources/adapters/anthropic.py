"""Responses -> Anthropic Messages translation of whole requests (pure functions over JSON-shaped
dicts). The way back, streamed or not, is `anthropic_stream`: it needs this module's name of the
synthetic structured-output tool, so this module never imports it.
"""

from __future__ import annotations

import json
from typing import Any

from reference_server.protocol.request import WEB_SEARCH_CHOICE_TYPES, WEB_SEARCH_TOOL_TYPES
from reference_server.sources.adapters.anthropic_models import claude_model
from reference_server.sources.adapters.common import (
    ConversionError,
    drop_none,
    narrowed_tools,
    stateless_request,
    text_of_parts,
    uncalled_output_text,
)

# Thinking budgets for Responses' reasoning.effort, for models that take manual thinking (a token
# budget; newer ones take an effort level: anthropic_models).
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
# Anthropic requires max_tokens; used when the request has no max_output_tokens.
DEFAULT_MAX_TOKENS = 4096
# Anthropic's server-side web search tool, which Responses' web search tools become.
ANTHROPIC_WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search"}
# Web search tool fields with no Anthropic counterpart that change no contract a client can
# check (how much search context the model reads; whether image results are searched, where
# Anthropic's search returns pages only): dropped.
_WEB_SEARCH_HINTS = ("search_context_size", "search_content_types")
_USER_LOCATION_FIELDS = ("type", "city", "region", "country", "timezone")


def responses_to_anthropic_request(
    req: dict[str, Any], *, model: str | None = None, default_max_tokens: int = DEFAULT_MAX_TOKENS
) -> dict[str, Any]:
    """Translate a create-response body into a Messages API body (always streaming-capable:
    `stream` follows the request). Raises `ConversionError` for what Messages cannot express.

    `text.format` (json_schema / json_object) has no Messages equivalent; it becomes a forced
    call of a synthetic tool whose input schema is the format's (`json_tool_name(req)` names
    it, and the stream converter turns that call back into message text), or, when a forced
    call is impossible (thinking enabled, the client's own tools callable, a non-object
    schema), an instruction in `system` to answer with JSON valid for the schema."""
    req = stateless_request(req)
    system: list[str] = []
    if isinstance(req.get("instructions"), str) and req["instructions"]:
        system.append(req["instructions"])
    messages = _input_to_messages(req.get("input", []), system)
    while messages and messages[-1]["role"] == "assistant" and all(
            block.get("type") in ("thinking", "redacted_thinking") for block in messages[-1]["content"]):
        # A turn that only thought (a response cut off while reasoning): there is nothing to
        # continue, and a final assistant message of thinking alone is no valid prefill.
        messages.pop()
    if not messages:
        raise ConversionError("'input' must contain at least one user or assistant message.", param="input")

    model = model or req.get("model")
    claude = claude_model(model)
    if messages[-1]["role"] == "assistant" and not claude.takes_prefill:
        raise ConversionError(f"'input' ends with an assistant message, which {model} does not accept (it has no "
                              "assistant prefill): end the input with a user message or a function_call_output.",
                              param="input")
    out: dict[str, Any] = {"model": model, "messages": messages}
    max_tokens = req.get("max_output_tokens", default_max_tokens)
    out["max_tokens"] = max_tokens
    if claude.takes_sampling:  # the newest models refuse them (400): the model's own are used
        for key in ("temperature", "top_p"):
            if key in req:
                out[key] = req[key]
        if claude.one_sampler and "temperature" in out:
            out.pop("top_p", None)  # these refuse both together: the temperature is kept
    if isinstance(req.get("metadata"), dict) and req["metadata"].get("user_id"):
        out["metadata"] = {"user_id": str(req["metadata"]["user_id"])}
    tools, tool_choice = narrowed_tools(req)
    if tools:
        out["tools"] = [_tool_to_anthropic(t, i, req.get("max_tool_calls")) for i, t in enumerate(tools)]
        _check_unique_names(out["tools"])
    choice = _tool_choice_to_anthropic(tool_choice, bool(tools), req.get("parallel_tool_calls"))
    forced = choice is not None and choice["type"] in ("any", "tool")
    thinking = _thinking(req, model, max_tokens)
    # Anthropic refuses thinking with a forced tool call: the tool_choice contract wins.
    if thinking is not None and not forced:
        out.update(thinking)
        out.pop("temperature", None)  # thinking forbids a temperature other than 1
        out.pop("top_p", None)
    json_tool = json_tool_name(req, model)
    fmt_schema = _format_schema(req)
    if json_tool is not None:
        out.setdefault("tools", []).append({"name": json_tool, "description": JSON_TOOL_DESCRIPTION,
                                            "input_schema": fmt_schema})
        choice = {"type": "tool", "name": json_tool}
    elif fmt_schema is not None:
        system.append(JSON_INSTRUCTION + json.dumps(fmt_schema, separators=(",", ":")))
    if choice is not None:
        out["tool_choice"] = choice
    if system:
        out["system"] = "\n\n".join(system)
    if req.get("stream"):
        out["stream"] = True
    return out


# The synthetic tool that carries a structured answer, and the fallback instruction.
JSON_TOOL_DESCRIPTION = ("Give your final answer by calling this tool: its input is the whole answer, "
                         "as JSON valid for the input schema.")
JSON_INSTRUCTION = ("Answer with a single JSON value only (no prose, no code fences), valid against "
                    "this JSON Schema: ")


def _format_schema(req: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema `text.format` asks for (json_object: any object), or None for text."""
    fmt = (req.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else {}
    if fmt.get("type") == "json_object":
        return {"type": "object"}
    return None


def _thinking(req: dict[str, Any], model: str | None, max_tokens: int) -> dict[str, Any] | None:
    """The request fields asking `model` to think for `reasoning.effort`, or None for no thinking:
    an effort level for models with adaptive thinking, else a token budget below max_tokens (at
    least 1024, the smallest Anthropic accepts)."""
    reasoning = req.get("reasoning") or {}
    effort = str(reasoning.get("effort"))
    claude = claude_model(model)
    if claude.adaptive_thinking:
        level = claude.effort(effort)
        if level is None:
            return None
        thinking: dict[str, Any] = {"type": "adaptive"}
        if claude.omits_thinking and reasoning.get("summary") is not None:
            # The client asked to read the reasoning: these models return the thinking blocks
            # empty unless asked for their summarised text.
            thinking["display"] = "summarized"
        return {"thinking": thinking, "output_config": {"effort": level}}
    budget = min(THINKING_BUDGETS.get(effort, 0), max_tokens - 1)
    return {"thinking": {"type": "enabled", "budget_tokens": budget}} if budget >= 1024 else None


def json_tool_name(req: dict[str, Any], model: str | None = None) -> str | None:
    """The synthetic tool a structured-output request is answered through, or None when the
    request asks for text or the format must be prompt-instructed instead (see above). `model`:
    the upstream's model id, when it is not the request's (whether it thinks depends on it)."""
    if not isinstance(req, dict):
        return None
    req = drop_none(req)
    schema = _format_schema(req)
    if schema is None or schema.get("type", "object") != "object":
        return None  # Anthropic's input_schema must describe an object
    tools, choice = narrowed_tools(req)
    if tools and choice != "none":
        return None  # the client's tools stay callable: a forced call would forbid them
    if _thinking(req, model or req.get("model"), req.get("max_output_tokens", DEFAULT_MAX_TOKENS)) is not None:
        return None  # thinking is on: Anthropic refuses forced tool calls with it
    fmt = req["text"]["format"]
    base = str(fmt.get("name") or "json_answer") if fmt.get("type") == "json_schema" else "json_answer"
    taken = {t.get("name") for t in req.get("tools") or [] if isinstance(t, dict)}
    name = base
    while name in taken:
        name += "_json"
    return name[:64]


def _input_to_messages(items: Any, system: list[str]) -> list[dict[str, Any]]:
    if isinstance(items, str):
        return [{"role": "user", "content": [{"type": "text", "text": items}]}]
    if not isinstance(items, list):
        raise ConversionError("'input' must be a string or an array of items.", param="input")
    messages: list[dict[str, Any]] = []

    def append(role: str, blocks: list[dict[str, Any]]) -> None:
        # Messages alternates user/assistant: consecutive same-role content merges.
        if not blocks:
            return
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for n, item in enumerate(items):
        where = f"input[{n}]"
        if not isinstance(item, dict):
            raise ConversionError(f"{where} must be an object.", param=where)
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            content = item.get("content", "")
            if role in ("system", "developer"):
                system.append(text_of_parts(content))
            elif role in ("user", "assistant"):
                append(role, _content_blocks(content, where))
            else:
                raise ConversionError(f"{where}.role must be user, assistant, system or developer.",
                                      param=f"{where}.role")
        elif kind == "function_call":
            try:
                args = json.loads(item.get("arguments") or "{}")
            except ValueError:
                raise ConversionError(f"{where}.arguments is not valid JSON.", param=f"{where}.arguments") from None
            append("assistant", [{"type": "tool_use", "id": item.get("call_id", ""), "name": item.get("name", ""),
                                  "input": args if isinstance(args, dict) else {"value": args}}])
        elif kind == "function_call_output" and (uncalled := uncalled_output_text(item)) is not None:
            append("user", [{"type": "text", "text": uncalled}])
        elif kind == "function_call_output":
            output = item.get("output", "")
            append("user", [{"type": "tool_result", "tool_use_id": item.get("call_id", ""),
                             "content": output if isinstance(output, str) else text_of_parts(output)}])
        elif kind == "web_search_call":
            # Replaying a search would need its `web_search_tool_result` block, whose results
            # carry the `encrypted_content` Anthropic requires back and the item does not keep.
            # What the search found lives on in the answer message (its text and citations).
            continue
        elif kind == "reasoning":
            block = thinking_block(item)
            if block is not None:  # unsigned reasoning: Anthropic accepts only thinking it signed
                append("assistant", [block])
        else:
            raise ConversionError(
                f"{where}: input items of type '{kind}' cannot be sent to an Anthropic upstream.", param=where
            )
    return messages


def thinking_block(item: dict[str, Any]) -> dict[str, Any] | None:
    """The signed block a reasoning item stands for, or None when it carries no signature.

    `encrypted_content` is the signature (or the redacted data) exactly as the stream converter
    received it; the thinking text is the item's reasoning_text parts joined, which is the block's
    text exactly (the stream converter puts a thinking block's text in one part). Summaries are
    not part of it: the signature covers the thinking text alone. An item with a signature but no
    reasoning_text part came from a `redacted_thinking` block."""
    blob = item.get("encrypted_content")
    if not isinstance(blob, str) or not blob:
        return None
    parts = [p for p in item.get("content") or [] if isinstance(p, dict) and p.get("type") == "reasoning_text"]
    if not parts:
        return {"type": "redacted_thinking", "data": blob}
    return {"type": "thinking", "thinking": "".join(str(p.get("text") or "") for p in parts), "signature": blob}


def _content_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise ConversionError(f"{where}.content must be a string or an array.", param=f"{where}.content")
    blocks: list[dict[str, Any]] = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            if part.get("text"):
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "refusal":
            blocks.append({"type": "text", "text": part.get("refusal", "")})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            blocks.append({"type": "image", "source": _image_source(part["image_url"])})
        else:
            raise ConversionError(f"{where}.content[{i}]: parts of type '{kind}' are not supported with an "
                                  "Anthropic upstream.", param=f"{where}.content[{i}]")
    return blocks


def _image_source(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[5:].split(";base64,", 1)
        return {"type": "base64", "media_type": media_type, "data": data}
    return {"type": "url", "url": url}


def _tool_to_anthropic(tool: Any, n: int, max_tool_calls: Any = None) -> dict[str, Any]:
    if isinstance(tool, dict) and tool.get("type") in WEB_SEARCH_TOOL_TYPES:
        return web_search_tool(tool, f"tools[{n}]", max_tool_calls)
    if not isinstance(tool, dict) or tool.get("type") != "function":
        raise ConversionError(f"tools[{n}]: only function and web search tools can be forwarded to an "
                              "Anthropic upstream.", param=f"tools[{n}]")
    return drop_none({
        "name": tool.get("name"),
        "description": tool.get("description"),
        "input_schema": tool.get("parameters") or {"type": "object", "properties": {}},
    })


def web_search_tool(tool: dict[str, Any], where: str, max_tool_calls: Any = None) -> dict[str, Any]:
    """A Responses web search tool as Anthropic's server-side web search tool.

    `filters.allowed_domains` -> `allowed_domains`, `user_location` -> `user_location` (always
    `approximate`, Anthropic's one kind), `max_tool_calls` (the limit on built-in tool calls, and
    web search is the only built-in tool forwarded) -> `max_uses`. `external_web_access: false`
    (cached results only) is a 400: Anthropic's search always fetches live. Any field the
    Responses API does not define is a 400 too, rather than silently ignored."""
    tool = drop_none(tool)
    out: dict[str, Any] = dict(ANTHROPIC_WEB_SEARCH)
    known = {"type", "filters", "user_location", "external_web_access", *_WEB_SEARCH_HINTS}
    for key in tool:
        if key not in known:
            raise ConversionError(f"{where}.{key}: unknown web search tool field, not forwarded to an Anthropic "
                                  "upstream.", param=f"{where}.{key}")
    if tool.get("external_web_access") is False:
        raise ConversionError(f"{where}.external_web_access: false (cached results only) cannot be honoured: "
                              "Anthropic's web search always fetches live pages.",
                              param=f"{where}.external_web_access")
    filters = drop_none(tool.get("filters") or {})
    for key in filters:
        if key != "allowed_domains":
            raise ConversionError(f"{where}.filters.{key}: unknown web search filter, not forwarded to an "
                                  "Anthropic upstream.", param=f"{where}.filters.{key}")
    domains = filters.get("allowed_domains")
    if domains:
        if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
            raise ConversionError(f"{where}.filters.allowed_domains must be an array of domain names.",
                                  param=f"{where}.filters.allowed_domains")
        out["allowed_domains"] = list(domains)
    location = tool.get("user_location")
    if location is not None:
        if not isinstance(location, dict):
            raise ConversionError(f"{where}.user_location must be an object.", param=f"{where}.user_location")
        location = drop_none(location)
        for key, value in location.items():
            if key not in _USER_LOCATION_FIELDS:
                raise ConversionError(f"{where}.user_location.{key}: unknown location field.",
                                      param=f"{where}.user_location.{key}")
            if not isinstance(value, str) or (key == "type" and value != "approximate"):
                raise ConversionError(f"{where}.user_location.{key} must be "
                                      f"{repr('approximate') if key == 'type' else 'a string'}.",
                                      param=f"{where}.user_location.{key}")
        out["user_location"] = {**location, "type": "approximate"}
    if isinstance(max_tool_calls, int) and not isinstance(max_tool_calls, bool) and max_tool_calls >= 1:
        out["max_uses"] = max_tool_calls
    return out


def _check_unique_names(tools: list[dict[str, Any]]) -> None:
    """Anthropic tool names are unique; the server web search tool is named `web_search`."""
    seen: set[Any] = set()
    for n, tool in enumerate(tools):
        if tool.get("name") in seen:
            raise ConversionError(f"tools[{n}].name: {tool.get('name')!r} is taken (Anthropic's web search tool "
                                  "is named 'web_search'); rename the function.", param=f"tools[{n}].name")
        seen.add(tool.get("name"))


def _tool_choice_to_anthropic(choice: Any, has_tools: bool, parallel: Any) -> dict[str, Any] | None:
    if not has_tools:
        return None
    if choice is None or choice == "auto":
        out: dict[str, Any] = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        out = {"type": "tool", "name": choice.get("name")}
    elif isinstance(choice, dict) and choice.get("type") in WEB_SEARCH_CHOICE_TYPES:
        out = {"type": "tool", "name": ANTHROPIC_WEB_SEARCH["name"]}  # Anthropic forces server tools by name
    else:
        raise ConversionError("tool_choice must be auto, none, required, a function or web_search_preview.",
                              param="tool_choice")
    if parallel is False:
        out["disable_parallel_tool_use"] = True
    return out

