"""Web search with the torch backend (random weights): browser calls are constrained to the
browsing state (a search, links and cursors that exist, lines a page has), the server runs
them, and the model answers with a constrained citation of lines it was shown; forced or under
`tool_choice: "auto"` (the random presets' cooperative policy: search, open, answer), streamed
or not, and across `previous_response_id`; the stream stays conformant."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reference_server.protocol.browser_tools import browser_tools, query_words
from reference_server.protocol.token_backend import BrowserPage, OutputSpec
from reference_server.search import Browser, load_index
from reference_server.sources.backend_source import browser_pages
from reference_server.sources.backends.torch.backend import TorchBackend
from reference_server.sources.backends.torch.grammar import harmony_grammar
from reference_server.sources.backends.torch.model import GptOss

from ..helpers import assert_conformant, serve, sse_events
from .conftest import collect, make_backend, parse, prompt_tokens, request

create_app = pytest.importorskip("reference_server").create_app


@pytest.fixture(scope="module")
def server(tiny_model: GptOss, encoding: Any) -> Iterator[Any]:
    # As the random presets run: "auto" resolved cooperatively, readable prose.
    backend: TorchBackend = make_backend(tiny_model, message_token_budget=16, auto_tool_choice="cooperative",
                                         readable_text=True)
    try:
        with serve(create_app(backend=backend, encoding=encoding)) as srv:
            yield srv
    finally:
        backend.scheduler.stop()


@pytest.mark.parametrize("seed_text", ["streaming events", "harmony channels", "tool calls", "citations"])
def test_forced_web_search_is_a_real_search(server: Any, seed_text: str) -> None:
    body = {"model": "m", "input": seed_text, "tools": [{"type": "web_search"}], "stream": True,
            "tool_choice": {"type": "web_search_preview"}, "include": ["web_search_call.action.sources"],
            "max_output_tokens": 200}
    with httpx.stream("POST", f"{server.url}/v1/responses", json=body, timeout=60) as resp:
        assert resp.status_code == 200, resp.read()
        data = resp.read()
    assert_conformant(data, request=body)
    final = sse_events(data)[-1]["response"]
    calls = [i for i in final["output"] if i["type"] == "web_search_call"]
    assert calls, [i["type"] for i in final["output"]]
    first = calls[0]
    assert first["status"] == "completed" and first["action"]["type"] == "search"
    assert isinstance(first["action"]["query"], str)  # generated under the JSON grammar
    assert final["tool_usage"]["web_search"]["num_requests"] == sum(
        1 for c in calls if c["status"] == "completed" and c["action"]["type"] == "search")
    # After browsing, the grammar ends the answer with a citation marker naming a page the browser
    # showed and a line it has: a search with results is cited (by one of its sources).
    sources = {s["url"] for c in calls for s in c["action"].get("sources") or []}
    answer = final["output"][-1]
    assert answer["type"] == "message"
    annotations = answer["content"][0]["annotations"]
    if sources:
        assert annotations and {a["url"] for a in annotations} <= sources, (sources, annotations)
        text = answer["content"][0]["text"]
        for a in annotations:
            assert text[a["start_index"]:a["end_index"]].endswith(f"({a['url']}))")
    assert "【" not in answer["content"][0]["text"]


# Every word of these is in the bundled corpus, so whichever of them the model searches for,
# the search finds pages (a query of words the corpus lacks finds none, and the answer then
# rightly cites nothing).
QUESTIONS = ["Are annotations streamed?", "What does the browser tool open?", "harmony messages and events",
             "url citation events", "search the web for streaming events", "web search sources"]
FOLLOW_UP = "And what tool events?"


def test_every_question_word_is_in_the_corpus() -> None:
    index = load_index()
    missing = [w for q in [*QUESTIONS, FOLLOW_UP] for w in query_words(q) if not index.search(w, 1)]
    assert not missing, missing


def _post(server: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The final response of a request (streamed: checked by the conformance checker first)."""
    resp = httpx.post(f"{server.url}/v1/responses", json=body, timeout=120)
    assert resp.status_code == 200, resp.text
    if not body.get("stream"):
        return dict(resp.json())
    assert_conformant(resp.content, request=body)
    return dict(sse_events(resp.content)[-1]["response"])


