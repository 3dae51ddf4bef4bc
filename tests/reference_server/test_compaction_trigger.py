"""A `compaction_trigger` input item (openai-python 3.54: "Compacts the current context. Must be
the final input item."): the response compacts the conversation instead of answering. Its output
is exactly one `compaction` item (what Codex's remote compaction collects), and the item
continues the conversation like one from `/responses/compact`."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from reference_server.protocol.errors import APIError
from reference_server.protocol.request import parse_create_request

from .helpers import RecordingBackend, assert_conformant, sse_events
from .test_requests import assert_error_shape

SECRET = {"role": "user", "content": "The secret word is kumquat."}
ANSWER = {"role": "assistant", "content": "Noted."}
TRIGGER = {"type": "compaction_trigger"}


@pytest.mark.parametrize(("items", "index"), [
    ([TRIGGER, SECRET], 0),
    ([SECRET, TRIGGER, ANSWER], 1),
    ([SECRET, TRIGGER, TRIGGER], 1),
])
def test_a_trigger_that_is_not_last_is_refused_naming_its_index(items: list[dict[str, Any]], index: int) -> None:
    with pytest.raises(APIError) as caught:
        parse_create_request({"model": "m", "input": items})
    error = caught.value
    assert (error.status, error.param, error.code, error.message) == (
        400, f"input[{index}]", "invalid_value", "The 'compaction_trigger' item must be the final input item.")


def test_a_last_trigger_is_taken_out_of_the_input() -> None:
    req = parse_create_request({"model": "m", "input": [SECRET, ANSWER, {**TRIGGER, "id": "ct_1"}]})
    assert req.compaction_trigger is True
    assert [item["type"] for item in req.input_items] == ["message", "message"]
    assert parse_create_request({"model": "m", "input": [SECRET]}).compaction_trigger is False
    with pytest.raises(APIError) as caught:
        parse_create_request({"model": "m", "input": [SECRET, {**TRIGGER, "metadata": {}}]})
    assert (caught.value.param, caught.value.code) == ("input[1].metadata", "unknown_parameter")


def test_the_stream_is_one_compaction_item_and_conforms(recording: tuple[TestClient, RecordingBackend]) -> None:
    client, backend = recording
    body = {"model": "m", "input": [SECRET, ANSWER, TRIGGER], "stream": True}
    data = client.post("/v1/responses", json=body).content
    result = assert_conformant(data, request=body)
    assert [e["type"] for e in sse_events(data)] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.compaction.compacting", "response.output_item.done", "response.completed"]
    response = result.terminal_response
    (item,) = response["output"]
    assert item["type"] == "compaction" and item["encrypted_content"]
    assert response["usage"]["output_tokens"] == 0 and response["usage"]["input_tokens"] > 0
    assert backend.prompts == []  # nothing was sampled
    # stored without the trigger: it asked for the compaction, it is not conversation
    listed = client.get(f"/v1/responses/{response['id']}/input_items?order=asc").json()["data"]
    assert [i["type"] for i in listed] == ["message", "message"]

    # the item given back (Codex sends it after the user messages it keeps) stands for the window
    r = client.post("/v1/responses", json={"model": "m", "input": [SECRET, item, {"role": "user",
                                                                                  "content": "Which word?"}]})
    assert r.status_code == 200, r.text
    assert backend.prompts[-1].count("kumquat") == 1 and "Noted." in backend.prompts[-1]
    # and a continuation by previous_response_id expands the stored item once
    r = client.post("/v1/responses", json={"model": "m", "input": "Which word?", "previous_response_id": response["id"]})
    assert r.status_code == 200, r.text
    assert backend.prompts[-1].count("kumquat") == 1 and "Noted." in backend.prompts[-1]


def test_a_lone_trigger_compacts_the_previous_response(recording: tuple[TestClient, RecordingBackend]) -> None:
    client, backend = recording
    first = client.post("/v1/responses", json={"model": "m", "input": [SECRET]}).json()
    r = client.post("/v1/responses", json={"model": "m", "input": [TRIGGER], "previous_response_id": first["id"]})
    assert r.status_code == 200, r.text
    compacted = r.json()
    assert compacted["status"] == "completed" and [i["type"] for i in compacted["output"]] == ["compaction"]
    assert len(backend.prompts) == 1  # only the first turn sampled
    r = client.post("/v1/responses", json={"model": "m", "input": [TRIGGER]})
    assert r.status_code == 400
    error = assert_error_shape(r.json())
    assert error["param"] == "input" and error["message"].startswith("Nothing to compact")


def test_the_compact_endpoint_takes_a_trigger_as_what_it_does_anyway(client: TestClient) -> None:
    r = client.post("/v1/responses/compact", json={"model": "m", "input": [SECRET, TRIGGER]})
    assert r.status_code == 200, r.text
    assert [i["type"] for i in r.json()["output"]] == ["message", "compaction"]
