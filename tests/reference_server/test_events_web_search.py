"""ResponseEventWriter: web_search_call items and url_citation annotations, judged by the checker."""

from __future__ import annotations

from typing import Any

import pytest

from reference_server.protocol.events import ResponseEventWriter, make_usage

USAGE = make_usage(10, 5)


def _check(events: list[dict[str, Any]]) -> Any:
    import conformance

    result = conformance.check_events(events)
    assert not result.errors("warning"), result.findings
    return result


def _cited_answer(w: ResponseEventWriter) -> list[dict[str, Any]]:
    events = w.start()
    ws, evs = w.add_web_search_call()
    events += evs + w.web_search_searching(ws)
    events += w.finish_web_search_call(ws, {"type": "search", "query": "kiwi",
                                            "sources": [{"type": "url", "url": "https://a.example/k"}]})
    msg, evs = w.add_message()
    events += evs + w.add_output_text_part(msg) + w.text_delta(msg, "Kiwis are berries ")
    events += w.text_delta(msg, "([a.example](https://a.example/k)).")
    events += w.add_annotation(msg, {"type": "url_citation", "start_index": 18, "end_index": 52,
                                     "url": "https://a.example/k", "title": "Kiwi"})
    return events + w.complete(USAGE)


def test_a_searched_and_cited_answer_is_conformant() -> None:
    events = _cited_answer(ResponseEventWriter({"model": "m"}))
    _check(events)
    kinds = [e["type"] for e in events]
    assert kinds[2:7] == ["response.output_item.added", "response.web_search_call.in_progress",
                          "response.web_search_call.searching", "response.web_search_call.completed",
                          "response.output_item.done"]
    assert events[2]["item"]["action"] == {"type": "search"}  # only its type yet, as live
    final = events[-1]["response"]
    assert final["output"][0]["action"]["query"] == "kiwi"
    assert final["tool_usage"]["web_search"]["num_requests"] == 1
    text = final["output"][1]["content"][0]["text"]
    ann = final["output"][1]["content"][0]["annotations"][0]
    assert text[ann["start_index"]:ann["end_index"]] == "([a.example](https://a.example/k))"


def test_a_base_response_without_tool_usage_still_counts_the_search() -> None:
    # A caller's base Response (a proxied one, say) may carry `tool_usage: null`.
    events = _cited_answer(ResponseEventWriter({"model": "m", "tool_usage": None}))
    _check(events)
    assert events[-1]["response"]["tool_usage"]["web_search"]["num_requests"] == 1


def test_a_search_cut_short_fails_without_completed_and_is_not_counted() -> None:
    w = ResponseEventWriter({"model": "m"})
    events = w.start()
    _ws, evs = w.add_web_search_call({"type": "search", "query": "kiwi"})
    events += evs + w.incomplete("max_output_tokens", USAGE)
    _check(events)
    kinds = [e["type"] for e in events]
    assert "response.web_search_call.completed" not in kinds
    done = events[-2]["item"]
    assert done["status"] == "failed" and done["action"] == {"type": "search", "query": "kiwi"}
    assert events[-1]["response"]["tool_usage"]["web_search"]["num_requests"] == 0


@pytest.mark.parametrize(("annotation", "fragment"), [
    ({"type": "url_citation", "start_index": 0, "end_index": 99, "url": "u", "title": "t"}, "not within"),
    ({"type": "url_citation", "start_index": 3, "end_index": 2, "url": "u", "title": "t"}, "not within"),
    ({"type": "url_citation", "start_index": 0, "end_index": 1, "url": "", "title": "t"}, "non-empty url"),
])
def test_annotations_must_point_into_streamed_text(annotation: dict[str, Any], fragment: str) -> None:
    w = ResponseEventWriter({"model": "m"})
    w.start()
    msg, _ = w.add_message()
    w.add_output_text_part(msg)
    w.text_delta(msg, "short")
    with pytest.raises(ValueError, match=fragment):
        w.add_annotation(msg, annotation)


def test_web_search_calls_refuse_out_of_order_use() -> None:
    w = ResponseEventWriter({"model": "m"})
    w.start()
    ws, _ = w.add_web_search_call()
    with pytest.raises(ValueError, match="web_search_searching first"):
        w.finish_web_search_call(ws, {"type": "search"})
    w.web_search_searching(ws)
    with pytest.raises(ValueError, match="already searching"):
        w.web_search_searching(ws)
    with pytest.raises(ValueError, match="action needs a type"):
        w.finish_web_search_call(ws, {"type": "browse"})
    w.finish_web_search_call(ws, {"type": "open_page", "url": "https://a.example/"})
    msg, _ = w.add_message()
    with pytest.raises(ValueError, match="not a web_search_call"):
        w.web_search_searching(msg)
