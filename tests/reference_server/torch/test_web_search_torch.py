"""Web search with the torch backend (random weights): a forced search is a constrained
`browser.search` call the server runs, then the model answers; the stream stays conformant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reference_server.backends.torch.backend import TorchBackend
from reference_server.backends.torch.model import GptOss

from ..helpers import assert_conformant, serve, sse_events
from .conftest import make_backend

create_app = pytest.importorskip("reference_server").create_app


@pytest.fixture(scope="module")
def server(tiny_model: GptOss, encoding: Any) -> Iterator[Any]:
    backend: TorchBackend = make_backend(tiny_model, message_token_budget=16)
    try:
        with serve(create_app(backend=backend, encoding=encoding)) as srv:
            yield srv
    finally:
        backend.scheduler.stop()


@pytest.mark.parametrize("seed_text", ["streaming events", "harmony channels", "tool calls"])
def test_forced_web_search_is_a_real_search(server: Any, seed_text: str) -> None:
    body = {"model": "m", "input": seed_text, "tools": [{"type": "web_search"}], "stream": True,
            "tool_choice": {"type": "web_search_preview"}, "include": ["web_search_call.action.sources"],
            "max_output_tokens": 200}
    with httpx.stream("POST", f"{server.url}/v1/responses", json=body, timeout=60) as resp:
        assert resp.status_code == 200, resp.read()
        data = resp.read()
    assert_conformant(data, request=body)
    final = sse_events(data)[-1]["response"]
    calls = [i for i in final["output"] if i["type"] == "web_search_call"]
    assert calls, [i["type"] for i in final["output"]]
    first = calls[0]
    assert first["status"] == "completed" and first["action"]["type"] == "search"
    assert isinstance(first["action"]["query"], str)  # generated under the JSON grammar
    assert final["tool_usage"]["web_search"]["num_requests"] == sum(
        1 for c in calls if c["status"] == "completed" and c["action"]["type"] == "search")
