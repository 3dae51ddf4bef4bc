"""The upstream.* judge on hand-made exchanges: each request-translation and fidelity rule
fires on its defect and stays quiet on a faithful translation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conformance.registry import all_rules, get_rule
from conformance.upstream.app import fingerprint
from conformance.upstream.judge import Judge

TOOL = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CLIENT = {"model": "m", "instructions": "Be brief.", "input": "Weather in Paris?",
          "tools": [{"type": "function", "name": "get_weather", "parameters": TOOL}],
          "tool_choice": {"type": "function", "name": "get_weather"}, "parallel_tool_calls": False,
          "max_output_tokens": 300, "reasoning": {"effort": "low"}, "temperature": 0.5, "top_p": 0.9}
CC = {"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
      "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": TOOL}}],
      "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": False,
      "max_tokens": 300, "reasoning_effort": "low", "temperature": 0.5, "top_p": 0.9}
CALL = {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}
ANSWER = {"status": 200, "text": "", "reasoning": "thinking", "calls": [CALL], "finish": "tool_calls",
          "usage": {"input_tokens": 10, "output_tokens": 5, "reasoning_tokens": 2}}
RESPONSE = {"id": "resp_1", "status": "completed", "incomplete_details": None,
            "output": [{"type": "reasoning", "content": [{"type": "reasoning_text", "text": "thinking"}]},
                       {"type": "function_call", "call_id": "call_1", "name": "get_weather",
                        "arguments": '{"city":"Paris"}'}],
            "usage": {"input_tokens": 10, "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 2}}}


def judge(body: dict[str, Any] | None = None, response: dict[str, Any] | None = None,
          answer: dict[str, Any] | None = None, headers: list[str] | None = None) -> set[str]:
    up = {"body": body or CC, "answer": answer or ANSWER, "credentials": headers or []}
    return {rule for rule, _ in Judge("chat-completions", ["sk-client-secret"]).pair(CLIENT, response or RESPONSE, up)}


def changed(base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in fields.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def test_a_faithful_exchange_is_clean() -> None:
    assert judge() == set()


@pytest.mark.parametrize("body, rule", [
    (changed(CC, messages=[{"role": "user", "content": "Weather in Paris?"}]), "upstream.request-messages"),
    (changed(CC, tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]), "upstream.request-tools"),
    (changed(CC, tool_choice="required"), "upstream.request-tool-choice"),
    (changed(CC, parallel_tool_calls=None), "upstream.request-parallel-calls"),
    (changed(CC, max_tokens=4096), "upstream.request-max-tokens"),
    (changed(CC, reasoning_effort=None), "upstream.request-reasoning"),
    (changed(CC, temperature=1.0), "upstream.request-sampling"),
])
def test_request_defects(body: dict[str, Any], rule: str) -> None:
    assert judge(body=body) == {rule}


def test_format_not_forwarded() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    client = changed(CLIENT, text={"format": {"type": "json_schema", "name": "x", "schema": schema}})
    up = {"body": CC, "answer": ANSWER, "credentials": []}
    rules = {r for r, _ in Judge("chat-completions").pair(client, RESPONSE, up)}
    assert rules == {"upstream.request-format"}
    sent = changed(CC, response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
    assert not {r for r, _ in Judge("chat-completions").pair(client, RESPONSE, {**up, "body": sent})}


def test_client_key_forwarded() -> None:
    assert judge(headers=[fingerprint("sk-client-secret")]) == {"upstream.secret-forwarded"}
    assert judge(body=changed(CC, user="sk-client-secret")) == {"upstream.secret-forwarded"}


@pytest.mark.parametrize("response, rule", [
    (changed(RESPONSE, output=[RESPONSE["output"][1]]), "upstream.reasoning-dropped"),
    (changed(RESPONSE, output=[RESPONSE["output"][0], {**RESPONSE["output"][1], "call_id": "call_x"}]), "upstream.call-changed"),
    (changed(RESPONSE, output=[RESPONSE["output"][0], {**RESPONSE["output"][1], "arguments": "{}"}]), "upstream.call-changed"),
    (changed(RESPONSE, output=[RESPONSE["output"][0]]), "upstream.call-lost"),
    (changed(RESPONSE, status="incomplete", incomplete_details={"reason": "max_output_tokens"}), "upstream.finish-reason"),
    (changed(RESPONSE, usage={"input_tokens": 0, "output_tokens": 0}), "upstream.usage-mismatch"),
])
def test_fidelity_defects(response: dict[str, Any], rule: str) -> None:
    assert judge(response=response) == {rule}


def test_error_hidden_only_when_completed() -> None:
    failed = {"status": 500, "error": "scripted HTTP error"}
    assert judge(answer=failed) == {"upstream.error-hidden"}
    assert judge(answer=failed, response=changed(RESPONSE, status="failed")) == set()


def test_rules_are_registered_and_listed(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import main

    ids = {r.id for r in all_rules() if r.family == "upstream"}
    assert {"upstream.text-changed", "upstream.call-lost", "upstream.reasoning-dropped", "upstream.usage-mismatch",
            "upstream.finish-reason", "upstream.request-history", "upstream.secret-forwarded"} <= ids
    assert get_rule("upstream.call-lost").severity == "error" and get_rule("upstream.call-lost").external
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert all(rule in out for rule in ids)


def test_a_response_the_upstream_never_saw() -> None:
    from conformance.recording import ExchangeRecord
    from conformance.runner.upstream import UpstreamCheck, UpstreamLink

    check = UpstreamCheck(UpstreamLink("http://x/v1"), "chat-completions")
    body = b'{"object": "response", "id": "resp_1", "status": "completed", "output": []}'
    record = ExchangeRecord("s", 0, "POST /responses", "POST", "responses", "valid", request_json=CLIENT,
                            status=200, headers=[("content-type", "application/json")], body=body)
    assert [rule for rule, _, _ in check.pairs([record], [])] == ["upstream.not-forwarded"]
    paired = list(check.pairs([record], [{"body": CC, "answer": {**ANSWER, "calls": [], "finish": "stop",
                                                                 "reasoning": "", "usage": None}}]))
    assert [rule for rule, _, _ in paired] == []


# -- web search through an Anthropic upstream (its server tool) ----------------------------------

WEB_CLIENT = {"model": "m", "input": "Search the web for citations.", "tool_choice": {"type": "web_search_preview"},
              "tools": [{"type": "web_search", "filters": {"allowed_domains": ["openai.com"]}}]}
WEB_UP = {"model": "m", "max_tokens": 4096, "messages": [{"role": "user", "content": "Search the web for citations."}],
          "tools": [{"type": "web_search_20250305", "name": "web_search", "allowed_domains": ["openai.com"]}],
          "tool_choice": {"type": "tool", "name": "web_search"}}
WEB_ANSWER = {"status": 200, "text": "Cited. Hello!", "reasoning": "", "calls": [], "finish": "stop",
              "searches": [{"id": "srvtoolu_1", "query": "Search the web for citations.",
                            "urls": ["https://openai.com/a"]}],
              "citations": ["https://openai.com/a"], "usage": None}
WEB_RESPONSE = {"id": "resp_w", "status": "completed", "output": [
    {"type": "web_search_call", "id": "ws_1", "status": "completed",
     "action": {"type": "search", "query": "Search the web for citations."}},
    {"type": "message", "role": "assistant", "content": [
        {"type": "output_text", "text": "Cited. ", "annotations": [
            {"type": "url_citation", "url": "https://openai.com/a", "title": "A", "start_index": 0, "end_index": 6}]},
        {"type": "output_text", "text": "Hello!", "annotations": []}]}]}


def web_judge(body: dict[str, Any] = WEB_UP, response: dict[str, Any] = WEB_RESPONSE, kind: str = "anthropic") -> set[str]:
    up = {"body": body, "answer": WEB_ANSWER, "credentials": []}
    return {rule for rule, _ in Judge(kind).pair(WEB_CLIENT, response, up)}


def test_a_faithful_web_search_is_clean() -> None:
    assert web_judge() == set()


@pytest.mark.parametrize("body, rule", [
    (changed(WEB_UP, tools=None, tool_choice=None), "upstream.request-tools"),  # the search tool dropped
    (changed(WEB_UP, tools=[{"name": "web_search", "input_schema": {"type": "object"}}]), "upstream.request-tools"),
    (changed(WEB_UP, tools=[{"type": "web_search_20250305", "name": "web_search"}]), "upstream.request-tools"),
    (changed(WEB_UP, tool_choice={"type": "auto"}), "upstream.request-tool-choice"),
    (changed(WEB_UP, tool_choice=None), "upstream.request-tool-choice"),
])
def test_web_search_request_defects(body: dict[str, Any], rule: str) -> None:
    assert web_judge(body) == {rule}


def test_a_chat_completions_upstream_is_not_asked_to_search() -> None:
    cc = {"model": "m", "messages": [{"role": "user", "content": "Search the web for citations."}]}
    assert "upstream.request-tools" not in web_judge(cc, kind="chat-completions")


@pytest.mark.parametrize("response, rule", [
    (changed(WEB_RESPONSE, output=WEB_RESPONSE["output"][1:]), "upstream.call-lost"),
    (changed(WEB_RESPONSE, output=[WEB_RESPONSE["output"][0], {**WEB_RESPONSE["output"][1], "content": [
        {"type": "output_text", "text": "Cited. Hello!", "annotations": []}]}]), "upstream.text-changed"),
])
def test_web_search_fidelity_defects(response: dict[str, Any], rule: str) -> None:
    assert web_judge(response=response) == {rule}


def test_history_of_an_answer_in_several_text_blocks() -> None:
    """A cited answer comes back as several text blocks (the view joins them with newlines): the
    earlier turn is there, whatever joins its parts."""
    j = Judge("anthropic")
    up = {"body": WEB_UP, "answer": WEB_ANSWER, "credentials": []}
    assert not j.pair(WEB_CLIENT, WEB_RESPONSE, up)
    turn2 = {"model": "m", "input": "Thanks.", "previous_response_id": "resp_w"}
    history = [WEB_UP["messages"][0], {"role": "assistant", "content": [{"type": "text", "text": "Cited. "},
                                                                          {"type": "text", "text": "Hello!"}]},
               {"role": "user", "content": "Thanks."}]
    body2 = {"model": "m", "max_tokens": 4096, "messages": history}
    answer2 = {**ANSWER, "text": "Hello!", "calls": [], "finish": "stop", "reasoning": "", "usage": None}
    assert [r for r, _ in j.pair(turn2, None, {"body": body2, "answer": answer2})] == []
    lost = {**body2, "messages": history[2:]}
    assert [r for r, _ in j.pair(turn2, None, {"body": lost, "answer": answer2})] == ["upstream.request-history"]


@pytest.mark.parametrize(("model", "sent", "rules"), [
    ("gpt-4.1", {"temperature": None, "top_p": None}, {"upstream.request-sampling"}),
    ("gpt-5-mini", {"temperature": None, "top_p": None}, set()),  # it refuses them: rightly left out
    ("o3", {"temperature": None}, set()),
    ("gpt-6-luna", {"temperature": None, "top_p": None}, set()),
    ("gpt-5-chat-latest", {"temperature": None}, {"upstream.request-sampling"}),  # no reasoning model
])
def test_sampling_values_a_model_refuses_may_stay_behind(model: str, sent: dict[str, Any], rules: set[str]) -> None:
    body = changed(CC, model=model, **sent)
    if model != "gpt-4.1" and "gpt-5-chat" not in model:
        body = changed(body, max_tokens=None, max_completion_tokens=300)
    assert judge(body=body) == rules


@pytest.mark.parametrize(("kind", "body", "refused"), [
    ("anthropic", {"model": "claude-opus-4-7", "thinking": {"type": "enabled", "budget_tokens": 2048}}, "thinking.type.enabled"),
    ("anthropic", {"model": "claude-sonnet-5", "temperature": 0.2}, "`temperature` is deprecated"),
    ("anthropic", {"model": "us.anthropic.claude-opus-4-8-v1:0", "top_p": 0.9}, "`top_p` is deprecated"),
    ("anthropic", {"model": "claude-mythos-preview", "top_k": 5}, "`top_k` is deprecated"),
    ("anthropic", {"model": "claude-sonnet-4-5", "temperature": 0.2, "top_p": 0.9}, "cannot both be specified"),
    ("anthropic", {"model": "claude-haiku-4-5-20251001", "thinking": {"type": "adaptive"}}, "adaptive thinking is not supported"),
    ("anthropic", {"model": "claude-opus-4-6", "output_config": {"effort": "xhigh"}}, "'xhigh' is not supported"),
    ("anthropic", {"model": "claude-opus-4-6", "messages": [{"role": "user", "content": "x"},
                                                            {"role": "assistant", "content": "y"}]}, "prefill"),
    ("chat-completions", {"model": "gpt-5", "max_tokens": 10}, "Use 'max_completion_tokens' instead"),
    ("chat-completions", {"model": "o4-mini", "temperature": 0.3}, "Only the default (1) value"),
    ("chat-completions", {"model": "gpt-6.1-sol", "temperature": 0.3}, "Only the default (1) value"),
])
def test_the_suite_upstream_refuses_what_the_model_refuses(kind: str, body: dict[str, Any], refused: str) -> None:
    from conformance.upstream.generations import request_error

    assert refused in (request_error(kind, body) or "")


@pytest.mark.parametrize(("kind", "body"), [
    ("anthropic", {"model": "claude-opus-4-7", "thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}}),
    ("anthropic", {"model": "claude-opus-4-6", "thinking": {"type": "adaptive"}, "temperature": 0.2}),
    ("anthropic", {"model": "claude-3-7-sonnet-20250219", "temperature": 0.2, "top_p": 0.9}),
    ("anthropic", {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "x"},
                                                              {"role": "assistant", "content": "y"}]}),
    ("anthropic", {"model": "suite-model", "thinking": {"type": "enabled", "budget_tokens": 2048}, "top_p": 0.9}),
    ("chat-completions", {"model": "gpt-5-chat-latest", "max_tokens": 10, "temperature": 0.3}),
    ("chat-completions", {"model": "gpt-4.1", "max_tokens": 10, "temperature": 0.3}),
    ("chat-completions", {"model": "gpt-5", "max_completion_tokens": 10}),
])
def test_the_suite_upstream_takes_what_the_model_takes(kind: str, body: dict[str, Any]) -> None:
    from conformance.upstream.generations import request_error

    assert request_error(kind, body) is None
