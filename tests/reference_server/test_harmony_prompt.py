"""What the server tells a harmony model: the rendered conversation for a request (system
message, developer instructions and tools, earlier turns, tool results), the output spec and the
scripted backend's hint derived from it, and the prompt-size estimate against the real length."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reference_server.protocol.emitter import CallTarget
from reference_server.protocol.harmony import (
    BROWSER_SEARCH,
    MIN_TOKENS_PER_MESSAGE,
    PromptError,
    build_conversation,
    call_targets,
    estimate_prompt_tokens,
    output_spec,
    prompt_text_chars,
    reasoning_requested,
    render_prompt,
    script_hint,
    summary_requested,
)
from reference_server.protocol.request import parse_create_request
from reference_server.protocol.vocab import o200k_tiktoken

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
CLOCK = {"type": "function", "name": "get_time",
         "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}
CRM = {"type": "namespace", "name": "crm", "description": "Customer records", "tools": [
    {"type": "function", "name": "lookup", "description": "Find a customer",
     "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}]}
NOTE = {"type": "custom", "name": "note", "description": "Write a note"}
CODE = {"type": "custom", "name": "code",
        "format": {"type": "grammar", "syntax": "regex", "definition": "[A-Z]{2}-[0-9]{3}"}}
SEARCH = {"type": "web_search"}


def request(**body: Any) -> Any:
    """The request as the server receives it: decoded from JSON text, so no string in it is
    the interned literal of the test's source."""
    return parse_create_request(json.loads(json.dumps({"model": "m", "input": "hi", **body})))


def prompt(encoding: Any, body: dict[str, Any], context: list[dict[str, Any]] | None = None) -> str:
    """The prompt the model reads for `body`, continuing the stored items `context`."""
    return str(encoding.decode(render_prompt(encoding, build_conversation(request(**body), context or []))))


def messages(text: str) -> list[str]:
    """The rendered messages, each from its role header to its end token."""
    return ["<|start|>" + m for m in text.split("<|start|>")[1:]]


def developer(text: str) -> str | None:
    found = [m for m in messages(text) if m.startswith("<|start|>developer<|message|>")]
    assert len(found) <= 1, found
    return found[0] if found else None


def system(text: str) -> str:
    first = messages(text)[0]
    assert first.startswith("<|start|>system<|message|>")
    return first


# ---------------------------------------------------------------------------- reasoning
@pytest.mark.parametrize(("reasoning", "effort", "summary"), [
    (None, None, None),
    ({"effort": "none"}, None, None),
    ({"effort": "none", "summary": "auto"}, None, None),
    ({"effort": "minimal"}, "low", None),
    ({"effort": "low", "summary": "concise"}, "low", "concise"),
    ({"effort": "medium"}, "medium", None),
    ({"summary": "detailed"}, "medium", "detailed"),  # a summary implies the default effort
    ({"generate_summary": "auto"}, "medium", "auto"),
    ({"effort": "high"}, "high", None),
    ({"effort": "xhigh"}, "high", None),
    ({"effort": "max", "summary": "auto"}, "high", "auto"),
])
def test_reasoning_requested_and_summarised(reasoning: dict[str, Any] | None, effort: str | None,
                                            summary: str | None) -> None:
    req = request(reasoning=reasoning)
    assert reasoning_requested(req) == effort
    assert summary_requested(req) == summary
    assert output_spec(req).reasoning_effort == effort


@pytest.mark.parametrize(("reasoning", "line"), [
    (None, "Reasoning: medium"),
    ({"effort": "none"}, "Reasoning: low"),
    ({"effort": "minimal"}, "Reasoning: low"),
    ({"effort": "low"}, "Reasoning: low"),
    ({"summary": "auto"}, "Reasoning: medium"),
    ({"effort": "high"}, "Reasoning: high"),
    ({"effort": "xhigh"}, "Reasoning: high"),
    ({"effort": "max"}, "Reasoning: high"),
])
def test_system_message_states_the_effort(encoding: Any, reasoning: dict[str, Any] | None, line: str) -> None:
    sys_message = system(prompt(encoding, {"reasoning": reasoning}))
    assert line in sys_message.splitlines()
    assert sys_message.count("Reasoning: ") == 1


