"""JSON Schema of the create body's `input` items and their content parts, from `request.py`'s
constants (item types, roles, part types). A test probes the validator with every item type the
SDK knows and every key described here, so the two cannot drift apart unnoticed.

Not stated in JSON Schema (and so written in `description`s): an output item answering a call
earlier in the conversation, an `item_reference` naming a stored item, `encrypted_content`
made by this server."""

from __future__ import annotations

from ..protocol import request as rq
from .openapi_base import IGNORED, NON_EMPTY, NULL, STRING, Schema, closed, const, enum, nullable

ITEM_STATUSES = ("in_progress", "completed", "incomplete")


# ---------------------------------------------------------------------------- content parts
def _part(kind: str) -> Schema:
    if kind in ("input_text", "output_text"):
        props: dict[str, Schema] = {"type": const(kind), "text": STRING}
        if kind == "output_text":
            props |= {"annotations": IGNORED, "logprobs": IGNORED}
        return closed(props, ("type", "text"))
    if kind == "refusal":
        return closed({"type": const(kind), "refusal": STRING}, ("type", "refusal"))
    if kind == "input_image":
        return closed(
            {"type": const(kind), "image_url": nullable(STRING), "file_id": nullable(STRING),
             "detail": nullable(enum(("low", "high", "auto", "original")))},
            ("type",),
            anyOf=[{"required": ["image_url"], "properties": {"image_url": STRING}},
                   {"required": ["file_id"], "properties": {"file_id": STRING}}],
        )
    if kind == "input_file":
        sources = ("file_id", "file_data", "file_url")
        return closed(
            {"type": const(kind), **{k: nullable(STRING) for k in (*sources, "filename")}, "detail": IGNORED},
            ("type",),
            anyOf=[{"required": [k], "properties": {k: NON_EMPTY}} for k in sources],
        )
    raise ValueError(f"no schema for content part type {kind!r}")


def parts(kinds: tuple[str, ...]) -> Schema:
    return {"type": "array", "items": {"anyOf": [_part(k) for k in kinds]}}


def _text_parts(kind: str) -> Schema:
    return nullable({"type": "array", "items": closed({"type": const(kind), "text": STRING}, ("type", "text"))})


# ---------------------------------------------------------------------------- input items
def _common(kind: str, *, optional_type: bool = False) -> dict[str, Schema]:
    """`type`, and the `id` and `status` every item type but `item_reference` may carry."""
    kind_schema = nullable(const(kind)) if optional_type else const(kind)
    return {"type": kind_schema, "id": nullable(STRING), "status": nullable(enum(ITEM_STATUSES))}


def _message(roles: tuple[str, ...], part_types: tuple[str, ...], *, assistant: bool) -> Schema:
    props = {
        **_common("message", optional_type=True),
        "role": enum(roles),
        "content": {"anyOf": [STRING, parts(part_types)]},
        "phase": nullable(enum(("commentary", "final_answer"))) if assistant else NULL,
    }
    return closed(props, ("role", "content"), description="`type` may be left out (the short form).")


def _call(kind: str, body: str) -> Schema:
    return closed({**_common(kind), "call_id": NON_EMPTY, "name": NON_EMPTY, body: STRING,
                   "namespace": nullable(NON_EMPTY), "caller": IGNORED},
                  ("type", "call_id", "name", body))


CALLER: Schema = nullable({"anyOf": [
    closed({"type": const("direct")}, ("type",)),
    closed({"type": const("program"), "caller_id": NON_EMPTY}, ("type", "caller_id")),
]})


def _call_output(kind: str, answers: str) -> list[Schema]:
    call_id = {**NON_EMPTY, "description": f"The `call_id` of a `{answers}` earlier in the conversation."}
    props = {**_common(kind), "call_id": call_id, "output": {"anyOf": [STRING, parts(rq.USER_PART_TYPES)]},
             "caller": CALLER}
    if kind != "function_call_output":
        return [closed(props, ("type", "call_id", "output"))]
    props |= {"name": nullable(NON_EMPTY), "namespace": nullable(NON_EMPTY)}
    uncalled = {**props, "call_id": NULL, "name": {**NON_EMPTY, "description": "The tool the output comes from."}}
    return [closed(props, ("type", "call_id", "output")),
            closed(uncalled, ("type", "name", "output"),
                   description="An output no call asked for (no `call_id`), from the tool `name` and `namespace` "
                               "name.")]


ITEM_VARIANTS: dict[str, list[Schema]] = {
    "message": [_message(tuple(r for r in rq.ROLES if r != "assistant"), rq.USER_PART_TYPES, assistant=False),
                _message(("assistant",), rq.ASSISTANT_PART_TYPES, assistant=True)],
    "function_call": [_call("function_call", "arguments")],
    "custom_tool_call": [_call("custom_tool_call", "input")],
    "function_call_output": _call_output("function_call_output", "function_call"),
    "custom_tool_call_output": _call_output("custom_tool_call_output", "custom_tool_call"),
    "reasoning": [closed({**_common("reasoning"), "summary": _text_parts("summary_text"),
                          "content": _text_parts("reasoning_text"),
                          "encrypted_content": nullable(STRING, "As this server sent it with `include: "
                                                                "[\"reasoning.encrypted_content\"]`.")},
                         ("type",))],
    "item_reference": [closed({"type": nullable(const("item_reference")),
                               "id": {**NON_EMPTY, "description": "The id of an item of a stored response."}},
                              ("id",))],
    "compaction": [closed({"type": const("compaction"), "id": nullable(STRING), "created_by": nullable(STRING),
                           "encrypted_content": {**NON_EMPTY, "description": "A compaction item's sealed window, "
                                                 "as this server returned it; it stands for every item before it."}},
                          ("type", "encrypted_content"))],
    "compaction_trigger": [closed({"type": const("compaction_trigger"), "id": nullable(STRING)}, ("type",),
                                  description="Compacts the conversation instead of answering: the output is one "
                                              "`compaction` item. Must be the last input item.")],
}
INPUT_ITEM: Schema = {"anyOf": [variant for variants in ITEM_VARIANTS.values() for variant in variants]}
INPUT: Schema = {"anyOf": [
    {"type": "string", "description": "One user message."},
    {"type": "array", "items": {"$ref": "#/components/schemas/InputItem"}},
]}