def assert_searched_opened_and_cited(response: dict[str, Any]) -> list[dict[str, Any]]:
    """search → open_page of one of its sources → a message whose annotations cite the opened
    page, each spanning exactly its ` ([host](url))` link in the text."""
    kinds = [(i["type"], (i.get("action") or {}).get("type")) for i in response["output"]]
    assert kinds == [("web_search_call", "search"), ("web_search_call", "open_page"), ("message", None)], kinds
    search, opened, message = response["output"]
    assert search["status"] == opened["status"] == "completed"
    assert opened["action"]["url"] in {s["url"] for s in search["action"]["sources"]}
    part = message["content"][0]
    text, annotations = part["text"], part["annotations"]
    assert annotations, text
    for a in annotations:
        assert a["url"] == opened["action"]["url"]
        assert text[a["start_index"]:a["end_index"]] == f"([{a['url'].split('/')[2]}]({a['url']}))"
    assert "【" not in text
    assert response["tool_usage"]["web_search"]["num_requests"] == 1
    return list(annotations)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("question", QUESTIONS)
def test_auto_tool_choice_searches_opens_and_answers_with_a_citation(server: Any, question: str,
                                                                     stream: bool) -> None:
    body = {"model": "m", "input": question, "tools": [{"type": "web_search"}], "stream": stream,
            "include": ["web_search_call.action.sources"], "max_output_tokens": 300}
    response = _post(server, body)
    assert_searched_opened_and_cited(response)
    # The cooperative query is made of the question's words (the model picks which).
    query = response["output"][0]["action"]["query"]
    assert set(query.split()) <= set(query_words(question)), query


def test_citations_survive_previous_response_id(server: Any) -> None:
    first = _post(server, {"model": "m", "input": QUESTIONS[0], "tools": [{"type": "web_search"}],
                           "stream": True, "store": True, "include": ["web_search_call.action.sources"],
                           "max_output_tokens": 300})
    cited = assert_searched_opened_and_cited(first)
    second = _post(server, {"model": "m", "input": FOLLOW_UP, "tools": [{"type": "web_search"}],
                            "stream": True, "previous_response_id": first["id"],
                            "include": ["web_search_call.action.sources"], "max_output_tokens": 300})
    assert_searched_opened_and_cited(second)  # a new turn, a new browsing session (cursors from 0)
    stored = httpx.get(f"{server.url}/v1/responses/{first['id']}", timeout=30).json()
    assert stored["output"][-1]["content"][0]["annotations"] == cited


def test_openai_python_reads_the_torch_backends_searches_and_citations(server: Any) -> None:
    """openai-python's stream helper over the torch backend: typed web_search_call items, the
    streamed url_citation annotations equal to the final ones, each spanning its link."""
    import openai

    sdk = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0, timeout=120)
    with sdk.responses.stream(model="m", input=QUESTIONS[1], tools=[{"type": "web_search"}],
                              include=["web_search_call.action.sources"], max_output_tokens=300) as stream:
        streamed = [e.annotation for e in stream if e.type == "response.output_text.annotation.added"]
        final = stream.get_final_response()
    calls = [i for i in final.output if i.type == "web_search_call"]
    assert [c.action.type for c in calls] == ["search", "open_page"]
    part = final.output[-1].content[0]
    assert part.annotations and len(streamed) == len(part.annotations)
    for event_annotation, annotation in zip(streamed, part.annotations, strict=True):
        plain = event_annotation if isinstance(event_annotation, dict) else event_annotation.model_dump()
        assert plain == annotation.model_dump()
        assert annotation.url == calls[1].action.url
        assert part.text[annotation.start_index:annotation.end_index].endswith(f"({annotation.url}))")


