"""JSON Schema of the `POST /v1/responses` body this server accepts, for its OpenAPI document.

Built from `request.py`'s own constants (parameter sets, enums, limits), so the document follows
the validator; a test checks that every parameter the validator accepts is described here.
Rules that JSON Schema cannot state (a `tool_choice` naming a tool in `tools`, unique tool names,
a `function_call_output` answering an earlier `function_call`, strict schemas closing every
object, `json_object` needing the word "json" in the input) are written in `description`s.
"""

from __future__ import annotations

from typing import Any

from . import request as rq

Schema = dict[str, Any]

NULL: Schema = {"type": "null"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
ITEM_STATUSES = ("in_progress", "completed", "incomplete")
# `request.NAME_RE` as an ECMA-262 pattern (the OpenAPI/JSON Schema dialect).
NAME_PATTERN = "^[a-zA-Z0-9_-]{1,64}$"


def nullable(schema: Schema, description: str | None = None) -> Schema:
    """`null` is accepted everywhere and means "absent"."""
    out: Schema = {"anyOf": [schema, NULL]}
    if description:
        out["description"] = description
    return out


def enum(values: Any) -> Schema:
    return {"type": "string", "enum": list(values)}


def closed(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    """An object with exactly these keys (others are refused as unknown parameters)."""
    out: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    out.update(extra)
    return out


def const(value: str) -> Schema:
    return {"type": "string", "const": value}


# ---------------------------------------------------------------------------- JSON Schema values
# A tool's `parameters` and a `json_schema` format's `schema` may be any valid JSON Schema
# (2020-12 unless `$schema` names another dialect). The common keywords are typed here; others
# are allowed as JSON Schema allows them.
JSON_SCHEMA_REF = {"$ref": "#/components/schemas/JsonSchema"}
JSON_SCHEMA: Schema = {
    "type": "object",
    "description": "A JSON Schema (2020-12 unless `$schema` names another dialect).",
    "properties": {
        "type": enum(("object", "array", "string", "number", "integer", "boolean", "null")),
        "description": STRING,
        "title": STRING,
        "properties": {"type": "object", "additionalProperties": JSON_SCHEMA_REF},
        "items": JSON_SCHEMA_REF,
        "required": {"type": "array", "items": STRING, "uniqueItems": True},
        "additionalProperties": BOOLEAN,
        "enum": {"type": "array"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "minLength": {"type": "integer", "minimum": 0},
        "maxLength": {"type": "integer", "minimum": 0},
    },
}
OBJECT_JSON_SCHEMA: Schema = {
    "allOf": [JSON_SCHEMA_REF, {"properties": {"type": const("object")}}],
    "description": "A JSON Schema of an object (`type` absent or \"object\"). With `strict`, every "
                   "object in it must set `additionalProperties: false` and list every property in "
                   "`required`.",
}


# ---------------------------------------------------------------------------- content parts
def _part(kind: str) -> Schema:
    if kind in ("input_text", "output_text"):
        props: dict[str, Schema] = {"type": const(kind), "text": STRING}
        if kind == "output_text":
            props |= {"annotations": {}, "logprobs": {}}  # accepted, not read
        return closed(props, ("type", "text"))
    if kind == "refusal":
        return closed({"type": const(kind), "refusal": STRING}, ("type", "refusal"))
    if kind == "input_image":
        return closed(
            {"type": const(kind), "image_url": nullable(STRING), "file_id": nullable(STRING),
             "detail": nullable(enum(("low", "high", "auto", "original")))},
            ("type",),
            anyOf=[{"required": ["image_url"], "properties": {"image_url": STRING}},
                   {"required": ["file_id"], "properties": {"file_id": STRING}}],
        )
    if kind == "input_file":
        sources = ("file_id", "file_data", "file_url")
        return closed(
            {"type": const(kind), **{k: nullable(STRING) for k in (*sources, "filename")}},
            ("type",),
            anyOf=[{"required": [k], "properties": {k: {"type": "string", "minLength": 1}}} for k in sources],
        )
    raise ValueError(f"no schema for content part type {kind!r}")


def _parts(kinds: tuple[str, ...]) -> Schema:
    return {"type": "array", "items": {"anyOf": [_part(k) for k in kinds]}}


def _text_parts(kind: str) -> Schema:
    return nullable({"type": "array", "items": closed({"type": const(kind), "text": STRING}, ("type", "text"))})


# ---------------------------------------------------------------------------- input items
def _item_common() -> dict[str, Schema]:
    return {"id": nullable(STRING), "status": nullable(enum(ITEM_STATUSES))}


def _message(roles: tuple[str, ...], parts: tuple[str, ...], *, phase: bool) -> Schema:
    props = {
        "type": const("message"),
        **_item_common(),
        "role": enum(roles),
        "content": {"anyOf": [STRING, _parts(parts)]},
    }
    if phase:
        props["phase"] = nullable(enum(("commentary", "final_answer")))
    else:
        props["phase"] = NULL
    return closed(props, ("role", "content"))


INPUT_ITEM: Schema = {
    "anyOf": [
        _message(tuple(r for r in rq.ROLES if r != "assistant"), rq.USER_PART_TYPES, phase=False),
        _message(("assistant",), rq.ASSISTANT_PART_TYPES, phase=True),
        closed({"type": const("function_call"), **_item_common(),
                "call_id": {"type": "string", "minLength": 1}, "name": {"type": "string", "minLength": 1},
                "arguments": STRING}, ("type", "call_id", "name", "arguments")),
        closed({"type": const("function_call_output"), **_item_common(),
                "call_id": {"type": "string", "minLength": 1,
                            "description": "The `call_id` of a `function_call` earlier in the conversation."},
                "output": {"anyOf": [STRING, _parts(rq.USER_PART_TYPES)]}},
               ("type", "call_id", "output")),
        closed({"type": const("reasoning"), **_item_common(), "summary": _text_parts("summary_text"),
                "content": _text_parts("reasoning_text"), "encrypted_content": nullable(STRING)},
               ("type",)),
    ],
}


# ---------------------------------------------------------------------------- parameters
FUNCTION_TOOL = closed(
    {"type": const("function"), "name": {"type": "string", "pattern": NAME_PATTERN,
                                         "description": "Unique among `tools`."},
     "description": nullable(STRING), "parameters": nullable(OBJECT_JSON_SCHEMA),
     "strict": nullable(BOOLEAN, "Default: true when `parameters` can be strict.")},
    ("type", "name"),
)
TOOL_REF = closed({"type": const("function"), "name": STRING}, ("type", "name"))
TOOL_CHOICE = nullable({"anyOf": [
    enum(("none", "auto", "required")),
    {**TOOL_REF, "description": "`name` must be one of `tools`."},
    closed({"type": const("allowed_tools"), "mode": enum(("auto", "required")),
            "tools": {"type": "array", "minItems": 1, "items": TOOL_REF}},
           ("type", "mode", "tools"), description="Every `name` must be one of `tools`."),
]})
TEXT_FORMAT = {"anyOf": [
    closed({"type": enum(("text", "json_object"))}, ("type",),
           description="`json_object` needs the word \"json\" in `instructions` or the input."),
    closed({"type": const("json_schema"), "name": {"type": "string", "pattern": NAME_PATTERN},
            "schema": JSON_SCHEMA_REF, "strict": nullable(BOOLEAN), "description": nullable(STRING)},
           ("type", "name", "schema")),
]}
INPUT = {"anyOf": [
    {"type": "string", "description": "One user message."},
    {"type": "array", "items": INPUT_ITEM},
]}

PARAM_SCHEMAS: dict[str, Schema] = {
    "model": {"type": "string", "minLength": 1},
    "input": nullable(INPUT, "Required unless `previous_response_id` is set."),
    "instructions": nullable(STRING),
    "previous_response_id": nullable({"type": "string", "minLength": 1}),
    "tools": nullable({"type": "array", "items": FUNCTION_TOOL}),
    "tool_choice": TOOL_CHOICE,
    "parallel_tool_calls": nullable(BOOLEAN),
    "reasoning": nullable(closed({
        "effort": nullable(enum(rq.REASONING_EFFORTS)), "summary": nullable(enum(rq.SUMMARY_MODES)),
        "generate_summary": nullable(enum(rq.SUMMARY_MODES)), "context": {}, "mode": {},
    })),
    "text": nullable(closed({"format": nullable(TEXT_FORMAT),
                             "verbosity": nullable(enum(("low", "medium", "high")))})),
    "max_output_tokens": nullable({"type": "integer", "minimum": rq.MIN_MAX_OUTPUT_TOKENS}),
    "max_tool_calls": nullable({"type": "integer", "minimum": 1}),
    "temperature": nullable({"type": "number", "minimum": 0, "maximum": 2}),
    "top_p": nullable({"type": "number", "minimum": 0, "maximum": 1}),
    "top_logprobs": nullable({"type": "integer", "minimum": 0, "maximum": 20}),
    "presence_penalty": nullable({"type": "number", "minimum": -2, "maximum": 2}),
    "frequency_penalty": nullable({"type": "number", "minimum": -2, "maximum": 2}),
    "metadata": nullable({
        "type": "object", "maxProperties": rq.MAX_METADATA_PAIRS,
        "propertyNames": {"maxLength": rq.MAX_METADATA_KEY},
        "additionalProperties": {"type": "string", "maxLength": rq.MAX_METADATA_VALUE},
    }),
    "store": nullable(BOOLEAN),
    "background": nullable(BOOLEAN, "Requires `store` (not false)."),
    "stream": nullable(BOOLEAN),
    "stream_options": nullable(closed({"include_obfuscation": nullable(BOOLEAN)}),
                               "Only with `stream: true`."),
    "user": nullable({"type": "string", "maxLength": 256}),
    "prompt_cache_key": nullable({"type": "string", "maxLength": 1024}),
    "prompt_cache_retention": nullable(enum(("in_memory", "24h"))),
    "safety_identifier": nullable({"type": "string", "maxLength": 64}),
    "service_tier": nullable(enum(rq.SERVICE_TIERS)),
    "truncation": nullable(enum(("auto", "disabled"))),
    "include": nullable({"type": "array", "items": enum(sorted(rq.KNOWN_INCLUDES))}),
}
# A parameter request.py accepts but nobody described yet: documented, with no constraint.
UNDESCRIBED: Schema = {"description": "Accepted; not described yet."}


def _when(condition: Schema, then: Schema) -> Schema:
    return {"if": condition, "then": then}


def _present(name: str, schema: Schema) -> Schema:
    return {"required": [name], "properties": {name: schema}}


# Rules across fields that JSON Schema can state.
CROSS_FIELD: list[Schema] = [
    {"anyOf": [_present("input", {"not": NULL}), _present("previous_response_id", STRING)]},
    _when(_present("stream_options", {"type": "object"}), _present("stream", {"const": True})),
    _when(_present("background", {"const": True}), {"properties": {"store": {"not": {"const": False}}}}),
    _when(_present("tool_choice", {"anyOf": [{"const": "required"}, {"type": "object"}]}),
          _present("tools", {"type": "array", "minItems": 1})),
]


def create_request_schema() -> Schema:
    """The create-request body: every supported parameter, and the official ones this server
    refuses unless null."""
    properties = {name: PARAM_SCHEMAS.get(name, UNDESCRIBED) for name in sorted(rq.SUPPORTED_PARAMS)}
    for name in sorted(rq.UNSUPPORTED_PARAMS):
        properties[name] = {**NULL, "description": "Not supported by this server: refused unless null."}
    return {
        "type": "object",
        "title": "CreateResponse",
        "properties": properties,
        "required": ["model"],
        "additionalProperties": False,
        "allOf": CROSS_FIELD,
    }


def components() -> dict[str, Schema]:
    return {"CreateResponse": create_request_schema(), "JsonSchema": JSON_SCHEMA}
