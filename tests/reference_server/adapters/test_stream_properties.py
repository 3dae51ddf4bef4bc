"""Property tests: any valid CC chunk sequence or Anthropic event sequence converts into a
Responses stream the checker accepts, carrying exactly the upstream's text, reasoning, refusal
and arguments, with the status its finish/stop reason implies and the upstream's usage; an
Anthropic assistant turn given back as input is sent upstream block for block."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.sources.adapters.anthropic import responses_to_anthropic_request
from reference_server.sources.adapters.anthropic_stream import AnthropicToResponsesStream
from reference_server.sources.adapters.cc_stream import CCToResponsesStream
from tests.reference_server.adapters.helpers import (
    assert_conformant,
    snapshot_content,
    streamed,
    terminal,
)
from tests.reference_server.adapters.strategies import (
    ARGS,
    TEXT,
    TOOLS_REQUEST,
    anthropic_streams,
    cc_streams,
    split,
)
from tests.reference_server.adapters.upstream_readers import anthropic_content, cc_content

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
# An opaque signature or redacted payload: base64 text, as Anthropic sends them.
BLOB = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=1, max_size=40)


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


@st.composite
def signed_turns(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the assistant turn's blocks, the Messages events that stream them): signed thinking
    (any text, also none, cut anywhere; the signature in the start block or its delta),
    redacted thinking, text and complete tool calls, in any order."""
    blocks: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        "id": "msg_hyp", "type": "message", "role": "assistant", "model": "claude-x", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}}]
    kinds = draw(st.lists(st.sampled_from(["thinking", "redacted_thinking", "text", "tool_use"]), max_size=5))
    for i, kind in enumerate(kinds):
        deltas: list[dict[str, Any]] = []
        if kind == "thinking":
            text, signature = draw(TEXT), draw(BLOB)
            blocks.append({"type": "thinking", "thinking": text, "signature": signature})
            in_start = draw(st.booleans())
            start = {"type": "thinking", "thinking": "", "signature": signature if in_start else ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in draw(split(text))]
            deltas += [] if in_start else [{"type": "signature_delta", "signature": signature}]
        elif kind == "redacted_thinking":
            start = {"type": "redacted_thinking", "data": draw(BLOB)}
            blocks.append(start)
        elif kind == "text":
            text = draw(TEXT.filter(bool))
            blocks.append({"type": "text", "text": text})
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in draw(split(text))]
        else:
            args = draw(ARGS)
            blocks.append({"type": "tool_use", "id": f"toolu_{i}", "name": "lookup", "input": args})
            start = {"type": "tool_use", "id": f"toolu_{i}", "name": "lookup", "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in draw(split(json.dumps(args)))]
        events.append({"type": "content_block_start", "index": i, "content_block": start})
        events += [{"type": "content_block_delta", "index": i, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": i})
    events.append({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                   "usage": {"output_tokens": 9}})
    events.append({"type": "message_stop"})
    return blocks, events


@SETTINGS
@given(signed_turns())
def test_anthropic_turns_replay_byte_for_byte(case: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """Streamed in, given back as input: the request converter sends the very blocks Anthropic sent
    (signatures, redacted data and thinking text unchanged), so Anthropic can verify them."""
    blocks, upstream = case
    conv = AnthropicToResponsesStream(TOOLS_REQUEST)
    events = conv.start()
    for event in upstream:
        events += conv.feed(event)
    assert_conformant(events, TOOLS_REQUEST)
    output = json.loads(json.dumps(terminal(events)["output"]))  # as a client receives it
    replay = responses_to_anthropic_request({**TOOLS_REQUEST, "input": [{"role": "user", "content": "Hi"}, *output,
                                                                        {"role": "user", "content": "Go on."}]})
    sent = replay["messages"][1]["content"] if blocks else []
    assert sent == blocks
