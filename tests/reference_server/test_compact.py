"""`POST /v1/responses/compact` through openai-python's `responses.compact()`, and its errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from reference_server import create_app

from .helpers import ServerThread, serve


@pytest.fixture(scope="module")
def server(encoding: Any) -> Iterator[ServerThread]:
    with serve(create_app(encoding=encoding)) as s:
        yield s


@pytest.fixture
def client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=20)


def test_compact_a_chain_and_continue_from_the_compaction(client: openai.OpenAI) -> None:
    first = client.responses.create(model="m", input="The secret word is kumquat.")
    compacted = client.responses.compact(model="m", previous_response_id=first.id,
                                         input=[{"role": "user", "content": "Keep it in mind."}])
    assert compacted.object == "response.compaction"
    *users, item = compacted.output
    assert item.type == "compaction" and item.encrypted_content.startswith("gAAAAA")
    assert [u.role for u in users] == ["user", "user"]
    assert compacted.usage.input_tokens > 0
    assert compacted.usage.total_tokens == compacted.usage.input_tokens + compacted.usage.output_tokens
    # a new chain from the compacted window: the model sees the whole window again
    window = [u.model_dump(exclude_none=True, warnings=False) for u in users] + [item.model_dump(exclude_none=True)]
    resumed = client.responses.create(model="m", input=[*window, {"role": "user", "content": "Which word?"}])
    alone = client.responses.create(model="m", input="Which word?")
    assert resumed.status == "completed"
    assert resumed.usage.input_tokens > alone.usage.input_tokens
    # the window came back once: the user messages beside the item are not repeated
    items = client.responses.input_items.list(resumed.id, order="asc").data
    texts = [c.text for i in items if i.type == "message" for c in i.content if hasattr(c, "text")]
    assert texts.count("The secret word is kumquat.") == 1 and texts[-1] == "Which word?"


def test_compact_errors(server: ServerThread, client: openai.OpenAI) -> None:
    with httpx.Client(base_url=server.url) as http:
        missing = http.post("/v1/responses/compact", json={"input": "hello"})
        assert missing.status_code == 400
        assert missing.json()["error"]["param"] == "model"
        assert missing.json()["error"]["code"] == "missing_required_parameter"
        empty = http.post("/v1/responses/compact", json={"model": "m"})
        assert empty.status_code == 400
        unknown = http.post("/v1/responses/compact", json={"model": "m", "input": "x", "tools": []})
        assert unknown.json()["error"]["code"] == "unknown_parameter"
    with pytest.raises(openai.NotFoundError):
        client.responses.compact(model="m", previous_response_id="resp_missing")
    forged = {"type": "compaction", "encrypted_content": "gAAAAABnot-a-real-token"}
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="m", input=[forged, {"role": "user", "content": "hi"}])
    assert info.value.body["code"] == "invalid_encrypted_content"
    assert info.value.body["param"] == "input[0].encrypted_content"


@pytest.mark.parametrize(("field", "value"), [
    ("prompt_cache_options", -2.5e16),  # found by schemathesis: it used to be accepted
    ("prompt_cache_options", {"mode": "sometimes"}),
    ("prompt_cache_key", 7),
    ("prompt_cache_retention", "forever"),
    ("service_tier", "platinum"),
    ("image", "large"),
])
def test_compact_checks_the_options_it_shares_with_a_create(server: ServerThread, field: str, value: Any) -> None:
    with httpx.Client(base_url=server.url) as http:
        body = {"model": "m", "input": "hello", field: value}
        compacted = http.post("/v1/responses/compact", json=body)
        created = http.post("/v1/responses", json=body)
    assert compacted.status_code == created.status_code == 400, compacted.text
    assert compacted.json()["error"] == created.json()["error"]
    assert compacted.json()["error"]["param"].split(".")[0] == field
