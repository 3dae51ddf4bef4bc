"""Compile a JSON Schema (the subset our contracts use) into a plain-Python `is_valid` predicate.

The hot path of `conformance.contracts`: every event of a 100k-event stream goes through one of
these first; jsonschema only runs (to explain the errors) when the predicate says "invalid".

Theory of operation: each subschema becomes a closure `(instance) -> bool` that is EXACT for the
keywords it knows (same answer as jsonschema's Draft 2020-12 validator with format assertion
off). A schema using any other assertion keyword compiles to None and the caller falls back to
jsonschema alone, so the predicate can never accept what jsonschema rejects. `$ref`s are
resolved through a callback and memoised per absolute URI (recursive schemas work: the memo
holds a trampoline until the target is compiled). tests/conformance/test_contracts_fast.py
checks the agreement with hypothesis.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

Predicate = Callable[[Any], bool]
Resolver = Callable[[str], Any]  # absolute URI (no fragment) -> schema document

# Keywords that never assert anything (format assertion is off in our validators).
_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated",
    "readOnly", "writeOnly", "format", "contentEncoding", "contentMediaType", "$defs",
})
_SUPPORTED = frozenset({
    "type", "const", "enum", "properties", "required", "additionalProperties", "items",
    "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems",
    "minProperties", "maxProperties", "propertyNames", "pattern",
})


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not implement exactly."""


def _is_integer(x: Any) -> bool:
    # jsonschema counts 1.0 as an integer (Draft 4 onwards); bool is never a number in JSON.
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


