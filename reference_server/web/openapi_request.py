"""JSON Schema of the `POST /v1/responses` body this server accepts, for its OpenAPI document.

Built from `request.py`'s and `request_options.py`'s own constants (parameter sets, enums,
limits, the refused parameters and why), so the document follows the validator; tests check
that every parameter, tool type and input item type the validator accepts is described here and
that nothing else is. Input items are in `openapi_items.py`, tools in `openapi_tools.py`. Rules
that JSON Schema cannot state (a `tool_choice` naming a tool in `tools`, unique tool names, a
`function_call_output` answering an earlier `function_call`, strict schemas closing every object,
`json_object` needing the word "json" in the input) are written in `description`s.
"""

from __future__ import annotations

from ..protocol import request as rq
from ..protocol import request_options as ro
from .openapi_base import (
    BOOLEAN,
    IGNORED,
    JSON_SCHEMA,
    JSON_SCHEMA_REF,
    NAME_PATTERN,
    NON_EMPTY,
    NULL,
    STRING,
    Schema,
    closed,
    const,
    enum,
    nullable,
    present,
    when,
)
from .openapi_items import INPUT, INPUT_ITEM
from .openapi_tools import CUSTOM_TOOL, FUNCTION_TOOL, HAS_CALLABLE_TOOL, TOOL, TOOL_CHOICE

TEXT_FORMAT = {"anyOf": [
    closed({"type": enum(("text", "json_object"))}, ("type",),
           description="`json_object` needs the word \"json\" in `instructions` or the input."),
    closed({"type": const("json_schema"), "name": {"type": "string", "pattern": NAME_PATTERN},
            "schema": JSON_SCHEMA_REF, "strict": nullable(BOOLEAN), "description": nullable(STRING)},
           ("type", "name", "schema")),
]}
PENALTY = nullable({"type": "number", "minimum": ro.PENALTY_RANGE[0], "maximum": ro.PENALTY_RANGE[1]})

PARAM_SCHEMAS: dict[str, Schema] = {
    "model": NON_EMPTY,
    "input": nullable(INPUT, "Required unless `previous_response_id` is set."),
    "instructions": nullable(STRING),
    "previous_response_id": nullable(NON_EMPTY),
    "tools": nullable({"type": "array", "items": {"$ref": "#/components/schemas/Tool"}}),
    "tool_choice": TOOL_CHOICE,
    "parallel_tool_calls": nullable(BOOLEAN),
    "reasoning": nullable(closed({
        "effort": nullable(enum(rq.REASONING_EFFORTS)), "summary": nullable(enum(rq.SUMMARY_MODES)),
        "generate_summary": nullable(enum(rq.SUMMARY_MODES)), "mode": IGNORED,
        "context": nullable(enum(rq.REASONING_CONTEXTS), "Which earlier turns' reasoning the model reads: "
                            "`all_turns` keeps it; `current_turn` and `auto` (echoed as `current_turn`) drop the "
                            "reasoning of turns that ended in a final answer, as harmony does."),
    })),
    "text": nullable(closed({"format": nullable(TEXT_FORMAT),
                             "verbosity": nullable(enum(("low", "medium", "high")))})),
    "max_output_tokens": nullable({"type": "integer", "minimum": rq.MIN_MAX_OUTPUT_TOKENS}),
    "max_tool_calls": nullable({"type": "integer", "minimum": 1}),
    "temperature": nullable({"type": "number", "minimum": 0, "maximum": 2}),
    "top_p": nullable({"type": "number", "minimum": 0, "maximum": 1}),
    "top_logprobs": nullable({"type": "integer", "minimum": 0, "maximum": 20}),
    "presence_penalty": PENALTY,
    "frequency_penalty": PENALTY,
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
    "client_metadata": nullable({"type": "object", "additionalProperties": STRING},
                                "Describes the client (Codex CLI sends it); accepted, not echoed."),
    "access_programs": nullable(closed({"cyber": nullable(enum(("standard", "daybreak_blue", "daybreak_red")))}),
                                "Echoed as sent."),
    "image": nullable(closed({"context_compression": nullable(enum(("auto", "enabled", "disabled")))}),
                      "Echoed with `context_compression: disabled`: images reach the model as text."),
    "background_options": nullable(closed({
        "completion_window": nullable(enum(("soonest", "2h", "8h")),
                                      "\"2h\" and \"8h\" need `background: true` and no streaming."),
        "continuation_id": nullable(STRING)})),
    "prompt_cache_options": nullable(closed({
        "comparison_response_id": nullable(STRING),
        "mode": nullable(enum(("implicit", "explicit"))),
        "prewarm": nullable(BOOLEAN, "`true`: no output; the response completes with `output: []` and its id "
                                     "continues by `previous_response_id` (WebSocket `generate: false` over HTTP)."),
        "ttl": nullable(enum(("30m", "12h")))})),
    "context_management": nullable(
        {"type": "array", "maxItems": 1, "items": closed({
            "type": const("compaction"),
            "compact_threshold": nullable({"type": "integer", "minimum": 1},
                                          "Prompt tokens at which the window is compacted; absent or null: "
                                          "80% of the context window.")}, required=("type",))},
        "Automatic compaction: when the prompt reaches the threshold, the response's output starts with a "
        "`compaction` item (streamed with `response.compaction.compacting`) standing for the whole window "
        "before it, and the model continues from that window."),
}
# A parameter request.py accepts but nobody described yet: documented, with no constraint.
UNDESCRIBED: Schema = {"description": "Accepted; not described yet."}