# ---------------------------------------------------------------------------- system: browser
@pytest.mark.parametrize(("body", "browses"), [
    ({}, False),
    ({"tools": [WEATHER]}, False),
    ({"tools": [SEARCH]}, True),
    ({"tools": [SEARCH], "tool_choice": "none"}, False),
    ({"tools": [SEARCH, WEATHER], "tool_choice": {"type": "function", "name": "get_weather"}}, False),
    ({"tools": [SEARCH], "tool_choice": {"type": "web_search_preview"}}, True),
])
def test_browser_section_only_when_the_model_may_browse(encoding: Any, body: dict[str, Any], browses: bool) -> None:
    sys_message = system(prompt(encoding, body))
    assert ("namespace browser {" in sys_message) is browses
    assert ("type search = " in sys_message) is browses


# ---------------------------------------------------------------------------- developer message
def test_no_developer_message_without_instructions_format_or_tools(encoding: Any) -> None:
    assert developer(prompt(encoding, {})) is None
    assert developer(prompt(encoding, {"text": {"format": {"type": "text"}}})) is None
    # Offered tools the model may not call now are not described.
    assert developer(prompt(encoding, {"tools": [WEATHER], "tool_choice": "none"})) is None
    # A web search is the system message's browser, not a developer tool.
    assert developer(prompt(encoding, {"tools": [SEARCH]})) is None


def test_instructions_alone(encoding: Any) -> None:
    dev = developer(prompt(encoding, {"instructions": "Answer in French."}))
    assert dev is not None
    assert "# Instructions\n\nAnswer in French." in dev
    assert "# Tools" not in dev and "# Response Formats" not in dev


def test_json_schema_format_with_and_without_description(encoding: Any) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fmt = {"type": "json_schema", "name": "count", "schema": schema}
    dev = developer(prompt(encoding, {"text": {"format": fmt}}))
    assert dev is not None
    assert '# Response Formats\n\n## count\n\n{"type": "object", "properties": {"n": {"type": "integer"}}}' in dev
    assert "//" not in dev
    described = developer(prompt(encoding, {"text": {"format": {**fmt, "description": "How many."}}}))
    assert described is not None
    assert '## count\n\n// How many.\n{"type": "object"' in described


def test_json_object_format(encoding: Any) -> None:
    dev = developer(prompt(encoding, {"text": {"format": {"type": "json_object"}}, "input": "Reply in JSON"}))
    assert dev is not None
    assert "# Response Formats\n\nAnswer with a single JSON object." in dev


def test_instructions_come_before_the_response_format(encoding: Any) -> None:
    dev = developer(prompt(encoding, {"instructions": "Be terse.",
                                      "text": {"format": {"type": "json_object"}}, "input": "json"}))
    assert dev is not None
    assert "Be terse.\n\n# Response Formats\n\nAnswer with a single JSON object." in dev


def test_tools_alone_describe_each_namespace(encoding: Any) -> None:
    dev = developer(prompt(encoding, {"tools": [WEATHER, CLOCK, CRM]}))
    assert dev is not None
    assert "# Instructions" not in dev
    functions = dev[dev.index("namespace functions {"):dev.index("} // namespace functions")]
    assert "// Weather for a city\ntype get_weather = " in functions and "city: string" in functions
    assert "type get_time = " in functions
    crm = dev[dev.index("## crm"):dev.index("} // namespace crm")]
    assert "// Customer records\nnamespace crm {" in crm
    assert "// Find a customer\ntype lookup = " in crm
    # The functions namespace has no description of its own.
    assert "## functions\n\nnamespace functions {" in dev


def test_only_the_tools_callable_now_are_listed(encoding: Any) -> None:
    named = developer(prompt(encoding, {"tools": [WEATHER, CLOCK],
                                        "tool_choice": {"type": "function", "name": "get_time"}}))
    assert named is not None and "type get_time" in named and "get_weather" not in named
    allowed = developer(prompt(encoding, {"tools": [WEATHER, CLOCK, CRM], "tool_choice": {
        "type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_weather"}]}}))
    assert allowed is not None and "type get_weather" in allowed
    assert "get_time" not in allowed and "crm" not in allowed
    # A forced web search: no function tool this turn, so no developer message at all.
    assert developer(prompt(encoding, {"tools": [SEARCH, WEATHER], "tool_choice": {"type": "web_search_preview"}})) is None


