"""Every dialect fixture through proxy mode (HTTP in, the upstream's built bytes out
of a mocked upstream): the checker finds zero errors, text/reasoning/arguments equal the
upstream's, usage equals the upstream's under its convention, citations become url_citation
annotations, signatures become encrypted_content, and blocks with no Responses equivalent stay
visible (and are logged). Plus the dialect table's usage arithmetic and the non-stream paths."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings

from reference_server.sources.adapters.anthropic_stream import message_to_response
from reference_server.sources.adapters.cc_stream import CCToResponsesStream
from reference_server.sources.adapters.chat_completions import completion_to_response
from reference_server.sources.adapters.dialects import DELTA_FIELDS, USAGE_CONVENTIONS, usage_counts
from tests.reference_server.adapters.dialect_strategies import (
    anthropic_dialect_streams,
    dialect_streams,
)
from tests.reference_server.adapters.helpers import (
    fixture_names,
    load_fixture,
    snapshot_content,
    sse_payloads,
)
from tests.reference_server.adapters.test_proxy import (
    UP,
    check_body,
    make_app,
    proxy_client,
    sse_response,
)
from tests.reference_server.adapters.test_upstream_fixtures import without_fallback_parts
from tests.reference_server.adapters.upstream_readers import (
    anthropic_content,
    anthropic_fallback_blocks,
    cc_content,
)

DIALECT_CASES = [(k, n) for k in ("chat-completions", "anthropic") for n in fixture_names(k)
                 if "usage" in load_fixture(k, n)[1]["expected"] or "fallback" in load_fixture(k, n)[1]["expected"]]


def test_dialect_fixtures_cover_every_shape() -> None:
    features: set[str] = set()
    for kind, name in DIALECT_CASES:
        features.update(load_fixture(kind, name)[1]["features"])
    for needed in ("content_parts", "thinking_parts", "reasoning_content", "reasoning_field", "reasoning_details",
                   "reasoning_encrypted", "tool_call_without_index", "arguments_in_one_chunk", "reused_index",
                   "repeated_id_and_name", "empty_id", "usage_in_finish_chunk", "usage_only_chunk",
                   "usage_in_every_chunk", "x_groq_usage", "usage_completion_excludes_reasoning",
                   "usage_inconsistent", "cached_tokens", "prompt_cache_hit_tokens", "citations", "annotations",
                   "unknown_delta_key", "citations_delta", "server_tool_use", "web_search_tool_result",
                   "web_fetch_tool_result", "redacted_thinking", "signature_delta", "mcp_tool_use", "compaction",
                   "bash_code_execution_tool_result", "unknown_block", "cache_write_tokens"):
        assert needed in features, needed
    for kind, name in DIALECT_CASES:
        meta = load_fixture(kind, name)[1]
        assert meta["source"] == "built" and meta["provenance"].startswith("built from "), name


async def through_proxy(kind: str, raw: bytes, request: dict[str, Any]) -> bytes:
    async with httpx.AsyncClient() as upstream_client:
        app = make_app(kind, upstream_client)
        with respx.mock() as mock:
            mock.post(f"{UP}/{'chat/completions' if kind == 'chat-completions' else 'messages'}").mock(
                side_effect=lambda r: sse_response(raw))
            async with proxy_client(app) as client:
                return (await client.post("/v1/responses", json={**request, "model": "client-model"})).content


@pytest.mark.parametrize(("kind", "name"), DIALECT_CASES)
async def test_dialect_fixture_through_proxy_mode(kind: str, name: str, caplog: Any) -> None:
    raw, meta = load_fixture(kind, name)
    expected = meta["expected"]
    request = {**meta["request"], "model": "client-model"}
    with caplog.at_level(logging.WARNING, logger="reference_server.proxy"):
        body = await through_proxy(kind, raw, request)
    response = check_body(body, request).terminal_response  # zero checker errors
    assert response["status"] == expected["status"]
    assert [i["type"] for i in response["output"]] == expected["output_types"]
    payloads = sse_payloads(raw)
    upstream = cc_content(payloads) if kind == "chat-completions" else anthropic_content(payloads)
    assert snapshot_content(without_fallback_parts(response)) == upstream
    if "arguments" in expected:
        assert [i["arguments"] for i in response["output"] if i["type"] == "function_call"] == expected["arguments"]

    usage = response["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_tokens_details"]["reasoning_tokens"] <= usage["output_tokens"]
    if "usage" in expected:
        want = expected["usage"]
        got = {"input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"],
               "reasoning_tokens": usage["output_tokens_details"]["reasoning_tokens"],
               "cached_tokens": usage["input_tokens_details"]["cached_tokens"]}
        if "cache_write_tokens" in want:
            got["cache_write_tokens"] = usage["input_tokens_details"]["cache_write_tokens"]
        assert got == want

    texts = [p for i in response["output"] if i["type"] == "message" for p in i["content"]
             if p["type"] == "output_text"]
    if expected.get("annotations") == "url_citation":
        annotations = [(a, p["text"]) for p in texts for a in p["annotations"]]
        assert annotations and all(a["type"] == "url_citation" and a["url"].startswith("https://")
                                   for a, _ in annotations)
        assert all(0 <= a["start_index"] <= a["end_index"] <= len(text) for a, text in annotations)
    if "encrypted_content" in expected:
        want_enc = expected["encrypted_content"]
        got_enc = [i.get("encrypted_content") for i in response["output"] if i["type"] == "reasoning"]
        assert got_enc == (want_enc if isinstance(want_enc, list) else [want_enc] + [None] * (len(got_enc) - 1))
    if "fallback" in expected:
        rendered = "\n".join(p["text"] for p in texts if p["text"].startswith("[Anthropic "))
        for block in anthropic_fallback_blocks(payloads):
            assert f"[Anthropic {block['block']['type']} block]" in rendered
            for leaf in leaves(block["block"]):
                assert leaf in rendered  # every string the block carried, verbatim
            assert block["streamed"] in rendered
        logged = caplog.text
        for block_type in expected["fallback"]:
            assert block_type in logged
    if "web_search_call" in expected["output_types"]:
        calls = [i for i in response["output"] if i["type"] == "web_search_call"]
        assert all(c["status"] == "completed" and c["action"]["type"] in ("search", "open_page") for c in calls)
        searches = [c for c in calls if c["action"]["type"] == "search"]
        # tool_usage counts searches (the writer's rule): opening a page is not a search request
        assert response["tool_usage"]["web_search"]["num_requests"] == len(searches)
        assert all(c["action"]["query"] and c["action"]["sources"] for c in searches)


def leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != "type" for s in leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in leaves(v)]
    return [value] if isinstance(value, str) and value else []


def test_perplexity_markers_are_annotated_at_their_offsets() -> None:
    from tests.reference_server.adapters.helpers import terminal
    from tests.reference_server.adapters.test_upstream_fixtures import convert

    raw, meta = load_fixture("chat-completions", "perplexity-citations")
    payloads = sse_payloads(raw)
    response = terminal(convert("chat-completions", payloads, meta["request"]))
    part = response["output"][0]["content"][0]
    urls = payloads[-2]["citations"]
    marked = [a for a in part["annotations"] if a["start_index"] < a["end_index"]]
    assert marked
    for a in marked:
        n = int(part["text"][a["start_index"] + 1:a["end_index"] - 1])
        assert part["text"][a["start_index"]:a["end_index"]] == f"[{n}]" and a["url"] == urls[n - 1]
    assert {a["url"] for a in part["annotations"]} == set(urls)  # every source listed, cited or not


def test_unknown_key_and_inconsistent_usage_are_logged(caplog: Any) -> None:
    from tests.reference_server.adapters.test_upstream_fixtures import convert

    raw, meta = load_fixture("chat-completions", "unknown-delta-key-inconsistent-usage")
    with caplog.at_level(logging.WARNING, logger="reference_server.proxy"):
        convert("chat-completions", sse_payloads(raw), meta["request"])
    assert "delta key 'thoughts_v2'" in caplog.text
    assert "kept the upstream's total" in caplog.text


@pytest.mark.parametrize(("usage", "want"), [
    # completion includes reasoning (OpenAI, DeepSeek): output = completion
    ({"prompt_tokens": 10, "completion_tokens": 50, "total_tokens": 60,
      "completion_tokens_details": {"reasoning_tokens": 40}}, (10, 50, 0, 40)),
    # completion excludes reasoning (xAI): output = completion + reasoning
    ({"prompt_tokens": 12, "completion_tokens": 26, "total_tokens": 234,
      "completion_tokens_details": {"reasoning_tokens": 196}}, (12, 222, 0, 196)),
    # no total, reasoning above completion: only the excluding convention fits
    ({"prompt_tokens": 1, "completion_tokens": 2, "completion_tokens_details": {"reasoning_tokens": 5}}, (1, 7, 0, 5)),
    # cached tokens by each name
    ({"prompt_tokens": 9, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 4}}, (9, 1, 4, 0)),
    ({"prompt_tokens": 9, "completion_tokens": 1, "prompt_cache_hit_tokens": 5}, (9, 1, 5, 0)),
    ({"prompt_tokens": 9, "completion_tokens": 1, "cached_tokens": 6}, (9, 1, 6, 0)),
])
def test_usage_conventions(usage: dict[str, Any], want: tuple[int, int, int, int]) -> None:
    inp, out, cached, reasoning, note = usage_counts(usage)
    assert (inp, out, cached, reasoning) == want and note is None


def test_inconsistent_usage_keeps_the_upstream_total() -> None:
    inp, out, _, reasoning, note = usage_counts({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 40,
                                                 "completion_tokens_details": {"reasoning_tokens": 50}})
    assert inp + out == 40 and reasoning == out and note and "total" in note and "clamped" in note


def test_dialect_table_cites_a_source_for_every_entry() -> None:
    for entry in DELTA_FIELDS:
        assert entry.source and entry.providers, entry
    for convention in USAGE_CONVENTIONS:
        assert convention.source and convention.providers, convention


def test_nonstream_cc_completion_in_any_dialect() -> None:
    completion = {"id": "x", "object": "chat.completion", "created": 1, "model": "magistral",
                  "citations": ["https://a.example/"],
                  "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": [
                      {"type": "thinking", "thinking": [{"type": "text", "text": "Sum it."}]},
                      {"type": "text", "text": "4 [1]"}]}}],
                  "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 8,
                            "completion_tokens_details": {"reasoning_tokens": 3}}}
    response = completion_to_response(completion, {"model": "m", "input": "2+2?"})
    content = snapshot_content(response)
    assert (content["reasoning"], content["text"]) == ("Sum it.", "4 [1]")
    part = response["output"][1]["content"][0]
    assert part["annotations"] == [{"type": "url_citation", "url": "https://a.example/", "title": "https://a.example/",
                                    "start_index": 2, "end_index": 5}]
    assert response["usage"]["output_tokens"] == 5 and response["usage"]["total_tokens"] == 8


def test_nonstream_anthropic_message_keeps_signatures_citations_and_unknown_blocks() -> None:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "stop_reason": "end_turn",
               "content": [{"type": "thinking", "thinking": "Hmm.", "signature": "Sig=="},
                           {"type": "text", "text": "Green.", "citations": [
                               {"type": "web_search_result_location", "url": "https://g.example/", "title": "G",
                                "cited_text": "Green."}]},
                           {"type": "container_upload", "file_id": "file_1"}],
               "usage": {"input_tokens": 3, "output_tokens": 2}}
    response = message_to_response(message, {"model": "m", "input": "?"})
    assert response["output"][0]["encrypted_content"] == "Sig=="
    parts = response["output"][1]["content"]
    assert parts[0]["annotations"][0]["url"] == "https://g.example/"
    assert parts[0]["annotations"][0]["end_index"] == len("Green.")
    assert "container_upload" in parts[1]["text"] and "file_1" in parts[1]["text"]
    assert json.dumps(response)  # plain JSON


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dialect_streams())
def test_every_character_of_any_dialect_reaches_the_terminal_response(case: dict[str, Any]) -> None:
    from tests.reference_server.adapters.helpers import assert_conformant, terminal
    from tests.reference_server.adapters.strategies import TOOLS_REQUEST

    conv = CCToResponsesStream(TOOLS_REQUEST)
    events = conv.start()
    for chunk in case["chunks"]:
        events += conv.finish() if chunk == "[DONE]" else conv.feed(chunk)
    assert_conformant(events, TOOLS_REQUEST)
    response = terminal(events)
    assert response["status"] == "completed"
    got = snapshot_content(response)
    assert got["reasoning"] == case["reasoning"]
    assert got["text"] == case["text"]
    assert got["arguments"] == case["arguments"]
    usage = response["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_tokens_details"]["reasoning_tokens"] <= usage["output_tokens"]
    if case["usage"] is not None:
        prompt, output, reasoning = case["usage"]
        assert (usage["input_tokens"], usage["output_tokens"]) == (prompt, output)
        assert usage["output_tokens_details"]["reasoning_tokens"] == reasoning


def test_unknown_content_part_stays_visible(caplog: Any) -> None:
    from tests.reference_server.adapters.helpers import terminal

    conv = CCToResponsesStream({"model": "m", "input": "?"})
    events = conv.start()
    with caplog.at_level(logging.WARNING, logger="reference_server.proxy"):
        for chunk in ({"choices": [{"index": 0, "delta": {"content": [
                          {"type": "text", "text": "See: "},
                          {"type": "image_url", "image_url": {"url": "https://img.example/x.png"}},
                          {"type": "reference", "text": "ref one"}]}}]},
                      {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}):
            events += conv.feed(chunk)
        events += conv.finish()
    content = snapshot_content(terminal(events))
    assert content["text"] == "See: "
    assert "https://img.example/x.png" in content["reasoning"] and "ref one" in content["reasoning"]
    assert "content part 'image_url'" in caplog.text and "content part 'reference'" in caplog.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anthropic_dialect_streams())
def test_no_anthropic_block_is_dropped(case: dict[str, Any]) -> None:
    from reference_server.sources.adapters.anthropic_stream import AnthropicToResponsesStream
    from tests.reference_server.adapters.helpers import assert_conformant, terminal
    from tests.reference_server.adapters.strategies import TOOLS_REQUEST
    from tests.reference_server.adapters.test_upstream_fixtures import without_fallback_parts

    conv = AnthropicToResponsesStream(TOOLS_REQUEST)
    events = conv.start()
    for event in case["events"]:
        events += conv.feed(event)
    assert_conformant(events, TOOLS_REQUEST)
    response = terminal(events)
    assert response["status"] == "completed"
    assert snapshot_content(without_fallback_parts(response)) == anthropic_content(case["events"])
    assert [i.get("encrypted_content") for i in response["output"] if i["type"] == "reasoning"] == case["signatures"]
    assert sum(i["type"] == "web_search_call" for i in response["output"]) == case["searches"]
    rendered = "".join(p["text"] for i in response["output"] if i["type"] == "message" for p in i["content"]
                       if p["type"] == "output_text")
    for s in case["fallback_strings"]:
        assert s in rendered
    parts = [p for i in response["output"] if i["type"] == "message" for p in i["content"]
             if p["type"] == "output_text"]
    annotated = [(a["url"], p["text"], a["start_index"], a["end_index"]) for p in parts for a in p["annotations"]]
    # Each citation annotates exactly the text of the block that carried it.
    assert annotated == [(url, text, 0, len(text)) for url, text in case["cited"]]
