"""Inputs that stand for what the server keeps: `item_reference` (resolved from the store),
`reasoning.encrypted_content` (sealed for stateless clients, opened on the next turn), and the
output-only keys clients echo back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from reference_server import create_app
from reference_server.core.settings import Settings
from reference_server.core.store import ResponseStore

from .helpers import RecordingBackend, ServerThread, assert_conformant, serve, sse_events
from .test_requests import assert_error_shape

WEATHER = {"type": "function", "name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
    "additionalProperties": False}}
ENCRYPTED = {"include": ["reasoning.encrypted_content"], "store": False, "reasoning": {"effort": "low"}}


def _create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/v1/responses", json={"model": "m", **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _error(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/v1/responses", json={"model": "m", **body})
    assert r.status_code == 400, r.text
    return assert_error_shape(r.json())


# --------------------------------------------------------------------------- item_reference
def test_item_references_resolve_to_stored_items(recording: tuple[TestClient, RecordingBackend]) -> None:
    client, backend = recording
    first = _create(client, {"input": "What is the weather in Paris?", "tools": [WEATHER]})
    call = next(item for item in first["output"] if item["type"] == "function_call")
    question = client.get(f"/v1/responses/{first['id']}/input_items").json()["data"][0]
    # The Vercel AI SDK's shape for earlier turns, in both spellings the SDK types allow.
    second = _create(client, {"tools": [WEATHER], "input": [
        {"id": question["id"]},
        {"type": "item_reference", "id": call["id"]},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny, 21 C"}]})
    assert "Sunny, 21 C" in second["output"][-1]["content"][0]["text"]
    assert "What is the weather in Paris?" in backend.prompts[-1] and "get_weather" in backend.prompts[-1]
    listed = client.get(f"/v1/responses/{second['id']}/input_items?order=asc").json()["data"]
    assert [item["id"] for item in listed[:2]] == [question["id"], call["id"]]
    assert listed[1]["type"] == "function_call" and listed[1]["arguments"] == call["arguments"]


@pytest.mark.parametrize("store_first", [False, None])
def test_unknown_or_unstored_items_are_refused(client: TestClient, store_first: bool | None) -> None:
    item_id = "msg_nothing_like_this"
    if store_first is False:
        item_id = _create(client, {"input": "hi", "store": False})["output"][0]["id"]
    error = _error(client, {"input": [{"type": "item_reference", "id": item_id},
                                      {"role": "user", "content": "and?"}]})
    assert (error["param"], error["code"]) == ("input[0].id", "item_not_found")
    assert item_id in error["message"] and "not found" in error["message"]


def test_items_of_a_deleted_response_are_gone(client: TestClient) -> None:
    first = _create(client, {"input": "hi"})
    assert client.delete(f"/v1/responses/{first['id']}").status_code == 200
    error = _error(client, {"input": [{"type": "item_reference", "id": first["output"][0]["id"]}]})
    assert error["param"] == "input[0].id"


@pytest.mark.parametrize("ref", [{"type": "item_reference"}, {"type": "item_reference", "id": ""},
                                 {"type": "item_reference", "id": "x", "extra": 1}])
def test_malformed_references(client: TestClient, ref: dict[str, Any]) -> None:
    assert _error(client, {"input": [ref]})["param"].startswith("input[0]")


# --------------------------------------------------------------------------- echoed output
def test_echoed_output_items_are_accepted(client: TestClient) -> None:
    """ids, status, annotations, logprobs and phase, as the output carries them."""
    first = _create(client, {"input": "Please get_weather for Paris", "tools": [WEATHER]})
    call = next(item for item in first["output"] if item["type"] == "function_call")
    echoed = [{"role": "user", "content": "Please get_weather for Paris"}, *first["output"],
              {"type": "function_call_output", "call_id": call["call_id"], "output": "Rain", "status": "completed"}]
    second = _create(client, {"input": echoed, "tools": [WEATHER]})
    text = second["output"][-1]["content"][0]
    assert "Rain" in text["text"]
    third = _create(client, {"input": [*echoed, *second["output"], {"role": "user", "content": "Thanks"}]})
    assert third["status"] == "completed"


@pytest.mark.parametrize(("where", "extra", "param"), [
    ("call", {"parsed_arguments": {"city": "Paris"}}, "input[1].parsed_arguments"),
    ("text", {"parsed": {"a": 1}}, "input[1].content[0].parsed"),
])
def test_sdk_only_keys_are_refused_like_the_live_api(client: TestClient, where: str, extra: dict[str, Any],
                                                     param: str) -> None:
    """The live API answers `Unknown parameter: 'input[2].parsed_arguments'.` to openai-python's
    and openai-node's parsed output echoed back (openai/openai-python#2374, #2720); clients strip
    the keys. A reference server that accepted them would hide that bug from a client's tests."""
    if where == "call":
        item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
                "arguments": '{"city":"Paris"}', "status": "completed", **extra}
    else:
        item = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": '{"a":1}', "annotations": [], "logprobs": [], **extra}]}
    error = _error(client, {"input": [{"role": "user", "content": "hi"}, item], "tools": [WEATHER]})
    assert (error["param"], error["code"], error["message"]) == (param, "unknown_parameter",
                                                                f"Unknown parameter: '{param}'.")