def test_custom_tools_are_described_in_words(encoding: Any) -> None:
    dev = developer(prompt(encoding, {"tools": [NOTE, CODE]}))
    assert dev is not None
    note = dev[dev.index("// Write a note"):dev.index("type note = ")]
    assert "Free-form tool: the message to it is plain text, not JSON." in note
    assert "grammar" not in note  # a text format has no grammar
    code = dev[dev.index("type note = "):dev.index("type code = ")]
    assert "// Free-form tool: the message to it is plain text, not JSON.\n" in code
    assert "// The text must match this regex grammar:\n// [A-Z]{2}-[0-9]{3}" in code


# ---------------------------------------------------------------------------- turns
def test_turns_render_in_order_with_their_roles_and_channels(encoding: Any) -> None:
    text = prompt(encoding, {"tools": [WEATHER, CRM, NOTE], "input": [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "Checking.", "phase": "commentary"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "rain"},
        {"type": "function_call", "call_id": "c2", "name": "lookup", "namespace": "crm", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "Ada"}]},
        {"type": "custom_tool_call", "call_id": "c3", "name": "note", "input": "remember rain"},
        {"type": "custom_tool_call_output", "call_id": "c3", "output": "saved"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "It rains."}]},
        {"role": "developer", "content": "Now be brief."},
        {"role": "user", "content": "Thanks"},
    ]})
    turns = messages(text)
    assert turns[0].startswith("<|start|>system<|message|>")
    assert turns[1].startswith("<|start|>developer<|message|># Tools")
    assert turns[2:] == [
        "<|start|>developer<|message|>Be kind.<|end|>",
        "<|start|>user<|message|>Weather in Oslo?<|end|>",
        "<|start|>assistant<|channel|>commentary<|message|>Checking.<|end|>",
        '<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{"city":"Oslo"}<|call|>',
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>rain<|end|>",
        "<|start|>assistant to=crm.lookup<|channel|>commentary <|constrain|>json<|message|>{}<|call|>",
        "<|start|>crm.lookup to=assistant<|channel|>commentary<|message|>Ada<|end|>",
        "<|start|>assistant to=functions.note<|channel|>commentary<|message|>remember rain<|call|>",
        "<|start|>functions.note to=assistant<|channel|>commentary<|message|>saved<|end|>",
        "<|start|>assistant<|channel|>final<|message|>It rains.<|end|>",
        "<|start|>developer<|message|>Now be brief.<|end|>",
        "<|start|>user<|message|>Thanks<|end|>",
        "<|start|>assistant",
    ]


def test_stored_turns_come_before_the_new_input(encoding: Any) -> None:
    context = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "My name is Ada."}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello Ada."}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
    ]
    text = prompt(encoding, {"tools": [WEATHER], "input": [
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"role": "user", "content": "And my name?"}]}, context)
    order = [text.index(s) for s in ("My name is Ada.", "Hello Ada.", "to=functions.get_weather",
                                     "<|start|>functions.get_weather to=assistant", "sunny", "And my name?")]
    assert order == sorted(order)


def test_reasoning_items_become_analysis_messages(encoding: Any) -> None:
    """Within the turn being continued (harmony drops the thinking of finished turns), reasoning
    is the model's analysis: its raw text, else its summary, and nothing for an encrypted-only one."""
    call = {"type": "function_call", "name": "get_weather", "arguments": "{}"}
    text = prompt(encoding, {"tools": [WEATHER], "input": [
        {"role": "user", "content": "q1"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "summary only"}]},
        {**call, "call_id": "c1"},
        {"type": "function_call_output", "call_id": "c1", "output": "r1"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "the summary"}],
         "content": [{"type": "reasoning_text", "text": "the raw thought"}]},
        {**call, "call_id": "c2"},
        {"type": "function_call_output", "call_id": "c2", "output": "r2"},
        {"type": "reasoning", "summary": [], "encrypted_content": "opaque"},
        {**call, "call_id": "c3"},
        {"type": "function_call_output", "call_id": "c3", "output": "r3"},
    ]})
    turns = messages(text)
    analysis = [m for m in turns if "<|channel|>analysis" in m]
    assert analysis == ["<|start|>assistant<|channel|>analysis<|message|>summary only<|end|>",
                        "<|start|>assistant<|channel|>analysis<|message|>the raw thought<|end|>"]
    assert turns.index(analysis[1]) == turns.index(analysis[0]) + 3
    assert "the summary" not in text and "opaque" not in text
    assert "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>r2<|end|>" \
           "<|start|>assistant to=functions.get_weather" in text


