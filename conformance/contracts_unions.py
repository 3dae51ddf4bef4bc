"""The generated unions' shape: an `allOf` with one `if type == C then X` branch per variant.

Every union of the contracts (output items, content parts, annotations, tools, inputs, ...) is
generated as a `type` enum plus

    "allOf": [{"if": {"properties": {"type": {"const": "message"}}, "required": ["type"]},
               "then": {"$ref": "items/message.json"}}, ...]

Both the closed variants (contracts_closed: a union is closed by its variants) and the
explaining validator (contracts_explain: only the branch an object's `type` names is descended
into) rely on recognising exactly this shape, here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["union_branches"]

# id(allOf list) -> (the list, kept alive so the id stays its own; {const: branch index} or None)
_BRANCHES: dict[int, tuple[Sequence[Any], dict[str, int] | None]] = {}


def _branch_of(sub: Any) -> str | None:
    """The constant `type` a generated union branch is for, or None for any other subschema."""
    if not isinstance(sub, Mapping) or set(sub) != {"if", "then"}:
        return None
    cond = sub["if"]
    if not isinstance(cond, Mapping) or set(cond) != {"properties", "required"} or cond["required"] != ["type"]:
        return None
    props = cond["properties"]
    if not isinstance(props, Mapping) or set(props) != {"type"}:
        return None
    tag = props["type"]
    if not isinstance(tag, Mapping) or set(tag) != {"const"} or not isinstance(tag["const"], str):
        return None
    return tag["const"]


def union_branches(all_of: Sequence[Any]) -> dict[str, int] | None:
    """{type constant: branch index} when every branch of `all_of` is a generated union branch
    and the constants are distinct; else None."""
    hit = _BRANCHES.get(id(all_of))
    if hit is not None and hit[0] is all_of:
        return hit[1]
    table: dict[str, int] | None = {}
    for index, sub in enumerate(all_of):
        tag = _branch_of(sub)
        if tag is None or table is None or tag in table:
            table = None
            break
        table[tag] = index
    _BRANCHES[id(all_of)] = (all_of, table or None)
    return table or None
