"""Input items that stand for something the server keeps: `item_reference`s (resolved to the
stored item with that id), `compaction` items (opened: the window they seal replaces every item before them) and reasoning items carrying `encrypted_content` (opened, so their
reasoning reaches the prompt as it would from the store).

Runs in a worker thread (store reads); raises APIError(400) naming the offending input: the
request's `input[i]`, or, for a conversation the server stored (`stored_from`), the parameter
that brought it (`previous_response_id`), since `input[i]` would name an item the caller never
sent.
"""

from __future__ import annotations

import copy
from typing import Any

from ..protocol.errors import APIError
from .sealing import ReasoningSealer
from .store import ResponseStore


def resolve_inputs(items: list[dict[str, Any]], store: ResponseStore, sealer: ReasoningSealer,
                   *, open_reasoning: bool = True, stored_from: str | None = None) -> list[dict[str, Any]]:
    """`open_reasoning=False`: reasoning blobs are an upstream's, kept as they came.
    `stored_from`: the items are a stored conversation, brought by that request parameter."""

    def param(i: int, field: str) -> str:
        return f"input[{i}].{field}" if stored_from is None else stored_from

    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        kind = item.get("type")
        if kind == "compaction":
            # The item stands for the whole window before it (so what came before it, e.g. the
            # user messages /responses/compact returned beside it, or the earlier turns a client
            # chaining input arrays still sends, is in the window already): it replaces them.
            window = sealer.open_window(item["encrypted_content"], param(i, "encrypted_content"))
            out = copy.deepcopy(window)
            continue
        if kind == "item_reference":
            stored = store.get_item(item["id"])
            if stored is None:
                # Items exist only in stored responses: one created with `store: false` (or
                # deleted) leaves nothing to refer to.
                raise APIError(400, f"Item with id '{item['id']}' not found.", param=param(i, "id"),
                               code="item_not_found")
            out.append(copy.deepcopy(stored))  # the stored item has its reasoning in the clear
            continue
        if kind == "reasoning" and item.get("encrypted_content") and open_reasoning:
            sealed = sealer.open(item["encrypted_content"], item.get("id"), param(i, "encrypted_content"))
            if not item.get("content") and not item.get("summary"):
                item = {**item, "content": sealed["content"], "summary": sealed["summary"]}
        out.append(item)
    return out
