"""Decoding of JSON request bodies: strict enough that everything downstream can re-encode what
it was given, with every refusal a 400 in the OpenAI error shape.

Refused: bodies that are empty, not UTF-8, not JSON, JSON with NaN/Infinity or a lone UTF-16
surrogate (neither survives the JSON encoders of harmony, SQLite storage or the response), and
JSON nested deeper than MAX_DEPTH (recursive code further on — JSON Schema checks, harmony's
parser, which stops at 128 levels — would otherwise fail with a 500).
"""

from __future__ import annotations

import codecs
from typing import Any

import orjson

from .errors import APIError

# Containers inside containers. A tool's JSON Schema sits 3 levels down, so this still leaves
# room for ~30 levels of nested object properties in a schema.
MAX_DEPTH = 64

_NOT_JSON = ("We could not parse the JSON body of your request. The API expects a JSON payload, but what "
             "was sent was not valid JSON")


def decode_json_body(raw: bytes) -> Any:
    """The JSON value of a request body (any JSON type: the caller checks it is an object)."""
    if raw.startswith(codecs.BOM_UTF8):  # Windows tools add one; it is not part of the JSON
        raw = raw[len(codecs.BOM_UTF8):]
    if not raw.strip():
        raise APIError(400, "The request body is empty; the API expects a JSON object.", code="invalid_json")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise APIError(400, f"{_NOT_JSON} ({exc}).", code="invalid_json") from None
    too_deep = _too_deep(value, MAX_DEPTH)
    if too_deep is not None:
        raise APIError(400, f"Invalid request body: JSON nested more than {MAX_DEPTH} levels deep at "
                            f"'{too_deep or '(root)'}'.", param=too_deep or None, code="invalid_json")
    return value


def _too_deep(value: Any, limit: int) -> str | None:
    """The param path ("tools[0].parameters…") of the first container nested deeper than
    `limit`, or None. Iterative: the point is not to recurse on hostile input. Depths only on the
    first pass (a 10 MB body of small items takes ~0.1 s); the path is rebuilt when needed."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return _path_to_depth(value, limit + 1)
        for child in node.values() if type(node) is dict else node:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return None


def _path_to_depth(value: Any, depth: int) -> str:
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, level, path = stack.pop()
        if level >= depth:
            return path
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(child, dict | list):
                child_path = f"{path}[{key}]" if isinstance(node, list) else (f"{path}.{key}" if path else str(key))
                stack.append((child, level + 1, child_path))
    return ""