# --------------------------------------------------------------------------- encrypted reasoning
def _reasoning_turn(client: TestClient, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    request = {"model": "m", "stream": True, **ENCRYPTED, **body}
    with client.stream("POST", "/v1/responses", json=request) as s:
        data = b"".join(s.iter_bytes())
    assert_conformant(data, request=request)
    events = sse_events(data)
    return events, events[-1]["response"]


def test_reasoning_is_sealed_and_reopened(recording: tuple[TestClient, RecordingBackend]) -> None:
    client, backend = recording
    events, resp = _reasoning_turn(client, {"input": "Please get_weather for Oslo", "tools": [WEATHER]})
    added = next(e["item"] for e in events if e["type"] == "response.output_item.added"
                 and e["item"]["type"] == "reasoning")
    done = next(e["item"] for e in events if e["type"] == "response.output_item.done"
                and e["item"]["type"] == "reasoning")
    assert added["encrypted_content"].startswith("gAAAAA") and done["encrypted_content"].startswith("gAAAAA")
    assert added["encrypted_content"] != done["encrypted_content"]  # done seals the finished reasoning
    reasoning_text = done["content"][0]["text"]
    assert resp["output"][0] == done
    call = next(item for item in resp["output"] if item["type"] == "function_call")
    # Codex sends reasoning back without its readable text: only the sealed blob carries it.
    carried = {"type": "reasoning", "id": done["id"], "summary": [], "encrypted_content": done["encrypted_content"]}
    _events, second = _reasoning_turn(client, {"tools": [WEATHER], "input": [
        {"role": "user", "content": "Please get_weather for Oslo"}, carried, call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "Snow"}]})
    assert second["status"] == "completed"
    assert reasoning_text in backend.prompts[-1]
    # Control: the same turn without the carried reasoning has none of it.
    _reasoning_turn(client, {"tools": [WEATHER], "input": [
        {"role": "user", "content": "Please get_weather for Oslo"}, call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "Snow"}]})
    assert reasoning_text not in backend.prompts[-1]


def test_reasoning_without_include_has_no_blob(client: TestClient) -> None:
    resp = _create(client, {"input": "hi", "reasoning": {"effort": "low"}})
    assert resp["output"][0]["type"] == "reasoning" and "encrypted_content" not in resp["output"][0]


def _blob(client: TestClient) -> dict[str, Any]:
    resp = _create(client, {"input": "hi", **ENCRYPTED})
    item = resp["output"][0]
    return {"type": "reasoning", "id": item["id"], "summary": [], "encrypted_content": item["encrypted_content"]}


def test_tampered_or_foreign_blobs_are_refused(client: TestClient, encoding: Any) -> None:
    item = _blob(client)
    blob = item["encrypted_content"]
    tampered = blob[:40] + ("A" if blob[40] != "A" else "B") + blob[41:]
    for bad in (tampered, "not a token", blob[:-8]):
        error = _error(client, {"input": [{"role": "user", "content": "x"}, {**item, "encrypted_content": bad}]})
        assert (error["param"], error["code"]) == ("input[1].encrypted_content", "invalid_encrypted_content")
    with TestClient(create_app(encoding=encoding)) as other:  # another server, another key
        r = other.post("/v1/responses", json={"model": "m", "input": [item]})
        assert r.status_code == 400 and r.json()["error"]["param"] == "input[0].encrypted_content"
    assert _create(client, {"input": [{"role": "user", "content": "x"}, item, {"role": "user", "content": "y"}]})


