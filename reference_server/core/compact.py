"""`POST /v1/responses/compact`: a conversation window compacted into one `compaction` item.

The window is the conversation of `previous_response_id` (if given) followed by `input`. The
answer (`object: "response.compaction"`) lists the window's user messages, then a `compaction`
item whose `encrypted_content` seals the whole window with the server's key (as reasoning's
`encrypted_content` is sealed). Sent back as input, the item is opened and the window takes its
place, so the model sees the conversation as it was; a tampered or foreign item is a 400.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from ..protocol.errors import APIError
from ..protocol.events import make_usage, new_id
from ..protocol.request import parse_input, window_options
from ..protocol.vocab import count_item_tokens
from .inputs import resolve_inputs
from .service import ResponseService

COMPACT_PARAMS = frozenset({
    "model", "input", "instructions", "previous_response_id", "prompt_cache_key", "prompt_cache_options",
    "prompt_cache_retention", "service_tier", "image",
})


def _str_param(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise APIError(400, f"Invalid type for '{name}': expected a string, but got {type(value).__name__}.",
                       param=name, code="invalid_type")
    return value


async def compact(service: ResponseService, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise APIError(400, "The request body must be a JSON object.", code="invalid_type")
    unknown = sorted(set(body) - COMPACT_PARAMS)
    if unknown:
        raise APIError(400, f"Unknown parameter: '{unknown[0]}'.", param=unknown[0], code="unknown_parameter")
    model = _str_param(body, "model")
    if not model:
        raise APIError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    previous = _str_param(body, "previous_response_id")
    _str_param(body, "instructions")
    window_options(body)  # accepted, and checked as a create checks them; a window has no cache here
    items = parse_input(body["input"]) if body.get("input") is not None else []
    # A `compaction_trigger` asks for what this endpoint does anyway.
    items = [item for item in items if item["type"] != "compaction_trigger"]
    if any(item["type"] in ("item_reference", "reasoning", "compaction") for item in items):
        items = await anyio.to_thread.run_sync(resolve_inputs, items, service.store, service.sealer)
    context: list[dict[str, Any]] = []
    if previous is not None:
        stored = await anyio.to_thread.run_sync(service.store.get, previous)
        if stored is None:
            raise APIError(404, f"Previous response with id '{previous}' not found.", param="previous_response_id",
                           code="previous_response_not_found")
        context = stored.conversation()
    window = [*context, *items]
    if not window:
        raise APIError(400, "Nothing to compact: give 'input' or 'previous_response_id'.", param="input",
                       code="missing_required_parameter")
    users = [item for item in window if item.get("type") == "message" and item.get("role") == "user"]
    compaction = {"id": new_id("cmp"), "type": "compaction", "encrypted_content": service.sealer.seal_window(window)}
    return {
        "id": new_id("resp"),
        "object": "response.compaction",
        "created_at": int(time.time()),
        "output": [*users, compaction],
        "usage": make_usage(await anyio.to_thread.run_sync(count_item_tokens, window), 0),
    }
