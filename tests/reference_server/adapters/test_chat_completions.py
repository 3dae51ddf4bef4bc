"""Chat Completions <-> Responses: requests both ways (examples, errors, round trips) and
non-stream responses both ways."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server.sources.adapters.chat_completions import (
    cc_to_responses_request,
    completion_to_response,
    response_to_completion,
    responses_to_cc_request,
)
from reference_server.sources.adapters.common import ConversionError
from tests.reference_server.adapters.helpers import SEED, sse_payloads

TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": True}


def test_responses_request_to_cc_full() -> None:
    req = {
        "model": "client-model",
        "instructions": "Be brief.",
        "input": [
            {"role": "developer", "content": "Use metric units."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Weather in Oslo and Lima?"},
                {"type": "input_image", "image_url": "https://x.test/a.png", "detail": "low"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [],
             "content": [{"type": "reasoning_text", "text": "Two calls."}]},
            {"type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
            {"type": "function_call", "call_id": "call_b", "name": "get_weather", "arguments": "{\"city\":\"Lima\"}"},
            {"type": "function_call_output", "call_id": "call_a", "output": "3C"},
            {"type": "function_call_output", "call_id": "call_b", "output": [{"type": "input_text", "text": "20C"}]},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Oslo 3C, Lima 20C."}]},
        ],
        "tools": [TOOL],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "temperature": 0.2, "top_p": 0.9, "max_output_tokens": 300, "parallel_tool_calls": True,
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": True}},
        "metadata": None, "stream": True,
    }
    cc = responses_to_cc_request(req, model="upstream-model")
    assert cc == {
        "model": "upstream-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "system", "content": "Use metric units."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Oslo and Lima?"},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}}]},
            {"role": "assistant", "content": None, "reasoning_content": "Two calls.", "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lima\"}"}}]},
            {"role": "tool", "tool_call_id": "call_a", "content": "3C"},
            {"role": "tool", "tool_call_id": "call_b", "content": "20C"},
            {"role": "assistant", "content": "Oslo 3C, Lima 20C."},
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": True}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "temperature": 0.2, "top_p": 0.9, "parallel_tool_calls": True, "max_tokens": 300,
        "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": True}},
        "stream": True, "stream_options": {"include_usage": True},
    }


def test_calls_attach_to_preceding_assistant_message() -> None:
    cc = responses_to_cc_request({"model": "m", "input": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}]})
    assert cc["messages"][1] == {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    assert responses_to_cc_request({"model": "m", "input": "hi"})["messages"] == [{"role": "user", "content": "hi"}]


def test_allowed_tools_narrow_the_tool_list() -> None:
    other = {**TOOL, "name": "other"}
    cc = responses_to_cc_request({"model": "m", "input": "x", "tools": [TOOL, other], "tool_choice": {
        "type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "other"}]}})
    assert [t["function"]["name"] for t in cc["tools"]] == ["other"]
    assert cc["tool_choice"] == "required"


@pytest.mark.parametrize(("req", "param"), [
    ({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0]"),
    ({"model": "m", "input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
    ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
     "input[0].content[0]"),
    ({"model": "m", "input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
    ({"model": "m", "input": 5}, "input"),
])
def test_untranslatable_requests_name_the_param(req: dict[str, Any], param: str) -> None:
    with pytest.raises(ConversionError) as info:
        responses_to_cc_request(req)
    assert info.value.param == param
    assert info.value.message


def test_cc_request_to_responses() -> None:
    req = {
        "model": "m", "stream": True, "max_completion_tokens": 50, "temperature": 0.5, "stop": None,
        "messages": [
            {"role": "system", "content": "Sys A"},
            {"role": "developer", "content": [{"type": "text", "text": "Sys B"}]},
            {"role": "user", "content": [{"type": "text", "text": "Look"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]},
            {"role": "assistant", "content": None, "reasoning_content": "think",
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "response_format": {"type": "json_object"},
    }
    assert cc_to_responses_request(req) == {
        "model": "m",
        "instructions": "Sys A\n\nSys B",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Look"},
                                         {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "auto"}]},
            {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "think"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
        ],
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
        "tool_choice": {"type": "function", "name": "f"},
        "temperature": 0.5, "max_output_tokens": 50,
        "text": {"format": {"type": "json_object"}},
        "stream": True, "store": False,
    }


@pytest.mark.parametrize(("req", "param"), [
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["\n"]}, "stop"),
    ({"model": "m", "messages": []}, "messages"),
    ({"model": "m", "messages": [{"role": "function", "content": "x"}]}, "messages[0].role"),
])
def test_cc_request_errors(req: dict[str, Any], param: str) -> None:
    with pytest.raises(ConversionError) as info:
        cc_to_responses_request(req)
    assert info.value.param == param


# ---------------------------------------------------------------------------- round trips
def canonical_responses_input(items: Any) -> list[tuple[Any, ...]]:
    """Meaning of a Responses input: roles + texts, calls, outputs, reasoning text."""
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    out: list[tuple[Any, ...]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            content = item["content"]
            text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
            out.append(("msg", item["role"], text))
        elif kind == "function_call":
            out.append(("call", item["call_id"], item["name"], item["arguments"]))
        elif kind == "function_call_output":
            out.append(("output", item["call_id"], item["output"]))
        elif kind == "reasoning":
            out.append(("reasoning", "".join(c["text"] for c in item["content"])))
    return out


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
    items: list[dict[str, Any]] = []
    n_calls = 0
    for _ in range(draw(st.integers(1, 3))):
        items.append({"role": "user", "content": draw(st.one_of(text, st.builds(
            lambda t: [{"type": "input_text", "text": t}], text)))})
        if draw(st.booleans()):
            items.append({"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": draw(text)}]})
        if draw(st.booleans()):
            items.append({"role": "assistant", "content": draw(text)})
        calls = [f"call_{n_calls + i}" for i in range(draw(st.integers(0, 2)))]
        n_calls += len(calls)
        if not calls and items[-1].get("role") != "assistant":
            items.append({"role": "assistant", "content": draw(text)})
        for cid in calls:
            items.append({"type": "function_call", "call_id": cid, "name": "f",
                          "arguments": json.dumps({"x": draw(text)})})
        for cid in calls:
            items.append({"type": "function_call_output", "call_id": cid, "output": draw(text)})
    req: dict[str, Any] = {"model": "m", "input": items}
    if draw(st.booleans()):
        req["instructions"] = draw(text)
    for key, strat in (("temperature", st.floats(0, 2)), ("top_p", st.floats(0, 1)),
                       ("max_output_tokens", st.integers(16, 4096)), ("stream", st.booleans())):
        if draw(st.booleans()):
            req[key] = draw(strat)
    if draw(st.booleans()):
        req["tools"] = [TOOL]
        req["tool_choice"] = draw(st.sampled_from(["auto", "none", "required"]))
    return req


@settings(max_examples=40, deadline=None)
@given(conversations())
def test_request_round_trip_keeps_meaning(req: dict[str, Any]) -> None:
    back = cc_to_responses_request(responses_to_cc_request(req))
    assert canonical_responses_input(back["input"]) == canonical_responses_input(req["input"])
    assert back.get("instructions") == req.get("instructions")
    for key in ("temperature", "top_p", "max_output_tokens", "tools", "tool_choice"):
        assert back.get(key) == req.get(key), key
    assert bool(back.get("stream")) == bool(req.get("stream"))
    # ... and the CC form survives the opposite trip too.
    cc = responses_to_cc_request(req)
    assert responses_to_cc_request(back)["messages"] == cc["messages"]


# ---------------------------------------------------------------------------- responses
COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1767225600, "model": "upstream-model",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Checking.", "reasoning_content": "User wants weather.",
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]}}],
    "usage": {"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80,
              "prompt_tokens_details": {"cached_tokens": 10}, "completion_tokens_details": {"reasoning_tokens": 12}},
}
REQUEST = {"model": "client-model", "input": "Weather?", "tools": [TOOL], "instructions": "Be brief."}


def test_completion_to_response() -> None:
    from conformance import check_response

    resp = completion_to_response(COMPLETION, REQUEST)
    assert resp["status"] == "completed" and resp["model"] == "client-model"
    assert resp["instructions"] == "Be brief." and resp["tools"] == [TOOL]
    assert [i["type"] for i in resp["output"]] == ["reasoning", "message", "function_call"]
    assert resp["output"][0]["content"] == [{"type": "reasoning_text", "text": "User wants weather."}]
    assert resp["output"][1]["content"][0]["text"] == "Checking."
    assert resp["output"][2]["call_id"] == "call_1" and resp["output"][2]["arguments"] == "{\"city\":\"Oslo\"}"
    assert resp["usage"]["input_tokens_details"]["cached_tokens"] == 10
    assert resp["usage"]["output_tokens_details"]["reasoning_tokens"] == 12
    assert resp["usage"]["total_tokens"] == 80
    assert check_response(resp, request=REQUEST).errors() == []


@pytest.mark.parametrize(("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")])
def test_completion_cut_short_is_incomplete(finish: str, reason: str) -> None:
    completion = {**COMPLETION, "choices": [{"index": 0, "finish_reason": finish,
                                             "message": {"role": "assistant", "content": "Partial"}}]}
    resp = completion_to_response(completion, REQUEST)
    assert resp["status"] == "incomplete"
    assert resp["incomplete_details"] == {"reason": reason}
    assert resp["output"][-1]["status"] == "incomplete"


def test_completion_without_choices_is_rejected() -> None:
    with pytest.raises(ConversionError):
        completion_to_response({"id": "x"}, REQUEST)


def test_response_to_completion_from_real_capture() -> None:
    payloads = sse_payloads((SEED / "fantasy-parallel-tools-gpt-5.sse").read_bytes())
    response = payloads[-1]["response"]
    completion = response_to_completion(response)
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert [c["function"]["name"] for c in choice["message"]["tool_calls"]] == ["add", "multiply"]
    assert choice["message"]["tool_calls"][0]["id"] == "call_inViAUr9eV0GDtyOywkCxp59"
    assert choice["message"]["content"] is None
    assert completion["usage"] == {"prompt_tokens": 109, "completion_tokens": 223, "total_tokens": 332,
                                   "prompt_tokens_details": {"cached_tokens": 0},
                                   "completion_tokens_details": {"reasoning_tokens": 128}}


def test_response_to_completion_incomplete_is_length() -> None:
    resp = completion_to_response({**COMPLETION, "choices": [{"index": 0, "finish_reason": "length",
                                                              "message": {"role": "assistant", "content": "Cut"}}]}, REQUEST)
    completion = response_to_completion(resp)
    assert completion["choices"][0]["finish_reason"] == "length"
    assert completion["choices"][0]["message"]["content"] == "Cut"


def test_completion_round_trip() -> None:
    back = response_to_completion(completion_to_response(COMPLETION, REQUEST))
    message = back["choices"][0]["message"]
    original = COMPLETION["choices"][0]["message"]
    assert message["content"] == original["content"]
    assert message["reasoning_content"] == original["reasoning_content"]
    assert message["tool_calls"] == original["tool_calls"]
    assert back["choices"][0]["finish_reason"] == "tool_calls"
    assert back["usage"] == COMPLETION["usage"]
