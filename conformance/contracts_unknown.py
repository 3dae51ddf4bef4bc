"""Fields the contracts do not know: the API adds fields between SDK releases.

The schemas are open (no `additionalProperties: false`: a client ignores what it does not know),
so validation never mentions a new field. `unknown_fields()` walks an instance along its schema
and names every object key no applicable schema declares, so the checker can report each new
field once, as a warning naming the contract version (forward compatibility, docs/checker.md).

Applicable schemas of an object: the schema itself, its `$ref` target, every `allOf` member,
the `then` (or `else`) of an `if` the instance matches, and the `anyOf` branches whose `type`
fits. An object none of whose applicable schemas lists `properties`, or one with
`additionalProperties` (a map such as `metadata`), is open: nothing in it is unknown.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:  # the walk only passes resolvers along; importing referencing costs ~18 ms
    from referencing._core import Resolver

__all__ = ["unknown_fields"]

# Arrays can be long (output items, logprobs): their first elements say enough about the shape.
MAX_ITEMS = 64
_JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return type(value) is int
    if name == "number":
        return type(value) in (int, float)
    t = _JSON_TYPES.get(name)
    return t is not None and type(value) is t


def _type_ok(schema: dict[str, Any], value: Any) -> bool:
    t = schema.get("type")
    if t is None:
        return True
    return any(_is_type(value, n) for n in ([t] if isinstance(t, str) else t))


def _matches_if(cond: Any, value: Any) -> bool:
    """The `if` conditions the generated schemas use: a JSON type, `required`, and per-property
    `const` / `enum` / `type`."""
    if not isinstance(cond, dict):
        return True
    if not _type_ok(cond, value):
        return False
    if isinstance(value, dict):
        for name in cond.get("required", ()):
            if name not in value:
                return False
        for name, sub in (cond.get("properties") or {}).items():
            if name not in value or not isinstance(sub, dict):
                continue
            v = value[name]
            if "const" in sub and v != sub["const"]:
                return False
            if "enum" in sub and v not in sub["enum"]:
                return False
            if not _type_ok(sub, v):
                return False
    return True


def _applicable(schema: Any, resolver: Resolver, value: Any, depth: int = 0) -> Iterator[tuple[dict[str, Any], Resolver]]:
    if not isinstance(schema, dict) or depth > 32:
        return
    yield schema, resolver
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target, target_resolver = _lookup(schema, ref, resolver)
        yield from _applicable(target, target_resolver, value, depth + 1)
    for sub in schema.get("allOf", ()):
        yield from _applicable(sub, resolver, value, depth + 1)
    if "if" in schema:
        branch = schema.get("then") if _matches_if(schema["if"], value) else schema.get("else")
        if branch is not None:
            yield from _applicable(branch, resolver, value, depth + 1)
    for sub in schema.get("anyOf", ()):
        if isinstance(sub, dict) and _type_ok(sub, value):
            yield from _applicable(sub, resolver, value, depth + 1)


# `$ref` lookups through `referencing` dominate the walk; a schema dict sits at one place in one
# document, so its `$ref` always resolves to the same target. Keyed by id(): the entry keeps the
# schema alive, so the id cannot be reused.
_LOOKUPS: dict[int, tuple[Any, Any, Resolver]] = {}


def _lookup(schema: dict[str, Any], ref: str, resolver: Resolver) -> tuple[Any, Resolver]:
    hit = _LOOKUPS.get(id(schema))
    if hit is None or hit[0] is not schema:
        resolved = resolver.lookup(ref)
        hit = (schema, resolved.contents, resolved.resolver)
        _LOOKUPS[id(schema)] = hit
    return hit[1], hit[2]


def unknown_fields(schema: Any, resolver: Resolver, value: Any) -> list[tuple[str, str]]:
    """(JSON pointer of the object, key) for every key of `value` (at any depth) that no
    applicable schema declares."""
    out: list[tuple[str, str]] = []
    root = _ROOTS.get(id(schema))
    if root is None or root[0] is not schema or root[1][0][1] is not resolver:
        root = _ROOTS[id(schema)] = (schema, [(schema, resolver)])
    _walk(root[1], value, "", out)
    return out


_ROOTS: dict[int, tuple[Any, list[tuple[Any, Resolver]]]] = {}


# The applicable schemas of a value depend on its JSON type and, through the `if`s of the
# generated schemas, on its `type` property only: memoised on those (an `if` that reads anything
# else is not memoised). Keyed by the schema's id(); the entry keeps the schema alive.
_EXPANSIONS: dict[tuple[int, type, Any], tuple[Any, list[tuple[dict[str, Any], Resolver]]]] = {}
_ABSENT = object()


def _reads_type_only(cond: Any) -> bool:
    if not isinstance(cond, dict):
        return True
    return set(cond.get("required", ())) <= {"type"} and set(cond.get("properties") or ()) <= {"type"}


def _expand(schema: Any, resolver: Resolver, value: Any) -> list[tuple[dict[str, Any], Resolver]]:
    tag: Any = None
    if isinstance(value, dict):
        tag = value.get("type", _ABSENT)
        if tag is not _ABSENT and type(tag) is not str:
            return list(_applicable(schema, resolver, value))
    key = (id(schema), type(value), tag)
    hit = _EXPANSIONS.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    parts = list(_applicable(schema, resolver, value))
    if all(_reads_type_only(s.get("if")) for s, _ in parts):
        _EXPANSIONS[key] = (schema, parts)
    return parts


def _walk(schemas: list[tuple[Any, Resolver]], value: Any, pointer: str, out: list[tuple[str, str]]) -> None:
    if isinstance(value, list):
        items = _items(schemas, value)
        if items:
            for i, element in enumerate(value[:MAX_ITEMS]):
                if isinstance(element, dict | list):
                    _walk(items, element, f"{pointer}/{i}", out)
        return
    if not isinstance(value, dict):
        return
    tag = value.get("type", _ABSENT)
    key = (id(schemas), tag, tuple(value)) if tag is _ABSENT or type(tag) is str else None
    node = _NODES.get(key) if key is not None else None
    if node is None or node[0] is not schemas:
        node = _node(schemas, value, key)
    for name, escaped, subs in node[1]:
        if subs is None:
            out.append((pointer, name))
            continue
        child = value[name]
        if isinstance(child, dict | list):
            _walk(subs, child, f"{pointer}/{escaped}", out)


# What the walk learns of one object, memoised on its schemas, its `type` and its key set (a
# stream repeats a few shapes thousands of times): per key in order, its schemas, or None when no
# schema declares it. The entry keeps the schemas alive so their id stays theirs; the table is
# bounded so memory stays flat on a stream of ever new shapes.
_Node: TypeAlias = "tuple[Any, tuple[tuple[str, str, list[tuple[Any, Resolver]] | None], ...]]"
_NODES: dict[tuple[int, Any, tuple[str, ...]], _Node] = {}
_LISTS: dict[int, tuple[Any, list[tuple[Any, Resolver]]]] = {}
MAX_SHAPES = 50_000


def _parts(schemas: list[tuple[Any, Resolver]], value: Any) -> tuple[list[tuple[dict[str, Any], Resolver]], bool]:
    """The applicable schemas of `value`, and whether they depend on its JSON type and `type`
    property alone (then anything derived from them may be memoised on those)."""
    parts = [p for s, r in schemas for p in _expand(s, r, value)]
    return parts, all(_reads_type_only(s.get("if")) for s, _ in parts)


def _items(schemas: list[tuple[Any, Resolver]], value: list[Any]) -> list[tuple[Any, Resolver]]:
    hit = _LISTS.get(id(schemas))
    if hit is not None and hit[0] is schemas:
        return hit[1]
    parts, fixed = _parts(schemas, value)
    items = [(s["items"], r) for s, r in parts if isinstance(s.get("items"), dict)]
    if fixed:
        if len(_LISTS) >= MAX_SHAPES:
            _LISTS.clear()
        _LISTS[id(schemas)] = (schemas, items)
    return items


def _node(schemas: list[tuple[Any, Resolver]], value: dict[str, Any], key: Any) -> _Node:
    parts, fixed = _parts(schemas, value)
    declared, open_object = _summary(parts, value)
    entries = tuple((k, _escape(k), declared.get(k)) for k in value if k in declared or not open_object)
    node = (schemas, entries)
    if key is not None and fixed:
        if len(_NODES) >= MAX_SHAPES:
            _NODES.clear()
        _NODES[key] = node
    return node


_Summary: TypeAlias = "tuple[dict[str, list[tuple[Any, Resolver]]], bool]"
_SUMMARIES: dict[tuple[tuple[int, ...], Any], tuple[list[Any], _Summary]] = {}


def _summary(parts: list[tuple[dict[str, Any], Resolver]], value: dict[str, Any]) -> _Summary:
    """The declared properties (name -> their schemas) of an object, and whether it is open.
    Memoised on the schemas and the object's `type` (all it depends on); the entry keeps the
    schemas alive so their ids stay theirs."""
    tag = value.get("type", _ABSENT)
    key = (tuple(id(s) for s, _ in parts), tag) if tag is _ABSENT or type(tag) is str else None
    if key is not None:
        hit = _SUMMARIES.get(key)
        if hit is not None:
            return hit[1]
    declared: dict[str, list[tuple[Any, Resolver]]] = {}
    open_object = not any("properties" in s for s, _ in parts) or _unknown_variant(parts, value)
    for s, r in parts:
        extra = s.get("additionalProperties")
        if (extra is not None and extra is not False) or "patternProperties" in s:
            open_object = True
        for name, sub in (s.get("properties") or {}).items():
            declared.setdefault(name, []).append((sub, r))
    if key is not None:
        _SUMMARIES[key] = ([s for s, _ in parts], (declared, open_object))
    return declared, open_object


def _unknown_variant(parts: list[tuple[Any, Resolver]], value: dict[str, Any]) -> bool:
    """A union member of a type the contracts do not know (reported as such): its fields are
    not judged one by one."""
    for s, _ in parts:
        t = (s.get("properties") or {}).get("type")
        if isinstance(t, dict) and "x-union" in t and isinstance(t.get("enum"), list):
            return value.get("type") not in t["enum"]
    return False


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")
