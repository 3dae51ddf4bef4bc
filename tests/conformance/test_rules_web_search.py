"""Web search rules beyond the fixture corpus: non-stream bodies, failed searches, the seed capture."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from conformance import check_events, check_response, check_sse

CAPTURE = Path(__file__).resolve().parents[2] / "fixtures/streams/positive/openai-api/web-search-with-citations.sse"
WS_RULES = {"call.web-search-lifecycle", "call.web-search-action-missing", "part.annotation-out-of-range",
            "part.annotation-out-of-order", "part.annotation-url-empty", "part.annotation-index",
            "part.annotation-before-text", "accumulation.annotations-mismatch"}


def _body(annotations: list[dict[str, Any]], text: str = "See ([a.example](https://a.example/))") -> dict[str, Any]:
    return {
        "id": "resp_1", "object": "response", "created_at": 1767225600, "status": "completed",
        "model": "gpt-4o-mini", "output": [
            {"id": "ws_1", "type": "web_search_call", "status": "completed",
             "action": {"type": "search", "query": "a"}},
            {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": text, "annotations": annotations}]},
        ],
    }


def _cite(start: int, end: int, url: str = "https://a.example/") -> dict[str, Any]:
    return {"type": "url_citation", "start_index": start, "end_index": end, "title": "A", "url": url}


def test_the_real_capture_passes_every_web_search_rule() -> None:
    result = check_sse(CAPTURE.read_bytes())
    assert not result.rule_ids() & WS_RULES


def test_a_correct_body_passes() -> None:
    assert not check_response(_body([_cite(4, 37)])).rule_ids() & WS_RULES


@pytest.mark.parametrize(("annotations", "rule"), [
    ([_cite(4, 38)], "part.annotation-out-of-range"),
    ([_cite(-1, 3)], "part.annotation-out-of-range"),
    ([_cite(5, 4)], "part.annotation-out-of-range"),
    ([_cite(10, 37), _cite(4, 37)], "part.annotation-out-of-order"),
    ([_cite(4, 37, url="")], "part.annotation-url-empty"),
])
def test_body_annotations_are_judged(annotations: list[dict[str, Any]], rule: str) -> None:
    assert rule in check_response(_body(annotations)).rule_ids()


def test_a_body_web_search_call_without_action_is_reported() -> None:
    body = _body([])
    del body["output"][0]["action"]
    assert "call.web-search-action-missing" in check_response(body).rule_ids()


def _stream_of_one_search(status: str, phases: tuple[str, ...]) -> list[dict[str, Any]]:
    item = {"id": "ws_1", "type": "web_search_call", "status": "in_progress"}
    done = {**item, "status": status, "action": {"type": "search", "query": "q"}}
    response = {"id": "resp_1", "object": "response", "created_at": 1767225600, "model": "gpt-4o-mini",
                "status": "in_progress", "output": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": copy.deepcopy(response)},
        {"type": "response.in_progress", "response": copy.deepcopy(response)},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        *({"type": f"response.web_search_call.{p}", "output_index": 0, "item_id": "ws_1"} for p in phases),
        {"type": "response.output_item.done", "output_index": 0, "item": done},
        {"type": "response.completed", "response": {**response, "status": "completed", "output": [done]}},
    ]
    for n, ev in enumerate(events):
        ev["sequence_number"] = n
    return events


@pytest.mark.parametrize(("status", "phases", "bad"), [
    ("completed", ("in_progress", "searching", "completed"), False),
    ("failed", ("in_progress", "searching"), False),
    ("completed", ("in_progress", "searching"), True),  # never completed
    ("failed", ("in_progress", "searching", "completed"), True),  # failed after completed
    ("completed", ("in_progress", "searching", "searching", "completed"), True),  # repeated
    ("completed", ("in_progress", "completed", "searching"), True),  # backwards
])
def test_web_search_call_lifecycle(status: str, phases: tuple[str, ...], bad: bool) -> None:
    ids = check_events(_stream_of_one_search(status, phases)).rule_ids()
    assert ("call.web-search-lifecycle" in ids) is bad, ids
