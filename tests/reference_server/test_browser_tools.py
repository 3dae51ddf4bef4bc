"""harmony's browser functions as tool specs narrowed to the browsing state, and the random
presets' cooperative browsing policy built on them."""

from __future__ import annotations

import re

import jsonschema
import pytest

from reference_server.protocol.browser_tools import (
    BROWSER_SEARCH,
    MAX_QUERY_WORDS,
    browser_tools,
    find_schema,
    open_schema,
    query_words,
    search_schema,
)
from reference_server.protocol.token_backend import (
    BrowserPage,
    GenerationRequest,
    OutputSpec,
    ScriptHint,
    ToolSpec,
)

RESULTS = BrowserPage(0, 6, 0, 6, links=(0, 1))
DOCUMENT = BrowserPage(1, 30, 0, 10, document=True)
EMPTY_RESULTS = BrowserPage(2, 1, 0, 1)  # "No results.": nothing to open or cite


def _valid(schema: dict, value: dict) -> bool:
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError:
        return False
    return True


def test_open_admits_existing_links_and_scrolls_within_a_document() -> None:
    schema = open_schema((RESULTS, DOCUMENT, EMPTY_RESULTS))
    assert schema is not None
    assert _valid(schema, {"id": 1, "cursor": 0})
    assert not _valid(schema, {"id": 2, "cursor": 0})  # no such link
    assert not _valid(schema, {"id": 0, "cursor": 2})  # a page without links
    assert not _valid(schema, {"id": 0, "cursor": 7})  # no such cursor
    assert _valid(schema, {"cursor": 1, "loc": 29, "num_lines": 30})
    assert not _valid(schema, {"cursor": 1, "loc": 30, "num_lines": 1})  # past the last line
    assert not _valid(schema, {"cursor": 0, "loc": 0, "num_lines": 1})  # search results do not scroll
    assert not _valid(schema, {"cursor": 1, "loc": 0, "num_lines": 0})
    assert open_schema(()) is None and open_schema((EMPTY_RESULTS,)) is None


def test_find_names_only_documents() -> None:
    schema = find_schema((RESULTS, DOCUMENT))
    assert schema is not None
    assert _valid(schema, {"pattern": "kiwi", "cursor": 1})
    assert not _valid(schema, {"pattern": "kiwi", "cursor": 0})
    assert not _valid(schema, {"pattern": "   ", "cursor": 1})  # the browser refuses a blank pattern
    assert find_schema((RESULTS,)) is None


def test_browser_tools_offer_only_the_functions_with_a_valid_call() -> None:
    assert [t.name for t in browser_tools(())] == ["search"]
    assert [t.name for t in browser_tools((RESULTS,))] == ["search", "open"]
    assert [t.name for t in browser_tools((RESULTS, DOCUMENT))] == ["search", "open", "find"]
    assert [t.name for t in browser_tools((RESULTS, DOCUMENT), ("find",))] == ["find"]
    assert all(t.namespace == "browser" and t.recipient.startswith("browser.") for t in browser_tools((DOCUMENT,)))


def test_a_query_of_given_words_uses_only_those_words() -> None:
    words = query_words("How are url_citation annotations streamed? Cite 2 sources.")
    assert words == ["How", "are", "url", "citation", "annotations", "streamed", "Cite", "sources"]
    schema = search_schema(words)
    pattern = schema["properties"]["query"]["pattern"]
    assert re.fullmatch(pattern, "annotations streamed")
    assert re.fullmatch(pattern, "url")
    assert not re.fullmatch(pattern, "annotations kiwi")
    assert not re.fullmatch(pattern, " url") and not re.fullmatch(pattern, "url ")
    assert not re.fullmatch(pattern, " ".join(["url"] * (MAX_QUERY_WORDS + 1)))
    assert search_schema(()) == BROWSER_SEARCH.parameters  # no words: any non-blank query
    assert not _valid(search_schema(()), {"query": " "})


def _cooperative(spec: OutputSpec, hint: ScriptHint) -> OutputSpec:
    pytest.importorskip("torch")
    from reference_server.sources.backends.torch.backend import cooperative_output

    req = GenerationRequest(prompt_tokens=(1,), max_new_tokens=10, stop_token_ids=frozenset(), output=spec, hint=hint)
    return cooperative_output(req).output


def test_cooperative_browsing_searches_then_opens_then_answers() -> None:
    weather = ToolSpec("get_weather", parameters={"type": "object"})
    spec = OutputSpec(tools=(weather,), tool_mode="auto", browser="auto")
    first = _cooperative(spec, ScriptHint(last_user_text="web search sources"))
    assert [t.recipient for t in first.tools] == ["browser.search"] and first.tool_mode == "required"
    assert first.browser == "none"  # the grammar offers exactly this call
    assert "sources" in first.tools[0].parameters["properties"]["query"]["pattern"]
    shown = OutputSpec(tools=(weather,), tool_mode="auto", browser="auto", pages=(RESULTS,))
    second = _cooperative(shown, ScriptHint(browser_results=("[0] results",)))
    assert [t.recipient for t in second.tools] == ["browser.open"] and second.tool_mode == "required"
    read = (RESULTS, DOCUMENT)
    third = _cooperative(OutputSpec(browser="auto", pages=read), ScriptHint(browser_results=("a", "b")))
    assert third.tools == () and third.tool_mode == "none" and third.pages == read  # cites what it read
    nothing_found = OutputSpec(browser="auto", pages=(EMPTY_RESULTS,))
    assert _cooperative(nothing_found, ScriptHint(browser_results=("a",))).tool_mode == "none"
    answered = _cooperative(spec, ScriptHint(tool_outputs=("sunny",)))
    assert answered.tools == () and answered.tool_mode == "none" and answered.browser == "none"
    # Without web search the policy is unchanged: call the function, then answer its result.
    assert _cooperative(OutputSpec(tools=(weather,)), ScriptHint()).tool_mode == "required"