def test_the_key_survives_a_restart(tmp_path: Path, encoding: Any) -> None:
    db = tmp_path / "responses.db"
    store = ResponseStore(db)
    with TestClient(create_app(encoding=encoding, store=store)) as first:
        item = _blob(first)
    store.close()
    store = ResponseStore(db)
    with TestClient(create_app(encoding=encoding, store=store)) as again:
        assert _create(again, {"input": [item, {"role": "user", "content": "more"}]})["status"] == "completed"
    store.close()


def test_a_configured_key_is_shared_across_servers(encoding: Any) -> None:
    settings = Settings(encryption_key="correct horse battery staple")
    with TestClient(create_app(encoding=encoding, settings=settings)) as first:
        item = _blob(first)
    with TestClient(create_app(encoding=encoding, settings=settings)) as second:
        assert _create(second, {"input": [item, {"role": "user", "content": "more"}]})["status"] == "completed"


def test_a_stored_window_sealed_under_another_key_names_previous_response_id(tmp_path: Path, encoding: Any) -> None:
    # A response that compacted automatically keeps its window sealed; a server restarted on the
    # same database with another configured key cannot open it. The caller never sent that item
    # in `input`, so the error names the parameter that brought it.
    db = tmp_path / "responses.db"
    store = ResponseStore(db)
    with TestClient(create_app(encoding=encoding, store=store, settings=Settings(encryption_key="first key"))) as first:
        compacted = _create(first, {"input": "remember kumquat",
                                    "context_management": [{"type": "compaction", "compact_threshold": 1}]})
        assert compacted["output"][0]["type"] == "compaction"
        assert _create(first, {"previous_response_id": compacted["id"], "input": "which word?"})["status"] == "completed"
    store.close()
    store = ResponseStore(db)
    with TestClient(create_app(encoding=encoding, store=store, settings=Settings(encryption_key="other key"))) as again:
        error = _error(again, {"previous_response_id": compacted["id"], "input": "which word?"})
        assert (error["param"], error["code"]) == ("previous_response_id", "invalid_encrypted_content")
    store.close()


@pytest.fixture(scope="module")
def server(encoding: Any) -> Iterator[ServerThread]:
    with serve(create_app(encoding=encoding)) as s:
        yield s


def test_openai_python_stateless_and_referenced_turns(server: ServerThread) -> None:
    sdk = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0, timeout=20)
    first = sdk.responses.create(model="m", input="Please get_weather for Rome", tools=[WEATHER],  # type: ignore[list-item]
                                 store=False, include=["reasoning.encrypted_content"], reasoning={"effort": "low"})
    call = next(item for item in first.output if item.type == "function_call")
    history: list[Any] = [{"role": "user", "content": "Please get_weather for Rome"},
                          *[item.model_dump(exclude_none=True) for item in first.output],
                          {"type": "function_call_output", "call_id": call.call_id, "output": "Hot"}]
    second = sdk.responses.create(model="m", input=history, tools=[WEATHER], store=False,  # type: ignore[list-item]
                                  include=["reasoning.encrypted_content"], reasoning={"effort": "low"})
    assert "Hot" in second.output_text
    stored = sdk.responses.create(model="m", input="Remember me")
    third = sdk.responses.create(model="m", input=[{"type": "item_reference", "id": stored.output[0].id},
                                                   {"role": "user", "content": "What did you say?"}])
    assert third.status == "completed"


