"""Behaviour the stream converters promise that the fixture and property tests did not pin down,
found by mutation testing (docs/mutation.md): each test feeds an upstream stream (Chat
Completions chunks, Anthropic Messages events, Responses events) through its converter and
asserts what comes out, and when it comes out."""

from __future__ import annotations

import json
from typing import Any

from reference_server.sources.adapters.anthropic_stream import AnthropicToResponsesStream
from reference_server.sources.adapters.cc_stream import CCToResponsesStream
from reference_server.sources.adapters.responses_to_cc_stream import ResponsesToCCStream
from tests.reference_server.adapters.helpers import assert_conformant, terminal

TOOLS = [{"type": "function", "name": n, "parameters": {"type": "object"}} for n in ("get_weather", "lookup")]
REQUEST: dict[str, Any] = {"model": "client-model", "input": "Hello", "tools": TOOLS}


def wire(obj: Any) -> Any:
    """The object as it comes off the wire: decoded JSON, so no string in it is a Python literal
    (identity comparisons against literals fail, as they do on real traffic)."""
    return json.loads(json.dumps(obj))


# ---------------------------------------------------------------------------- Chat Completions
def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any) -> dict[str, Any]:
    return wire({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "up",
                 "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}], **top})


def call(index: int | None = None, *, id: str | None = None, name: str | None = None,
         args: str | None = None) -> dict[str, Any]:
    fn = {k: v for k, v in (("name", name), ("arguments", args)) if v is not None}
    entry: dict[str, Any] = {"function": fn}
    if index is not None:
        entry["index"] = index
    if id is not None:
        entry |= {"id": id, "type": "function"}
    return entry


def run_cc(chunks: list[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """The events of each step (the first chunk's step also holds `start()`'s, the last step is
    `finish()` at `[DONE]`), and all of them."""
    conv = CCToResponsesStream(REQUEST)
    per_chunk = [conv.start()]
    per_chunk[0] += conv.feed(chunks[0])
    per_chunk += [conv.feed(c) for c in chunks[1:]]
    per_chunk.append(conv.finish())
    return per_chunk, [e for events in per_chunk for e in events]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def deltas(events: list[dict[str, Any]], kind: str) -> list[str]:
    return [e["delta"] for e in events if e["type"] == f"response.{kind}.delta"]


def calls_of(response: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(i["name"], i["call_id"], i["arguments"]) for i in response["output"] if i["type"] == "function_call"]


def test_text_after_a_complete_call_streams_at_once() -> None:
    """Arguments that form a complete JSON value close the call, so the text that follows is not
    held back until the end (a one-character value too: the first completeness check counts)."""
    for args in ("7", '{"city":"Oslo"}'):
        per_chunk, events = run_cc([
            chunk({"role": "assistant", "tool_calls": [call(0, id="call_a", name="get_weather", args=args)]}),
            chunk({"content": "Done."}),
            chunk({}, "tool_calls"),
        ])
        assert deltas(per_chunk[1], "output_text") == ["Done."], args
        assert types(per_chunk[1])[:2] == ["response.function_call_arguments.done", "response.output_item.done"]
        response = terminal(events)
        assert [i["type"] for i in response["output"]] == ["function_call", "message"]
        assert calls_of(response) == [("get_weather", "call_a", args)]


def test_interleaved_call_opens_the_moment_the_open_one_is_complete() -> None:
    per_chunk, events = run_cc([
        chunk({"tool_calls": [call(0, id="call_a", name="get_weather", args='{"city":')]}),
        chunk({"tool_calls": [call(1, id="call_b", name="lookup", args='{"q":"x"}')]}),
        chunk({"tool_calls": [call(0, args='"Oslo"}')]}),
        chunk({}, "tool_calls"),
    ])
    assert deltas(per_chunk[1], "function_call_arguments") == []  # call_b waits: call_a is open
    # call_a's last piece completes it: call_b opens and streams in the same step.
    assert deltas(per_chunk[2], "function_call_arguments") == ['"Oslo"}', '{"q":"x"}']
    added = [e["item"]["call_id"] for e in per_chunk[2] if e["type"] == "response.output_item.added"]
    assert added == ["call_b"]
    assert per_chunk[3] == [] and types(per_chunk[4])[-1] == "response.completed"
    assert calls_of(terminal(events)) == [("get_weather", "call_a", '{"city":"Oslo"}'),
                                          ("lookup", "call_b", '{"q":"x"}')]
    assert_conformant(events, REQUEST)


def test_call_named_after_its_first_arguments() -> None:
    """A call whose name comes in a later chunk waits (arguments buffered) instead of failing."""
    per_chunk, events = run_cc([
        chunk({"tool_calls": [call(0, id="call_a", args='{"city"')]}),
        chunk({"tool_calls": [call(0, name="get_weather")]}),
        chunk({"tool_calls": [call(0, args=':"Oslo"}')]}),
        chunk({}, "tool_calls"),
    ])
    assert types(per_chunk[0]) == ["response.created", "response.in_progress"]  # nothing to open yet
    assert "response.output_item.added" in types(per_chunk[1])
    assert deltas(per_chunk[1], "function_call_arguments") == ['{"city"']
    response = terminal(events)
    assert response["status"] == "completed"
    assert calls_of(response) == [("get_weather", "call_a", '{"city":"Oslo"}')]


def test_call_never_named_fails_at_the_end() -> None:
    per_chunk, events = run_cc([
        chunk({"content": "Let me check."}),
        chunk({"tool_calls": [call(0, id="call_a", args='{"city":"Oslo"}')]}),
        chunk({}, "tool_calls"),  # no usage chunk: the response ends at [DONE]
    ])
    assert all("response.failed" not in types(step) for step in per_chunk[:-1])
    assert "error" in types(per_chunk[-1]) and types(per_chunk[-1])[-1] == "response.failed"  # at [DONE]
    response = terminal(events)
    assert response["status"] == "failed"
    assert "never named tool call 0" in response["error"]["message"]
    assert types(events).count("error") == 1


def test_parallel_calls_without_index_are_told_apart_by_id() -> None:
    """Mistral-style calls without `index`: a chunk repeating a known id continues that call, a
    new id starts the next one."""
    _, events = run_cc([
        chunk({"tool_calls": [call(id="call_a", name="get_weather", args='{"city":')]}),
        chunk({"tool_calls": [call(id="call_a", args='"Oslo"}')]}),
        chunk({"tool_calls": [call(id="call_b", name="lookup", args='{"q":"x"}')]}),
        chunk({"tool_calls": [call(args="")]}),  # neither index nor id: the last call, nothing to add
        chunk({}, "tool_calls"),
    ])
    assert calls_of(terminal(events)) == [("get_weather", "call_a", '{"city":"Oslo"}'),
                                          ("lookup", "call_b", '{"q":"x"}')]
    assert_conformant(events, REQUEST)


def test_encrypted_reasoning_before_any_reasoning_text_signs_the_next_reasoning_item() -> None:
    encrypted = {"reasoning_details": [{"type": "reasoning.encrypted", "data": "ENC-1"}]}
    _, events = run_cc([
        chunk(encrypted),
        chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "+2"}]}),
        chunk({"reasoning": "Thinking."}),
        chunk({"content": "Answer."}),
        chunk({}, "stop"),
    ])
    response = terminal(events)
    assert [(i["type"], i.get("encrypted_content")) for i in response["output"]] == [
        ("reasoning", "ENC-1+2"), ("message", None)]
    assert response["output"][0]["content"][0]["text"] == "Thinking."


