"""Namespace, custom and accepted hosted tools, and reasoning summaries: every stream passes the
conformance checker with the request known, round trips work, and openai-python 3.54's
`responses.stream()` accumulator and typed models read them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from reference_server import create_app
from reference_server.core.settings import Settings
from reference_server.protocol.emitter import HarmonyToEvents, summary_end
from reference_server.protocol.events import ResponseEventWriter, make_usage

from .helpers import ServerThread, assert_conformant, serve, sse_events

MODEL = "gpt-oss-test"
CRM = {"type": "namespace", "name": "crm", "description": "Customer records", "tools": [
    {"type": "function", "name": "lookup", "description": "Find a customer by id",
     "parameters": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"],
                    "additionalProperties": False}},
    {"type": "custom", "name": "query", "description": "A free-form query"},
]}
CODE_RE = r"[A-Z]{2}-[0-9]{3}"
CODE = {"type": "custom", "name": "code", "description": "A product code",
        "format": {"type": "grammar", "syntax": "regex", "definition": CODE_RE}}
PATCH_LARK = 'start: "*** Begin Patch\\n" line+ "*** End Patch"\nline: "+" /[a-z ]{1,20}/ "\\n"\n'
PATCH = {"type": "custom", "name": "apply_patch", "description": "Edit files",
         "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_LARK}}
# What Codex CLI sends besides its function tools (web_search's extra keys included).
CODEX_EXTRAS = [
    {"type": "web_search", "external_web_access": False, "indexed_web_access": True},
    {"type": "tool_search", "execution": "client", "description": "Find more tools",
     "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}},
]


def stream(client: TestClient, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    req = {"model": MODEL, **body, "stream": True}
    with client.stream("POST", "/v1/responses", json=req) as r:
        assert r.status_code == 200, r.read()
        data = b"".join(r.iter_bytes())
        content_type = r.headers["content-type"]
    # Codex's web_search carries `indexed_web_access`, newer than openai-python 3.54.
    result = assert_conformant(data, request=req, content_type=content_type,
                               unknown_fields=frozenset({"indexed_web_access"}))
    events = sse_events(data)
    assert result.terminal_response == events[-1]["response"]
    return events, events[-1]["response"]


def _calls(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in response["output"] if i["type"] in ("function_call", "custom_tool_call")]


# ---------------------------------------------------------------------------- namespace tools
def test_namespace_member_call_carries_the_namespace(client: TestClient) -> None:
    _events, resp = stream(client, {"input": "Please lookup customer 7", "tools": [CRM, *CODEX_EXTRAS],
                                    "tool_choice": "required"})
    (call,) = _calls(resp)
    assert (call["type"], call["name"], call["namespace"]) == ("function_call", "lookup", "crm")
    assert resp["tools"][0]["type"] == "namespace" and resp["tools"][0]["tools"][0]["name"] == "lookup"
    assert resp["tools"][1:] == CODEX_EXTRAS  # echoed as sent


def test_namespace_round_trip_with_previous_response(client: TestClient) -> None:
    _e, first = stream(client, {"input": "Please lookup customer 7", "tools": [CRM], "tool_choice": "required"})
    (call,) = _calls(first)
    _e, second = stream(client, {"previous_response_id": first["id"], "tools": [CRM], "input": [
        {"type": "function_call_output", "call_id": call["call_id"], "output": "Ada Lovelace",
         "name": "lookup", "namespace": "crm", "caller": {"type": "direct"}}]})
    assert "Ada Lovelace" in second["output"][-1]["content"][0]["text"]


def test_namespace_call_echoed_as_input_renders_its_recipient(client: TestClient) -> None:
    from reference_server.protocol.harmony import build_conversation, render_prompt
    from reference_server.protocol.request import parse_create_request
    from reference_server.protocol.vocab import harmony_encoding

    req = parse_create_request({"model": MODEL, "tools": [CRM], "input": [
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "namespace": "crm", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "found"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "query", "namespace": "crm", "input": "name:Ada"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "1 row"},
    ]})
    enc = harmony_encoding()
    text = enc.decode(render_prompt(enc, build_conversation(req, [])))
    assert "namespace crm {" in text and "// Customer records" in text
    assert "to=crm.lookup" in text and "<|start|>crm.lookup to=assistant" in text
    assert "to=crm.query<|channel|>commentary<|message|>name:Ada<|call|>" in text
    assert "Free-form tool: the message to it is plain text, not JSON." in text


# ---------------------------------------------------------------------------- custom tools
@pytest.mark.parametrize(("tool", "check"), [
    (CODE, lambda text: re.fullmatch(CODE_RE, text)),
    (PATCH, lambda text: text.startswith("*** Begin Patch\n+") and text.endswith("\n*** End Patch")),
    ({"type": "custom", "name": "note"}, lambda text: text == "Please write a note"),
])
def test_custom_tool_call_stream(client: TestClient, tool: dict[str, Any], check: Any) -> None:
    events, resp = stream(client, {"input": "Please write a note", "tools": [tool],
                                   "tool_choice": {"type": "custom", "name": tool["name"]}})
    (call,) = _calls(resp)
    assert call["type"] == "custom_tool_call" and call["name"] == tool["name"] and "namespace" not in call
    assert check(call["input"]), call["input"]
    kinds = [e["type"] for e in events if e.get("item_id") == call["id"] or e.get("item", {}).get("id") == call["id"]]
    assert kinds[0] == "response.output_item.added" and kinds[-1] == "response.output_item.done"
    assert kinds[-2] == "response.custom_tool_call_input.done"
    assert set(kinds[1:-2]) == {"response.custom_tool_call_input.delta"}
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta")
    done = next(e for e in events if e["type"] == "response.custom_tool_call_input.done")
    assert deltas == done["input"] == call["input"]


def test_custom_tool_output_is_accepted_next_turn(client: TestClient) -> None:
    _e, first = stream(client, {"input": "code please", "tools": [CODE], "tool_choice": "required"})
    (call,) = _calls(first)
    _e, second = stream(client, {"previous_response_id": first["id"], "tools": [CODE], "input": [
        {"type": "custom_tool_call_output", "call_id": call["call_id"], "output": "in stock"}]})
    assert "in stock" in second["output"][-1]["content"][0]["text"]
    # Stateless: the call and its output sent back as input items.
    _e, third = stream(client, {"tools": [CODE], "input": [
        {"role": "user", "content": "code please"}, {k: v for k, v in call.items() if k != "id"},
        {"type": "custom_tool_call_output", "call_id": call["call_id"], "output": "sold out"}]})
    assert "sold out" in third["output"][-1]["content"][0]["text"]


def test_custom_tool_output_without_its_call_is_refused(client: TestClient) -> None:
    r = client.post("/v1/responses", json={"model": MODEL, "tools": [CODE], "input": [
        {"type": "custom_tool_call_output", "call_id": "nope", "output": "x"}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input[0].call_id"


# ---------------------------------------------------------------------------- request validation
@pytest.mark.parametrize(("tools", "param", "needle"), [
    ([{"type": "code_interpreter", "container": {"type": "auto"}}], "tools[0].type", "'code_interpreter'"),
    ([{"type": "image_generation"}], "tools[0].type", "'image_generation'"),
    ([{"type": "mcp", "server_label": "x", "server_url": "https://example.com"}], "tools[0].type", "'mcp'"),
    ([{"type": "local_shell"}], "tools[0].type", "'local_shell'"),
    ([{"type": "wormhole"}], "tools[0].type", "'wormhole'"),
    ([CODE, {**CODE}], "tools[1].name", "Duplicate"),
    ([{**CRM, "tools": []}], "tools[0].tools", "non-empty"),
    ([{**CRM, "tools": [{"type": "web_search"}]}], "tools[0].tools[0].type", "'web_search'"),
    ([{**CRM, "name": "functions"}], "tools[0].name", "reserved"),
    ([{"type": "custom", "name": "c", "format": {"type": "grammar", "syntax": "lark", "definition": "start: ("}}],
     "tools[0].format.definition", "lark"),
    ([{"type": "custom", "name": "c", "format": {"type": "grammar", "syntax": "regex", "definition": "[a-"}}],
     "tools[0].format.definition", "regex"),
    ([{"type": "custom", "name": "c", "format": {"type": "grammar", "syntax": "ebnf", "definition": "x"}}],
     "tools[0].format.syntax", "'ebnf'"),
    ([{"type": "custom", "name": "c", "parameters": {}}], "tools[0].parameters", "Unknown parameter"),
])
def test_bad_tools_are_one_line_400s(client: TestClient, tools: list[Any], param: str, needle: str) -> None:
    r = client.post("/v1/responses", json={"model": MODEL, "input": "x", "tools": tools})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and needle in error["message"] and "\n" not in error["message"]


def test_passive_tools_alone_are_never_called(client: TestClient) -> None:
    # Web search is the server's own tool: asked to search, the model searches (the bundled
    # corpus knows nothing of tides) and answers; tool_search is never called.
    for choice in ("auto", {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "web_search"}]}):
        _e, resp = stream(client, {"input": "Search the web for tides", "tools": [
            *CODEX_EXTRAS, {"type": "web_search_preview"}], "tool_choice": choice})
        assert [i["type"] for i in resp["output"]] == ["message", "web_search_call", "message"]
        assert resp["output"][1]["action"]["query"] == "tides"
    # Allowing only web search among callable tools: nothing may be called, and nothing is.
    _e, resp = stream(client, {"input": "code", "tools": [CODE, *CODEX_EXTRAS], "tool_choice": {
        "type": "allowed_tools", "mode": "auto", "tools": [{"type": "web_search"}]}})
    assert [i["type"] for i in resp["output"]] == ["message"]
    _e, resp = stream(client, {"input": "code", "tools": [CODE, *CODEX_EXTRAS], "tool_choice": {
        "type": "allowed_tools", "mode": "auto", "tools": [{"type": "web_search"}, {"type": "custom", "name": "code"}]}})
    assert [i["type"] for i in resp["output"]] == ["message", "custom_tool_call"]
    r = client.post("/v1/responses", json={"model": MODEL, "input": "x", "tools": CODEX_EXTRAS,
                                           "tool_choice": "required"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "tool_choice"
    r = client.post("/v1/responses", json={"model": MODEL, "input": "x", "tools": [CODE, *CODEX_EXTRAS],
                                           "tool_choice": {"type": "allowed_tools", "mode": "required",
                                                           "tools": [{"type": "web_search"}]}})
    assert r.status_code == 400 and r.json()["error"]["param"] == "tool_choice.mode"


def test_same_name_in_two_namespaces(client: TestClient) -> None:
    other = {**CRM, "name": "billing", "description": "Invoices"}
    _e, resp = stream(client, {"input": "lookup", "tools": [CRM, other], "tool_choice": {"type": "function",
                                                                                       "name": "lookup"}})
    assert {(c["namespace"], c["name"]) for c in _calls(resp)} <= {("crm", "lookup"), ("billing", "lookup")}
    assert _calls(resp)


# ---------------------------------------------------------------------------- reasoning summaries
@pytest.mark.parametrize("mode", ["auto", "concise", "detailed"])
def test_reasoning_summary_stream(client: TestClient, mode: str) -> None:
    events, resp = stream(client, {"input": "Why is the sea salty?", "reasoning": {"effort": "high", "summary": mode}})
    reasoning = resp["output"][0]
    assert reasoning["type"] == "reasoning" and resp["reasoning"]["summary"] == mode
    (summary,) = reasoning["summary"]
    (content,) = reasoning["content"]
    assert summary["type"] == "summary_text" and summary["text"]
    assert content["text"].startswith(summary["text"])  # extractive: the opening of the analysis
    sentences = {"concise": 1, "auto": 2, "detailed": 3}[mode]  # high effort writes 3 sentences
    assert len(re.findall(r"[.!?](?=\s|$)", summary["text"])) == sentences
    kinds = [e["type"] for e in events if e.get("output_index") == 0]
    first_content = kinds.index("response.content_part.added")
    assert kinds[1] == "response.reasoning_summary_part.added"
    assert kinds.index("response.reasoning_summary_part.done") < first_content
    text = "".join(e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta")
    assert text == summary["text"]


def test_summary_implies_reasoning_and_none_effort_has_none(client: TestClient) -> None:
    _e, resp = stream(client, {"input": "hi", "reasoning": {"summary": "auto"}})
    assert resp["output"][0]["type"] == "reasoning" and resp["output"][0]["summary"]
    _e, resp = stream(client, {"input": "hi", "reasoning": {"summary": "auto", "effort": "none"}})
    assert [i["type"] for i in resp["output"]] == ["message"]
    _e, resp = stream(client, {"input": "hi", "reasoning": {"effort": "low"}})
    assert resp["output"][0]["summary"] == [] and resp["output"][0]["content"]


def test_summary_before_a_tool_call(client: TestClient) -> None:
    _e, resp = stream(client, {"input": "code please", "tools": [CRM, CODE], "tool_choice": "required",
                               "reasoning": {"summary": "concise"}})
    assert resp["output"][0]["summary"] and _calls(resp)


def test_summary_end() -> None:
    assert summary_end("One. Two. Three.", "concise") == (4, False)
    assert summary_end("One. Two. Three.", "auto") == (9, False)
    assert summary_end("One. Two", "auto") is None  # more text could still end the second sentence
    assert summary_end("e.g.x and 3.5 are not ends", "concise") is None
    assert summary_end("x" * 250, "concise") == (200, True)
    assert summary_end("x" * 200, "concise") is None  # exactly the bound: wait for one more character


@pytest.mark.parametrize("pieces", [["word " * 100], list("word " * 100), ["wo", "rd " * 99, "end."]])
def test_summary_cut_at_the_character_bound(pieces: list[str]) -> None:
    writer = ResponseEventWriter({"model": MODEL})
    emitter = HarmonyToEvents(writer, summary="concise")
    events = writer.start()
    events += emitter.begin_message("analysis", None)
    for piece in pieces:
        events += emitter.content(piece)
    events += emitter.end_message()
    events += emitter.complete(make_usage(1, 1))
    item = events[-1]["response"]["output"][0]
    summary, content = item["summary"][0]["text"], item["content"][0]["text"]
    assert content == "".join(pieces)
    assert summary == content[:200] + "…"
    assert "".join(e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta") == summary
    assert "".join(e["delta"] for e in events if e["type"] == "response.reasoning_text.delta") == content
    assert_conformant(b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events))


def test_short_analysis_is_its_own_summary() -> None:
    writer = ResponseEventWriter({"model": MODEL})
    emitter = HarmonyToEvents(writer, summary="detailed")
    events = writer.start() + emitter.begin_message("analysis", None) + emitter.content("Just this.")
    events += emitter.end_message()
    item = events[-1]["item"]
    assert item["summary"] == [{"type": "summary_text", "text": "Just this."}]
    assert item["content"] == [{"type": "reasoning_text", "text": "Just this."}]


def test_browser_search_is_accepted_as_web_search(client: TestClient) -> None:
    r = client.post("/v1/responses", json={"model": MODEL, "input": "x", "tools": [{"type": "browser_search"}]})
    assert r.status_code == 200 and r.json()["tools"] == [{"type": "web_search"}]
    assert [i["type"] for i in r.json()["output"]] == ["message"]


# ---------------------------------------------------------------------------- openai-python
KEY = "sk-test-reference"


@pytest.fixture(scope="module")
def server(encoding: Any) -> Iterator[ServerThread]:
    with serve(create_app(encoding=encoding, settings=Settings(api_key=KEY))) as s:
        yield s


@pytest.fixture
def sdk(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=20)


def test_sdk_stream_accumulates_custom_and_namespace_calls(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model="m", input="lookup and code", tools=[CRM, CODE, *CODEX_EXTRAS],  # type: ignore[list-item]
                              tool_choice="required", reasoning={"summary": "auto"}) as s:
        events = list(s)
        final = s.get_final_response()
    kinds = {e.type for e in events}
    assert {"response.custom_tool_call_input.delta", "response.custom_tool_call_input.done",
            "response.reasoning_summary_text.delta", "response.reasoning_summary_part.done"} <= kinds
    by_type = {item.type: item for item in final.output}
    assert by_type["function_call"].namespace == "crm"  # type: ignore[union-attr]
    custom = by_type["custom_tool_call"]
    assert re.fullmatch(CODE_RE, custom.input)  # type: ignore[union-attr]
    assert by_type["reasoning"].summary[0].text  # type: ignore[union-attr]
    follow = sdk.responses.create(model="m", previous_response_id=final.id, tools=[CODE],  # type: ignore[list-item]
                                  input=[{"type": "custom_tool_call_output", "call_id": custom.call_id,  # type: ignore[union-attr]
                                          "output": "ok"},
                                         {"type": "function_call_output", "call_id": by_type["function_call"].call_id,  # type: ignore[union-attr]
                                          "output": "Ada"}])
    assert "ok" in follow.output_text and "Ada" in follow.output_text


# ---------------------------------------------------------------------------- Codex's tool kinds
EDIT_LARK = 'start: "BEGIN" LF hunk+ "END" LF?\nhunk: "ADD " /[^\\n]+/ LF ("+" /(.*)/ LF)+\n%import common.LF\n'
CODEX_LIKE_TOOLS = [
    {"type": "function", "name": "shell", "description": "Runs a shell command", "strict": False,
     "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}},
                                                     "workdir": {"type": "string"}},
                    "required": ["command"], "additionalProperties": False}},
    {"type": "function", "name": "update_plan", "description": "Updates the plan", "strict": False,
     "parameters": {"type": "object", "properties": {"plan": {"type": "array", "items": {"type": "string"}}},
                    "required": ["plan"], "additionalProperties": False}},
    {"type": "custom", "name": "apply_patch", "description": "Edit files. This is a FREEFORM tool.",
     "format": {"type": "grammar", "syntax": "lark", "definition": EDIT_LARK}},
    {"type": "namespace", "name": "mcp__docs", "description": "Tools of the docs MCP server", "tools": [
        {"type": "function", "name": "search", "description": "Search the docs", "strict": False,
         "defer_loading": False,
         "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}]},
    *CODEX_EXTRAS,
]


def test_codex_shaped_turn_with_every_tool_kind(client: TestClient) -> None:
    body = {"instructions": "You are a coding agent.", "tools": CODEX_LIKE_TOOLS, "tool_choice": "auto",
            "parallel_tool_calls": True, "reasoning": {"effort": "medium", "summary": "auto"}, "store": False,
            "input": [{"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Please apply_patch and search the docs"}]}]}
    _e, first = stream(client, body)
    calls = _calls(first)
    assert {(c["type"], c["name"], c.get("namespace")) for c in calls} == {
        ("custom_tool_call", "apply_patch", None), ("function_call", "search", "mcp__docs")}
    patch = next(c for c in calls if c["type"] == "custom_tool_call")
    assert patch["input"].startswith("BEGIN\nADD ") and patch["input"].rstrip("\n").endswith("END")
    # The next turn, stateless: everything sent back, outputs appended.
    outputs = [{"type": "custom_tool_call_output" if c["type"] == "custom_tool_call" else "function_call_output",
                "call_id": c["call_id"], "output": f"done {c['name']}"} for c in calls]
    _e, second = stream(client, {**body, "input": [*body["input"], *first["output"], *outputs]})
    text = second["output"][-1]["content"][0]["text"]
    assert "done apply_patch" in text and "done search" in text


def test_proxy_does_not_forward_tools_it_never_calls() -> None:
    from reference_server.protocol.request import parse_create_request
    from reference_server.sources.upstream_source import upstream_request

    req = parse_create_request({"model": MODEL, "input": "x", "tools": [*CODEX_EXTRAS, CODE]})
    assert [t["type"] for t in upstream_request(req, [])["tools"]] == ["custom"]
    only_passive = parse_create_request({"model": MODEL, "input": "x", "tools": CODEX_EXTRAS})
    assert "tools" not in upstream_request(only_passive, [])


def test_non_stream_body_carries_the_same_items(client: TestClient) -> None:
    body = {"model": MODEL, "input": "lookup the code", "tools": [CRM, CODE], "tool_choice": "required",
            "reasoning": {"summary": "concise"}}
    resp = client.post("/v1/responses", json=body).json()
    assert [i["type"] for i in resp["output"]] == ["reasoning", "message", "function_call", "custom_tool_call"]
    assert resp["output"][0]["summary"][0]["text"] and resp["output"][2]["namespace"] == "crm"
    assert client.get(f"/v1/responses/{resp['id']}").json() == resp
