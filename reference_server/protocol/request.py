"""Validation of `POST /v1/responses` bodies into a typed `CreateRequest`.

Hand-written (not pydantic) so every problem becomes the official 400 shape with a precise
`param` ("input[2].content[0].type") and code; an explicit `null` always means "absent".
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from . import request_options as options
from .errors import APIError
from .errors import invalid_type as _type_error
from .errors import json_type as _json_type
from .events import new_id

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_METADATA_PAIRS, MAX_METADATA_KEY, MAX_METADATA_VALUE = 16, 64, 512
MIN_MAX_OUTPUT_TOKENS = 16

# Parameters this server implements (and echoes where the Response object has the field), plus
# `client_metadata`, which Codex CLI sends on every request.
SUPPORTED_PARAMS = frozenset({
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "reasoning",
    "text", "max_output_tokens", "max_tool_calls", "temperature", "top_p", "top_logprobs",
    "presence_penalty", "frequency_penalty", "metadata", "store", "previous_response_id", "background",
    "user", "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "service_tier", "truncation",
    "stream", "stream_options", "include", "client_metadata", "access_programs", "image",
    "background_options", "prompt_cache_options", "context_management",
})
KNOWN_INCLUDES = frozenset({
    "reasoning.encrypted_content", "message.output_text.logprobs", "message.input_image.image_url",
    "file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
    "computer_call_output.output.image_url", "code_interpreter_call.outputs",
})
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
SUMMARY_MODES = ("auto", "concise", "detailed")
REASONING_CONTEXTS = ("auto", "current_turn", "all_turns")
SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority")
ROLES = ("user", "assistant", "system", "developer")
USER_PART_TYPES = ("input_text", "input_image", "input_file")
ASSISTANT_PART_TYPES = ("output_text", "refusal", "input_text")


@dataclass(frozen=True)
class FunctionTool:
    """A function tool; `namespace` is set for the members of a `namespace` tool."""

    name: str
    description: str | None
    parameters: dict[str, Any] | None
    strict: bool
    namespace: str | None = None
    # Accepted optional keys echoed as sent (`defer_loading`, `allowed_callers`, …).
    extra: dict[str, Any] = field(default_factory=dict)

    kind = "function"

    def echo(self) -> dict[str, Any]:
        return {"type": "function", "name": self.name, "description": self.description,
                "parameters": copy.deepcopy(self.parameters), "strict": self.strict,
                **copy.deepcopy(self.extra)}


@dataclass(frozen=True)
class CustomTool:
    """A free-form tool: its input is text, optionally constrained by a lark or regex grammar
    (`format` is `{"type": "text"}` or `{"type": "grammar", "syntax", "definition"}`)."""

    name: str
    description: str | None
    format: dict[str, Any]
    namespace: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    kind = "custom"

    def echo(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "custom", "name": self.name}
        if self.description is not None:
            out["description"] = self.description
        out["format"] = copy.deepcopy(self.format)
        return {**out, **copy.deepcopy(self.extra)}


@dataclass(frozen=True)
class NamespaceTool:
    """A named group of function and custom tools; calls carry the namespace."""

    name: str
    description: str
    tools: tuple[FunctionTool | CustomTool, ...]

    kind = "namespace"

    def echo(self) -> dict[str, Any]:
        return {"type": "namespace", "name": self.name, "description": self.description,
                "tools": [t.echo() for t in self.tools]}


@dataclass(frozen=True)
class PassiveTool:
    """A tool the model does not call through `functions`: web search (run by the server's
    browser tool when offered) and `tool_search` (it only finds deferred tools; never called)."""

    raw: dict[str, Any]

    kind = "passive"

    @property
    def type(self) -> str:
        return str(self.raw["type"])

    def echo(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)


Tool = FunctionTool | CustomTool | NamespaceTool | PassiveTool
CallableTool = FunctionTool | CustomTool


@dataclass
class CreateRequest:
    model: str
    input_items: list[dict[str, Any]]  # normalized, each with an `id`
    instructions: str | None = None
    tools: list[Tool] = field(default_factory=list)
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    reasoning: dict[str, Any] = field(default_factory=lambda: {"effort": None, "summary": None})
    text: dict[str, Any] = field(default_factory=lambda: {"format": {"type": "text"}, "verbosity": "medium"})
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_logprobs: int = 0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    metadata: dict[str, str] = field(default_factory=dict)
    store: bool = True
    previous_response_id: str | None = None
    background: bool = False
    stream: bool = False
    # The live API pads stream deltas with an `obfuscation` string unless told not to.
    include_obfuscation: bool = True
    user: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    safety_identifier: str | None = None
    service_tier: str = "default"
    truncation: str = "disabled"
    include: list[str] = field(default_factory=list)
    client_metadata: dict[str, str] = field(default_factory=dict)
    access_programs: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    background_options: dict[str, Any] | None = None
    prompt_cache_options: dict[str, Any] | None = None
    # `prompt_cache_options.prewarm`: prepare the request's state, generate nothing.
    prewarm: bool = False
    # `context_management` compaction: on, and its prompt-token threshold (None: the server's).
    compaction: bool = False
    # A `compaction_trigger` ended the input: compact the conversation now, generate nothing.
    compaction_trigger: bool = False
    compact_threshold: int | None = None

    def echo_fields(self) -> dict[str, Any]:
        """The Response fields that mirror this request (lifecycle snapshots carry them)."""
        return {
            "background": self.background,
            "instructions": self.instructions,
            "max_output_tokens": self.max_output_tokens,
            "max_tool_calls": self.max_tool_calls,
            "model": self.model,
            "parallel_tool_calls": self.parallel_tool_calls,
            "previous_response_id": self.previous_response_id,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "prompt_cache_key": self.prompt_cache_key,
            "prompt_cache_retention": self.prompt_cache_retention,
            "reasoning": copy.deepcopy(self.reasoning),
            "safety_identifier": self.safety_identifier,
            "service_tier": self.service_tier,
            "store": self.store,
            "temperature": self.temperature,
            "text": copy.deepcopy(self.text),
            "tool_choice": copy.deepcopy(self.tool_choice),
            "tools": [t.echo() for t in self.tools],
            "top_logprobs": self.top_logprobs,
            "top_p": self.top_p,
            "truncation": self.truncation,
            "user": self.user,
            "metadata": dict(self.metadata),
        } | {key: copy.deepcopy(value) for key, value in (
            ("access_programs", self.access_programs), ("image", self.image),
            ("prompt_cache_options", self.prompt_cache_options)) if value is not None}

    def callable_tools(self) -> list[CallableTool]:
        """Every tool the model could call: functions and custom tools, namespaces flattened."""
        out: list[CallableTool] = []
        for tool in self.tools:
            if isinstance(tool, NamespaceTool):
                out += tool.tools
            elif isinstance(tool, FunctionTool | CustomTool):
                out.append(tool)
        return out

    def web_search_tool(self) -> dict[str, Any] | None:
        """The request's web search tool (`web_search*`, or gpt-oss's `browser_search`), if any."""
        for tool in self.tools:
            if isinstance(tool, PassiveTool) and tool.type in WEB_SEARCH_TOOL_TYPES:
                return tool.raw
        return None

    def browser_mode(self) -> str:
        """Whether the model may browse now: "none", "auto" or "required" (a forced web search)."""
        tool, choice = self.web_search_tool(), self.tool_choice
        if tool is None or choice == "none":
            return "none"
        if isinstance(choice, dict):
            if choice.get("type") in WEB_SEARCH_TOOL_TYPES:
                return "required"
            if choice.get("type") in ("function", "custom"):
                return "none"
            listed = {entry.get("type") for entry in choice.get("tools", [])}
            return "auto" if listed & WEB_SEARCH_TOOL_TYPES else "none"
        return "auto"

    def allowed_tools(self) -> tuple[list[CallableTool], str]:
        """The tools the model may call now and the mode ("auto", "none", "required")."""
        choice = self.tool_choice
        tools = self.callable_tools()
        if not tools or choice == "none":
            return [], "none"
        if isinstance(choice, dict) and choice.get("type") in WEB_SEARCH_TOOL_TYPES:
            return [], "none"  # a forced web search: no function tool this turn
        if choice in ("auto", "required"):
            return tools, choice
        if choice["type"] in ("function", "custom"):
            return [t for t in tools if t.kind == choice["type"] and t.name == choice["name"]], "required"
        wanted = {(entry["type"], entry.get("name")) for entry in choice["tools"]}  # passive ones have none
        return [t for t in tools if (t.kind, t.name) in wanted], choice["mode"]


# ---------------------------------------------------------------------------- helpers
def _missing(param: str) -> APIError:
    return APIError(400, f"Missing required parameter: '{param}'.", param=param,
                    code="missing_required_parameter")


def _invalid(param: str, message: str, code: str = "invalid_value") -> APIError:
    return APIError(400, message, param=param, code=code)


def _str(body: dict[str, Any], key: str, param: str, *, required: bool = False,
         max_len: int | None = None, allow_empty: bool = True) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _missing(param)
        return None
    if not isinstance(value, str):
        raise _type_error(param, "a string", value)
    if not allow_empty and not value:
        raise _invalid(param, f"Invalid '{param}': empty string. Expected a string with minimum length 1.",
                       code="empty_string")
    if max_len is not None and len(value) > max_len:
        raise _invalid(param, f"Invalid '{param}': string too long. Expected a string with maximum length "
                              f"{max_len}, but got a string with length {len(value)} instead.",
                       code="string_above_max_length")
    return value


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _type_error(key, "a boolean", value)
    return value


def _number(body: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(key, "a number", value)
    if not lo <= value <= hi:
        code = "decimal_below_min_value" if value < lo else "decimal_above_max_value"
        raise _invalid(key, f"Invalid '{key}': expected a value between {lo:g} and {hi:g}, but got {value} instead.",
                       code=code)
    return float(value)


def _int(body: dict[str, Any], key: str, lo: int, hi: int | None = None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 2.0 is the integer 2 (JSON Schema agrees)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(key, "an integer", value)
    if value < lo:
        raise _invalid(key, f"Invalid '{key}': integer below minimum value. Expected a value >= {lo}, "
                            f"but got {value} instead.", code="integer_below_min_value")
    if hi is not None and value > hi:
        raise _invalid(key, f"Invalid '{key}': integer above maximum value. Expected a value <= {hi}, "
                            f"but got {value} instead.", code="integer_above_max_value")
    return value


def _enum(value: Any, param: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed`; a value of another JSON type is `invalid_type` (callers treat null first:
    as absent, or as a missing required parameter)."""
    shown = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise _type_error(param, f"one of {shown}", value)
    if value not in allowed:
        raise _invalid(param, f"Invalid value for '{param}': {value!r}. Supported values are: {shown}.")
    return value


