"""Automatic compaction under `context_management`, through openai-python and on the wire."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from reference_server import create_app

from .helpers import ServerThread, assert_conformant, serve, sse_events

SECRET = "The secret word is kumquat."
COMPACT_NOW = [{"type": "compaction", "compact_threshold": 1}]


@pytest.fixture(scope="module")
def server(encoding: Any) -> Iterator[ServerThread]:
    with serve(create_app(encoding=encoding)) as s:
        yield s


@pytest.fixture
def client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=20)


def test_streamed_compaction_comes_first_and_conforms(server: ServerThread) -> None:
    body = {"model": "m", "input": SECRET, "stream": True, "context_management": COMPACT_NOW}
    with httpx.Client(base_url=server.url, timeout=20) as http:
        data = http.post("/v1/responses", json=body).content
    result = assert_conformant(data, request=body)
    events = sse_events(data)
    types = [e["type"] for e in events]
    at = types.index("response.compaction.compacting")
    assert types[at - 1] == "response.output_item.added" and types[at + 1] == "response.output_item.done"
    added, compacting, done = events[at - 1: at + 2]
    assert added["output_index"] == compacting["output_index"] == done["output_index"] == 0
    assert compacting["item_id"] == done["item"]["id"] and done["item"]["type"] == "compaction"
    assert types.index("response.in_progress") < at - 1  # after the lifecycle, before any sampling
    output = result.terminal_response["output"]
    assert [item["type"] for item in output][:1] == ["compaction"] and output[-1]["type"] == "message"
    assert output[0]["encrypted_content"] == done["item"]["encrypted_content"]


def test_sdk_stream_and_compaction_item(client: openai.OpenAI) -> None:
    with client.responses.stream(model="m", input=SECRET, context_management=COMPACT_NOW) as stream:
        seen = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.compaction.compacting" in seen
    item = final.output[0]
    assert item.type == "compaction" and item.encrypted_content.startswith("gAAAAA")


def test_below_threshold_nothing_is_compacted(client: openai.OpenAI) -> None:
    response = client.responses.create(model="m", input=SECRET,
                                       context_management=[{"type": "compaction", "compact_threshold": 100_000}])
    assert [item.type for item in response.output] == ["message"]
    default = client.responses.create(model="m", input=SECRET, context_management=[{"type": "compaction"}])
    assert "compaction" not in [item.type for item in default.output]


def test_continuations_see_the_window_once(client: openai.OpenAI) -> None:
    first = client.responses.create(model="m", input=SECRET, context_management=COMPACT_NOW)
    assert first.output[0].type == "compaction"
    plain = client.responses.create(model="m", input=SECRET)
    # by previous_response_id: the stored compaction item stands for the window before it
    chained = client.responses.create(model="m", previous_response_id=first.id, input="Which word?")
    baseline = client.responses.create(model="m", previous_response_id=plain.id, input="Which word?")
    assert chained.usage.input_tokens == baseline.usage.input_tokens
    # stateless: the client sends everything back; the item replaces what came before it
    items = [{"role": "user", "content": SECRET}, *[o.model_dump(exclude_none=True, warnings=False)
                                                   for o in first.output], {"role": "user", "content": "Which word?"}]
    stateless = client.responses.create(model="m", input=items)
    assert stateless.usage.input_tokens == baseline.usage.input_tokens
    listed = client.responses.input_items.list(stateless.id, order="asc").data
    texts = [c.text for i in listed if i.type == "message" for c in i.content if hasattr(c, "text")]
    assert texts.count(SECRET) == 1 and texts[-1] == "Which word?"


@pytest.mark.parametrize(
    ("value", "param", "code"),
    [
        ({"type": "compaction"}, "context_management", "invalid_type"),
        (["compaction"], "context_management[0]", "invalid_type"),
        ([{"compact_threshold": 5}], "context_management[0].type", "missing_required_parameter"),
        ([{"type": "truncation"}], "context_management[0].type", "invalid_value"),
        ([{"type": "compaction", "threshold": 5}], "context_management[0].threshold", "unknown_parameter"),
        ([{"type": "compaction", "compact_threshold": "5"}], "context_management[0].compact_threshold",
         "invalid_type"),
        ([{"type": "compaction", "compact_threshold": 0}], "context_management[0].compact_threshold",
         "integer_below_min_value"),
        ([{"type": "compaction"}, {"type": "compaction"}], "context_management[1]", "invalid_value"),
    ],
)
def test_bad_context_management_names_the_param(server: ServerThread, value: Any, param: str, code: str) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as http:
        r = http.post("/v1/responses", json={"model": "m", "input": "x", "context_management": value})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["param"], error["code"]) == (param, code)


def test_background_response_compacts_too(client: openai.OpenAI) -> None:
    started = client.responses.create(model="m", input=SECRET, background=True, context_management=COMPACT_NOW)
    with client.responses.retrieve(started.id, stream=True) as replay:
        types = [event.type for event in replay]
    assert types.count("response.compaction.compacting") == 1
    assert types.index("response.compaction.compacting") < types.index("response.output_text.delta")
    final = client.responses.retrieve(started.id)
    assert final.status == "completed" and final.output[0].type == "compaction"
