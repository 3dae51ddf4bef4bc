"""Responses -> Anthropic Messages requests (signed thinking replayed), and Message -> Response (non-stream)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reference_server.sources.adapters.anthropic import (
    json_tool_name,
    responses_to_anthropic_request,
)
from reference_server.sources.adapters.anthropic_models import claude_model
from reference_server.sources.adapters.anthropic_stream import message_to_response
from reference_server.sources.adapters.common import ConversionError

TOOL = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def test_request_to_anthropic() -> None:
    req = {
        "model": "client", "instructions": "Be brief.", "stream": True, "max_output_tokens": 8000,
        "temperature": 0.3, "reasoning": {"effort": "medium"}, "parallel_tool_calls": False,
        "tools": [TOOL], "tool_choice": "required",
        "input": [
            {"role": "system", "content": "Metric units."},
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"},
                                         {"type": "input_image", "image_url": "data:image/png;base64,iVBOR"}]},
            {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "unsigned"}]},
            {"role": "assistant", "content": "Checking."},
            {"type": "function_call", "call_id": "toolu_1", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
            {"type": "function_call_output", "call_id": "toolu_1", "output": "3C"},
            {"role": "user", "content": "Thanks"},
        ],
    }
    out = responses_to_anthropic_request(req, model="claude-3-7-sonnet-20250219")
    assert out == {
        "model": "claude-3-7-sonnet-20250219", "max_tokens": 8000, "system": "Be brief.\n\nMetric units.", "stream": True,
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3C"},
                {"type": "text", "text": "Thanks"}]},
        ],
        "tools": [{"name": "get_weather", "input_schema": TOOL["parameters"]}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        # Anthropic refuses thinking with a forced call: the forced call wins, the temperature stays
        "temperature": 0.3,
    }
    auto = responses_to_anthropic_request({**req, "tool_choice": "auto"}, model="claude-3-7-sonnet-20250219")
    # thinking forbids a custom temperature, so it is dropped
    assert auto["thinking"] == {"type": "enabled", "budget_tokens": 4096} and "temperature" not in auto
    assert auto["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_thinking_budget_stays_below_max_tokens() -> None:
    out = responses_to_anthropic_request({"model": "m", "input": "x", "max_output_tokens": 2000,
                                          "reasoning": {"effort": "high"}})
    assert out["thinking"]["budget_tokens"] == 1999 < out["max_tokens"]
    small = responses_to_anthropic_request({"model": "m", "input": "x", "max_output_tokens": 500,
                                            "reasoning": {"effort": "high"}})
    assert "thinking" not in small
    assert responses_to_anthropic_request({"model": "m", "input": "x"})["max_tokens"] == 4096


@pytest.mark.parametrize(("model", "version", "adaptive", "sampling", "one_sampler"), [
    ("claude-3-7-sonnet-20250219", (3, 7), False, True, False),
    ("claude-3-haiku-20240307", (3, 0), False, True, False),
    ("claude-sonnet-4-20250514", (4, 0), False, True, False),
    ("claude-opus-4-1-20250805", (4, 1), False, True, True),
    ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", (4, 5), False, True, True),
    ("claude-opus-4-6", (4, 6), True, True, True),
    ("anthropic.claude-opus-4-7-v1", (4, 7), True, False, False),
    ("claude-sonnet-5", (5, 0), True, False, False),
    ("claude-fable-5-1", (5, 1), True, False, False),
    ("claude-mythos-preview", None, True, False, False),
    ("deepseek-chat", None, False, True, False),
    ("my-claude-alias", None, False, True, False),  # a gateway's name, not Claude's
])
def test_what_a_model_id_says_it_accepts(model: str, version: Any, adaptive: bool, sampling: bool,
                                         one_sampler: bool) -> None:
    claude = claude_model(model)
    assert (claude.version, claude.adaptive_thinking, claude.takes_sampling, claude.one_sampler) == \
        (version, adaptive, sampling, one_sampler)


SAMPLED = {"model": "client", "input": "x", "temperature": 0.3, "top_p": 0.9, "max_output_tokens": 8000}


@pytest.mark.parametrize(("model", "effort", "thinking", "sampling"), [
    # manual thinking (a budget), both sampling values where the model takes both
    ("claude-3-7-sonnet-20250219", None, {}, {"temperature": 0.3, "top_p": 0.9}),
    ("claude-3-7-sonnet-20250219", "medium", {"thinking": {"type": "enabled", "budget_tokens": 4096}}, {}),
    # Claude 4.1-4.5: a temperature or a top_p, not both
    ("claude-sonnet-4-5", None, {}, {"temperature": 0.3}),
    ("claude-sonnet-4-5", "high", {"thinking": {"type": "enabled", "budget_tokens": 7999}}, {}),
    # Claude 4.6: adaptive thinking with an effort level (xhigh does not exist before 4.7)
    ("claude-opus-4-6", "low", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}, {}),
    ("claude-opus-4-6", "xhigh", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}, {}),
    ("claude-opus-4-6", None, {}, {"temperature": 0.3}),
    # Opus 4.7 and later: adaptive only, no sampling values ever
    ("claude-opus-4-7", "xhigh", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}}, {}),
    ("claude-opus-4-7", "minimal", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}, {}),
    ("claude-sonnet-5", None, {}, {}),
    ("claude-sonnet-5", "none", {}, {}),
    # another provider's Anthropic-compatible endpoint: the forms every one of them takes
    ("deepseek-chat", "medium", {"thinking": {"type": "enabled", "budget_tokens": 4096}}, {}),
    ("deepseek-chat", None, {}, {"temperature": 0.3, "top_p": 0.9}),
])
def test_thinking_and_sampling_follow_the_upstream_model(model: str, effort: str | None, thinking: dict[str, Any],
                                                          sampling: dict[str, Any]) -> None:
    req = {**SAMPLED, **({"reasoning": {"effort": effort}} if effort else {})}
    out = responses_to_anthropic_request(req, model=model)
    assert {k: out[k] for k in ("thinking", "output_config") if k in out} == thinking
    assert {k: out[k] for k in ("temperature", "top_p") if k in out} == sampling


def test_a_structured_answer_is_no_forced_call_when_the_model_thinks() -> None:
    req = {"model": "client", "input": "x", "reasoning": {"effort": "low"},
           "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}}}}
    assert json_tool_name(req, "claude-opus-4-7") is None  # adaptive thinking is on: no forced call
    assert json_tool_name(req, "claude-sonnet-4-5") is None  # a 1024-token budget fits in 4096
    assert json_tool_name({**req, "max_output_tokens": 1000}, "claude-sonnet-4-5") == "answer"  # no budget fits
    assert json_tool_name({**req, "reasoning": {"effort": "none"}}, "claude-opus-4-7") == "answer"


WEATHER_FN = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
SERVER_SEARCH = {"type": "web_search_20250305", "name": "web_search"}


@pytest.mark.parametrize(("tool", "expected"), [
    ({"type": "web_search"}, SERVER_SEARCH),
    ({"type": "web_search_preview_2025_03_11", "search_context_size": "high",
      "search_content_types": ["text"]}, SERVER_SEARCH),  # hints without a counterpart: dropped
    ({"type": "web_search_2025_08_26", "filters": {"allowed_domains": ["a.example", "b.example/docs"]},
      "user_location": {"city": "Oslo", "region": None, "timezone": "Europe/Oslo"}, "external_web_access": True},
     {**SERVER_SEARCH, "allowed_domains": ["a.example", "b.example/docs"],
      "user_location": {"type": "approximate", "city": "Oslo", "timezone": "Europe/Oslo"}}),
    ({"type": "web_search", "filters": {"allowed_domains": []}}, SERVER_SEARCH),
])
def test_web_search_tool_becomes_the_server_tool(tool: dict[str, Any], expected: dict[str, Any]) -> None:
    out = responses_to_anthropic_request({"model": "m", "input": "x", "tools": [WEATHER_FN, tool]})
    assert out["tools"][1] == expected and out["tool_choice"] == {"type": "auto"}
    assert out["tools"][0]["name"] == "get_weather"


def test_max_tool_calls_limits_the_searches() -> None:
    base = {"model": "m", "input": "x", "tools": [{"type": "web_search"}]}
    assert responses_to_anthropic_request({**base, "max_tool_calls": 2})["tools"][0]["max_uses"] == 2
    assert "max_uses" not in responses_to_anthropic_request({**base, "max_tool_calls": 0})["tools"][0]
    assert "max_uses" not in responses_to_anthropic_request(base)["tools"][0]


def test_forced_web_search_forces_the_server_tool_and_wins_over_thinking() -> None:
    req = {"model": "m", "input": "x", "tools": [WEATHER_FN, {"type": "web_search_preview"}],
           "tool_choice": {"type": "web_search_preview"}, "reasoning": {"effort": "high"}, "temperature": 0.3,
           "parallel_tool_calls": False}
    out = responses_to_anthropic_request(req)
    assert out["tool_choice"] == {"type": "tool", "name": "web_search", "disable_parallel_tool_use": True}
    assert "thinking" not in out and out["temperature"] == 0.3  # Anthropic refuses thinking when forced
    unforced = responses_to_anthropic_request({**req, "tool_choice": "auto"})
    assert unforced["tool_choice"]["type"] == "auto" and unforced["thinking"]["type"] == "enabled"


def test_allowed_tools_keeps_web_search_by_type() -> None:
    choice = {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "web_search"}]}
    out = responses_to_anthropic_request({"model": "m", "input": "x", "tool_choice": choice,
                                          "tools": [WEATHER_FN, {"type": "web_search"}]})
    assert out["tools"] == [SERVER_SEARCH]
    only_fn = {**choice, "tools": [{"type": "function", "name": "get_weather"}]}
    out = responses_to_anthropic_request({"model": "m", "input": "x", "tool_choice": only_fn,
                                          "tools": [WEATHER_FN, {"type": "web_search"}]})
    assert [t["name"] for t in out["tools"]] == ["get_weather"]


def test_a_search_item_is_not_replayed() -> None:
    out = responses_to_anthropic_request({"model": "m", "input": [
        {"role": "user", "content": "Search for Oslo."},
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "Oslo"}},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Oslo is big.",
                                                               "annotations": []}]},
        {"role": "user", "content": "Thanks."}]})
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Search for Oslo."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Oslo is big."}]},
        {"role": "user", "content": [{"type": "text", "text": "Thanks."}]}]


@pytest.mark.parametrize(("req", "param"), [
    ({"model": "m", "input": "x", "tools": [{"type": "web_search", "external_web_access": False}]},
     "tools[0].external_web_access"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search", "filters": {"blocked_domains": ["a.com"]}}]},
     "tools[0].filters.blocked_domains"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search", "filters": {"allowed_domains": "a.com"}}]},
     "tools[0].filters.allowed_domains"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search", "user_location": {"type": "exact"}}]},
     "tools[0].user_location.type"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search", "user_location": {"zip": "0150"}}]},
     "tools[0].user_location.zip"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search", "user_location": "Oslo"}]},
     "tools[0].user_location"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search", "color": "blue"}]}, "tools[0].color"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search"}, {**WEATHER_FN, "name": "web_search"}]},
     "tools[1].name"),
    ({"model": "m", "input": "x", "tools": [{"type": "file_search"}]}, "tools[0]"),
    ({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{"}]},
     "input[0].arguments"),
    ({"model": "m", "input": []}, "input"),
    ({"model": "m", "input": "x", "conversation": "conv_1"}, "conversation"),
])
def test_anthropic_request_errors(req: dict[str, Any], param: str) -> None:
    with pytest.raises(ConversionError) as info:
        responses_to_anthropic_request(req)
    assert info.value.param == param


MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
    "content": [
        {"type": "thinking", "thinking": "Need the tool.", "signature": "sig"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Oslo"}},
    ],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 20, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 40},
}


def test_message_to_response() -> None:
    from conformance import check_response

    request = {"model": "client", "input": "Weather?", "tools": [TOOL]}
    resp = message_to_response(MESSAGE, request)
    assert resp["status"] == "completed" and resp["model"] == "client"
    assert [i["type"] for i in resp["output"]] == ["reasoning", "message", "function_call"]
    assert resp["output"][0]["content"][0]["text"] == "Need the tool."
    assert resp["output"][2]["call_id"] == "toolu_9" and resp["output"][2]["arguments"] == "{\"city\":\"Oslo\"}"
    assert resp["usage"]["input_tokens"] == 125
    assert resp["usage"]["input_tokens_details"]["cached_tokens"] == 100
    assert resp["usage"]["output_tokens"] == 40
    assert check_response(resp, request=request).errors() == []


@pytest.mark.parametrize(("stop", "reason"), [("max_tokens", "max_output_tokens"), ("refusal", "content_filter")])
def test_message_cut_short_is_incomplete(stop: str, reason: str) -> None:
    message = {**MESSAGE, "content": [{"type": "text", "text": "Once upon"}], "stop_reason": stop}
    resp = message_to_response(message, {"model": "client", "input": "x"})
    assert resp["status"] == "incomplete" and resp["incomplete_details"] == {"reason": reason}
    assert resp["output"][0]["status"] == "incomplete"


def test_message_without_content_is_rejected() -> None:
    with pytest.raises(ConversionError):
        message_to_response({"id": "msg"}, {"model": "m", "input": "x"})


# ---------------------------------------------------------------------------------------------
# Signed thinking goes back as it came
# ---------------------------------------------------------------------------------------------

SIGNED_TURN = [  # what Anthropic sent: thinking of all three kinds, then text and a call
    {"type": "thinking", "thinking": "Line one.\n\n  Line two, \"quoted\", ünïcode ✓ ", "signature": "EqQBCkgIARAB+/=="},
    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
    {"type": "thinking", "thinking": "", "signature": "EoMBsignature-of-omitted-text"},  # display: omitted
    {"type": "text", "text": "Let me check."},
    {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Oslo"}},
]


def test_thinking_round_trips_byte_for_byte() -> None:
    """Stream converter then request converter: the assistant turn goes back block for block,
    signatures, redacted data and thinking text unchanged."""
    resp = message_to_response({**MESSAGE, "content": SIGNED_TURN}, {"model": "client", "input": "Weather?"})
    assert [i["type"] for i in resp["output"]] == ["reasoning", "reasoning", "reasoning", "message", "function_call"]
    assert resp["output"][1]["content"] == [] and resp["output"][2]["content"] == [{"type": "reasoning_text", "text": ""}]
    call = resp["output"][-1]
    replay = responses_to_anthropic_request({"model": "m", "tools": [TOOL], "reasoning": {"effort": "low"}, "input": [
        {"role": "user", "content": "Weather?"}, *json.loads(json.dumps(resp["output"])),
        {"type": "function_call_output", "call_id": call["call_id"], "output": "3C"}]})
    assert replay["messages"][1] == {"role": "assistant", "content": SIGNED_TURN}
    assert replay["messages"][2]["content"][0]["type"] == "tool_result"


def test_reasoning_input_to_thinking_blocks() -> None:
    def item(**fields: Any) -> dict[str, Any]:
        return {"type": "reasoning", "id": "rs_1", "summary": [], **fields}

    text = [{"type": "reasoning_text", "text": "Think"}, {"type": "reasoning_text", "text": "ing."}]
    summary = [{"type": "summary_text", "text": "A summary the signature does not cover."}]
    cases = [
        (item(content=text, summary=summary, encrypted_content="sig"),
         [{"type": "thinking", "thinking": "Thinking.", "signature": "sig"}]),
        (item(encrypted_content="opaque"), [{"type": "redacted_thinking", "data": "opaque"}]),
        (item(summary=summary, encrypted_content="opaque"), [{"type": "redacted_thinking", "data": "opaque"}]),
        (item(content=text), []),  # unsigned: skipped
        (item(content=text, encrypted_content=None), []),
        (item(content=text, encrypted_content=""), []),
    ]
    for reasoning, blocks in cases:
        out = responses_to_anthropic_request({"model": "m", "input": [
            {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Before."}, reasoning,
            {"role": "assistant", "content": "After."}]})
        assert out["messages"][1]["content"] == [{"type": "text", "text": "Before."}, *blocks,
                                                 {"type": "text", "text": "After."}], reasoning


SIGNED = {"type": "reasoning", "summary": [], "encrypted_content": "sig-1",
          "content": [{"type": "reasoning_text", "text": "Thinking it over"}]}


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "claude-opus-4-7"])
def test_a_turn_that_only_thought_is_not_sent_as_the_last_message(model: str) -> None:
    # A response cut off while reasoning, replayed: a final assistant message of thinking alone
    # is nothing to continue (and no valid prefill on any model).
    out = responses_to_anthropic_request({"model": "m", "input": [{"role": "user", "content": "Hi"}, SIGNED]},
                                         model=model)
    assert [m["role"] for m in out["messages"]] == ["user"]
    # Inside the conversation it stays: a tool-use turn needs its signed thinking back.
    kept = responses_to_anthropic_request({"model": "m", "input": [
        {"role": "user", "content": "Hi"}, SIGNED, {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Again"}]}, model=model)
    assert kept["messages"][1]["content"][0]["type"] == "thinking"


def test_a_final_assistant_message_is_a_prefill_only_where_the_model_takes_one() -> None:
    req = {"model": "m", "input": [{"role": "user", "content": "Name a colour."},
                                   {"role": "assistant", "content": "The colour is"}]}
    assert responses_to_anthropic_request(req, model="claude-sonnet-4-5")["messages"][-1]["role"] == "assistant"
    for model in ("claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7", "claude-sonnet-5"):
        with pytest.raises(ConversionError) as refused:
            responses_to_anthropic_request(req, model=model)
        assert refused.value.param == "input" and model in refused.value.message
