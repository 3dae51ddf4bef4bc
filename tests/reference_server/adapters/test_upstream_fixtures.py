"""Every synthetic or built upstream stream in fixtures/upstream converts into a Responses stream
the checker accepts, with the status its sidecar expects and the upstream's content intact."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reference_server.sources.adapters.anthropic_stream import AnthropicToResponsesStream
from reference_server.sources.adapters.cc_stream import CCToResponsesStream
from tests.reference_server.adapters.helpers import (
    UPSTREAM,
    assert_conformant,
    fixture_names,
    load_fixture,
    snapshot_content,
    sse_payloads,
    streamed,
    terminal,
)
from tests.reference_server.adapters.upstream_readers import anthropic_content, cc_content

CASES = [("chat-completions", n) for n in fixture_names("chat-completions")] + [
    ("anthropic", n) for n in fixture_names("anthropic")
]


def convert(kind: str, payloads: list[Any], request: dict[str, Any]) -> list[dict[str, Any]]:
    conv = CCToResponsesStream(request) if kind == "chat-completions" else AnthropicToResponsesStream(request)
    events = conv.start()
    for p in payloads:
        events += conv.finish() if p == "[DONE]" else conv.feed(p)
    return events + conv.finish()  # EOF


def test_fixture_set_covers_the_required_cases() -> None:
    features = set()
    for kind, name in CASES:
        features.update(load_fixture(kind, name)[1]["features"])
    for needed in ("reasoning_content", "reasoning_field", "parallel_tool_calls", "interleaved_arguments",
                   "usage_only_chunk", "finish_length", "finish_content_filter", "finish_tool_calls",
                   "error_chunk", "no_finish_reason", "thinking", "signature_delta", "tool_use",
                   "stop_max_tokens", "error_event", "stop_refusal", "ping"):
        assert needed in features, needed
    assert {load_fixture(k, n)[1]["source"] for k, n in CASES} <= {"synthetic", "built"}


def test_built_fixtures_are_what_the_generator_writes() -> None:
    """fixtures/upstream/ holds exactly what scripts/make_upstream_fixtures.py generates."""
    from scripts import make_upstream_fixtures

    files = make_upstream_fixtures.generate()
    assert len(files) >= 38
    stale = sorted(k for k, v in files.items() if (UPSTREAM / k).read_bytes() != v)
    assert not stale, f"run `python scripts/make_upstream_fixtures.py`: {stale[:5]}"
    for k, v in files.items():
        if k.endswith(".json"):
            meta = json.loads(v)
            assert meta["source"] == "built" and meta["provenance"].startswith("built from "), k
            assert not {"repo", "path", "commit"} & set(meta), k


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_fixture_converts(kind: str, name: str) -> None:
    raw, meta = load_fixture(kind, name)
    payloads = sse_payloads(raw)
    request = meta["request"]
    events = convert(kind, payloads, request)
    expected = meta["expected"]
    response = terminal(events)
    assert response["status"] == expected["status"]
    assert [i["type"] for i in response["output"]] == expected["output_types"]
    if "incomplete_reason" in expected:
        assert response["incomplete_details"] == {"reason": expected["incomplete_reason"]}
    if response["status"] == "failed":
        # A failed stream closes its cut item as `incomplete` (the safe choice for clients);
        # the checker accepts that as the last item of a failed response.
        assert_conformant_failed(events, request)
        assert response["error"]["message"]
        return
    assert_conformant(events, request)
    upstream = cc_content(payloads) if kind == "chat-completions" else anthropic_content(payloads)
    assert streamed(events) == snapshot_content(response)  # deltas add up to the terminal snapshot
    assert snapshot_content(without_fallback_parts(response)) == upstream
    if "arguments" in expected:
        assert list(upstream["arguments"].values()) == expected["arguments"]
    usage = response["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


def without_fallback_parts(response: dict[str, Any]) -> dict[str, Any]:
    """The response without the text parts that render blocks with no Responses equivalent."""
    output = []
    for item in response["output"]:
        if item["type"] == "message":
            item = {**item, "content": [p for p in item["content"]
                                        if not (p["type"] == "output_text" and p["text"].startswith("[Anthropic "))]}
        output.append(item)
    return {**response, "output": output}


def assert_conformant_failed(events: list[dict[str, Any]], request: dict[str, Any]) -> None:
    from conformance import check_events

    result = check_events(events, request=request)
    errors = result.errors()
    assert not errors, [(f.rule, f.message) for f in errors]
    assert events[-1]["type"] == "response.failed"
    assert [e["type"] for e in events].count("error") == 1
