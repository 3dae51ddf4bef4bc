"""Web search end to end (scripted backend): searches, opened pages and cited answers, judged by
the conformance checker; forced web search, include sources, domain filters, a custom corpus,
previous_response_id, and openai-python reading it all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from reference_server import create_app
from reference_server.core.settings import Settings

from .helpers import assert_conformant, serve, sse_events

MODEL = "gpt-oss-scripted"
ASK = "Search the web: how are url_citation annotations streamed?"
WEB = {"type": "web_search"}


def _stream(client: TestClient, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    req = {"model": MODEL, **body, "stream": True}
    r = client.post("/v1/responses", json=req)
    assert r.status_code == 200, r.text
    result = assert_conformant(r.content, request=req, content_type=r.headers["content-type"])
    events = sse_events(r.content)
    assert result.terminal_response == events[-1]["response"]
    return events, events[-1]["response"]


def _answer(resp: dict[str, Any]) -> dict[str, Any]:
    return resp["output"][-1]["content"][0]


def _searches(resp: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in resp["output"] if i["type"] == "web_search_call"]


def test_a_question_is_searched_opened_and_answered_with_exact_citations(client: TestClient) -> None:
    events, resp = _stream(client, {"input": ASK, "tools": [WEB]})
    calls = _searches(resp)
    assert [c["action"]["type"] for c in calls] == ["search", "open_page"]
    assert calls[0]["action"]["query"] == "url_citation annotations streamed"
    assert "sources" not in calls[0]["action"]  # only with include
    assert calls[1]["action"]["url"] == "https://responses-conformance.example/docs/web-search"
    part = _answer(resp)
    assert "【" not in part["text"] and "†" not in part["text"]  # markers never reach the client
    (citation,) = part["annotations"]
    assert citation["url"] == calls[1]["action"]["url"] and citation["title"].startswith("The web_search tool")
    cited = part["text"][citation["start_index"]:citation["end_index"]]
    assert cited == f"([responses-conformance.example]({citation['url']}))"
    # The annotation event comes after the delta that completes the text it spans.
    streamed = ""
    for ev in events:
        if ev["type"] == "response.output_text.delta" and ev["output_index"] == len(resp["output"]) - 1:
            streamed += ev["delta"]
        if ev["type"] == "response.output_text.annotation.added":
            assert len(streamed) >= ev["annotation"]["end_index"] and ev["annotation_index"] == 0
    assert resp["tool_usage"]["web_search"]["num_requests"] == 1  # one search; opening is no search
    kinds = [e["type"] for e in events if e["type"].startswith("response.web_search_call.")]
    assert kinds == ["response.web_search_call.in_progress", "response.web_search_call.searching",
                     "response.web_search_call.completed"] * 2


def test_non_stream_gives_the_same_cited_answer(client: TestClient) -> None:
    r = client.post("/v1/responses", json={"model": MODEL, "input": ASK, "tools": [WEB]})
    assert r.status_code == 200, r.text
    import conformance

    body = r.json()
    assert not conformance.check_response(body).errors("warning")
    part = _answer(body)
    (citation,) = part["annotations"]
    assert part["text"][citation["start_index"]:citation["end_index"]].endswith(f"({citation['url']}))")


def test_include_sources_lists_the_search_results(client: TestClient) -> None:
    _e, resp = _stream(client, {"input": ASK, "tools": [WEB], "include": ["web_search_call.action.sources"]})
    sources = _searches(resp)[0]["action"]["sources"]
    assert sources[0] == {"type": "url", "url": "https://responses-conformance.example/docs/web-search"}
    assert all(s["type"] == "url" and s["url"].startswith("https://") for s in sources)


def test_domain_filters_keep_results_within_the_allowed_domains(client: TestClient) -> None:
    tool = {"type": "web_search", "filters": {"allowed_domains": ["harmony.example"]}}
    _e, resp = _stream(client, {"input": ASK, "tools": [tool], "include": ["web_search_call.action.sources"]})
    search, opened = _searches(resp)
    assert search["action"]["sources"] and all(
        s["url"].startswith("https://harmony.example/") for s in search["action"]["sources"])
    assert opened["action"]["url"].startswith("https://harmony.example/")
    assert all(a["url"].startswith("https://harmony.example/") for a in _answer(resp)["annotations"])


def test_search_context_size_bounds_the_sources_listed(client: TestClient) -> None:
    counts = {}
    for size in ("low", "high"):
        tool = {**WEB, "search_context_size": size}
        ask = "Search the web: what does the response stream send for a tool call?"  # matches many pages
        _e, resp = _stream(client, {"input": ask, "tools": [tool], "include": ["web_search_call.action.sources"]})
        counts[size] = len(_searches(resp)[0]["action"]["sources"])
    assert 0 < counts["low"] <= 3 < counts["high"]


def test_forced_web_search_browses_whatever_the_question(client: TestClient) -> None:
    forced = {"type": "web_search_preview"}  # the hosted-tool choice type openai-python knows
    _e, resp = _stream(client, {"input": "harmony channels", "tools": [WEB], "tool_choice": forced})
    assert [c["action"]["type"] for c in _searches(resp)] == ["search", "open_page"]
    assert resp["tool_choice"] == forced
    assert _answer(resp)["annotations"]
    # Without the tool, forcing it is a 400 naming tool_choice.
    r = client.post("/v1/responses", json={"model": MODEL, "input": "x", "tool_choice": forced})
    assert r.status_code == 400 and r.json()["error"]["param"] == "tool_choice"


def test_tool_choice_none_and_unasked_questions_do_not_browse(client: TestClient) -> None:
    for body in ({"input": ASK, "tools": [WEB], "tool_choice": "none"}, {"input": "Hello there", "tools": [WEB]}):
        _e, resp = _stream(client, body)
        assert not _searches(resp) and resp["tool_usage"]["web_search"]["num_requests"] == 0


def test_browser_search_is_gpt_oss_name_for_it(client: TestClient) -> None:
    req = {"model": MODEL, "input": ASK, "tools": [{"type": "browser_search"}], "stream": True}
    r = client.post("/v1/responses", json=req)
    # Checked without the request: its echo (`web_search`, the Responses name) differs on purpose.
    resp = assert_conformant(r.content, content_type=r.headers["content-type"]).terminal_response
    assert resp["tools"] == [WEB] and len(_searches(resp)) == 2


def test_citations_survive_previous_response_id(client: TestClient) -> None:
    _e, first = _stream(client, {"input": ASK, "tools": [WEB]})
    _e, second = _stream(client, {"input": "Thanks. Say hello.", "tools": [WEB], "previous_response_id": first["id"]})
    assert not _searches(second)
    stored = client.get(f"/v1/responses/{first['id']}").json()
    assert _answer(stored)["annotations"] == _answer(first)["annotations"]
    items = client.get(f"/v1/responses/{second['id']}/input_items").json()
    assert items["data"][0]["type"] == "message"


def test_a_custom_corpus_is_searched(tmp_path: Path, encoding: Any) -> None:
    (tmp_path / "tides.md").write_text("---\nurl: https://sea.example/tides\n---\n# Tides\n\n"
                                       "Tides rise and fall twice a day because of the moon.\n", encoding="utf-8")
    app = create_app(encoding=encoding, settings=Settings(search_corpus=str(tmp_path)))
    with TestClient(app, raise_server_exceptions=False) as c:
        _e, resp = _stream(c, {"input": "Search: why do tides rise?", "tools": [WEB]})
    part = _answer(resp)
    assert "twice a day" in part["text"]
    assert [a["url"] for a in part["annotations"]] == ["https://sea.example/tides"]


@pytest.fixture(scope="module")
def sdk(encoding: Any) -> Iterator[openai.OpenAI]:
    with serve(create_app(encoding=encoding)) as s:
        yield openai.OpenAI(base_url=s.url + "/v1", api_key="k", max_retries=0, timeout=20)


def test_openai_python_reads_searches_and_citations(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model=MODEL, input=ASK, tools=[{"type": "web_search"}]) as stream:
        annotations = [e.annotation for e in stream if e.type == "response.output_text.annotation.added"]
        final = stream.get_final_response()
    calls = [i for i in final.output if i.type == "web_search_call"]
    assert [c.action.type for c in calls] == ["search", "open_page"]
    text = final.output[-1].content[0].text  # offsets count within the part (output_text joins all)
    (citation,) = final.output[-1].content[0].annotations
    def plain(a: Any) -> dict[str, Any]:
        return a if isinstance(a, dict) else a.model_dump()

    assert [plain(a) for a in annotations] == [plain(citation)] and citation.type == "url_citation"
    assert text[citation.start_index:citation.end_index] == f"([responses-conformance.example]({citation.url}))"