def test_attachments_are_described(encoding: Any) -> None:
    text = prompt(encoding, {"input": [{"role": "user", "content": [
        {"type": "input_text", "text": "Look at these"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
        {"type": "input_image", "file_id": "file-img"},
        {"type": "input_file", "file_id": "file-doc"},
    ]}]})
    user = next(m for m in messages(text) if m.startswith("<|start|>user"))
    assert user == ("<|start|>user<|message|>Look at these\n"
                    "[An image was attached here: inline image/png (34 characters). This model cannot see images.]\n"
                    "[An image was attached here: file file-img. This model cannot see images.]\n"
                    "[A file was attached here: file-doc. This model cannot read attached files.]<|end|>")


@pytest.mark.parametrize(("kind", "what"), [("function_call_output", "function call"),
                                            ("custom_tool_call_output", "custom tool call")])
def test_a_tool_output_needs_its_call(kind: str, what: str) -> None:
    item = {"type": kind, "call_id": "c9", "output": "x"}
    context = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
               {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}]
    req = request(input=[{"role": "user", "content": "go"}, item])
    with pytest.raises(PromptError) as exc:
        build_conversation(req, context)
    # The position is the new input's, whatever the stored conversation held before it.
    assert exc.value.param == "input[1].call_id"
    assert str(exc.value) == f"No tool call found for {what} output with call_id c9."
    # An output stored earlier whose call was lost is the fault of the chain, not of an input.
    with pytest.raises(PromptError) as stored:
        build_conversation(request(input="hi"), [*context, item])
    assert stored.value.param == "previous_response_id"


def test_a_call_answers_only_its_own_output() -> None:
    """The call that an output answers is found by call_id among the calls before it."""
    req = request(tools=[WEATHER], input=[
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "ok"},
        {"type": "function_call_output", "call_id": "c2", "output": "orphan"}])
    with pytest.raises(PromptError) as exc:
        build_conversation(req, [])
    assert exc.value.param == "input[2].call_id"


# ---------------------------------------------------------------------------- output spec
def test_output_spec_follows_the_request() -> None:
    plain = output_spec(request())
    assert (plain.tools, plain.tool_mode, plain.final_format, plain.browser) == ((), "none", None, "none")
    assert plain.parallel_tool_calls is True and plain.max_tool_calls is None

    fmt = {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": False}
    spec = output_spec(request(tools=[WEATHER, CRM, NOTE, SEARCH], parallel_tool_calls=False, max_tool_calls=2,
                               text={"format": fmt}))
    assert [(t.recipient, t.kind) for t in spec.tools] == [
        ("functions.get_weather", "function"), ("crm.lookup", "function"), ("functions.note", "custom")]
    assert spec.tools[0].parameters == WEATHER["parameters"] and spec.tools[0].description == "Weather for a city"
    assert spec.tools[2].format == {"type": "text"}
    assert (spec.tool_mode, spec.parallel_tool_calls, spec.max_tool_calls) == ("auto", False, 2)
    assert spec.final_format == fmt and spec.browser == "auto"
    assert output_spec(request(text={"format": {"type": "json_object"}}, input="json")).final_format == {
        "type": "json_object"}


def test_a_forced_web_search_is_the_only_tool() -> None:
    spec = output_spec(request(tools=[WEATHER, SEARCH], tool_choice={"type": "web_search_preview"}))
    assert spec.tools == (BROWSER_SEARCH,) and spec.tool_mode == "required" and spec.browser == "required"
    named = output_spec(request(tools=[WEATHER, SEARCH], tool_choice={"type": "function", "name": "get_weather"}))
    assert [t.name for t in named.tools] == ["get_weather"]
    assert (named.tool_mode, named.browser) == ("required", "none")


def test_call_targets_name_the_item_each_recipient_makes() -> None:
    targets = call_targets(output_spec(request(tools=[WEATHER, CRM, NOTE])).tools)
    assert targets == {
        "functions.get_weather": CallTarget("function_call", "get_weather"),
        "crm.lookup": CallTarget("function_call", "lookup", "crm"),
        "functions.note": CallTarget("custom_tool_call", "note"),
    }
    assert call_targets(output_spec(request(tools=[SEARCH], tool_choice={"type": "web_search_preview"})).tools) == {
        "browser.search": CallTarget("function_call", "search", "browser")}


# ---------------------------------------------------------------------------- scripted hint
def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": list(parts)}


def text(value: str) -> dict[str, Any]:
    return {"type": "input_text", "text": value}


IMAGE = {"type": "input_image", "image_url": "https://x.test/a.png"}


def test_hint_reads_the_user_turns() -> None:
    items = [
        user(text("first"), IMAGE),
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "reply"}]},
        {"type": "message", "role": "developer", "content": [text("be brief")]},
        user(text("second"), text("line two")),
        user(text("third")),
    ]
    hint = script_hint(items)
    assert hint.last_user_text == "third"
    assert hint.earlier_user_texts == ("first", "second\nline two")
    assert hint.tool_outputs == () and not hint.saw_image  # the image was in an earlier turn