_TYPE_CHECKS: dict[str, Predicate] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON Schema defines it (1 == 1.0, but True != 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


class FastCompiler:
    """Compiles schemas that live in one registry; share one instance so `$ref`s are memoised."""

    def __init__(self, resolve: Resolver) -> None:
        self._resolve = resolve
        self._memo: dict[str, Predicate] = {}

    def compile(self, schema: Any, base_uri: str) -> Predicate | None:
        try:
            return self._compile(schema, base_uri)
        except Unsupported:
            return None

    # -- internals ---------------------------------------------------------------------------
    def _ref(self, ref: str, base_uri: str) -> Predicate:
        uri = urljoin(base_uri, ref)
        if "#" in uri:
            doc_uri, fragment = uri.split("#", 1)
            if fragment:
                raise Unsupported(f"$ref with a fragment: {ref}")
            uri = doc_uri
        if uri not in self._memo:
            cell: list[Predicate] = []
            self._memo[uri] = lambda x: cell[0](x)  # trampoline for recursive refs
            try:
                compiled = self._compile(self._resolve(uri), uri)
            except Unsupported:
                del self._memo[uri]
                raise
            cell.append(compiled)
            self._memo[uri] = compiled
        return self._memo[uri]

    def _compile(self, schema: Any, base: str) -> Predicate:
        if schema is True or schema == {}:
            return lambda x: True
        if schema is False:
            return lambda x: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema is not an object: {schema!r}")
        if "$id" in schema:
            base = urljoin(base, schema["$id"])
        checks: list[Predicate] = []
        for key in schema:
            if key in _ANNOTATIONS or key.startswith("x-") or key in ("then", "else"):
                continue
            if key not in _SUPPORTED:
                raise Unsupported(key)
        if "type" in schema:
            checks.append(self._type(schema["type"]))
        if "const" in schema:
            checks.append(_const(schema["const"]))
        if "enum" in schema:
            checks.append(_enum(schema["enum"]))
        obj = self._object(schema, base)
        if obj is not None:
            checks.append(obj)
        if "items" in schema:
            item = self._compile(schema["items"], base)
            checks.append(lambda x: not isinstance(x, list) or all(item(i) for i in x))
        checks.extend(_bounds(schema))
        if "$ref" in schema:
            checks.append(self._ref(schema["$ref"], base))
        for sub in schema.get("allOf", ()):
            checks.append(self._compile(sub, base))
        if "anyOf" in schema:
            anys = [self._compile(s, base) for s in schema["anyOf"]]
            checks.append(lambda x: any(p(x) for p in anys))
        if "oneOf" in schema:
            ones = [self._compile(s, base) for s in schema["oneOf"]]
            checks.append(lambda x: sum(1 for p in ones if p(x)) == 1)
        if "not" in schema:
            neg = self._compile(schema["not"], base)
            checks.append(lambda x: not neg(x))
        if "if" in schema:
            checks.append(self._if(schema, base))
        return _all(checks)

    def _type(self, types: Any) -> Predicate:
        if isinstance(types, str):
            return _TYPE_CHECKS[types]
        preds = [_TYPE_CHECKS[t] for t in types]
        return lambda x: any(p(x) for p in preds)

    def _object(self, schema: dict[str, Any], base: str) -> Predicate | None:
        props = [(k, self._compile(v, base)) for k, v in schema.get("properties", {}).items()]
        required = tuple(schema.get("required", ()))
        additional = schema.get("additionalProperties", True)
        extra = None if additional is True else self._compile(additional, base)
        known = frozenset(schema.get("properties", {}))
        names = self._compile(schema["propertyNames"], base) if "propertyNames" in schema else None
        lo, hi = schema.get("minProperties"), schema.get("maxProperties")
        if not props and not required and extra is None and names is None and lo is None and hi is None:
            return None

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for name in required:
                if name not in x:
                    return False
            for name, pred in props:
                if name in x and not pred(x[name]):
                    return False
            if extra is not None:
                for name, value in x.items():
                    if name not in known and not extra(value):
                        return False
            if names is not None and not all(names(k) for k in x):
                return False
            if lo is not None and len(x) < lo:
                return False
            return not (hi is not None and len(x) > hi)

        return check

    def _if(self, schema: dict[str, Any], base: str) -> Predicate:
        cond = self._compile(schema["if"], base)
        then = self._compile(schema["then"], base) if "then" in schema else None
        other = self._compile(schema["else"], base) if "else" in schema else None

        def check(x: Any) -> bool:
            if cond(x):
                return then is None or then(x)
            return other is None or other(x)

        return check


def _all(checks: list[Predicate]) -> Predicate:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda x: a(x) and b(x)
    return lambda x: all(c(x) for c in checks)


def _const(value: Any) -> Predicate:
    if isinstance(value, str):
        return lambda x: isinstance(x, str) and x == value
    return lambda x: json_equal(x, value)


def _enum(values: list[Any]) -> Predicate:
    strings = frozenset(v for v in values if isinstance(v, str))
    others = [v for v in values if not isinstance(v, str)]
    if not others:
        return lambda x: isinstance(x, str) and x in strings
    return lambda x: (isinstance(x, str) and x in strings) or any(json_equal(x, v) for v in others)


def _bounds(schema: dict[str, Any]) -> list[Predicate]:
    out: list[Predicate] = []
    if "minimum" in schema:
        m = schema["minimum"]
        out.append(lambda x: not _is_number(x) or x >= m)
    if "maximum" in schema:
        mx = schema["maximum"]
        out.append(lambda x: not _is_number(x) or x <= mx)
    if "exclusiveMinimum" in schema:
        em = schema["exclusiveMinimum"]
        out.append(lambda x: not _is_number(x) or x > em)
    if "exclusiveMaximum" in schema:
        ex = schema["exclusiveMaximum"]
        out.append(lambda x: not _is_number(x) or x < ex)
    if "minLength" in schema:
        ln = schema["minLength"]
        out.append(lambda x: not isinstance(x, str) or len(x) >= ln)
    if "maxLength" in schema:
        lx = schema["maxLength"]
        out.append(lambda x: not isinstance(x, str) or len(x) <= lx)
    if "minItems" in schema:
        ni = schema["minItems"]
        out.append(lambda x: not isinstance(x, list) or len(x) >= ni)
    if "maxItems" in schema:
        xi = schema["maxItems"]
        out.append(lambda x: not isinstance(x, list) or len(x) <= xi)
    if "pattern" in schema:
        rx = re.compile(schema["pattern"])
        out.append(lambda x: not isinstance(x, str) or rx.search(x) is not None)
    return out
