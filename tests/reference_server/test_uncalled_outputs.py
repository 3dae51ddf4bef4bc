"""`function_call_output` items without `call_id` (openai-python 3.54 declares it optional): an
output no call asked for, attributed to a tool by `name` / `namespace`. Codex CLI sends its goal
tool's state that way. Parsed, rendered to the model as a message from that tool, stored and
listed unchanged; the shapes the types forbid keep their 400s."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from reference_server.protocol.errors import APIError
from reference_server.protocol.harmony import build_conversation, render_prompt
from reference_server.protocol.request import parse_create_request
from reference_server.sources.adapters.anthropic import responses_to_anthropic_request
from reference_server.sources.adapters.chat_completions import responses_to_cc_request

from .helpers import RecordingBackend, assert_conformant
from .test_requests import assert_error_shape

GOAL = {"type": "function_call_output", "name": "goal_objective", "namespace": "agent",
        "output": "Goal: list the files."}
USER = {"type": "message", "role": "user", "content": "List the files."}
CALL = {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{\"cmd\": \"ls\"}"}
ANSWER = {"type": "function_call_output", "call_id": "call_1", "output": "notes.txt"}
SHELL = {"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {
    "cmd": {"type": "string"}}, "required": ["cmd"], "additionalProperties": False}}


def _parse(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return parse_create_request({"model": "m", "input": list(items), "tools": [SHELL]}).input_items


def test_an_output_without_call_id_is_kept_as_sent() -> None:
    *_, answer, goal = _parse(USER, CALL, ANSWER, GOAL)
    assert answer["call_id"] == "call_1"
    assert "call_id" not in goal
    assert {k: goal[k] for k in ("type", "name", "namespace", "output")} == GOAL
    assert goal["id"].startswith("fco") and goal["status"] == "completed"
    (plain,) = _parse({"type": "function_call_output", "name": "note", "output": [{"type": "input_text",
                                                                                    "text": "x"}]})
    assert "namespace" not in plain and plain["output"] == [{"type": "input_text", "text": "x"}]
    (direct,) = _parse({**GOAL, "caller": {"type": "direct"}})
    assert direct["caller"] == {"type": "direct"}


@pytest.mark.parametrize(("item", "param", "code", "message"), [
    ({"type": "function_call_output", "output": "x"}, "input[0].call_id", "missing_required_parameter",
     "Missing required parameter: 'input[0].call_id' (a function_call_output without a call_id must name its "
     "tool in 'name')."),
    ({**GOAL, "call_id": ""}, "input[0].call_id", "empty_string",
     "Invalid 'input[0].call_id': empty string. Expected a string with minimum length 1."),
    ({**GOAL, "name": ""}, "input[0].name", "empty_string",
     "Invalid 'input[0].name': empty string. Expected a string with minimum length 1."),
    ({**GOAL, "name": 7}, "input[0].name", "invalid_type",
     "Invalid type for 'input[0].name': expected a string, but got an integer instead."),
    ({**GOAL, "namespace": ["agent"]}, "input[0].namespace", "invalid_type",
     "Invalid type for 'input[0].namespace': expected a string, but got an array instead."),
    ({**GOAL, "output": None}, "input[0].output", "missing_required_parameter",
     "Missing required parameter: 'input[0].output'."),
    ({**GOAL, "tool": "x"}, "input[0].tool", "unknown_parameter", "Unknown parameter: 'input[0].tool'."),
    ({**GOAL, "caller": {"type": "program"}}, "input[0].caller.caller_id", "missing_required_parameter",
     "Missing required parameter: 'input[0].caller.caller_id'."),
    ({"type": "custom_tool_call_output", "output": "x"}, "input[0].call_id", "missing_required_parameter",
     "Missing required parameter: 'input[0].call_id'."),
    ({"type": "custom_tool_call_output", "call_id": "c", "name": "n", "output": "x"}, "input[0].name",
     "unknown_parameter", "Unknown parameter: 'input[0].name'."),
])
def test_shapes_the_types_forbid_are_refused(item: dict[str, Any], param: str, code: str, message: str) -> None:
    with pytest.raises(APIError) as caught:
        _parse(item)
    assert (caught.value.status, caught.value.param, caught.value.code, caught.value.message) == (
        400, param, code, message)


def test_errors_name_the_item_as_sent_after_an_additional_tools_item() -> None:
    tools = {"type": "additional_tools", "role": "developer", "tools": [SHELL]}
    with pytest.raises(APIError) as caught:
        parse_create_request({"model": "m", "input": [tools, USER, {"type": "function_call_output", "output": "x"}]})
    assert caught.value.param == "input[2].call_id"


def _rendered(encoding: Any, items: list[dict[str, Any]]) -> str:
    req = parse_create_request({"model": "m", "input": items, "tools": [SHELL]})
    return str(encoding.decode(render_prompt(encoding, build_conversation(req, []))))


def test_the_model_reads_it_as_a_message_from_the_named_tool(encoding: Any) -> None:
    text = _rendered(encoding, [USER, CALL, ANSWER, GOAL])
    answered = "<|start|>functions.shell to=assistant<|channel|>commentary<|message|>notes.txt<|end|>"
    assert answered in text
    goal = "<|start|>agent.goal_objective to=assistant<|channel|>commentary<|message|>Goal: list the files.<|end|>"
    assert goal in text and text.index(answered) < text.index(goal)
    plain = _rendered(encoding, [USER, {"type": "function_call_output", "name": "note", "output": "saved"}])
    assert "<|start|>functions.note to=assistant<|channel|>commentary<|message|>saved<|end|>" in plain


def test_an_output_with_an_unknown_call_id_is_still_refused(client: TestClient) -> None:
    r = client.post("/v1/responses", json={"model": "m", "input": [USER, {**ANSWER, "call_id": "nope"}]})
    assert r.status_code == 400
    error = assert_error_shape(r.json())
    assert error["param"] == "input[1].call_id" and "call_id nope" in error["message"]


def test_stored_listed_and_continued_unchanged(recording: tuple[TestClient, RecordingBackend]) -> None:
    client, backend = recording
    sent = [USER, CALL, ANSWER, {**GOAL, "id": "fco_goal"}]
    r = client.post("/v1/responses", json={"model": "m", "input": sent, "tools": [SHELL]})
    assert r.status_code == 200, r.text
    first = r.json()
    assert "agent.goal_objective to=assistant" in backend.prompts[-1]
    listed = client.get(f"/v1/responses/{first['id']}/input_items?order=asc").json()["data"]
    assert listed[-1] == {**GOAL, "id": "fco_goal", "status": "completed"}
    # the next turn continues the stored conversation, the goal's message included
    r = client.post("/v1/responses", json={"model": "m", "input": "And now?", "tools": [SHELL],
                                           "previous_response_id": first["id"]})
    assert r.status_code == 200, r.text
    assert "agent.goal_objective to=assistant<|channel|>commentary<|message|>Goal: list the files." \
        in backend.prompts[-1]
    # a client resending the whole history (Codex does) sends the item back as it got it
    r = client.post("/v1/responses", json={"model": "m", "input": [*sent, *first["output"], USER],
                                           "tools": [SHELL]})
    assert r.status_code == 200, r.text


def test_upstream_converters_carry_it_as_user_text() -> None:
    body = {"model": "m", "input": [USER, CALL, ANSWER, GOAL], "tools": [SHELL]}
    messages = responses_to_cc_request(body)["messages"]
    assert messages[-2] == {"role": "tool", "tool_call_id": "call_1", "content": "notes.txt"}
    assert messages[-1] == {"role": "user", "content": "[output of agent.goal_objective]\nGoal: list the files."}
    anthropic = responses_to_anthropic_request(body)["messages"]
    blocks = anthropic[-1]["content"]
    assert blocks[0]["type"] == "tool_result" and blocks[0]["tool_use_id"] == "call_1"
    assert blocks[-1] == {"type": "text", "text": "[output of agent.goal_objective]\nGoal: list the files."}


def test_the_checker_passes_a_turn_after_an_uncalled_output(client: TestClient) -> None:
    """The request-aware rules (call.*, request.*) see the output without call_id in the request
    and find nothing wrong with the answer."""
    body = {"model": "m", "input": [USER, CALL, ANSWER, GOAL], "tools": [SHELL], "stream": True}
    r = client.post("/v1/responses", json=body)
    assert r.status_code == 200, r.text
    result = assert_conformant(r.content, request=body)
    assert result.terminal_response["status"] == "completed"