def test_function_results_are_answered_without_browsing(server: Any) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
    body = {"model": "m", "stream": True, "tools": [tool, {"type": "web_search"}], "max_output_tokens": 200,
            "input": [{"role": "user", "content": "Weather in Paris?"},
                      {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
                      {"type": "function_call_output", "call_id": "c1", "output": "sunny"}]}
    response = _post(server, body)
    assert [i["type"] for i in response["output"]] == ["message"]


# ------------------------------------------------------------------ grammar of browsing
SEARCH_PAGE = BrowserPage(0, 6, 0, 6, links=(0, 1, 2))  # three results, all shown
DOCUMENT = BrowserPage(1, 50, 10, 14, document=True)  # L10–L13 of a 50-line page shown
FOUND = BrowserPage(2, 4, 0, 4, links=(0, 1), document=True)  # find results in that page


def test_citations_name_only_shown_lines_of_documents_in_short_ranges() -> None:
    grammar = harmony_grammar(OutputSpec(pages=(SEARCH_PAGE, DOCUMENT)), 16)
    assert 'citation: "【" (cite_1) "】"' in grammar  # the document, not the search results
    dagger = json.dumps("†")[1:-1]  # literals are JSON-escaped
    ranges = ('"10" | "10-L11" | "10-L12" | "10-L13" | "11" | "11-L12" | "11-L13" | "12" | "12-L13" | "13"')
    assert f'cite_1: "1{dagger}L" ({ranges})' in grammar
    assert "answer: prose citation" in grammar and "PROSE" in grammar
    # Only search results shown: a marker cites them (by the link above the cited lines).
    assert 'citation: "【" (cite_0) "】"' in harmony_grammar(OutputSpec(pages=(SEARCH_PAGE,)), 16)
    # Browsing on, nothing citable yet: prose without a marker; no browsing: plain text.
    assert "answer: prose\n" in harmony_grammar(OutputSpec(browser="auto"), 16)
    plain = harmony_grammar(OutputSpec(), 16)
    assert "citation" not in plain and "browser." not in plain and "answer: text\n" in plain


def test_browser_calls_are_offered_only_when_browsing_is_up_to_the_model() -> None:
    auto = harmony_grammar(OutputSpec(browser="auto", pages=(SEARCH_PAGE, DOCUMENT)), 16)
    for function in ("search", "open", "find"):
        assert f"to=browser.{function} " in auto
    assert "to=browser.search " in harmony_grammar(OutputSpec(browser="auto"), 16)
    assert "to=browser.open" not in harmony_grammar(OutputSpec(browser="auto"), 16)  # no page yet
    assert "to=browser." not in harmony_grammar(OutputSpec(pages=(SEARCH_PAGE,)), 16)  # browser "none"


def _browser_after_search_and_open() -> tuple[Browser, tuple[BrowserPage, ...]]:
    browser = Browser(load_index(), context_size="low")
    assert browser.call("search", {"query": "citations streamed annotations"}).ok
    assert browser.call("open", {"id": 0, "cursor": 0}).ok
    assert browser.call("find", {"pattern": "the", "cursor": 1}).ok
    return browser, browser_pages(browser)


@pytest.mark.parametrize("function", ["search", "open", "find"])
async def test_random_weights_make_only_browser_calls_the_browser_can_serve(
        tiny_model: GptOss, encoding: Any, function: str) -> None:
    """Whatever random weights pick under the grammar (16 seeds), the browser runs it: links and
    cursors that exist, a scroll within the page, a find on a document."""
    browser, pages = _browser_after_search_and_open()
    spec = OutputSpec(tools=browser_tools(pages, (function,)), tool_mode="required")
    backend = make_backend(tiny_model, message_token_budget=12)
    try:
        runs = await asyncio.gather(*(collect(backend, request(prompt_tokens(encoding), spec, temperature=1.0,
                                                               seed=seed)) for seed in range(16)))
    finally:
        backend.scheduler.stop()
    for tokens, _ in runs:
        (call,) = parse(encoding, tokens)
        assert call.recipient == f"browser.{function}"
        args = json.loads(call.content[0].text)
        result = browser.call(function, args)
        assert result.ok, (function, args, result.text)


async def test_random_weights_cite_shown_lines_of_a_document(tiny_model: GptOss, encoding: Any) -> None:
    browser, pages = _browser_after_search_and_open()
    backend = make_backend(tiny_model, message_token_budget=12)
    try:
        runs = await asyncio.gather(*(collect(backend, request(prompt_tokens(encoding), OutputSpec(pages=pages),
                                                               temperature=1.0, seed=seed)) for seed in range(16)))
    finally:
        backend.scheduler.stop()
    for tokens, _ in runs:
        (final,) = parse(encoding, tokens)
        text = final.content[0].text
        marker = re.search(r"【(\d+)†L(\d+)(?:-L(\d+))?】$", text)
        assert marker is not None and text.count("【") == 1, text[-60:]
        cursor, start = int(marker.group(1)), int(marker.group(2))
        end = int(marker.group(3) or start)
        assert browser.pages[cursor].url  # a document, not the search results
        first, stop = browser.views[cursor]
        assert first <= start <= end < stop and end - start <= 3
        assert browser.resolve_citation(cursor, start, end) is not None
