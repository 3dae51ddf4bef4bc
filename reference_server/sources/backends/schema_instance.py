"""Deterministic, small JSON instances of a JSON Schema (scripted tool arguments, JSON answers).

Covers what tool and response-format schemas use: type (and type lists), enum, const, required
and optional properties, nested objects and arrays, $ref into $defs/definitions, anyOf/oneOf/
allOf, string lengths and formats, numeric bounds and multipleOf. Callers validate the result.

Sizes are capped at MAX_SIZE (string length, array items, object properties): a schema asking
for `minLength: 2000000` gets a shorter, invalid instance instead of holding the server's memory
(and a string that long makes harmony's tokenizer overflow its stack). A model's answer that
long would be cut by the output budget anyway.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "duration": "P1D",
}


MAX_SIZE = 4096


class SchemaInstanceError(ValueError):
    pass


def _size(schema: dict[str, Any], key: str) -> int:
    """A `min*` keyword as a count, capped at MAX_SIZE."""
    return min(int(schema.get(key, 0)), MAX_SIZE)


def instance(schema: Any, *, text: str = "example", root: Any = None, _depth: int = 0) -> Any:
    """A value valid under `schema`; unconstrained strings get `text` (fitted to length limits)."""
    root = schema if root is None else root
    if _depth > 32:
        raise SchemaInstanceError("schema nests too deeply (recursive $ref?)")
    if schema is True or schema is None or schema == {}:
        return text
    if schema is False:
        raise SchemaInstanceError("schema 'false' has no instance")
    if not isinstance(schema, dict):
        raise SchemaInstanceError(f"not a schema: {schema!r}")
    rec = {"text": text, "root": root, "_depth": _depth + 1}

    if "$ref" in schema:
        return instance(_resolve(schema["$ref"], root), **rec)
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if "enum" in schema:
        if not schema["enum"]:
            raise SchemaInstanceError("empty enum")
        return copy.deepcopy(schema["enum"][0])
    if "allOf" in schema:
        merged = _merge_all_of(schema, root)
        return instance(merged, **rec)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            # Prefer a non-null branch: a null answer is valid but says nothing.
            branches = schema[key]
            for branch in branches:
                if not (isinstance(branch, dict) and branch.get("type") == "null"):
                    base = {k: v for k, v in schema.items() if k != key}
                    return instance({**base, **branch} if isinstance(branch, dict) else branch, **rec)
            return None

    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = _infer_type(schema)
    if kind == "object":
        return _object(schema, rec)
    if kind == "array":
        return _array(schema, rec)
    if kind == "string":
        return _string(schema, text)
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    raise SchemaInstanceError(f"unsupported type {kind!r}")


def _infer_type(schema: dict[str, Any]) -> str:
    if any(k in schema for k in ("properties", "required", "additionalProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems")):
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
        return "number"
    return "string"


def _resolve(ref: str, root: Any) -> Any:
    if not ref.startswith("#"):
        raise SchemaInstanceError(f"only local $refs are supported, got {ref!r}")
    node = root
    for token in ref[1:].split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit():
            node = node[int(token)]
        else:
            raise SchemaInstanceError(f"unresolvable $ref {ref!r}")
    return node


def _merge_all_of(schema: dict[str, Any], root: Any) -> dict[str, Any]:
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for sub in schema["allOf"]:
        if isinstance(sub, dict) and "$ref" in sub:
            sub = _resolve(sub["$ref"], root)
        if not isinstance(sub, dict):
            continue
        for key, value in sub.items():
            if key == "properties":
                merged.setdefault("properties", {}).update(value)
            elif key == "required":
                merged["required"] = sorted(set(merged.get("required", [])) | set(value))
            else:
                merged.setdefault(key, value)
    return merged


def _object(schema: dict[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    required = list(schema.get("required") or [])
    out: dict[str, Any] = {}
    for name in required:
        sub = props.get(name)
        if sub is None:
            extra = schema.get("additionalProperties")
            sub = extra if isinstance(extra, dict) else {}
        out[name] = instance(sub, **rec)
    minimum = _size(schema, "minProperties")
    for name, sub in props.items():
        if len(out) >= minimum:
            break
        if name not in out:
            out[name] = instance(sub, **rec)
    extra_index = 0
    while len(out) < minimum:
        extra = schema.get("additionalProperties")
        out[f"key{extra_index}"] = instance(extra if isinstance(extra, dict) else {}, **rec)
        extra_index += 1
    return out


def _array(schema: dict[str, Any], rec: dict[str, Any]) -> list[Any]:
    prefix = schema.get("prefixItems") or []
    items = schema.get("items", {})
    count = max(_size(schema, "minItems"), min(len(prefix), MAX_SIZE) if schema.get("minItems") else 0)
    out: list[Any] = []
    for i in range(count):
        sub = prefix[i] if i < len(prefix) else items
        value = instance(sub, **rec)
        if schema.get("uniqueItems"):
            value = _make_unique(value, out, i)
        out.append(value)
    return out


def _make_unique(value: Any, existing: list[Any], i: int) -> Any:
    if value not in existing:
        return value
    if isinstance(value, str):
        return f"{value}{i}"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + i
    raise SchemaInstanceError("cannot make array items unique")


def _string(schema: dict[str, Any], text: str) -> str:
    value = _FORMATS.get(schema.get("format", ""), text)
    pattern = schema.get("pattern")
    min_len = _size(schema, "minLength")
    max_len = schema.get("maxLength")
    if len(value) < min_len:
        value = value + "x" * (min_len - len(value))
    if max_len is not None and len(value) > max_len:
        value = value[: int(max_len)]
    if pattern is not None and not re.search(pattern, value):
        for candidate in _pattern_candidates(pattern, min_len, max_len):
            if re.search(pattern, candidate):
                return candidate
        raise SchemaInstanceError(f"cannot produce a string matching {pattern!r}")
    return value


def _pattern_candidates(pattern: str, min_len: int, max_len: Any) -> list[str]:
    # Literal-ish patterns ("^abc$") and simple classes cover what tool schemas use in practice.
    literal = re.sub(r"[\^$\\]", "", pattern)
    base = [literal, "a", "A", "0", "a1", "example", "2024-01-01", "abc123", "x" * max(min_len, 1)]
    sized = []
    for c in base:
        if len(c) < min_len:
            c = c + c[-1:] * (min_len - len(c)) if c else "a" * min_len
        if max_len is not None:
            c = c[: int(max_len)]
        sized.append(c)
    return sized


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    ex_lo = schema.get("exclusiveMinimum")
    ex_hi = schema.get("exclusiveMaximum")
    step = schema.get("multipleOf")
    # Draft 4 booleans for exclusive bounds.
    if ex_lo is True:
        ex_lo, lo = lo, None
    if ex_hi is True:
        ex_hi, hi = hi, None
    if ex_lo is False:
        ex_lo = None
    if ex_hi is False:
        ex_hi = None
    value: float = 1
    if lo is not None:
        value = max(value, lo) if hi is None or lo > 0 else lo
    if ex_lo is not None and value <= ex_lo:
        value = math.floor(ex_lo) + 1 if integer else ex_lo + (1 if hi is None else min(1, (hi - ex_lo) / 2))
    if hi is not None and value > hi:
        value = hi
    if ex_hi is not None and value >= ex_hi:
        value = math.ceil(ex_hi) - 1 if integer else ex_hi - 0.5
    if step:
        value = math.ceil(value / step) * step
        if (hi is not None and value > hi) or (ex_hi is not None and value >= ex_hi):
            value -= step
    if integer:
        return math.ceil(value) if not step else int(value)
    return int(value) if float(value).is_integer() else value