def _required_enum(obj: dict[str, Any], key: str, param: str, allowed: tuple[str, ...]) -> str:
    if obj.get(key) is None:
        raise _missing(param)
    return _enum(obj[key], param, allowed)


def _obj(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(param, "an object", value)
    return value


def _no_extra(obj: dict[str, Any], param: str, allowed: set[str] | frozenset[str]) -> None:
    for key in obj:
        if key not in allowed:
            where = f"{param}.{key}" if param else key
            raise APIError(400, f"Unknown parameter: '{where}'.", param=where, code="unknown_parameter")


# ---------------------------------------------------------------------------- top level
def parse_create_request(body: Any) -> CreateRequest:
    """Validate a decoded JSON body; raises APIError(400) naming the first offending param."""
    if not isinstance(body, dict):
        raise APIError(400, f"Invalid request body: expected a JSON object, but got {_json_type(body)}.",
                       code="invalid_type")
    for key, value in body.items():
        if key in options.UNSUPPORTED_PARAMS:
            if value is not None:
                raise options.unsupported(key)
        elif key not in SUPPORTED_PARAMS:
            raise APIError(400, f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")

    model = _str(body, "model", "model", required=True, allow_empty=False)
    assert model is not None
    req = CreateRequest(model=model, input_items=[])
    req.instructions = _str(body, "instructions", "instructions")
    req.previous_response_id = _str(body, "previous_response_id", "previous_response_id", allow_empty=False)
    raw_input = body.get("input")
    extra_tools: list[tuple[str, dict[str, Any]]] = []
    if raw_input is None:
        if req.previous_response_id is None:
            raise _missing("input")
        req.input_items = []
    else:
        if isinstance(raw_input, list):
            kept, extra_tools = _split_additional_tools(raw_input)
            req.input_items = [_parse_item(raw, f"input[{i}]") for i, raw in kept]
            req.compaction_trigger = _take_compaction_trigger(req.input_items, [i for i, _ in kept], len(raw_input))
        else:
            req.input_items = parse_input(raw_input)

    req.tools = _parse_tools(body.get("tools"))
    req.tools += _additional_tools(extra_tools, req.tools)
    req.tool_choice = _parse_tool_choice(body.get("tool_choice"), req.tools)
    req.parallel_tool_calls = _bool(body, "parallel_tool_calls", True)
    req.reasoning = _parse_reasoning(body.get("reasoning"))
    req.text = _parse_text(body.get("text"))
    req.max_output_tokens = _int(body, "max_output_tokens", MIN_MAX_OUTPUT_TOKENS)
    req.max_tool_calls = _int(body, "max_tool_calls", 1)
    req.temperature = _number(body, "temperature", 1.0, 0.0, 2.0)
    req.top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
    req.top_logprobs = _int(body, "top_logprobs", 0, 20) or 0
    req.presence_penalty = options.penalty(body.get("presence_penalty"), "presence_penalty")
    req.frequency_penalty = options.penalty(body.get("frequency_penalty"), "frequency_penalty")
    req.metadata = _parse_metadata(body.get("metadata"))
    req.store = _bool(body, "store", True)
    req.background = _bool(body, "background", False)
    req.stream = _bool(body, "stream", False)
    req.user = _str(body, "user", "user", max_len=256)
    req.safety_identifier = _str(body, "safety_identifier", "safety_identifier", max_len=64)
    shared = window_options(body)
    req.prompt_cache_key = shared["prompt_cache_key"]
    req.prompt_cache_retention = shared["prompt_cache_retention"]
    req.service_tier = shared["service_tier"]
    truncation = body.get("truncation")
    req.truncation = "disabled" if truncation is None else _enum(truncation, "truncation", ("auto", "disabled"))
    req.include = _parse_include(body.get("include"))
    stream_options = body.get("stream_options")
    if stream_options is not None:
        stream_options = _obj(stream_options, "stream_options")
        _no_extra(stream_options, "stream_options", {"include_obfuscation"})
        req.include_obfuscation = _bool(stream_options, "include_obfuscation", True)
        if not req.stream:
            raise _invalid("stream_options", "'stream_options' is only allowed when 'stream' is true.")
    req.client_metadata = options.client_metadata(body.get("client_metadata"))
    req.access_programs = options.access_programs(body.get("access_programs"))
    req.image = shared["image"]
    req.background_options = options.background_options(body.get("background_options"),
                                                         background=req.background, stream=req.stream)
    req.prompt_cache_options = shared["prompt_cache_options"]
    req.prewarm = options.prewarm(body.get("prompt_cache_options"))
    req.compaction, req.compact_threshold = options.context_management(body.get("context_management"))
    if req.background and not req.store:
        raise _invalid("background", "Background mode requires 'store' to be true.")
    if not any(item["type"] == "item_reference" for item in req.input_items):
        check_json_mention(req)  # else once the references are resolved
    return req


def window_options(body: dict[str, Any]) -> dict[str, Any]:
    """The options a create shares with `POST /v1/responses/compact` (prompt caching, service
    tier, image options), checked the same way for both: a wrong type or value is a 400 naming it."""
    retention = body.get("prompt_cache_retention")
    tier = body.get("service_tier")
    return {
        "prompt_cache_key": _str(body, "prompt_cache_key", "prompt_cache_key", max_len=1024),
        "prompt_cache_retention": None if retention is None else _enum(
            retention, "prompt_cache_retention", ("in_memory", "24h")),
        "service_tier": "default" if tier in (None, "auto") else _enum(tier, "service_tier", SERVICE_TIERS),
        "prompt_cache_options": options.prompt_cache_options(body.get("prompt_cache_options")),
        "image": options.image_options(body.get("image")),
    }


def check_json_mention(req: CreateRequest) -> None:
    """`json_object` output needs the word "json" somewhere in the instructions or input."""
    if req.text["format"]["type"] == "json_object" and not _mentions_json(req):
        raise _invalid("text.format", "Response input messages must contain the word 'json' in some form "
                                      "to use 'text.format' of type 'json_object'.")


def _mentions_json(req: CreateRequest) -> bool:
    texts = [req.instructions or ""]
    for item in req.input_items:
        if item.get("type") == "message":
            texts += [p.get("text", "") for p in item["content"]]
    return any("json" in t.lower() for t in texts)


def _parse_metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _type_error("metadata", "an object", value)
    if len(value) > MAX_METADATA_PAIRS:
        raise _invalid("metadata", f"Invalid 'metadata': too many properties. Expected an object with at most "
                                   f"{MAX_METADATA_PAIRS} properties, but got an object with {len(value)} properties "
                                   "instead.", code="object_above_max_properties")
    for key, val in value.items():
        if len(key) > MAX_METADATA_KEY:
            raise _invalid("metadata", f"Invalid 'metadata': key {key[:20]!r}… is too long. Expected keys of "
                                       f"at most {MAX_METADATA_KEY} characters, but got {len(key)}.",
                           code="string_above_max_length")
        if not isinstance(val, str):
            raise _type_error(f"metadata.{key}", "a string", val)
        if len(val) > MAX_METADATA_VALUE:
            raise _invalid(f"metadata.{key}", f"Invalid 'metadata.{key}': string too long. Expected a string "
                                              f"with maximum length {MAX_METADATA_VALUE}, but got a string "
                                              f"with length {len(val)} instead.", code="string_above_max_length")
    return dict(value)


def _parse_include(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _type_error("include", "an array", value)
    out = []
    for i, entry in enumerate(value):
        out.append(_enum(entry, f"include[{i}]", tuple(sorted(KNOWN_INCLUDES))))
    return out


def _parse_reasoning(value: Any) -> dict[str, Any]:
    if value is None:
        return {"effort": None, "summary": None}
    value = _obj(value, "reasoning")
    _no_extra(value, "reasoning", {"effort", "summary", "generate_summary", "context", "mode"})
    effort = value.get("effort")
    if effort is not None:
        _enum(effort, "reasoning.effort", REASONING_EFFORTS)
    for key in ("summary", "generate_summary"):  # the deprecated name, used when `summary` is absent
        if value.get(key) is not None:
            _enum(value[key], f"reasoning.{key}", SUMMARY_MODES)
    summary = value.get("summary") if value.get("summary") is not None else value.get("generate_summary")
    out = {"effort": effort, "summary": summary}
    context = value.get("context")
    if context is not None:
        # Echoed as the mode in effect: `auto` is harmony's own, earlier turns' reasoning dropped.
        context = _enum(context, "reasoning.context", REASONING_CONTEXTS)
        out["context"] = "current_turn" if context == "auto" else context
    return out


def _parse_text(value: Any) -> dict[str, Any]:
    if value is None:
        return {"format": {"type": "text"}, "verbosity": "medium"}
    value = _obj(value, "text")
    _no_extra(value, "text", {"format", "verbosity"})
    verbosity = value.get("verbosity")
    verbosity = "medium" if verbosity is None else _enum(verbosity, "text.verbosity", ("low", "medium", "high"))
    fmt = value.get("format")
    if fmt is None:
        return {"format": {"type": "text"}, "verbosity": verbosity}
    fmt = _obj(fmt, "text.format")
    kind = _required_enum(fmt, "type", "text.format.type", ("text", "json_object", "json_schema"))
    if kind in ("text", "json_object"):
        _no_extra(fmt, "text.format", {"type"})
        return {"format": {"type": kind}, "verbosity": verbosity}
    _no_extra(fmt, "text.format", {"type", "name", "schema", "strict", "description"})
    name = _str(fmt, "name", "text.format.name", required=True)
    assert name is not None
    if not NAME_RE.match(name):
        raise _invalid("text.format.name", f"Invalid 'text.format.name': {name!r} does not match "
                                           "'^[a-zA-Z0-9_-]+$' (1–64 characters).")
    schema = fmt.get("schema")
    if schema is None:
        raise _missing("text.format.schema")
    _check_schema(schema, "text.format.schema")
    strict = fmt.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _type_error("text.format.strict", "a boolean", strict)
    description = _str(fmt, "description", "text.format.description")
    out: dict[str, Any] = {"type": "json_schema", "name": name, "schema": copy.deepcopy(schema),
                           "strict": bool(strict)}
    if description is not None:
        out["description"] = description
    if strict:
        _check_strict(schema, "text.format.schema", f"response format '{name}'")
    return {"format": out, "verbosity": verbosity}


def _check_schema(schema: Any, param: str) -> None:
    if not isinstance(schema, dict):
        raise _type_error(param, "an object (a JSON Schema)", schema)
    dialect = schema.get("$schema")
    if dialect is not None and not isinstance(dialect, str):
        raise _type_error(f"{param}.$schema", "a string (a JSON Schema dialect URI)", dialect)
    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise _invalid(param, f"Invalid schema in '{param}': {exc.message}.", code="invalid_schema") from None
    except RecursionError:  # json_body's depth limit should make this unreachable
        raise _invalid(param, f"Invalid schema in '{param}': it nests too deeply.", code="invalid_schema") from None


def _strict_problem(schema: Any, path: str) -> str | None:
    """Why `schema` cannot be used in strict mode (every object closed, every property required)."""
    if not isinstance(schema, dict):
        return None
    is_object = schema.get("type") == "object" or "properties" in schema
    if is_object:
        props = schema.get("properties")
        required = schema.get("required")  # a boolean in draft 3
        if schema.get("additionalProperties") is not False:
            return f"In context={path}, 'additionalProperties' is required to be supplied and to be false."
        missing = [k for k in (props if isinstance(props, dict) else {})
                   if not isinstance(required, list) or k not in required]
        if missing:
            return (f"In context={path}, 'required' is required to be supplied and to be an array including "
                    f"every key in properties. Missing '{missing[0]}'.")
    # Keywords of one dialect may be plain (any-valued) keys in another: check the shape first.
    for key in ("properties", "$defs", "definitions"):
        subs = schema.get(key)
        for name, sub in subs.items() if isinstance(subs, dict) else ():
            problem = _strict_problem(sub, f"{path}.{key}.{name}")
            if problem:
                return problem
    if isinstance(schema.get("items"), dict):
        problem = _strict_problem(schema["items"], f"{path}.items")
        if problem:
            return problem
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        subs = schema.get(key)
        for i, sub in enumerate(subs) if isinstance(subs, list) else ():
            problem = _strict_problem(sub, f"{path}.{key}[{i}]")
            if problem:
                return problem
    return None


def _check_strict(schema: Any, param: str, what: str) -> None:
    problem = _strict_problem(schema, "()")
    if problem:
        raise _invalid(param, f"Invalid schema for {what}: {problem}", code="invalid_function_parameters"
                       if "function" in what else "invalid_schema")


# Tool types that are not functions: web search, which the server runs itself through harmony's
# browser tool (Codex sends `web_search` when its model is named, gpt-oss knows it as `browser_search`),
# and `tool_search`, which finds deferred tools (this server defers none: never called).
PASSIVE_TOOL_TYPES = frozenset({
    "web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11",
    "browser_search", "tool_search",
})
# The web search tool types (the browser tool of harmony runs them against the search corpus).
WEB_SEARCH_TOOL_TYPES = frozenset({
    "web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11",
})
# The hosted tool choices (openai-python's ToolChoiceTypes) that force a web search.
WEB_SEARCH_CHOICE_TYPES = frozenset({"web_search_preview", "web_search_preview_2025_03_11"})
# Hosted tools of the official API that this server cannot run: refused by name.
HOSTED_TOOL_TYPES = frozenset({
    "file_search", "code_interpreter", "computer", "computer_use_preview", "image_generation", "mcp",
    "shell", "local_shell", "apply_patch", "programmatic_tool_calling",
})
# Optional keys of function and custom tools that change nothing here; accepted and echoed.
_TOOL_OPTIONAL_KEYS = ("defer_loading", "allowed_callers", "async", "output_schema")
GRAMMAR_SYNTAXES = ("lark", "regex")


def _parse_tools(value: Any, where: str = "tools") -> list[Tool]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _type_error(where, "an array", value)
    tools: list[Tool] = []
    seen: set[tuple[str | None, str]] = set()
    namespaces: set[str] = set()
    for i, raw in enumerate(value):
        param = f"{where}[{i}]"
        raw = _obj(raw, param)
        kind = raw.get("type")
        if kind is None:
            raise _missing(f"{param}.type")
        if not isinstance(kind, str):  # an object or array here is unhashable: checked before the set lookups
            raise _type_error(f"{param}.type", "a string", kind)
        if kind == "namespace":
            group = _parse_namespace(raw, param, seen)
            if group.name == "functions":  # harmony's namespace of the top-level tools
                raise _invalid(f"{param}.name", "The namespace name 'functions' is reserved; choose another.")
            if group.name in namespaces:
                raise _invalid(f"{param}.name", f"Duplicate namespace {group.name!r}: namespace names must be unique.")
            namespaces.add(group.name)
            tool: Tool = group
        elif kind in PASSIVE_TOOL_TYPES:
            # gpt-oss's name for web search is not a Responses tool type: echoed as `web_search`.
            tool = PassiveTool({**copy.deepcopy(raw), "type": "web_search" if kind == "browser_search" else kind})
        elif kind in ("function", "custom"):
            tool = _parse_member(raw, param, None, seen)
        elif kind in HOSTED_TOOL_TYPES:
            raise _invalid(f"{param}.type", f"Tool type {kind!r} is a hosted tool this server cannot run; "
                                            "send it as a 'function' or 'custom' tool instead.",
                           code="unsupported_value")
        else:
            raise _invalid(f"{param}.type", f"Invalid value for '{param}.type': {kind!r}. Supported values are: "
                                            "'function', 'custom', 'namespace', 'web_search' and 'tool_search'.")
        tools.append(tool)
    return tools


def _parse_namespace(raw: dict[str, Any], param: str, seen: set[tuple[str | None, str]]) -> NamespaceTool:
    _no_extra(raw, param, {"type", "name", "description", "tools"})
    name = _str(raw, "name", f"{param}.name", required=True)
    assert name is not None
    _check_name(name, f"{param}.name")
    description = _str(raw, "description", f"{param}.description", required=True)
    assert description is not None
    members = raw.get("tools")
    if members is None:
        raise _missing(f"{param}.tools")
    if not isinstance(members, list):
        raise _type_error(f"{param}.tools", "an array", members)
    if not members:
        raise _invalid(f"{param}.tools", f"'{param}.tools' must be a non-empty array of tools.", code="empty_array")
    parsed = []
    for j, member in enumerate(members):
        where = f"{param}.tools[{j}]"
        member = _obj(member, where)
        _required_enum(member, "type", f"{where}.type", ("function", "custom"))
        parsed.append(_parse_member(member, where, name, seen))
    return NamespaceTool(name=name, description=description, tools=tuple(parsed))


def _check_name(name: str, param: str) -> None:
    if not NAME_RE.match(name):
        raise _invalid(param, f"Invalid '{param}': string does not match pattern. Expected "
                              "a string that matches the pattern '^[a-zA-Z0-9_-]+$' (1–64 characters).")


def _optional_keys(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(raw[k]) for k in _TOOL_OPTIONAL_KEYS if raw.get(k) is not None}


def _parse_member(raw: dict[str, Any], param: str, namespace: str | None,
                  seen: set[tuple[str | None, str]]) -> CallableTool:
    """A function or custom tool, at the top level (`namespace` None) or inside a namespace."""
    kind = raw["type"]
    fields = {"type", "name", "description", *_TOOL_OPTIONAL_KEYS}
    _no_extra(raw, param, fields | ({"parameters", "strict"} if kind == "function" else {"format"}))
    name = _str(raw, "name", f"{param}.name", required=True)
    assert name is not None
    _check_name(name, f"{param}.name")
    if (namespace, name) in seen:
        where = f" in namespace {namespace!r}" if namespace else ""
        raise _invalid(f"{param}.name", f"Duplicate tool name {name!r}{where}: tool names must be unique.")
    seen.add((namespace, name))
    description = _str(raw, "description", f"{param}.description")
    if kind == "custom":
        return CustomTool(name=name, description=description, format=_parse_custom_format(raw, param),
                          namespace=namespace, extra=_optional_keys(raw))
    parameters = raw.get("parameters")
    if parameters is not None:
        _check_schema(parameters, f"{param}.parameters")
        if parameters.get("type", "object") != "object":
            raise _invalid(f"{param}.parameters", f"Invalid schema for function '{name}': schema must be "
                                                  "a JSON Schema of 'type: \"object\"'.",
                           code="invalid_function_parameters")
    strict_raw = raw.get("strict")
    if strict_raw is not None and not isinstance(strict_raw, bool):
        raise _type_error(f"{param}.strict", "a boolean", strict_raw)
    if strict_raw:
        _check_strict(parameters or {"type": "object", "properties": {}, "additionalProperties": False},
                      f"{param}.parameters", f"function '{name}'")
        strict = True
    elif strict_raw is None:
        # Functions are strict by default in the Responses API; a schema that cannot be strict
        # (optional or open properties) quietly stays non-strict.
        strict = parameters is not None and _strict_problem(parameters, "()") is None
    else:
        strict = False
    return FunctionTool(name=name, description=description, parameters=copy.deepcopy(parameters),
                        strict=strict, namespace=namespace, extra=_optional_keys(raw))


def _parse_custom_format(raw: dict[str, Any], param: str) -> dict[str, Any]:
    fmt = raw.get("format")
    if fmt is None:
        return {"type": "text"}
    where = f"{param}.format"
    fmt = _obj(fmt, where)
    kind = _required_enum(fmt, "type", f"{where}.type", ("text", "grammar"))
    if kind == "text":
        _no_extra(fmt, where, {"type"})
        return {"type": "text"}
    _no_extra(fmt, where, {"type", "syntax", "definition"})
    syntax = _required_enum(fmt, "syntax", f"{where}.syntax", GRAMMAR_SYNTAXES)
    definition = _str(fmt, "definition", f"{where}.definition", required=True, allow_empty=False)
    assert definition is not None
    problem = grammar_problem(syntax, definition)
    if problem:
        raise _invalid(f"{where}.definition", f"Invalid {syntax} grammar in '{where}.definition': {problem}",
                       code="invalid_grammar")
    return {"type": "grammar", "syntax": syntax, "definition": definition}


def grammar_problem(syntax: str, definition: str) -> str | None:
    """Why llguidance cannot compile a custom tool's grammar (one line), or None."""
    import llguidance

    grammar = (llguidance.LLMatcher.grammar_from_lark(definition) if syntax == "lark"
               else llguidance.LLMatcher.grammar_from_regex(definition))
    message = llguidance.LLMatcher.validate_grammar(grammar)  # "" when the grammar is valid
    if not message:
        return None
    return " ".join(message.split("\n", 1)[0].split())


def _parse_tool_choice(value: Any, tools: list[Tool]) -> Any:
    callable_tools = [m for t in tools for m in (t.tools if isinstance(t, NamespaceTool) else (t,))
                      if not isinstance(m, PassiveTool)]
    names = {(t.kind, t.name) for t in callable_tools}
    passive = {t.type for t in tools if isinstance(t, PassiveTool)}
    if value is None:
        return "auto"
    if isinstance(value, str):
        choice = _enum(value, "tool_choice", ("none", "auto", "required"))
        if choice == "required" and not callable_tools:
            raise _invalid("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is 'required' but "
                                          "no tools were provided." if not tools else
                           "Invalid value for 'tool_choice': 'required' needs a function or custom tool; "
                           "this server never calls the other tool types.")
        return choice
    value = _obj(value, "tool_choice")
    kind = value.get("type")
    if kind in ("function", "custom"):
        _no_extra(value, "tool_choice", {"type", "name"})
        name = _str(value, "name", "tool_choice.name", required=True)
        if (kind, name) not in names:
            raise _invalid("tool_choice", f"Tool choice '{name}' not found in 'tools' parameter.")
        return {"type": kind, "name": name}
    if kind == "allowed_tools":
        _no_extra(value, "tool_choice", {"type", "mode", "tools"})
        mode = _required_enum(value, "mode", "tool_choice.mode", ("auto", "required"))
        listed = value.get("tools")
        if listed is None:
            raise _missing("tool_choice.tools")
        if not isinstance(listed, list):
            raise _type_error("tool_choice.tools", "an array", listed)
        if not listed:
            raise _invalid("tool_choice.tools", "'tool_choice.tools' must be a non-empty array of tools.",
                           code="empty_array")
        out = []
        for i, entry in enumerate(listed):
            where = f"tool_choice.tools[{i}]"
            entry = _obj(entry, where)
            entry_kind = entry.get("type")
            if isinstance(entry_kind, str) and entry_kind in passive:
                out.append(copy.deepcopy(entry))  # allowed, and never called
                continue
            entry_kind = _required_enum(entry, "type", f"{where}.type", ("function", "custom"))
            _no_extra(entry, where, {"type", "name"})
            name = _str(entry, "name", f"{where}.name", required=True)
            if (entry_kind, name) not in names:
                raise _invalid(f"{where}.name", f"Tool '{name}' is not in the 'tools' parameter.")
            out.append({"type": entry_kind, "name": name})
        if mode == "required" and not any(entry["type"] in ("function", "custom") for entry in out):
            raise _invalid("tool_choice.mode", "Invalid value for 'tool_choice.mode': 'required' needs a "
                                               "function or custom tool among 'tool_choice.tools'; this server "
                                               "never calls the other tool types.")
        return {"type": "allowed_tools", "mode": mode, "tools": out}
    if kind in WEB_SEARCH_CHOICE_TYPES:
        _no_extra(value, "tool_choice", {"type"})
        if not passive & WEB_SEARCH_TOOL_TYPES:
            raise _invalid("tool_choice", f"Tool choice '{kind}' not found in 'tools' parameter.")
        return {"type": kind}
    if kind is None:
        raise _missing("tool_choice.type")
    raise _invalid("tool_choice.type", f"Invalid value for 'tool_choice.type': {kind!r}. Supported values "
                                       "are: 'function', 'custom', 'allowed_tools' and 'web_search_preview'.")


# ---------------------------------------------------------------------------- input items
def _split_additional_tools(value: list[Any]) -> tuple[list[tuple[int, Any]], list[tuple[str, dict[str, Any]]]]:
    """Take the `additional_tools` items out of `input` (the others keep their index, so errors
    name the item as sent). Codex (0.171) declares its tools this way, as a developer input item
    carrying tool definitions, instead of in `tools`; the live API accepts it, and the tools it
    lists are offered to the model like those in `tools`."""
    kept, found = [], []
    for i, raw in enumerate(value):
        if isinstance(raw, dict) and raw.get("type") == "additional_tools":
            found.append((f"input[{i}]", raw))
        else:
            kept.append((i, raw))
    return kept, found


def _take_compaction_trigger(items: list[dict[str, Any]], indices: list[int], count: int) -> bool:
    """Remove the `compaction_trigger` item from `items` (in place): whether there was one. It
    asks for this request to compact the conversation instead of answering, and must be the last
    input item (the live API's rule and message)."""
    found = False
    for position in reversed(range(len(items))):
        if items[position]["type"] != "compaction_trigger":
            continue
        index = indices[position]
        if index != count - 1:
            raise _invalid(f"input[{index}]", "The 'compaction_trigger' item must be the final input item.")
        del items[position]
        found = True
    return found


def _additional_tools(items: list[tuple[str, dict[str, Any]]], tools: list[Tool]) -> list[Tool]:
    out: list[Tool] = []
    for param, raw in items:
        _no_extra(raw, param, {"type", "id", "role", "tools"})
        if raw.get("role") is not None:
            _enum(raw["role"], f"{param}.role", ("developer", "system"))
        members = raw.get("tools")
        if not isinstance(members, list):
            raise _missing(f"{param}.tools") if members is None else _type_error(f"{param}.tools", "an array", members)
        # The namespace `functions` is harmony's own namespace of top-level tools: its members
        # are plain tools, which is what Codex means by it.
        flat: list[Any] = []
        for member in members:
            inner = member.get("tools") if isinstance(member, dict) else None
            if isinstance(inner, list) and member.get("type") == "namespace" and member.get("name") == "functions":
                flat += inner
            else:
                flat.append(member)
        out += _parse_tools(flat, f"{param}.tools")
    taken = {(getattr(t, "namespace", None), t.name) for t in tools if not isinstance(t, PassiveTool)}
    for tool in out:
        if not isinstance(tool, PassiveTool) and (getattr(tool, "namespace", None), tool.name) in taken:
            raise _invalid("input", f"Tool {tool.name!r} is declared twice ('tools' and an 'additional_tools' item).")
    return out


def parse_input(value: Any) -> list[dict[str, Any]]:
    """Normalize `input` into items with ids (a string is one user message)."""
    if isinstance(value, str):
        return [{"id": new_id("msg"), "type": "message", "role": "user",
                 "content": [{"type": "input_text", "text": value}]}]
    if not isinstance(value, list):
        raise _type_error("input", "a string or an array of input items", value)
    return [_parse_item(raw, f"input[{i}]") for i, raw in enumerate(value)]


def _parse_item(raw: Any, param: str) -> dict[str, Any]:
    raw = _obj(raw, param)
    kind = raw.get("type")
    if kind is None and ("role" in raw or "content" in raw):
        kind = "message"  # the short form {"role", "content"}
    elif kind is None and "id" in raw:
        kind = "item_reference"  # the SDK's ItemReference: `type` is optional
    if kind in _ITEM_TYPES:
        _item_id(raw, param)
        status = raw.get("status")
        if status is not None:
            _enum(status, f"{param}.status", ("in_progress", "completed", "incomplete"))
    if kind == "message":
        return _parse_message(raw, param)
    if kind in ("function_call", "custom_tool_call"):
        body = "arguments" if kind == "function_call" else "input"
        _no_extra(raw, param, {"type", "id", "call_id", "name", body, "status", "namespace", "caller"})
        call_id = _str(raw, "call_id", f"{param}.call_id", required=True, allow_empty=False)
        name = _str(raw, "name", f"{param}.name", required=True, allow_empty=False)
        text = _str(raw, body, f"{param}.{body}", required=True)
        call: dict[str, Any] = {"id": raw.get("id") or new_id("fc" if kind == "function_call" else "ctc"),
                                "type": kind, "status": "completed", body: text, "call_id": call_id, "name": name}
        namespace = _str(raw, "namespace", f"{param}.namespace", allow_empty=False)
        if namespace is not None:
            call["namespace"] = namespace
        return call
    if kind in ("function_call_output", "custom_tool_call_output"):
        return _parse_call_output(raw, param, kind)
    if kind == "reasoning":
        _no_extra(raw, param, {"type", "id", "summary", "content", "encrypted_content", "status"})
        out_summary = _text_parts(raw, "summary", param, "summary_text")
        out_content = _text_parts(raw, "content", param, "reasoning_text")
        item: dict[str, Any] = {"id": raw.get("id") or new_id("rs"), "type": "reasoning",
                                "summary": out_summary, "content": out_content}
        if raw.get("encrypted_content") is not None:
            item["encrypted_content"] = _str(raw, "encrypted_content", f"{param}.encrypted_content")
        return item
    if kind == "compaction":
        # Expanded by the service into the window it seals (the parser only checks the shape).
        _no_extra(raw, param, {"type", "id", "encrypted_content", "created_by"})
        blob = _str(raw, "encrypted_content", f"{param}.encrypted_content", required=True, allow_empty=False)
        return {"id": _str(raw, "id", f"{param}.id") or new_id("cmp"), "type": "compaction", "encrypted_content": blob}
    if kind == "compaction_trigger":
        # A request marker, not conversation: the service takes it out (it must be the last item).
        _no_extra(raw, param, {"type", "id"})
        _str(raw, "id", f"{param}.id")
        return {"type": "compaction_trigger"}
    if kind == "item_reference":
        # Resolved against the store by the service (which knows it); the parser only checks the shape.
        _no_extra(raw, param, {"type", "id"})
        ref = _str(raw, "id", f"{param}.id", required=True, allow_empty=False)
        return {"type": "item_reference", "id": ref}
    if kind is None:
        raise _missing(f"{param}.type")
    raise _invalid(f"{param}.type", f"Invalid value for '{param}.type': {kind!r}. Supported values are: "
                                    "'message', 'function_call', 'function_call_output', 'custom_tool_call', "
                                    "'custom_tool_call_output', 'reasoning', 'compaction', 'compaction_trigger' "
                                    "and 'item_reference'.")


_CALLERS = ("direct", "program")


def _parse_call_output(raw: dict[str, Any], param: str, kind: str) -> dict[str, Any]:
    """A function or custom tool call's output. A function output may omit `call_id` (openai-python
    3.54 declares it optional): it is then an output no call asked for, which `name` (and
    `namespace`) attribute to a tool; Codex sends its goal tool's state that way. `name`,
    `namespace` and `caller` are kept as sent, so the stored item reads back unchanged."""
    function = kind == "function_call_output"
    extra = {"name", "namespace"} if function else set()
    _no_extra(raw, param, {"type", "id", "call_id", "output", "status", "caller", *extra})
    call_id = _str(raw, "call_id", f"{param}.call_id", required=not function, allow_empty=False)
    name = _str(raw, "name", f"{param}.name", allow_empty=False) if function else None
    namespace = _str(raw, "namespace", f"{param}.namespace", allow_empty=False) if function else None
    if call_id is None and name is None:
        raise APIError(400, f"Missing required parameter: '{param}.call_id' (a function_call_output without "
                            "a call_id must name its tool in 'name').", param=f"{param}.call_id",
                       code="missing_required_parameter")
    output = raw.get("output")
    if output is None:
        raise _missing(f"{param}.output")
    if isinstance(output, list):
        output = [_parse_part(p, f"{param}.output[{j}]", USER_PART_TYPES) for j, p in enumerate(output)]
    elif not isinstance(output, str):
        raise _type_error(f"{param}.output", "a string or an array of content parts", output)
    item: dict[str, Any] = {"id": raw.get("id") or new_id("fco" if function else "ctco"), "type": kind}
    if call_id is not None:
        item["call_id"] = call_id
    item |= {"output": output, "status": "completed"}
    for key, value in (("name", name), ("namespace", namespace), ("caller", _parse_caller(raw, param))):
        if value is not None:
            item[key] = value
    return item


def _parse_caller(raw: dict[str, Any], param: str) -> dict[str, Any] | None:
    value = raw.get("caller")
    if value is None:
        return None
    where = f"{param}.caller"
    value = _obj(value, where)
    kind = _required_enum(value, "type", f"{where}.type", _CALLERS)
    if kind == "direct":
        _no_extra(value, where, {"type"})
        return {"type": "direct"}
    _no_extra(value, where, {"type", "caller_id"})
    caller_id = _str(value, "caller_id", f"{where}.caller_id", required=True, allow_empty=False)
    return {"type": "program", "caller_id": caller_id}


_ITEM_TYPES = ("message", "function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output",
               "reasoning")


def _text_parts(raw: dict[str, Any], key: str, param: str, part_type: str) -> list[dict[str, Any]]:
    """A reasoning item's `summary` or `content`: an optional array of `{type: part_type, text}`."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _type_error(f"{param}.{key}", "an array", value)
    parts = []
    for j, part in enumerate(value):
        where = f"{param}.{key}[{j}]"
        part = _obj(part, where)
        _required_enum(part, "type", f"{where}.type", (part_type,))
        _no_extra(part, where, {"type", "text"})
        parts.append({"type": part_type, "text": _str(part, "text", f"{where}.text", required=True)})
    return parts


def _item_id(raw: dict[str, Any], param: str) -> None:
    _str(raw, "id", f"{param}.id")


def _parse_message(raw: dict[str, Any], param: str) -> dict[str, Any]:
    _no_extra(raw, param, {"type", "id", "role", "content", "status", "phase"})
    role = raw.get("role")
    if role is None:
        raise _missing(f"{param}.role")
    role = _enum(role, f"{param}.role", ROLES)
    content = raw.get("content")
    if content is None:
        raise _missing(f"{param}.content")
    allowed = ASSISTANT_PART_TYPES if role == "assistant" else USER_PART_TYPES
    if isinstance(content, str):
        parts = [{"type": "output_text" if role == "assistant" else "input_text", "text": content}]
    elif isinstance(content, list):
        parts = [_parse_part(p, f"{param}.content[{j}]", allowed) for j, p in enumerate(content)]
    else:
        raise _type_error(f"{param}.content", "a string or an array of content parts", content)
    item: dict[str, Any] = {"id": raw.get("id") or new_id("msg"), "type": "message", "role": role,
                            "content": parts}
    phase = raw.get("phase")
    if phase is not None:
        if role != "assistant":
            raise _invalid(f"{param}.phase", "'phase' is only allowed on assistant messages.")
        item["phase"] = _enum(phase, f"{param}.phase", ("commentary", "final_answer"))
    if role == "assistant":
        item["status"] = "completed"
    return item


def _parse_part(raw: Any, param: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    raw = _obj(raw, param)
    kind = raw.get("type")
    if kind is None:
        raise _missing(f"{param}.type")
    _enum(kind, f"{param}.type", allowed)
    if kind in ("input_text", "output_text"):
        extra = {"type", "text"} | ({"annotations", "logprobs"} if kind == "output_text" else set())
        _no_extra(raw, param, extra)
        text = _str(raw, "text", f"{param}.text", required=True)
        part: dict[str, Any] = {"type": kind, "text": text}
        if kind == "output_text":
            part["annotations"] = []
        return part
    if kind == "refusal":
        _no_extra(raw, param, {"type", "refusal"})
        return {"type": "refusal", "refusal": _str(raw, "refusal", f"{param}.refusal", required=True)}
    if kind == "input_image":
        _no_extra(raw, param, {"type", "image_url", "file_id", "detail"})
        url = _str(raw, "image_url", f"{param}.image_url")
        file_id = _str(raw, "file_id", f"{param}.file_id")
        if url is None and file_id is None:
            raise _invalid(param, f"Invalid '{param}': an input_image needs 'image_url' or 'file_id'.",
                           code="missing_required_parameter")
        detail = raw.get("detail")
        detail = "auto" if detail is None else _enum(detail, f"{param}.detail", ("low", "high", "auto", "original"))
        return {"type": "input_image", "image_url": url, "file_id": file_id, "detail": detail}
    _no_extra(raw, param, {"type", "file_id", "file_data", "file_url", "filename", "detail"})
    fields = {k: _str(raw, k, f"{param}.{k}") for k in ("file_id", "file_data", "file_url", "filename")}
    if not (fields["file_id"] or fields["file_data"] or fields["file_url"]):
        raise _invalid(param, f"Invalid '{param}': an input_file needs 'file_id', 'file_data' or 'file_url'.",
                       code="missing_required_parameter")
    return {"type": "input_file", **{k: v for k, v in fields.items() if v is not None}}
