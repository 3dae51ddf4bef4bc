"""Steps the converters need that `ResponseEventWriter` has no public method for yet: an
`output_text.annotation.added`, a reasoning item's `encrypted_content`, and a hosted
`web_search_call` item (announced, searched, completed). They follow the writer's grammar
(PROTOCOL.md) and go through its own item and sequence bookkeeping, so every other writer
invariant still holds; they belong in the writer itself once it grows these steps.
"""

from __future__ import annotations

from typing import Any

from reference_server.events import Event, ResponseEventWriter


def add_annotation(writer: ResponseEventWriter, output_index: int, annotation: dict[str, Any]) -> list[Event]:
    """Annotate the item's open output_text part (after its deltas, before its done event)."""
    it = writer._get_open(output_index, "add_annotation")
    if it.open_part is None or it.open_part_kind != "output_text":
        raise ValueError(f"add_annotation({output_index}): needs an open output_text part")
    part = it.item["content"][it.open_part]
    part["annotations"].append(dict(annotation))
    return [writer._ev("response.output_text.annotation.added", item_id=it.id,
                       output_index=it.index, content_index=it.open_part,
                       annotation_index=len(part["annotations"]) - 1, annotation=dict(annotation))]


def set_encrypted_content(writer: ResponseEventWriter, output_index: int, value: str) -> None:
    """Give an open reasoning item its `encrypted_content` (shown at `output_item.done`)."""
    it = writer._get_open(output_index, "set_encrypted_content")
    if it.type != "reasoning":
        raise ValueError(f"set_encrypted_content({output_index}): item is a {it.type}, not reasoning")
    it.item["encrypted_content"] = value


def add_web_search_call(writer: ResponseEventWriter, action: dict[str, Any],
                        item_id: str | None = None) -> list[Event]:
    """A whole, finished `web_search_call` item: added, in_progress, searching, completed, done.
    The action is known before the item is announced (the upstream searched already), so `added`
    carries it too (the item schema requires it)."""
    item: dict[str, Any] = {"id": item_id or writer._new_id("ws"), "type": "web_search_call",
                            "status": "in_progress", "action": dict(action)}
    index, events = writer._add_item("add_web_search_call", item)
    tool_usage = writer._response.get("tool_usage")  # the live API counts hosted searches here
    if isinstance(tool_usage, dict) and isinstance(tool_usage.get("web_search"), dict):
        tool_usage["web_search"]["num_requests"] = tool_usage["web_search"].get("num_requests", 0) + 1
    for step in ("in_progress", "searching", "completed"):
        events.append(writer._ev(f"response.web_search_call.{step}", item_id=item["id"],
                                 output_index=index))
    return events + writer.close_item(index, "completed")