# --------------------------------------------------------------------------- truncation
def _long_conversation(turns: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for i in range(turns):
        items.append({"role": "user", "content": f"Turn {i}: " + "words to fill the window " * 8})
        items.append({"role": "assistant", "content": f"Answer {i}: " + "more filling text here " * 8})
    return [*items, {"role": "user", "content": "The last question"}]


@pytest.fixture
def small_window(encoding: Any) -> Iterator[tuple[TestClient, RecordingBackend]]:
    backend = RecordingBackend(encoding)
    app = create_app(backend=backend, encoding=encoding, settings=Settings(context_window=600))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, backend


def test_truncation_auto_drops_the_oldest_turns(small_window: tuple[TestClient, RecordingBackend]) -> None:
    client, backend = small_window
    items = _long_conversation(12)
    error = _error(client, {"input": items, "truncation": "disabled"})
    assert (error["param"], error["code"]) == ("input", "context_length_exceeded")
    resp = _create(client, {"input": items, "truncation": "auto", "instructions": "Be kind."})
    assert resp["status"] == "completed" and resp["truncation"] == "auto"
    prompt = backend.prompts[-1]
    assert "The last question" in prompt and "Be kind." in prompt and "Turn 0:" not in prompt
    kept = [i for i in range(12) if f"Turn {i}:" in prompt]
    assert kept and kept == list(range(kept[0], 12))  # a suffix of whole turns
    assert f"Answer {kept[0]}:" in prompt
    assert resp["usage"]["input_tokens"] < 600
    # The longest suffix that fits: one more turn would not.
    longer = _create(client, {"input": items[2 * (kept[0] - 1):], "truncation": "auto"})
    assert f"Turn {kept[0] - 1}:" not in backend.prompts[-1] and longer["status"] == "completed"


def test_truncation_auto_cannot_cut_the_last_turn(small_window: tuple[TestClient, RecordingBackend]) -> None:
    client, _backend = small_window
    huge = [{"role": "user", "content": "old"}, {"role": "user", "content": "x " * 2000}]
    error = _error(client, {"input": huge, "truncation": "auto"})
    assert (error["param"], error["code"]) == ("input", "context_length_exceeded")


def test_truncation_auto_over_a_stored_conversation(small_window: tuple[TestClient, RecordingBackend]) -> None:
    client, backend = small_window
    previous = None
    for i in range(10):
        body: dict[str, Any] = {"input": f"Question {i}: " + "padding words " * 12, "truncation": "auto"}
        if previous:
            body["previous_response_id"] = previous
        previous = _create(client, body)["id"]
    # (The scripted answers quote the first question: look at user turns only.)
    assert "user<|message|>Question 9:" in backend.prompts[-1]
    assert "user<|message|>Question 0:" not in backend.prompts[-1]


def test_json_object_sees_referenced_text(client: TestClient) -> None:
    first = _create(client, {"input": "Reply in json please"})
    question = client.get(f"/v1/responses/{first['id']}/input_items").json()["data"][0]
    body = {"input": [{"type": "item_reference", "id": question["id"]}], "text": {"format": {"type": "json_object"}}}
    assert _create(client, body)["status"] == "completed"
    other = _create(client, {"input": "Reply please"})
    plain = client.get(f"/v1/responses/{other['id']}/input_items").json()["data"][0]
    error = _error(client, {**body, "input": [{"type": "item_reference", "id": plain["id"]}]})
    assert error["param"] == "text.format"


def test_the_key_flag_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from reference_server.__main__ import _encryption_key, build_parser
    from reference_server.core.sealing import ENCRYPTION_KEY_ENV

    monkeypatch.delenv(ENCRYPTION_KEY_ENV, raising=False)
    assert _encryption_key(build_parser().parse_args([])) is None
    monkeypatch.setenv(ENCRYPTION_KEY_ENV, "from-env")
    assert _encryption_key(build_parser().parse_args([])) == "from-env"
    assert _encryption_key(build_parser().parse_args(["--encryption-key", "from-flag"])) == "from-flag"


def test_items_of_an_older_database_are_indexed(tmp_path: Path, encoding: Any) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    store = ResponseStore(db)
    with TestClient(create_app(encoding=encoding, store=store)) as first:
        item_id = _create(first, {"input": "hi"})["output"][0]["id"]
    store.close()
    with sqlite3.connect(db) as conn:  # as a database of the previous version: no items table
        conn.execute("DROP TABLE items")
    store = ResponseStore(db)
    assert store.get_item(item_id) is not None
    store.close()