def test_hint_without_user_turns() -> None:
    hint = script_hint([{"type": "message", "role": "developer", "content": [text("rules")]}])
    assert (hint.last_user_text, hint.earlier_user_texts, hint.saw_image) == ("", (), False)
    assert script_hint([]).last_user_text == ""


def test_hint_sees_an_image_in_the_last_user_turn_only() -> None:
    assert script_hint([user(text("old")), user(text("look"), IMAGE)]).saw_image
    assert script_hint([user(text("look"), IMAGE), {"type": "function_call", "call_id": "c", "name": "f",
                                                   "arguments": "{}"}]).saw_image
    assert not script_hint([user(text("look"), {"type": "input_file", "file_id": "f"})]).saw_image


def test_hint_tool_outputs_are_the_trailing_ones_in_order() -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    answered = [user(text("go")), call,
                {"type": "function_call_output", "call_id": "c1", "output": "early"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
                user(text("again")), call,
                {"type": "function_call_output", "call_id": "c1", "output": "one"},
                {"type": "custom_tool_call_output", "call_id": "c2", "output": [text("two")]}]
    assert script_hint(answered).tool_outputs == ("one", "two")
    # Outputs followed by a new user turn were already answered.
    assert script_hint([*answered, user(text("next"))]).tool_outputs == ()


# ---------------------------------------------------------------------------- prompt size
def _conversation(**body: Any) -> Any:
    return build_conversation(request(**body), [])


def test_estimate_is_close_to_and_below_the_rendered_length(encoding: Any) -> None:
    encode = o200k_tiktoken().encode_ordinary
    conversation = _conversation(instructions="Answer briefly. " * 40, input=[
        {"role": "user", "content": "What is the tide table for Brest? " * 30},
        {"role": "assistant", "content": "High water at noon. " * 30},
        {"role": "user", "content": "Ünïcødé 😀 and tomorrow? " * 30}])
    exact = len(render_prompt(encoding, conversation))
    estimate = estimate_prompt_tokens(conversation, encode, 10**9)
    print(f"estimate {estimate} of {exact} rendered tokens")
    # The headers' minimum and every text are counted; only the fixed wording harmony adds
    # (the system message's preamble, section titles) is not.
    texts = sum(len(encode(t)) for t in ("Answer briefly. " * 40, "What is the tide table for Brest? " * 30,
                                          "High water at noon. " * 30, "Ünïcødé 😀 and tomorrow? " * 30))
    assert estimate >= texts + MIN_TOKENS_PER_MESSAGE * 5
    assert exact - 60 < estimate <= exact


def test_estimate_of_an_empty_conversation_is_the_headers() -> None:
    conversation = _conversation(input=[{"role": "user", "content": ""}, {"role": "assistant", "content": ""}])
    # system, user and assistant messages; the system content has no plain text
    assert estimate_prompt_tokens(conversation, o200k_tiktoken().encode_ordinary, 10**9) == 3 * MIN_TOKENS_PER_MESSAGE


def test_estimate_leaves_out_analysis_messages(encoding: Any) -> None:
    encode = o200k_tiktoken().encode_ordinary
    turns = [{"role": "user", "content": "q"},
             {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
             {"type": "function_call_output", "call_id": "c1", "output": "r"}]
    thought = {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "long thought " * 200}]}
    without = _conversation(tools=[WEATHER], input=turns)
    with_thought = _conversation(tools=[WEATHER], input=[turns[0], thought, *turns[1:]])
    # harmony may drop it, so it must not count, although here it is rendered
    assert "long thought" in encoding.decode(render_prompt(encoding, with_thought))
    assert estimate_prompt_tokens(with_thought, encode, 10**9) == estimate_prompt_tokens(without, encode, 10**9)
    assert prompt_text_chars(with_thought) == prompt_text_chars(without) == len("q{}r")