def test_encrypted_reasoning_during_a_message_becomes_its_own_reasoning_item_at_the_end() -> None:
    _, events = run_cc([
        chunk({"content": "Answer."}),
        chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "ENC"}]}),
        chunk({}, "stop"),
    ])
    response = terminal(events)
    assert [(i["type"], i.get("encrypted_content")) for i in response["output"]] == [
        ("message", None), ("reasoning", "ENC")]
    assert response["output"][0]["content"][0]["text"] == "Answer."
    assert_conformant(events, REQUEST)


def test_only_markers_naming_a_source_are_annotated() -> None:
    """`[n]` cites the n-th source, counted from 1: `[0]` and numbers past the last source are
    plain text; a source no marker cites is listed at the end of the text."""
    text = "Zero [0], two [2], nine [9]."
    _, events = run_cc([
        chunk({"content": text}, citations=["https://a.example", "https://b.example"]),
        chunk({}, "stop"),
    ])
    part = terminal(events)["output"][0]["content"][0]
    assert part["text"] == text
    at = text.index("[2]")
    assert [(a["url"], a["start_index"], a["end_index"]) for a in part["annotations"]] == [
        ("https://b.example", at, at + 3), ("https://a.example", len(text), len(text))]


# ---------------------------------------------------------------------------- Anthropic Messages
def anthropic(blocks: list[list[dict[str, Any]]], stop_reason: str = "end_turn") -> list[dict[str, Any]]:
    """A Messages event stream: message_start, each block's events (content_block_start first,
    content_block_stop added), message_delta with `stop_reason`, message_stop."""
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "claude",
        "usage": {"input_tokens": 10, "output_tokens": 1}}}]
    for index, (start, *block_deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in block_deltas]
        events.append({"type": "content_block_stop", "index": index})
    events += [{"type": "message_delta", "delta": {"stop_reason": stop_reason}, "usage": {"output_tokens": 20}},
               {"type": "message_stop"}]
    return wire(events)


