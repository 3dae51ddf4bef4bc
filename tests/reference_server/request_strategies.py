"""Hypothesis strategies for create-response bodies: a valid skeleton (every field family the
server accepts), and the same skeleton with exactly one place corrupted (a wrong type at any
nesting level, a null, a removed key, an unknown key, deep nesting, odd unicode).

`corrupted_bodies()` draws `(body, path)`: `path` is the corrupted location as a tuple of keys
and indexes, so a test can check that the error's `param` points at (or near) it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]

# Text that survives every JSON encoder (no lone surrogates: those are a byte-level test).
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
NAMES = st.sampled_from(["get_weather", "lookup", "add_2", "f-x"])
SCHEMAS = st.sampled_from([
    {"type": "object", "properties": {}},
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
     "additionalProperties": False},
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1},
                                      "tags": {"type": "array", "items": {"type": "string"}}}},
])


@st.composite
def content_parts(draw: st.DrawFn, role: str) -> list[dict[str, Any]]:
    if role == "assistant":
        kinds = st.sampled_from(["output_text", "refusal"])
    else:
        kinds = st.sampled_from(["input_text", "input_text", "input_image", "input_file"])
    parts = []
    for kind in draw(st.lists(kinds, min_size=1, max_size=3)):
        if kind in ("input_text", "output_text"):
            parts.append({"type": kind, "text": draw(TEXT)})
        elif kind == "refusal":
            parts.append({"type": "refusal", "refusal": draw(TEXT)})
        elif kind == "input_image":
            parts.append({"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=",
                          "detail": draw(st.sampled_from(["low", "high", "auto"]))})
        else:
            parts.append({"type": "input_file", "filename": "a.txt", "file_data": "data:text/plain;base64,aGk="})
    return parts


@st.composite
def input_items(draw: st.DrawFn) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for kind in draw(st.lists(st.sampled_from(["user", "assistant", "developer", "call", "reasoning"]),
                              min_size=1, max_size=4)):
        if kind == "call":
            call_id = f"call_{len(items)}"
            items.append({"type": "function_call", "call_id": call_id, "name": draw(NAMES), "arguments": "{}"})
            items.append({"type": "function_call_output", "call_id": call_id, "output": draw(TEXT)})
        elif kind == "reasoning":
            items.append({"type": "reasoning", "summary": [{"type": "summary_text", "text": draw(TEXT)}],
                          "content": [{"type": "reasoning_text", "text": draw(TEXT)}]})
        else:
            content: Any = draw(TEXT) if draw(st.booleans()) else draw(content_parts(kind))
            item: dict[str, Any] = {"role": kind, "content": content}
            if draw(st.booleans()):
                item["type"] = "message"
            if kind == "assistant" and draw(st.booleans()):
                item["phase"] = draw(st.sampled_from(["commentary", "final_answer"]))
            items.append(item)
    return items


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A body the server accepts (200)."""
    body: dict[str, Any] = {"model": "m", "input": draw(st.one_of(TEXT, input_items()))}
    optional = draw(st.sets(st.sampled_from([
        "instructions", "tools", "reasoning", "text", "metadata", "scalars", "tool_choice"]), max_size=7))
    if "instructions" in optional:
        body["instructions"] = draw(TEXT)
    if "tools" in optional or "tool_choice" in optional:
        names = draw(st.lists(NAMES, min_size=1, max_size=2, unique=True))
        body["tools"] = [{"type": "function", "name": n, "description": draw(TEXT), "parameters": draw(SCHEMAS)}
                         for n in names]
        body["tool_choice"] = draw(st.sampled_from([
            "auto", "none", "required", {"type": "function", "name": names[0]},
            {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": names[-1]}]}]))
    if "reasoning" in optional:
        body["reasoning"] = {"effort": draw(st.sampled_from(["low", "medium", "high"])),
                             "summary": draw(st.sampled_from(["auto", "concise", "detailed"]))}
    if "text" in optional:
        body["instructions"] = "Answer in json."
        body["text"] = {"verbosity": "low", "format": draw(st.sampled_from([
            {"type": "text"}, {"type": "json_object"},
            {"type": "json_schema", "name": "answer", "strict": True, "schema": {
                "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                "additionalProperties": False}}]))}
    if "metadata" in optional:
        body["metadata"] = draw(st.dictionaries(st.text("abcxyzé_-", min_size=1, max_size=8), TEXT, max_size=3))
    if "scalars" in optional:
        body.update({"temperature": 0.5, "top_p": 0.9, "max_output_tokens": 64, "parallel_tool_calls": False,
                     "store": draw(st.booleans()), "user": "u", "truncation": "disabled",
                     "include": ["reasoning.encrypted_content"], "top_logprobs": 0})
    return body


def locations(value: Any, path: Path = ()) -> list[Path]:
    """Every location in a JSON value (the root excluded), parents before children."""
    out: list[Path] = []
    if isinstance(value, dict):
        for key, child in value.items():
            out.append((*path, key))
            out += locations(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.append((*path, index))
            out += locations(child, (*path, index))
    return out


def _nested(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = {"a": value} if i % 2 else [value]
    return value


# Replacement values: every JSON type, nulls, odd strings, and deep nesting.
WRONG_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2**40), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "x", "é€😀", "\u0000", "a" * 600, "function", "message", "user", "json_schema"]),
    st.lists(st.none() | st.integers() | TEXT, max_size=2),
    st.dictionaries(st.sampled_from(["type", "a", "name", "text"]), st.none() | st.integers() | TEXT, max_size=2),
    st.sampled_from([[], {}, [[[]]], {"": {}}]),
    st.integers(30, 200).map(_nested),
)


def _set(body: Any, path: Path, value: Any) -> None:
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value


def _delete(body: Any, path: Path) -> None:
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]


@st.composite
def corrupted_bodies(draw: st.DrawFn) -> tuple[dict[str, Any], Path]:
    """A valid body with one location replaced, removed, or given an unknown sibling key."""
    body = json.loads(json.dumps(draw(valid_bodies())))  # no shared sub-objects: one place changes
    path = draw(st.sampled_from(locations(body)))
    action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "unknown-key"]))
    if action == "delete":
        _delete(body, path)
    elif action == "unknown-key":
        parent_path = path[:-1]
        parent = body
        for key in parent_path:
            parent = parent[key]
        if isinstance(parent, dict):
            parent["zz_unknown"] = draw(WRONG_VALUES)
            path = (*parent_path, "zz_unknown")
        else:
            _set(body, path, draw(WRONG_VALUES))
    else:
        _set(body, path, draw(WRONG_VALUES))
    return body, path


def parse_param(param: str) -> Path:
    """"input[0].content[1].type" -> ("input", 0, "content", 1, "type")."""
    out: list[str | int] = []
    for piece in param.split("."):
        name, _, rest = piece.partition("[")
        if name:
            out.append(name)
        for index in filter(None, rest.replace("]", "").split("[")) if rest else []:
            out.append(int(index))
    return tuple(out)


def resolves(body: Any, path: Path, *, allow_missing_leaf: bool) -> bool:
    """Whether `path` names a location of `body` (its last step may be absent when allowed)."""
    node = body
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        in_dict = isinstance(node, dict) and isinstance(key, str) and key in node
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if in_dict or in_list:
            node = node[key]
        else:
            return last and allow_missing_leaf and isinstance(node, dict | list)
    return True