def test_text_chars_count_instructions_and_turns() -> None:
    conversation = _conversation(instructions="abcde", input=[{"role": "user", "content": "123"},
                                                              {"role": "assistant", "content": "xy"}])
    # "# Instructions\n\n" is harmony's wording, not text of the request
    assert prompt_text_chars(conversation) == len("abcde") + 3 + 2


def test_estimate_stops_early_past_the_limit() -> None:
    calls: list[int] = []
    encode = o200k_tiktoken().encode_ordinary

    def counting(text: str) -> list[int]:
        calls.append(len(text))
        return list(encode(text))

    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "word " * 50}
             for i in range(20)]
    conversation = _conversation(input=turns)
    full = estimate_prompt_tokens(conversation, counting, 10**9)
    assert len(calls) == 20
    calls.clear()
    stopped = estimate_prompt_tokens(conversation, counting, full // 4)
    assert full // 4 < stopped < full
    assert len(calls) < 20
    calls.clear()
    # exactly at the limit is not past it
    assert estimate_prompt_tokens(conversation, counting, full) == full and len(calls) == 20


def test_a_long_text_is_sized_in_slices() -> None:
    """A text far longer than one slice reaches the encoder in pieces of at most 64 KiB
    characters (tiktoken's cost grows faster than linearly on long runs), which together are
    the text; the estimate is then at most a token per cut above the whole text's count."""
    seen: list[str] = []
    encode = o200k_tiktoken().encode_ordinary

    def recording(text: str) -> list[int]:
        seen.append(text)
        return list(encode(text))

    long_text = "".join(f"line {i}: the quick brown fox\n" for i in range(12_000))
    estimate = estimate_prompt_tokens(_conversation(input=long_text), recording, 10**9)
    assert "".join(seen) == long_text
    assert len(seen) > 1 and max(len(s) for s in seen) <= 1 << 16
    whole = len(encode(long_text))
    headers = 2 * MIN_TOKENS_PER_MESSAGE  # system and user
    assert whole + headers <= estimate <= whole + headers + len(seen)


def test_reasoning_context_all_turns_keeps_earlier_reasoning(encoding: Any) -> None:
    turns = [{"role": "user", "content": "Pick a number."},
             {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "Seven is lucky."}]},
             {"role": "assistant", "content": "Seven."},
             {"role": "user", "content": "Why?"}]

    def prompt(context: str | None) -> str:
        reasoning = {"context": context} if context else None
        req = parse_create_request({"model": "m", "input": turns, "reasoning": reasoning})
        all_turns = req.reasoning.get("context") == "all_turns"
        return str(encoding.decode(render_prompt(encoding, build_conversation(req, []), all_turns=all_turns)))

    assert "Seven is lucky." in prompt("all_turns")
    for dropped in (None, "auto", "current_turn"):
        assert "Seven is lucky." not in prompt(dropped)
    assert parse_create_request({"model": "m", "input": "x", "reasoning": {"context": "auto"}}).reasoning == {
        "effort": None, "summary": None, "context": "current_turn"}
    with pytest.raises(Exception, match=r"reasoning\.context"):
        parse_create_request({"model": "m", "input": "x", "reasoning": {"context": "everything"}})


def test_reasoning_context_is_echoed_and_reaches_the_backend(client: Any) -> None:
    body = {"model": "m", "input": [{"role": "user", "content": "Hi."},
                                    {"type": "reasoning", "summary": [],
                                     "content": [{"type": "reasoning_text", "text": "Greet back."}]},
                                    {"role": "assistant", "content": "Hello."},
                                    {"role": "user", "content": "Again."}]}
    kept = client.post("/v1/responses", json={**body, "reasoning": {"context": "all_turns"}}).json()
    dropped = client.post("/v1/responses", json=body).json()
    assert kept["reasoning"]["context"] == "all_turns" and "context" not in dropped["reasoning"]
    assert kept["usage"]["input_tokens"] > dropped["usage"]["input_tokens"]
