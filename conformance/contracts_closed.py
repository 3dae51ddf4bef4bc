"""Closed variants of the contracts: one compiled call that says "valid, and no unknown field".

Most events a checker sees are valid and carry only declared fields (or the live API's known
extras, `LIVE_FIELDS`). Proving that took two passes: the compiled predicate of the open schema,
then the Python walk of `contracts_unknown` over every object for undeclared keys. A closed
variant of each schema does both in one jsonschema-rs call: every object schema that declares
`properties` (and says nothing itself about other keys) gains `unevaluatedProperties: false`,
with the live fields declared as `true`.

Soundness is one-way, and that is all the checker relies on: closed passes => the open schema
passes (only constraints were added) and the walk finds no unknown field (wherever the walk
would report a key, the object has an applicable schema with `properties` that does not
declare it, and draft 2020-12's `unevaluatedProperties` counts the keys evaluated by every
passing in-place applicator: `$ref`, `allOf`/`anyOf`, `if`/`then`/`else`). It may be stricter
than the two (an object whose properties are declared across sibling `allOf` branches, items
beyond the walk's limit): a closed failure only means "ask the open schema and the walk", which
then decide as before.

Only places where stricter means stricter overall are closed (the root, `properties`, `items`,
`additionalProperties`, `allOf`/`anyOf` branches, `then`/`else`, `$defs`): a stricter `if`,
`not`, `oneOf` branch, `contains` or `propertyNames` could change which branch applies, invert
a test or turn two matches into one, so those keep the open schemas (their `$ref`s are pointed
back at the open documents).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin

from conformance.contracts_unions import union_branches

__all__ = ["closed_documents", "closed_uri", "refers_to"]

_SCHEMA_MAPS = ("properties", "$defs", "patternProperties", "dependentSchemas")
_SCHEMA_ONE = ("items", "then", "else", "additionalProperties", "unevaluatedItems")
# Not `oneOf` (a closed branch may stop matching and leave exactly one) nor `contains` (with
# `maxContains`, fewer matches may pass): stricter there is not stricter overall, so they stay open.
_SCHEMA_LISTS = ("allOf", "anyOf", "prefixItems")
_VALUES = frozenset({"enum", "const", "default", "examples", "required"})  # data, not schemas
_APPLICATORS = frozenset({"allOf", "anyOf", "oneOf", "if", "then", "else", "$ref", "not", "dependentSchemas"})
_OPENERS = frozenset({"additionalProperties", "patternProperties", "unevaluatedProperties"})


def closed_uri(uri: str, base: str) -> str:
    """Where the closed variant of the document `uri` (under `base`) lives."""
    return base.rstrip("/") + "-closed/" + uri[len(base):]


def closed_documents(documents: Mapping[str, dict[str, Any]], base: str,
                     live_fields: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The closed variant of every document, keyed by its `closed_uri`. Relative `$ref`s keep
    resolving among the closed variants; those in untouched places resolve to the originals."""
    live = tuple(live_fields)
    return {closed_uri(uri, base): _close(doc, uri, base, live) for uri, doc in documents.items()}


def _close(schema: Any, doc_uri: str, base: str, live: tuple[str, ...]) -> Any:
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _close(sub, doc_uri, base, live) for name, sub in value.items()}
        elif key in _SCHEMA_ONE:
            out[key] = _close(value, doc_uri, base, live)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_close(sub, doc_uri, base, live) for sub in value]
        elif key in _VALUES:
            out[key] = value
        elif key == "$id" and isinstance(value, str):
            out[key] = closed_uri(value, base)
        elif key == "$ref" and isinstance(value, str):
            target = _join(doc_uri, value)
            out[key] = closed_uri(target, base) if target.startswith(base) else target
        elif isinstance(value, dict | list):
            out[key] = _to_open(value, doc_uri)  # if / not / propertyNames / ...: the open schemas
        else:
            out[key] = value
    props = out.get("properties")
    if isinstance(props, dict) and not _OPENERS & out.keys():
        if _APPLICATORS & out.keys():
            if _union_root(out):
                return out  # each variant (then: $ref) closes itself
            closer = "unevaluatedProperties"  # sees the keys its applicators evaluated
        else:
            closer = "additionalProperties"  # the same here, and much cheaper to check
        out["properties"] = {**dict.fromkeys((f for f in live if f not in props), True), **props}
        out[closer] = False
    return out


def _union_root(schema: dict[str, Any]) -> bool:
    """A dispatch on `type` (the generated unions, contracts_unions): `type` among known
    variants, and one `if type == X then $ref` branch per variant, so some closed variant
    applies to any instance the open schema accepts."""
    tag = schema["properties"].get("type")
    branches = schema.get("allOf")
    if set(schema["properties"]) != {"type"} or not isinstance(tag, dict) or "x-union" not in tag:
        return False
    if not isinstance(branches, list) or _APPLICATORS & (schema.keys() - {"allOf"}):
        return False
    table = union_branches(branches)
    if table is None or any(set(branch["then"]) != {"$ref"} for branch in branches):
        return False
    known = set(tag.get("enum") or ())
    return bool(known) and known <= table.keys()


def _to_open(value: Any, doc_uri: str) -> Any:
    """`value` with every `$ref` made absolute against the open document it came from."""
    if isinstance(value, list):
        return [_to_open(v, doc_uri) for v in value]
    if not isinstance(value, dict):
        return value
    return {k: _join(doc_uri, v) if k == "$ref" and isinstance(v, str) else _to_open(v, doc_uri)
            for k, v in value.items()}


@functools.lru_cache(maxsize=4096)
def _join(doc_uri: str, ref: str) -> str:
    return urljoin(doc_uri, ref)  # memoised: the same few refs recur thousands of times


def refers_to(documents: Mapping[str, Any], base: str) -> bool:
    """Whether any `$ref` in `documents` points under `base` (the open schemas)."""

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(base):
                return True
            return any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False

    return any(walk(doc) for doc in documents.values())
