"""Self-contained copies of the contracts: every `$ref` between schema files inlined.

For tools that cannot follow references across files (hypothesis-jsonschema, code generators,
other languages' validators): `bundled("response")` is one plain JSON Schema document.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urljoin

from conformance import contracts

_DROP_ON_INLINE = ("$id", "$schema")


def bundled(schema_name: str) -> dict[str, Any]:
    """The named schema (see contracts.schema_names()) with every $ref replaced by its target."""
    c = contracts._contracts()
    uri = c.id_for(schema_name)
    if uri is None:
        raise ValueError(f"no schema named {schema_name!r}")
    doc = c.documents[uri]
    out = _inline(doc, uri, c.documents, ())
    out["$schema"] = doc["$schema"]
    return out


def _inline(node: Any, base: str, docs: dict[str, Any], stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(x, base, docs, stack) for x in node]
    if not isinstance(node, dict):
        return node
    if "$id" in node:
        base = urljoin(base, node["$id"])
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP_ON_INLINE:
            continue
        if key == "$ref":
            continue
        if key in ("properties", "$defs", "patternProperties"):
            out[key] = {k: _inline(v, base, docs, stack) for k, v in value.items()}
        elif key in ("enum", "const", "required", "examples", "default"):
            out[key] = copy.deepcopy(value)
        else:
            out[key] = _inline(value, base, docs, stack)
    if "$ref" in node:
        target = urljoin(base, node["$ref"])
        if "#" in target and not target.endswith("#"):
            raise ValueError(f"fragment $refs are not used by the contracts: {target}")
        target = target.rstrip("#")
        if target in stack:
            raise ValueError(f"recursive $ref cannot be inlined: {' -> '.join((*stack, target))}")
        inlined = _inline(docs[target], target, docs, (*stack, target))
        if not out:
            return inlined
        out.setdefault("allOf", []).append(inlined)
    return out
