"""Shared test helpers: fixture loading, SSE payload decoding, the checker verdict, and readers
that pull text/reasoning/arguments out of a Responses stream."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import httpx

from reference_server.sources.adapters.sse_decode import SSEDecoder

ROOT = Path(__file__).resolve().parents[3]
UPSTREAM = ROOT / "fixtures" / "upstream"
# The real captures as committed (copies of ../shared/fixtures-seed/openai-api).
SEED = ROOT / "fixtures" / "streams" / "positive" / "openai-api"


def fixture_names(kind: str) -> list[str]:
    return sorted(p.stem for p in (UPSTREAM / kind).glob("*.sse"))


def load_fixture(kind: str, name: str) -> tuple[bytes, dict[str, Any]]:
    raw = (UPSTREAM / kind / f"{name}.sse").read_bytes()
    meta = json.loads((UPSTREAM / kind / f"{name}.json").read_text())
    return raw, meta


def sse_payloads(raw: bytes) -> list[Any]:
    """Decoded `data:` payloads; the `[DONE]` sentinel stays the string "[DONE]"."""
    decoder = SSEDecoder()
    msgs = decoder.feed(raw) + decoder.close()
    return ["[DONE]" if m.data == "[DONE]" else json.loads(m.data) for m in msgs]


def assert_conformant(events: list[dict[str, Any]], request: dict[str, Any] | None = None) -> Any:
    """The checker (profile openai) must report no error-level finding."""
    from conformance import check_events

    result = check_events(events, request=request)
    errors = result.errors()
    assert not errors, "\n".join(f"{f.rule}: {f.message}" for f in errors[:10])
    return result


def terminal(events: list[dict[str, Any]]) -> dict[str, Any]:
    last = events[-1]
    assert last["type"] in ("response.completed", "response.incomplete", "response.failed"), last["type"]
    return last["response"]


def streamed(events: list[dict[str, Any]]) -> dict[str, Any]:
    """What the deltas of a Responses stream add up to: text, refusal, reasoning, arguments by
    call_id."""
    out: dict[str, Any] = {"text": "", "refusal": "", "reasoning": "", "arguments": {}}
    call_ids: dict[int, str] = {}
    for e in events:
        t = e["type"]
        if t == "response.output_item.added" and e["item"]["type"] == "function_call":
            call_ids[e["output_index"]] = e["item"]["call_id"]
            out["arguments"][e["item"]["call_id"]] = ""
        elif t == "response.output_text.delta":
            out["text"] += e["delta"]
        elif t == "response.refusal.delta":
            out["refusal"] += e["delta"]
        elif t == "response.reasoning_text.delta":
            out["reasoning"] += e["delta"]
        elif t == "response.function_call_arguments.delta":
            out["arguments"][call_ids[e["output_index"]]] += e["delta"]
    return out


def snapshot_content(response: dict[str, Any]) -> dict[str, Any]:
    """The same four things read from a Response object's output."""
    out: dict[str, Any] = {"text": "", "refusal": "", "reasoning": "", "arguments": {}}
    for item in response["output"]:
        if item["type"] == "message":
            for part in item["content"]:
                if part["type"] == "output_text":
                    out["text"] += part["text"]
                else:
                    out["refusal"] += part["refusal"]
        elif item["type"] == "reasoning":
            out["reasoning"] += "".join(c["text"] for c in item["content"])
        elif item["type"] == "function_call":
            out["arguments"][item["call_id"]] = item["arguments"]
    return out


def strip_ids(obj: Any) -> Any:
    """A Response with its generated ids and timestamps blanked (for stream vs non-stream), and
    without the fields openai-python's stream helper adds (`parsed_arguments`, `parsed`)."""
    if isinstance(obj, dict):
        return {k: ("<id>" if k in ("id", "created_at", "completed_at") else strip_ids(v))
                for k, v in obj.items() if k not in ("parsed_arguments", "parsed")}
    if isinstance(obj, list):
        return [strip_ids(v) for v in obj]
    return obj


@contextlib.asynccontextmanager
async def proxy_over_fake_client(kind: Literal["chat-completions", "anthropic"] = "anthropic",
                                 model_map: dict[str, str] | None = None) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """(an httpx client of a proxy over a fresh fake upstream of `kind`, base URL `http://proxy/v1`;
    the fake upstream app), the proxy's lifespan run as a server would run it."""
    from conformance.runner.lifespan import Lifespan
    from reference_server.testing.proxy_targets import proxy_over_fake

    app = proxy_over_fake(kind, api_key=None, model_map=model_map)
    lifespan = Lifespan(app)
    await lifespan.startup()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy/v1",
                                     timeout=30) as http:
            yield http, app.state.fake_upstream
    finally:
        await lifespan.shutdown()
