"""Constrained decoding of namespace members and custom (free-form) tools with random weights:
every call goes to the right harmony recipient and a custom tool's input matches its grammar."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from reference_server.protocol.token_backend import OutputSpec, ToolSpec
from reference_server.sources.backends.grammar_text import _byte_tokenizer
from reference_server.sources.backends.torch.backend import TorchBackend

from .conftest import collect, parse, prompt_tokens, request

CALL = 200012

LOOKUP = ToolSpec(name="lookup", namespace="crm", parameters={
    "type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"], "additionalProperties": False})
CODE = ToolSpec(name="code", kind="custom",
                format={"type": "grammar", "syntax": "regex", "definition": r"[A-Z]{2}-[0-9]{3}"})
PATCH = ToolSpec(name="patch", kind="custom", namespace="files", format={
    "type": "grammar", "syntax": "lark",
    "definition": 'start: "BEGIN\\n" line+ "END"\nline: "+" /[a-z]{1,8}/ "\\n"\n'})
NOTE = ToolSpec(name="note", kind="custom", format={"type": "text"})


def _only_call(encoding: Any, tokens: list[int]) -> Any:
    assert tokens[-1] == CALL
    calls = [m for m in parse(encoding, tokens) if m.recipient]
    assert len(calls) == 1, calls
    return calls[0]


def _matches_lark(definition: str, text: str) -> bool:
    import llguidance

    matcher = llguidance.LLMatcher(_byte_tokenizer(), llguidance.LLMatcher.grammar_from_lark(definition), log_level=0)
    return all(matcher.consume_token(b) for b in text.encode()) and matcher.is_accepting()


@pytest.mark.parametrize("seed", [0, 1])
async def test_namespace_member_call(backend: TorchBackend, encoding: Any, seed: int) -> None:
    spec = OutputSpec(tools=(LOOKUP,), tool_mode="required")
    call = _only_call(encoding, (await collect(backend, request(prompt_tokens(encoding), spec, seed=seed)))[0])
    assert call.recipient == "crm.lookup"
    jsonschema.validate(json.loads(call.content[0].text), LOOKUP.parameters)


@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_regex_custom_tool_input_matches(backend: TorchBackend, encoding: Any, seed: int) -> None:
    spec = OutputSpec(tools=(CODE,), tool_mode="required")
    call = _only_call(encoding, (await collect(backend, request(prompt_tokens(encoding), spec, seed=seed)))[0])
    assert call.recipient == "functions.code"
    assert re.fullmatch(r"[A-Z]{2}-[0-9]{3}", call.content[0].text), call.content[0].text


@pytest.mark.parametrize("seed", [0, 1])
async def test_lark_custom_tool_in_a_namespace(backend: TorchBackend, encoding: Any, seed: int) -> None:
    spec = OutputSpec(tools=(PATCH,), tool_mode="required")
    tokens, _ = await collect(backend, request(prompt_tokens(encoding), spec, seed=seed, max_new_tokens=600))
    call = _only_call(encoding, tokens)
    assert call.recipient == "files.patch"
    assert _matches_lark(PATCH.format["definition"], call.content[0].text), call.content[0].text  # type: ignore[index]


async def test_text_custom_tool_among_others(backend: TorchBackend, encoding: Any) -> None:
    spec = OutputSpec(tools=(NOTE, LOOKUP, CODE), tool_mode="required", parallel_tool_calls=False)
    for seed in range(4):
        call = _only_call(encoding, (await collect(backend, request(prompt_tokens(encoding), spec, seed=seed)))[0])
        assert call.recipient in ("functions.note", "crm.lookup", "functions.code")
        if call.recipient == "functions.note":
            assert call.content_type in (None, "")  # free text: no <|constrain|>json


# ---------------------------------------------------------------------------- over HTTP
@pytest.fixture(scope="module")
def server(tiny_model: Any, encoding: Any) -> Any:
    from reference_server import create_app

    from ..helpers import serve
    from .conftest import make_backend

    backend = make_backend(tiny_model, message_token_budget=16)
    try:
        with serve(create_app(backend=backend, encoding=encoding)) as srv:
            yield srv
    finally:
        backend.scheduler.stop()


def _post_stream(server: Any, body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    from ..helpers import assert_conformant

    with httpx.stream("POST", f"{server.url}/v1/responses", json=body, timeout=120) as resp:
        assert resp.status_code == 200, resp.read()
        data = resp.read()
    return dict(assert_conformant(data, request=body).terminal_response)


def test_http_summary_namespace_and_custom_calls(server: Any) -> None:
    tools = [
        {"type": "namespace", "name": "crm", "description": "Customer records", "tools": [
            {"type": "function", "name": "lookup", "parameters": LOOKUP.parameters}]},
        {"type": "custom", "name": "code", "format": CODE.format},
    ]
    # No web_search here: under "required" the browser is one of the calls the model may pick
    # (tests/reference_server/torch/test_web_search_torch.py), and this test is about the others.
    body = {"model": "gpt-oss-torch-tiny", "input": "Find it", "tools": tools, "tool_choice": "required",
            "reasoning": {"effort": "low", "summary": "concise"}, "stream": True, "max_output_tokens": 300}
    for _ in range(2):
        final = _post_stream(server, body)
        assert final["status"] == "completed"
        reasoning = final["output"][0]
        assert reasoning["type"] == "reasoning" and len(reasoning["summary"]) == 1
        assert reasoning["content"][0]["text"].startswith(reasoning["summary"][0]["text"].rstrip("…"))
        calls = [i for i in final["output"] if i["type"] in ("function_call", "custom_tool_call")]
        assert calls
        for call in calls:
            if call["type"] == "custom_tool_call":
                assert call["name"] == "code" and re.fullmatch(r"[A-Z]{2}-[0-9]{3}", call["input"])
            else:
                assert (call["name"], call["namespace"]) == ("lookup", "crm")
