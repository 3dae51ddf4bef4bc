"""Small builders of the JSON Schema (OpenAPI 3.1) that the OpenAPI document is written in, and
the schema of a JSON Schema value (tool parameters, response formats)."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

NULL: Schema = {"type": "null"}
STRING: Schema = {"type": "string"}
NON_EMPTY: Schema = {"type": "string", "minLength": 1}
BOOLEAN: Schema = {"type": "boolean"}
# A key the server accepts with any value and does not read (the SDK declares it; this server
# has no use for it).
IGNORED: Schema = {"description": "Accepted with any value; not read by this server."}
# `request.NAME_RE` as an ECMA-262 pattern (the OpenAPI/JSON Schema dialect).
NAME_PATTERN = "^[a-zA-Z0-9_-]{1,64}$"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema, description: str | None = None) -> Schema:
    """`null` is accepted everywhere and means "absent"."""
    out: Schema = {"anyOf": [schema, NULL]}
    if description:
        out["description"] = description
    return out


def enum(values: Any) -> Schema:
    return {"type": "string", "enum": list(values)}


def const(value: str) -> Schema:
    return {"type": "string", "const": value}


def closed(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    """An object with exactly these keys (others are refused as unknown parameters)."""
    out: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    out.update(extra)
    return out


def when(condition: Schema, then: Schema) -> Schema:
    return {"if": condition, "then": then}


def present(name: str, schema: Schema) -> Schema:
    return {"required": [name], "properties": {name: schema}}


# A tool's `parameters` and a `json_schema` format's `schema` may be any valid JSON Schema
# (2020-12 unless `$schema` names another dialect). The common keywords are typed here; others
# are allowed as JSON Schema allows them.
JSON_SCHEMA_REF = ref("JsonSchema")
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
