"""JSON Schema of the create body's `tools` and `tool_choice`, from `request.py`'s constants
(the passive tool types, grammar syntaxes, the optional keys echoed as sent).

Not stated in JSON Schema (and so written in `description`s): unique tool names (per namespace),
unique namespace names, a `tool_choice` naming a listed tool, a grammar that compiles."""

from __future__ import annotations

from ..protocol import request as rq
from .openapi_base import (
    BOOLEAN,
    IGNORED,
    NAME_PATTERN,
    NON_EMPTY,
    OBJECT_JSON_SCHEMA,
    STRING,
    Schema,
    closed,
    const,
    enum,
    nullable,
    ref,
    when,
)

CALLABLE_TOOL_TYPES = ("function", "custom")
NAME: Schema = {"type": "string", "pattern": NAME_PATTERN, "description": "Unique among the tools (of a namespace)."}
_OPTIONAL = {key: IGNORED | {"description": "Accepted and echoed as sent."} for key in rq._TOOL_OPTIONAL_KEYS}

FUNCTION_TOOL = closed(
    {"type": const("function"), "name": NAME, "description": nullable(STRING),
     "parameters": nullable(OBJECT_JSON_SCHEMA),
     "strict": nullable(BOOLEAN, "Default: true when `parameters` can be strict."), **_OPTIONAL},
    ("type", "name"),
)
CUSTOM_TOOL = closed(
    {"type": const("custom"), "name": NAME, "description": nullable(STRING),
     "format": nullable({"anyOf": [
         closed({"type": const("text")}, ("type",)),
         closed({"type": const("grammar"), "syntax": enum(rq.GRAMMAR_SYNTAXES),
                 "definition": {**NON_EMPTY, "description": "A grammar in `syntax` that compiles."}},
                ("type", "syntax", "definition")),
     ]}, "Default: free-form text."),
     **_OPTIONAL},
    ("type", "name"),
)
NAMESPACE_TOOL = closed(
    {"type": const("namespace"),
     "name": {**NAME, "not": {"const": "functions"}, "description": "Unique among namespaces; "
                                                                   "'functions' is reserved."},
     "description": STRING,
     "tools": {"type": "array", "minItems": 1, "items": {"anyOf": [ref("FunctionTool"), ref("CustomTool")]}}},
    ("type", "name", "description", "tools"),
)
PASSIVE_TOOL: Schema = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": enum(sorted(rq.PASSIVE_TOOL_TYPES))},
    "description": "Accepted and echoed as sent (`browser_search` as `web_search`); the model never calls it.",
}
TOOL: Schema = {"anyOf": [ref("FunctionTool"), ref("CustomTool"), NAMESPACE_TOOL, PASSIVE_TOOL]}

_CALLABLE_REF = closed({"type": enum(CALLABLE_TOOL_TYPES), "name": STRING}, ("type", "name"))
_PASSIVE_REF: Schema = {**PASSIVE_TOOL, "description": "A passive tool type among `tools`."}
TOOL_CHOICE = nullable({"anyOf": [
    enum(("none", "auto", "required")),
    {**_CALLABLE_REF, "description": "A function or custom tool among `tools` (namespace members included)."},
    closed({"type": const("allowed_tools"), "mode": enum(("auto", "required")),
            "tools": {"type": "array", "minItems": 1, "items": {"anyOf": [_CALLABLE_REF, _PASSIVE_REF]}}},
           ("type", "mode", "tools"), description="Every entry must be among `tools`.",
           allOf=[when({"properties": {"mode": {"const": "required"}}},
                       {"properties": {"tools": {"contains": {
                           "type": "object", "required": ["type"],
                           "properties": {"type": enum(CALLABLE_TOOL_TYPES)}}}}})]),
]})
# What `tool_choice` "required" (or a function/custom choice) needs among `tools`.
HAS_CALLABLE_TOOL: Schema = {"type": "array", "contains": {
    "type": "object", "required": ["type"], "properties": {"type": enum((*CALLABLE_TOOL_TYPES, "namespace"))}}}
