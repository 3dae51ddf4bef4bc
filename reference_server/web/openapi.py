"""The server's OpenAPI document: request bodies, query parameters, answers and error statuses of
every route, so the tools people point at an API (schemathesis, client generators) see what the
server really does.

FastAPI's generated document knows the paths; this replaces each operation's parameters,
request body and responses with the table below (the routes read raw bodies and query strings
themselves, so FastAPI cannot infer them). Every error is the OpenAI shape `{"error": {...}}`;
the server never answers FastAPI's 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ..core.compact import COMPACT_PARAMS
from .openapi_base import NULL, STRING, Schema, enum
from .openapi_request import components

ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["message", "type", "param", "code"],
        "properties": {"message": STRING, "type": STRING,
                       "param": {"anyOf": [STRING, NULL]}, "code": {"anyOf": [STRING, NULL]}},
    }},
}
RESPONSE: Schema = {
    "type": "object",
    "required": ["id", "object", "created_at", "status", "model", "output"],
    "properties": {
        "id": STRING,
        "object": {"const": "response"},
        "created_at": {"type": "number"},
        "status": enum(("completed", "failed", "in_progress", "cancelled", "queued", "incomplete")),
        "model": STRING,
        "output": {"type": "array", "items": {"type": "object"}},
        "error": {"anyOf": [{"type": "object"}, NULL]},
        "usage": {"anyOf": [{"type": "object"}, NULL]},
    },
}
MODEL: Schema = {
    "type": "object",
    "required": ["id", "object", "created", "owned_by"],
    "properties": {"id": STRING, "object": {"const": "model"}, "created": {"type": "integer"},
                   "owned_by": STRING},
}
SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "Response": RESPONSE,
    "Compaction": {
        "type": "object", "required": ["id", "object", "created_at", "output", "usage"],
        "properties": {"id": STRING, "object": {"const": "response.compaction"}, "created_at": {"type": "integer"},
                       "output": {"type": "array", "items": {"type": "object"}}, "usage": {"type": "object"}},
    },
    "ResponseDeleted": {
        "type": "object", "required": ["id", "object", "deleted"],
        "properties": {"id": STRING, "object": {"const": "response.deleted"}, "deleted": {"const": True}},
    },
    "InputItemList": {
        "type": "object", "required": ["object", "data", "first_id", "last_id", "has_more"],
        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {"type": "object"}},
                       "first_id": {"anyOf": [STRING, NULL]}, "last_id": {"anyOf": [STRING, NULL]},
                       "has_more": {"type": "boolean"}},
    },
    "Model": MODEL,
    "ModelList": {
        "type": "object", "required": ["object", "data"],
        "properties": {"object": {"const": "list"},
                       "data": {"type": "array", "items": {"$ref": "#/components/schemas/Model"}}},
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
}

ERROR_STATUSES: dict[int, str] = {
    400: "The request is invalid: `error.param` names the offending parameter.",
    401: "No or wrong API key (only when the server was started with one).",
    404: "No such response, model or previous response.",
    405: "The method is not allowed on this path (the `Allow` header lists those that are).",
    413: "The request body is over the server's size limit.",
    429: "Rate limited (proxy mode: the upstream's answer).",
    500: "The server failed while answering.",
    502: "Proxy mode: the upstream failed or could not be reached.",
    503: "The server cannot take the request now.",
}
# The error statuses every route can answer (401 only where a key is asked for: not /health).
_COMMON = (401, 405, 500, 503)
# For an event stream, OpenAPI's `schema` describes one event (as OpenAPI 3.2 reads it).
_STREAM = {"text/event-stream": {"schema": {
    "type": "object",
    "description": "One server-sent event. `data` is a JSON streaming event; the stream ends with "
                   "`response.completed`, `response.incomplete` or `response.failed` (then `data: [DONE]` "
                   "when the server was started with that option).",
    "required": ["data"],
    "properties": {"event": STRING, "data": {"type": "string", "contentMediaType": "application/json"},
                   "id": STRING, "retry": {"type": "integer", "minimum": 0}},
}}}


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _query(name: str, schema: Schema, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STRING, "description": description}


RESPONSE_ID = _path("response_id", "The id of a stored response.")
BOOLEAN_QUERY = enum(("true", "false", "1", "0"))

# (path, method) -> summary, parameters, request body, 200 content, the route's own error
# statuses, and whether it answers without an API key.
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("/v1/responses", "post"): {
        "summary": "Create a response (JSON, or server-sent events with `stream: true`)",
        "requestBody": {"required": True, "content": _json("CreateResponse")},
        "ok": {**_json("Response"), **_STREAM},
        "errors": (400, 404, 413, 429, 502),
    },
    ("/v1/responses/compact", "post"): {
        "summary": "Compact a conversation window into one `compaction` item",
        "requestBody": {"required": True, "content": _json("CompactResponse")},
        "ok": _json("Compaction"),
        "errors": (400, 404, 413),
    },
    ("/v1/responses/{response_id}", "get"): {
        "summary": "Retrieve a response (or stream a background one again with `stream=true`)",
        "parameters": [RESPONSE_ID,
                       _query("stream", BOOLEAN_QUERY, "Replay a background response's events."),
                       _query("starting_after", {"type": "integer", "minimum": -1, "maximum": 2**31},
                              "With `stream`: only events after this sequence number.")],
        "ok": {**_json("Response"), **_STREAM},
        "errors": (400, 404),
    },
    ("/v1/responses/{response_id}", "delete"): {
        "summary": "Delete a stored response",
        "parameters": [RESPONSE_ID],
        "ok": _json("ResponseDeleted"),
        "errors": (404,),
    },
    ("/v1/responses/{response_id}/input_items", "get"): {
        "summary": "List a response's input items",
        "parameters": [RESPONSE_ID,
                       _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size."),
                       _query("order", enum(("asc", "desc")), "Default: desc."),
                       _query("after", STRING, "An input item id: the page starts after it.")],
        "ok": _json("InputItemList"),
        "errors": (400, 404),
    },
    ("/v1/responses/{response_id}/cancel", "post"): {
        "summary": "Cancel a background response",
        "parameters": [RESPONSE_ID],
        "ok": _json("Response"),
        "errors": (400, 404),
    },
    ("/v1/models", "get"): {"summary": "List the models served", "ok": _json("ModelList"), "errors": ()},
    ("/v1/models/{model_id}", "get"): {
        "summary": "Retrieve a model",
        "parameters": [_path("model_id", "A model id (may contain '/').")],
        "ok": _json("Model"),
        "errors": (404,),
    },
    ("/health", "get"): {"summary": "Liveness and backend status (no API key needed)", "ok": _json("Health"),
                         "errors": (), "public": True},
}


def _responses(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": "OK", "content": spec["ok"]}}
    common = {s for s in _COMMON if not (s == 401 and spec.get("public"))}
    for status in sorted({*spec["errors"], *common}):
        out[str(status)] = {"description": ERROR_STATUSES[status], "content": _json("Error")}
    return out


def build_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                           description="A Responses API server. Every error answer is "
                                       "`{\"error\": {\"message\", \"type\", \"param\", \"code\"}}`.")
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            spec = OPERATIONS.get((path, method))
            if spec is None:
                raise KeyError(f"the OpenAPI table has no entry for {method.upper()} {path}")
            operation["summary"] = spec["summary"]
            operation["parameters"] = spec.get("parameters", [])
            if "requestBody" in spec:
                operation["requestBody"] = spec["requestBody"]
            operation["responses"] = _responses(spec)
            if not operation["parameters"]:
                del operation["parameters"]
            if spec.get("public"):
                operation["security"] = []
    document["components"] = {"schemas": {**SCHEMAS, **components(COMPACT_PARAMS)}}
    settings = getattr(app.state, "settings", None)
    if getattr(settings, "api_key", None):
        # Started with a key: every route but the public ones needs `Authorization: Bearer <key>`.
        document["components"]["securitySchemes"] = {"ApiKey": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"ApiKey": []}]
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve `build_openapi(app)` at /openapi.json (built once, on first request)."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
