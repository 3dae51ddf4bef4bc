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
