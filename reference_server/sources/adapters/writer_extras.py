"""The converters' compound writer steps: an annotation, a reasoning item's upstream
`encrypted_content` (the writer has no public step for it yet), and a whole hosted
`web_search_call` item that an upstream already ran.
"""

from __future__ import annotations

from typing import Any

from reference_server.protocol.events import Event, ResponseEventWriter


def add_annotation(writer: ResponseEventWriter, output_index: int, annotation: dict[str, Any]) -> list[Event]:
    """Annotate the item's open output_text part (after its deltas, before its done event)."""
    return writer.add_annotation(output_index, annotation)


def set_encrypted_content(writer: ResponseEventWriter, output_index: int, value: str) -> None:
    """Give an open reasoning item its `encrypted_content` (shown at `output_item.done`)."""
    it = writer._get_open(output_index, "set_encrypted_content")
    if it.type != "reasoning":
        raise ValueError(f"set_encrypted_content({output_index}): item is a {it.type}, not reasoning")
    it.item["encrypted_content"] = value


def add_web_search_call(writer: ResponseEventWriter, action: dict[str, Any]) -> list[Event]:
    """A whole, finished `web_search_call` item: added, in_progress, searching, completed, done
    (the upstream searched already, so every step is emitted at once)."""
    index, events = writer.add_web_search_call(action)
    events += writer.web_search_searching(index)
    return events + writer.finish_web_search_call(index, action)