_WINDOW_NOT_SOONEST = present("background_options", {"type": "object", "required": ["completion_window"],
                                                     "properties": {"completion_window": enum(("2h", "8h"))}})
# Rules across fields that JSON Schema can state. (That an `allowed_tools` choice lists only tools
# among `tools` is a description: one more clause here makes schemathesis give up on the schema.)
CROSS_FIELD: list[Schema] = [
    {"anyOf": [present("input", {"not": NULL}), present("previous_response_id", STRING)]},
    when(present("stream_options", {"type": "object"}), present("stream", {"const": True})),
    when(present("background", {"const": True}), {"properties": {"store": {"not": {"const": False}}}}),
    when(present("tool_choice", {"anyOf": [{"const": "required"}, {"type": "object", "required": ["type"],
                                                                   "properties": {"type": enum(("function", "custom"))}}]}),
         present("tools", HAS_CALLABLE_TOOL)),
    when(_WINDOW_NOT_SOONEST, {"required": ["background"], "properties": {"background": {"const": True},
                                                                          "stream": {"not": {"const": True}}}}),
]


def create_request_schema() -> Schema:
    """The create-request body: every supported parameter, and the official ones this server
    refuses unless null."""
    properties = {name: PARAM_SCHEMAS.get(name, UNDESCRIBED) for name in sorted(rq.SUPPORTED_PARAMS)}
    for name, reason in sorted(ro.UNSUPPORTED_PARAMS.items()):
        properties[name] = {**NULL, "description": f"Not supported by this server ({reason}): refused unless null."}
    return {
        "type": "object",
        "title": "CreateResponse",
        "properties": properties,
        "required": ["model"],
        "additionalProperties": False,
        "allOf": CROSS_FIELD,
    }


def compact_request_schema(params: frozenset[str]) -> Schema:
    """The `POST /v1/responses/compact` body: the create parameters a window is made of."""
    properties = {name: PARAM_SCHEMAS.get(name, UNDESCRIBED) for name in sorted(params)}
    properties["model"] = {"type": "string", "minLength": 1}
    return {"type": "object", "title": "CompactResponse", "properties": properties, "required": ["model"],
            "additionalProperties": False,
            # Something to compact: an input that is not null or an empty list, or a previous response.
            "allOf": [{"anyOf": [present("input", {"not": {"anyOf": [NULL, {"type": "array", "maxItems": 0}]}}),
                                 present("previous_response_id", STRING)]}]}


def components(compact_params: frozenset[str] = frozenset()) -> dict[str, Schema]:
    return {"CreateResponse": create_request_schema(), "CompactResponse": compact_request_schema(compact_params), "JsonSchema": JSON_SCHEMA, "InputItem": INPUT_ITEM,
            "Tool": TOOL, "FunctionTool": FUNCTION_TOOL, "CustomTool": CUSTOM_TOOL}