def run_anthropic(events: list[dict[str, Any]], request: dict[str, Any] = REQUEST,
                  **options: Any) -> list[dict[str, Any]]:
    conv = AnthropicToResponsesStream(request, **options)
    out = conv.start()
    for event in events:
        out += conv.feed(event)
    return out + conv.finish()


def text_block(*pieces: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": ""}, *({"type": "text_delta", "text": p} for p in pieces)]


def test_unknown_block_is_rendered_field_by_field() -> None:
    """A block with no Responses equivalent becomes a text part listing every non-empty field by
    its path (strings verbatim, other values as JSON), then what its deltas streamed."""
    result = {"type": "mcp_tool_result", "tool_use_id": "mcptoolu_1", "is_error": False, "empty": "",
              "content": [{"type": "text", "text": "line 1\nline 2"}], "meta": {"n": 2, "none": None}}
    future = [{"type": "vendor_tool_use", "id": "vtu_1", "name": "probe", "input": {}},
              {"type": "input_json_delta", "partial_json": '{"depth":'},
              {"type": "input_json_delta", "partial_json": " 3}"}]
    events = run_anthropic(anthropic([text_block("Hi."), [result], future]))
    assert_conformant(events, REQUEST)
    parts = [p["text"] for p in terminal(events)["output"][0]["content"]]
    assert parts == [
        "Hi.",
        "[Anthropic mcp_tool_result block]\ntool_use_id: mcptoolu_1\nis_error: false\n"
        "content.0.type: text\ncontent.0.text: line 1\nline 2\nmeta.n: 2\nmeta.none: null",
        '[Anthropic vendor_tool_use block]\nid: vtu_1\nname: probe\nstreamed: {"depth": 3}',
    ]


def test_structured_output_tool_is_the_answer_and_other_tools_stay_calls() -> None:
    events = run_anthropic(anthropic([
        [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
         {"type": "input_json_delta", "partial_json": '{"city":"Oslo"}'}],
        [{"type": "tool_use", "id": "toolu_2", "name": "answer", "input": {}},
         {"type": "input_json_delta", "partial_json": '{"temp":'},
         {"type": "input_json_delta", "partial_json": "3}"}],
    ], "tool_use"), json_tool="answer")
    response = terminal(events)
    assert [i["type"] for i in response["output"]] == ["function_call", "message"]
    assert calls_of(response) == [("get_weather", "toolu_1", '{"city":"Oslo"}')]
    assert response["output"][1]["content"][0]["text"] == '{"temp":3}'


def test_streamed_citation_annotates_its_text_block() -> None:
    citation = {"type": "web_search_result_location", "url": "https://met.example/oslo", "title": "Oslo weather",
                "cited_text": "cold", "encrypted_index": "x"}
    untitled = {"type": "web_search_result_location", "url": "https://b.example", "title": None, "cited_text": "c"}
    events = run_anthropic(anthropic([
        text_block("Intro. "),
        [{"type": "text", "text": "", "citations": []}, {"type": "citations_delta", "citation": citation},
         {"type": "citations_delta", "citation": untitled}, {"type": "text_delta", "text": "Oslo is cold."}],
    ]))
    assert_conformant(events, REQUEST)
    parts = terminal(events)["output"][0]["content"]
    assert [p["text"] for p in parts] == ["Intro. ", "Oslo is cold."]
    assert parts[0]["annotations"] == []
    assert [(a["type"], a["url"], a["title"], a["start_index"], a["end_index"]) for a in parts[1]["annotations"]] == [
        ("url_citation", "https://met.example/oslo", "Oslo weather", 0, 13),
        ("url_citation", "https://b.example", "https://b.example", 0, 13)]


def test_streamed_signature_signs_its_thinking_block() -> None:
    """Signatures arrive as `signature_delta`s of decoded JSON; each thinking block is its own
    reasoning item with its own signature, even two in a row."""
    events = run_anthropic(anthropic([
        [{"type": "thinking", "thinking": "", "signature": ""}, {"type": "thinking_delta", "thinking": "First."},
         {"type": "signature_delta", "signature": "SIG-1"}],
        [{"type": "thinking", "thinking": "", "signature": ""}, {"type": "thinking_delta", "thinking": "Second."},
         {"type": "signature_delta", "signature": "SIG-2"}],
        text_block("Answer."),
    ]))
    assert_conformant(events, REQUEST)
    output = terminal(events)["output"]
    assert [(i["type"], i.get("encrypted_content")) for i in output] == [
        ("reasoning", "SIG-1"), ("reasoning", "SIG-2"), ("message", None)]
    assert [i["content"][0]["text"] for i in output[:2]] == ["First.", "Second."]


def test_deltas_that_do_not_fit_their_block_change_nothing() -> None:
    """A delta whose type belongs to another kind of block is ignored: it neither opens an item
    nor closes the open one."""
    stray = {"type": "signature_delta", "signature": "STRAY"}
    clean = [text_block("Checking."),
             [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
              {"type": "input_json_delta", "partial_json": '{"city":"Oslo"}'}]]
    noisy = [[*clean[0], stray, {"type": "thinking_delta", "thinking": "no"}],
             [*clean[1][:1], stray, {"type": "text_delta", "text": "no"}, *clean[1][1:]]]

    def outcome(blocks: list[list[dict[str, Any]]]) -> list[Any]:
        events = run_anthropic(anthropic(blocks, "tool_use"))
        return [{k: v for k, v in i.items() if k != "id"} for i in terminal(events)["output"]]

    assert outcome(noisy) == outcome(clean)
    assert [i["type"] for i in outcome(clean)] == ["message", "function_call"]


def test_upstream_error_event_keeps_its_type() -> None:
    events = run_anthropic(wire([
        {"type": "message_start", "message": {"id": "msg_1", "content": [], "usage": {"input_tokens": 5}}},
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ]))
    response = terminal(events)
    assert response["status"] == "failed"
    assert response["error"] == {"code": "rate_limit_exceeded",
                                 "message": "Upstream error: Overloaded (upstream code: overloaded_error)"}
    assert response["usage"]["input_tokens"] == 5


# ---------------------------------------------------------------------------- Responses -> CC
def to_cc(events: list[dict[str, Any]], **options: Any) -> tuple[list[dict[str, Any]], ResponsesToCCStream]:
    conv = ResponsesToCCStream(**options)
    chunks = [c for e in wire(events) for c in conv.feed(e)]
    return chunks, conv


def cc_deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [ch["delta"] for c in chunks for ch in c["choices"]]


CREATED = {"type": "response.created", "response": {"id": "resp_abc123", "created_at": 1770000000,
                                                     "model": "upstream-model", "status": "in_progress"}}


def completed(**response: Any) -> dict[str, Any]:
    return {"type": "response.completed", "response": {"status": "completed", **response}}


def test_chunks_carry_the_response_identity() -> None:
    chunks, _ = to_cc([CREATED, {**CREATED, "type": "response.in_progress"},
                       {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hi"},
                       completed()])
    assert {(c["id"], c["created"], c["model"]) for c in chunks} == {("chatcmpl-abc123", 1770000000, "upstream-model")}
    assert cc_deltas(chunks) == [{"role": "assistant", "content": ""}, {"content": "Hi"}, {}]
    chunks, _ = to_cc([CREATED, completed()], model="client-model")
    assert {c["model"] for c in chunks} == {"client-model"}


def test_chunks_without_a_response_id_still_have_one() -> None:
    for first in ({"type": "response.created", "response": {"status": "in_progress"}},
                  {"type": "response.queued", "response": {"id": "resp_", "status": "queued"}},
                  {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hi"}):
        chunks, _ = to_cc([first, CREATED, completed()])
        assert {c["id"] for c in chunks} == {"chatcmpl-proxy"}, first
        assert [d.get("role") for d in cc_deltas(chunks)].count("assistant") == 1


def test_finish_ends_the_conversion() -> None:
    _, conv = to_cc([CREATED])
    assert conv.finish() == [] and conv.done
    assert conv.error is not None and conv.error["code"] == "upstream_disconnected"
    assert conv.feed(wire(completed())) == [] and conv.error["code"] == "upstream_disconnected"


def test_arguments_only_in_done_values_reach_the_client() -> None:
    """Arguments a `.done` value holds beyond the deltas are sent once, from either done event;
    a done value that contradicts the deltas adds nothing; empty pieces add no chunk."""
    def call_added(index: int, call_id: str) -> dict[str, Any]:
        return {"type": "response.output_item.added", "output_index": index, "item": {
            "type": "function_call", "id": f"fc_{index}", "call_id": call_id, "name": "lookup", "arguments": ""}}

    def call_done(index: int, call_id: str, arguments: str) -> dict[str, Any]:
        return {"type": "response.output_item.done", "output_index": index, "item": {
            "type": "function_call", "id": f"fc_{index}", "call_id": call_id, "name": "lookup",
            "arguments": arguments, "status": "completed"}}

    chunks, _ = to_cc([
        CREATED,
        call_added(0, "call_a"),
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": '{"q":'},
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": ""},
        {"type": "response.function_call_arguments.done", "output_index": 0, "arguments": '{"q":"x"}'},
        call_done(0, "call_a", '{"q":"x"}'),
        call_added(1, "call_b"),
        call_done(1, "call_b", '{"q":"y"}'),
        call_added(2, "call_c"),
        {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": '{"q":"z"}'},
        {"type": "response.function_call_arguments.done", "output_index": 2, "arguments": '{"other":1}'},
        {"type": "response.function_call_arguments.delta", "output_index": 7, "delta": '{"never":"announced"}'},
        completed(),
    ])
    assert [d.get("tool_calls") for d in cc_deltas(chunks)[1:-1]] == [
        [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": ""}}],
        [{"index": 0, "function": {"arguments": '{"q":'}}],
        [{"index": 0, "function": {"arguments": '"x"}'}}],
        [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "lookup", "arguments": ""}}],
        [{"index": 1, "function": {"arguments": '{"q":"y"}'}}],
        [{"index": 2, "id": "call_c", "type": "function", "function": {"name": "lookup", "arguments": ""}}],
        [{"index": 2, "function": {"arguments": '{"q":"z"}'}}],
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_summary_and_reasoning_text_of_one_item_are_separate_parts() -> None:
    """Summary part 0 and content part 0 of one reasoning item are two parts: joined with a
    blank line, and each part's `.done` value is compared with its own deltas."""
    def ev(kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": f"response.{kind}", "output_index": 0, **fields}

    chunks, _ = to_cc([
        CREATED,
        ev("reasoning_summary_text.delta", summary_index=0, delta="Sum"),
        ev("reasoning_summary_text.done", summary_index=0, text="Summary."),
        ev("reasoning_text.delta", content_index=0, delta="Thought"),
        ev("reasoning_text.done", content_index=0, text="Thought."),
        ev("reasoning_summary_text.done", summary_index=1, text="More."),
        completed(),
    ])
    assert [d["reasoning_content"] for d in cc_deltas(chunks) if "reasoning_content" in d] == [
        "Sum", "mary.", "\n\nThought", ".", "\n\nMore."]


def test_error_event_fields() -> None:
    cases = [
        ({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down",
          "error": {"message": "nested", "code": "nested_code"}},
         {"message": "Slow down", "type": "server_error", "code": "rate_limit_exceeded"}),
        ({"type": "error", "error": {"message": "Nested only", "code": "server_error"}},
         {"message": "Nested only", "type": "server_error", "code": "server_error"}),
        ({"type": "error", "error": "not an object"},
         {"message": "The upstream reported an error.", "type": "server_error", "code": None}),
        ({"type": "error"}, {"message": "The upstream reported an error.", "type": "server_error", "code": None}),
    ]
    for event, want in cases:
        chunks, conv = to_cc([CREATED, event])
        assert conv.error == want, event
        assert len(chunks) == 1  # only the role chunk: an error event carries no content


def test_failed_response_gives_its_error() -> None:
    failed = {"type": "response.failed", "response": {"status": "failed", "error": {
        "message": "The model crashed.", "code": "server_error"}}}
    chunks, conv = to_cc([CREATED, failed])
    assert conv.done and len(chunks) == 1  # no finish_reason chunk: the caller sends the error
    assert conv.error == {"message": "The model crashed.", "type": "server_error", "code": "server_error"}
    _, conv = to_cc([CREATED, {"type": "response.failed", "response": {"status": "failed"}}])
    assert conv.error == {"message": "The upstream response failed.", "type": "server_error", "code": None}


def test_items_without_a_type_are_ignored() -> None:
    chunks, conv = to_cc([
        CREATED,
        {"type": "response.output_item.added", "output_index": 0, "item": {"id": "x", "arguments": "{}"}},
        {"type": "response.output_item.done", "output_index": 0, "item": {"id": "x", "arguments": "{}"}},
        completed(),
    ])
    assert conv.error is None
    assert cc_deltas(chunks) == [{"role": "assistant", "content": ""}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
