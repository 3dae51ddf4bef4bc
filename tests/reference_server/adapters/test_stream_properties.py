"""Property tests: any valid CC chunk sequence or Anthropic event sequence converts into a
Responses stream the checker accepts, carrying exactly the upstream's text, reasoning, refusal
and arguments, with the status its finish/stop reason implies and the upstream's usage."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from reference_server.sources.adapters.anthropic_stream import AnthropicToResponsesStream
from reference_server.sources.adapters.cc_stream import CCToResponsesStream
from tests.reference_server.adapters.helpers import (
    assert_conformant,
    snapshot_content,
    streamed,
    terminal,
)
from tests.reference_server.adapters.strategies import TOOLS_REQUEST, anthropic_streams, cc_streams
from tests.reference_server.adapters.upstream_readers import anthropic_content, cc_content

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_cc(chunks: list[Any]) -> list[dict[str, Any]]:
    conv = CCToResponsesStream(TOOLS_REQUEST)
    events = conv.start()
    for chunk in chunks:
        events += conv.finish() if chunk == "[DONE]" else conv.feed(chunk)
    assert conv.done
    return events


@SETTINGS
@given(cc_streams())
def test_cc_streams_convert_conformantly(case: dict[str, Any]) -> None:
    events = run_cc(case["chunks"])
    assert_conformant(events, TOOLS_REQUEST)
    response = terminal(events)
    upstream = cc_content(case["chunks"])
    assert streamed(events) == upstream
    assert snapshot_content(response) == upstream
    reason = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(case["finish_reason"])
    assert response["status"] == ("incomplete" if reason else "completed")
    assert response["incomplete_details"] == ({"reason": reason} if reason else None)
    if case["usage"] is not None:
        assert response["usage"]["input_tokens"] == case["usage"]["prompt_tokens"]
        assert response["usage"]["output_tokens"] == case["usage"]["completion_tokens"]
        assert response["usage"]["output_tokens_details"]["reasoning_tokens"] == (
            case["usage"]["completion_tokens_details"]["reasoning_tokens"])


@SETTINGS
@given(anthropic_streams())
def test_anthropic_streams_convert_conformantly(case: dict[str, Any]) -> None:
    conv = AnthropicToResponsesStream(TOOLS_REQUEST)
    events = conv.start()
    for event in case["events"]:
        events += conv.feed(event)
    assert conv.done
    assert_conformant(events, TOOLS_REQUEST)
    response = terminal(events)
    upstream = anthropic_content(case["events"])
    assert streamed(events) == upstream
    assert snapshot_content(response) == upstream
    reason = {"max_tokens": "max_output_tokens", "refusal": "content_filter"}.get(case["stop_reason"])
    assert response["status"] == ("incomplete" if reason else "completed")
    u = case["usage"]
    assert response["usage"]["input_tokens"] == (
        u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"])
    assert response["usage"]["input_tokens_details"]["cached_tokens"] == u["cache_read_input_tokens"]
    assert response["usage"]["output_tokens"] == u["output_tokens"]
