"""Shared pieces of the upstream converters: the conversion error, id minting, usage arithmetic.

Everything here is pure; converters raise `ConversionError` for input they cannot translate.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from reference_server.protocol.events import make_usage


class ConversionError(ValueError):
    """A request or response cannot be translated; the message is safe to show to API clients.

    `param` names the offending request field (OpenAI error bodies carry it).
    """

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def new_id(prefix: str) -> str:
    """An id shaped like the official ones (`resp_…`, `msg_…`, `fc_…`, `call_…`, `chatcmpl-…`)."""
    sep = "-" if prefix == "chatcmpl" else "_"
    return f"{prefix}{sep}{secrets.token_hex(16)}"


def as_int(value: Any) -> int:
    """A token count from an upstream usage block: non-integers and negatives count as 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


def responses_usage(
    input_tokens: Any, output_tokens: Any, cached_tokens: Any = 0, reasoning_tokens: Any = 0
) -> dict[str, Any]:
    """A Responses usage object that satisfies the usage rules whatever the upstream reported:
    bad counts become 0, details are clamped to their totals, `total_tokens` is the sum."""
    inp, out = as_int(input_tokens), as_int(output_tokens)
    return make_usage(
        inp, out, cached_tokens=min(as_int(cached_tokens), inp), reasoning_tokens=min(as_int(reasoning_tokens), out)
    )


# Request fields a Response echoes (RULES.md, request.echo), copied when the request sets them.
_ECHOED = (
    "instructions", "tools", "tool_choice", "temperature", "top_p", "max_output_tokens", "metadata",
    "parallel_tool_calls", "text", "reasoning", "user", "safety_identifier", "prompt_cache_key",
    "truncation", "top_logprobs", "max_tool_calls", "service_tier", "background",
)


def response_fields(request: dict[str, Any], *, fallback_model: str = "unknown") -> dict[str, Any]:
    """The base Response fields for a converted response: the client's model name (not the
    upstream's, which the proxy may have mapped) and every echoed request field. `store` is
    always false: a proxy keeps nothing."""
    fields: dict[str, Any] = {"model": request.get("model") or fallback_model, "store": False}
    for key in _ECHOED:
        if request.get(key) is not None:
            fields[key] = request[key]
    if isinstance(fields.get("instructions"), list):
        fields["instructions"] = None  # item-list instructions are folded into the prompt
    return fields


def is_complete_json(text: str) -> bool:
    """True when `text` is one whole JSON value. A proper prefix of a serialized object or array
    never is, which is what lets a stream converter know a tool call's arguments are finished."""
    if not text.strip():
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def text_of_parts(parts: Any, kinds: tuple[str, ...] = ("input_text", "output_text", "text")) -> str:
    """Concatenate the text of content parts (strings pass through); other part types are ignored."""
    if parts is None:
        return ""
    if isinstance(parts, str):
        return parts
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict) and part.get("type") in kinds:
            out.append(str(part.get("text") or ""))
    return "".join(out)


def uncalled_output_text(item: dict[str, Any]) -> str | None:
    """A `function_call_output` without `call_id` (an output no call asked for, attributed by
    `name` / `namespace`) as the text of a user message, since neither Chat Completions nor
    Anthropic has a tool result that answers no call; None for an output that answers one."""
    if item.get("call_id"):
        return None
    name = item.get("name") or "tool"
    tool = f"{item['namespace']}.{name}" if item.get("namespace") else name
    output = item.get("output", "")
    return f"[output of {tool}]\n{output if isinstance(output, str) else text_of_parts(output)}"


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    """The official API treats an explicit null as absent; so do the converters."""
    return {k: v for k, v in d.items() if v is not None}


def stateless_request(req: Any) -> dict[str, Any]:
    """A create-response body a stateless upstream can take: a JSON object, nulls dropped (the
    official API reads an explicit null as absent), and none of the fields that name state kept
    on the server (the proxy expands `previous_response_id` before converting)."""
    if not isinstance(req, dict):
        raise ConversionError("The request body must be a JSON object.")
    req = drop_none(req)
    for field in ("previous_response_id", "conversation", "prompt"):
        if field in req:
            raise ConversionError(
                f"'{field}' is not supported by this proxy (the upstream keeps no server-side state); "
                "send the whole conversation as 'input'.",
                param=field,
            )
    return req


def narrowed_tools(req: dict[str, Any]) -> tuple[list[Any], Any]:
    """The tools to offer and the tool_choice to ask for: `allowed_tools` narrows the tool list
    (neither Chat Completions servers nor Messages reliably take an allowed-subset form) and
    contributes its mode. Named tools are allowed by name, hosted ones (web search) by type."""
    tools = list(req.get("tools") or [])
    choice = req.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        listed = [t for t in choice.get("tools") or [] if isinstance(t, dict)]
        names = {t.get("name") for t in listed if t.get("name")}
        kinds = {t.get("type") for t in listed if not t.get("name")}
        tools = [t for t in tools if isinstance(t, dict)
                 and (t.get("name") in names if t.get("name") else t.get("type") in kinds)]
        choice = choice.get("mode", "auto")
    return tools, choice
