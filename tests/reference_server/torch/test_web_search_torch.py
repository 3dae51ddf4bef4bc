"""Web search with the torch backend (random weights): a forced search is a constrained
`browser.search` call the server runs, then the model answers with a constrained citation of a
page the browser showed; the stream stays conformant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reference_server.protocol.token_backend import OutputSpec
from reference_server.sources.backends.torch.backend import TorchBackend
from reference_server.sources.backends.torch.grammar import harmony_grammar
from reference_server.sources.backends.torch.model import GptOss

from ..helpers import assert_conformant, serve, sse_events
from .conftest import collect, make_backend, parse, prompt_tokens, request

create_app = pytest.importorskip("reference_server").create_app


@pytest.fixture(scope="module")
def server(tiny_model: GptOss, encoding: Any) -> Iterator[Any]:
    backend: TorchBackend = make_backend(tiny_model, message_token_budget=16)
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


def test_citable_pages_make_the_grammar_end_the_answer_with_a_marker() -> None:
    grammar = harmony_grammar(OutputSpec(citable=((0, 3), (2, 1))), 16)
    assert 'citation: "【" (cite_0 | cite_2) "】"' in grammar
    dagger = json.dumps("†")[1:-1]  # literals are JSON-escaped
    assert f'cite_0: "0{dagger}L" ("0" | "1" | "2")' in grammar and f'cite_2: "2{dagger}L" ("0")' in grammar
    assert "citation" not in harmony_grammar(OutputSpec(), 16)


@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_random_weights_cite_a_page_and_line_that_exist(tiny_model: GptOss, encoding: Any, seed: int) -> None:
    import re

    backend = make_backend(tiny_model, message_token_budget=12)
    try:
        spec = OutputSpec(citable=((1, 4), (3, 2)))
        tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, temperature=1.0, seed=seed))
    finally:
        backend.scheduler.stop()
    (final,) = parse(encoding, tokens)
    marker = re.search(r"【(\d+)†L(\d+)】$", final.content[0].text)
    assert marker is not None, final.content[0].text[-40:]
    cursor, line = int(marker.group(1)), int(marker.group(2))
    assert (cursor, line) in {(1, 0), (1, 1), (1, 2), (1, 3), (3, 0), (3, 1)}
